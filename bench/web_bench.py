"""The web pages' speed: page weight and first paint in a browser, the search API's p50/p99.

    python bench/web_bench.py [--screenshots] [--json]

In one run, against the bundled conversation (meaning layer loaded from the cache):

- **search API**: every query of tests/eval (queries, questions, asked) through
  `GET /api/search` over one kept-alive HTTP connection to 127.0.0.1, and, as
  the baseline, the same queries through `engine.search` called directly. The
  difference is what the web layer costs (HTTP, the thread hop, JSON).
- **browser**: Debian's chromium (Playwright, /usr/bin/chromium) opens the
  conversation page at a passage, a share page and the catalogue, with no
  cache; the Performance API gives first paint, first contentful paint, DOM
  content loaded and the bytes transferred (compressed) and decoded. The
  catalogue is measured twice: the real one, and one of 500 synthetic
  conversations (metadata only, no transcripts) for the size a catalogue can reach.
- `--screenshots` writes docs/web-light.png and docs/web-dark.png (a phone-sized
  viewport at a passage).
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import http.client
import json
import sys
import threading
import time
import urllib.parse
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.figures import ROOT, eval_queries, p50_p99
from bot.cards import CardCache
from bot.search.engine import QuoteEngine
from bot.web import RateLimit, WebFront
from bot.web.server import serve
from tests.web_harness import launch_chromium

PASSAGE = "l367-120-0"
ANSWER = "l367-49-1"  # Sam on RLHF, below Lex's question: the screenshots' passage
METRICS_JS = """() => {
  const nav = performance.getEntriesByType('navigation')[0];
  const paint = Object.fromEntries(performance.getEntriesByType('paint').map(e => [e.name, e.startTime]));
  const res = performance.getEntriesByType('resource');
  const sum = (k) => res.reduce((a, r) => a + (r[k] || 0), 0);
  return {
    first_paint_ms: paint['first-paint'] ?? null,
    first_contentful_paint_ms: paint['first-contentful-paint'] ?? null,
    dom_content_loaded_ms: nav.domContentLoadedEventEnd,
    load_ms: nav.loadEventEnd,
    html_transferred_bytes: nav.transferSize,
    html_decoded_bytes: nav.decodedBodySize,
    all_transferred_bytes: nav.transferSize + sum('transferSize'),
    all_decoded_bytes: nav.decodedBodySize + sum('decodedBodySize'),
    requests: 1 + res.length,
  };
}"""


def start(front: WebFront) -> tuple[str, threading.Event, dict]:
    state: dict = {}
    ready = threading.Event()

    def run() -> None:
        async def main() -> None:
            state["loop"], state["stop"] = asyncio.get_running_loop(), asyncio.Event()
            await serve(
                front, "127.0.0.1", 0, lambda p: (state.update(port=p), ready.set()), state["stop"]
            )

        asyncio.run(main())

    threading.Thread(target=run, daemon=True).start()
    ready.wait(60)
    return f"http://127.0.0.1:{state['port']}", ready, state


def stop(state: dict) -> None:
    state["loop"].call_soon_threadsafe(state["stop"].set)


def api_times(base: str, qs: list[str]) -> list[float]:
    host = urllib.parse.urlsplit(base)
    conn = http.client.HTTPConnection(host.hostname, host.port, timeout=120)
    times = []
    for q in qs:
        started = time.perf_counter()
        conn.request("GET", "/api/search?" + urllib.parse.urlencode({"q": q}))
        response = conn.getresponse()
        body = response.read()
        times.append((time.perf_counter() - started) * 1000)
        assert response.status == 200, (response.status, body[:200])
    conn.close()
    return times


def direct_times(engine: QuoteEngine, qs: list[str]) -> list[float]:
    times = []
    for q in qs:
        started = time.perf_counter()
        engine.search(q, 5)
        times.append((time.perf_counter() - started) * 1000)
    return times


class Catalogue:
    """An engine stand-in holding only conversations' metadata (the catalogue page's needs)."""

    def __init__(self, engine: QuoteEngine, n: int) -> None:
        [real] = engine.conversations.values()
        self.conversations = {
            f"ep{i:03d}": dataclasses.replace(
                real,
                id=f"ep{i:03d}",
                title=f"{real.title} ({i})",
                title_zh=f"{real.title_zh}（{i}）",
            )
            for i in range(n)
        }


def browser_metrics(base: str, big_catalogue: str, screenshots: bool, runs: int = 5) -> dict:
    from playwright.sync_api import sync_playwright

    out = {}
    pages = {
        "conversation page (at a passage)": f"{base}/c/l367?p={PASSAGE}#{PASSAGE}",
        "share page": f"{base}/q/{PASSAGE}",
        "catalogue (1 conversation)": f"{base}/",
        "catalogue (500 synthetic conversations)": f"{big_catalogue}/",
    }
    with sync_playwright() as pw:
        browser = launch_chromium(pw)
        for name, url in pages.items():
            measured = []
            for _ in range(runs):  # a fresh context each time: nothing cached
                context = browser.new_context(viewport={"width": 390, "height": 844})
                page = context.new_page()
                page.goto(url, wait_until="load")
                # (polled from here: the page's CSP forbids Playwright's in-page eval)
                while page.evaluate("performance.getEntriesByType('paint').length") < 2:
                    page.wait_for_timeout(10)
                measured.append(page.evaluate(METRICS_JS))
                context.close()
            measured.sort(key=lambda m: m["first_contentful_paint_ms"] or 0)
            out[name] = measured[len(measured) // 2]  # the median run by first contentful paint
        if screenshots:
            for scheme in ("light", "dark"):
                context = browser.new_context(
                    viewport={"width": 390, "height": 844},
                    device_scale_factor=2,
                    color_scheme=scheme,
                    locale="zh-CN",  # the page a Chinese reader sees
                )
                page = context.new_page()
                page.goto(f"{base}/c/l367?p={ANSWER}#{ANSWER}", wait_until="load")
                page.screenshot(path=str(ROOT / "docs" / f"web-{scheme}.png"))
                context.close()
        browser.close()
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--screenshots", action="store_true", help="write docs/web-{light,dark}.png"
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument(
        "--screenshots-only", action="store_true", help="only write the screenshots (no timing)"
    )
    args = parser.parse_args()
    engine = QuoteEngine.load(meaning="lazy")
    engine.meaning()
    cards = CardCache(ROOT / "bench" / "out" / "cards")
    front = WebFront(engine=lambda: engine, cards=cards, limit=RateLimit(10**9, 10**9))
    base, _, state = start(front)
    big = WebFront(engine=lambda: Catalogue(engine, 500), cards=cards)  # type: ignore[arg-type, return-value]
    big_base, _, big_state = start(big)
    if args.screenshots_only:
        browser_metrics(base, big_base, True, runs=1)
        stop(state)
        stop(big_state)
        return 0
    qs = eval_queries()
    api_times(base, qs[:20])  # warm-up (the embedder's first calls, the page caches)
    direct_times(engine, qs[:20])
    api, direct = [], []
    for half in (qs[::2], qs[1::2]):  # interleaved, so both see the same machine load
        direct += direct_times(engine, half)
        api += api_times(base, half)
    result = {
        "queries": len(qs),
        **p50_p99("engine_search", direct),
        **p50_p99("api_search", api),
        "browser": browser_metrics(base, big_base, args.screenshots),
    }
    stop(state)
    stop(big_state)
    if args.json:
        print(json.dumps(result, ensure_ascii=False))
        return 0
    print(f"search, {result['queries']} queries (tests/eval):")
    print(
        f"  engine.search directly : p50 {result['engine_search_p50_ms']} ms, p99 {result['engine_search_p99_ms']} ms"
    )
    print(
        f"  GET /api/search (HTTP) : p50 {result['api_search_p50_ms']} ms, p99 {result['api_search_p99_ms']} ms"
    )
    print("browser (chromium, no cache, median of 5):")
    for name, m in result["browser"].items():
        print(
            f"  {name}: first paint {m['first_paint_ms']:.0f} ms, first contentful paint "
            f"{m['first_contentful_paint_ms']:.0f} ms, DOMContentLoaded {m['dom_content_loaded_ms']:.0f} ms; "
            f"{m['all_transferred_bytes'] / 1024:.0f} kB transferred ({m['all_decoded_bytes'] / 1024:.0f} kB decoded), "
            f"{m['requests']} requests"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
