"""The web pages in a real browser: Debian's chromium, driven by Playwright.

No browser is downloaded: Playwright launches /usr/bin/chromium (installed by
.ci/run). Without it these tests are skipped, except in CI (CI set), where
they must run. Nothing here asserts on time.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.cards import CardCache
from bot.search import QuoteEngine
from bot.web import WebFront
from tests.web_harness import CHROMIUM, launch_chromium, serving, write_hostile

ANSWER, SUGGESTIONS, NOTHING = "RLHF", "Sam怎么看开源模型的风险", "今天天气怎么样"

if not CHROMIUM.exists() and not os.environ.get("CI"):
    pytest.skip(
        "Debian's chromium is not installed (/usr/bin/chromium; .ci/run installs it)",
        allow_module_level=True,
    )

from playwright.sync_api import Browser, Page, sync_playwright  # noqa: E402


@pytest.fixture(scope="module")
def site() -> Iterator[str]:
    """`quotebot web --port 0`, the command a person runs; its printed URL."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "bot", "web", "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    line = proc.stdout.readline()  # printed once the pages are served (pytest-timeout guards it)
    match = re.search(r"http://127\.0\.0\.1:\d+/", line)
    try:
        assert match, line + (proc.stderr.read() if proc.poll() is not None and proc.stderr else "")
        yield match.group(0).rstrip("/")
    finally:
        proc.terminate()
        proc.wait(30)


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        browser = launch_chromium(playwright)
        yield browser
        browser.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 390, "height": 844})
    # No network in tests: Telegram's script and the video site are never reached.
    context.route("https://telegram.org/**", lambda route: route.abort())
    page = context.new_page()
    yield page
    context.close()


def cli_search(query: str) -> list[dict]:
    out = subprocess.run(
        [sys.executable, "-m", "bot", "search", "--json", "--limit", "5", query],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return json.loads(out)["results"]


def test_a_passage_link_opens_there_highlighted(site: str, page: Page) -> None:
    page.goto(f"{site}/c/l367?p=l367-120-0#l367-120-0")
    passage = page.locator("#l367-120-0")
    passage.wait_for()
    assert "highlight" in (passage.get_attribute("class") or "")
    assert passage.evaluate(
        "el => { const r = el.getBoundingClientRect();"
        " return r.top >= 0 && r.bottom <= window.innerHeight; }"
    )
    background = passage.evaluate("el => getComputedStyle(el).backgroundColor")
    plain = page.locator("#l367-120-1").evaluate("el => getComputedStyle(el).backgroundColor")
    assert background != plain


@pytest.mark.parametrize("query", [ANSWER, SUGGESTIONS, NOTHING])
def test_typed_question_gets_the_clis_answers(site: str, page: Page, query: str) -> None:
    page.goto(f"{site}/c/l367")
    page.fill("form.search input[name=q]", query)
    page.press("form.search input[name=q]", "Enter")
    status = page.locator("#results [data-status]").first
    status.wait_for()
    assert page.url.rstrip("/") == f"{site}/c/l367"  # answered in place, by the API
    expected = cli_search(query)
    hits = page.locator("#results li.hit")
    shown = [
        (
            hits.nth(i).locator(".text").inner_text(),
            "suggestion" not in (hits.nth(i).get_attribute("class") or ""),
        )
        for i in range(hits.count())
    ]
    assert shown == [(r["quote"], r["confident"]) for r in expected]
    kind = status.get_attribute("data-status")
    if not expected:
        assert kind == "none"
    elif expected[0]["confident"]:
        assert kind == "answer"
    else:
        assert kind == "suggestions"
        assert hits.first.locator(".approx").inner_text() == "≈"
    if query == SUGGESTIONS:
        assert kind == "suggestions"


def test_clicking_a_time_goes_to_the_video_at_that_second(site: str, page: Page) -> None:
    page.route(
        "https://www.youtube.com/**",
        lambda route: route.fulfill(status=200, content_type="text/html", body="video"),
    )
    page.goto(f"{site}/c/l367#l367-49-1")
    page.locator("#l367-49-1 a.at").click()
    page.wait_for_url("https://www.youtube.com/**")
    assert page.url == "https://www.youtube.com/watch?v=L_Guz73e6fw&t=1729s"


def luminance(css: str) -> float:
    r, g, b = (int(x) for x in re.findall(r"\d+", css)[:3])
    return (0.2126 * r + 0.7152 * g + 0.0722 * b) / 255


def test_dark_and_light_follow_the_system(site: str, browser: Browser) -> None:
    for scheme, dark in (("dark", True), ("light", False)):
        context = browser.new_context(color_scheme=scheme)
        page = context.new_page()
        page.goto(f"{site}/c/l367")
        bg = page.evaluate("getComputedStyle(document.body).backgroundColor")
        fg = page.evaluate("getComputedStyle(document.body).color")
        assert (luminance(bg) < 0.2) == dark and (luminance(fg) > 0.7) == dark
        context.close()


def test_telegram_theme_parameters_are_followed_without_telegrams_script(
    site: str, page: Page
) -> None:
    theme = json.dumps({"bg_color": "#123456", "text_color": "#fedcba"})
    from urllib.parse import quote

    page.goto(f"{site}/c/l367#tgWebAppThemeParams={quote(theme)}&tgWebAppVersion=7.0")
    page.locator("html.tg").wait_for(state="attached")
    assert page.evaluate("getComputedStyle(document.body).backgroundColor") == "rgb(18, 52, 86)"
    assert page.evaluate("getComputedStyle(document.body).color") == "rgb(254, 220, 186)"


def test_hostile_cues_never_execute(tmp_path: Path, browser: Browser) -> None:
    data = write_hostile(tmp_path / "data")
    engine = QuoteEngine.load(data, tmp_path / "cache", meaning="off", library_dir=tmp_path / "x")
    front = WebFront(engine=lambda: engine, cards=CardCache(tmp_path / "cards"))
    context = browser.new_context()
    context.route("https://telegram.org/**", lambda route: route.abort())
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    with serving(front) as base:
        for path in ("/", "/c/evil", "/c/evil?p=evil-1-0#evil-1-0", "/q/evil-1-0", "/q/evil-2-0"):
            page.goto(base + path)
            page.wait_for_load_state("load")
            assert page.evaluate("typeof window.__pwned") == "undefined", path
        page.goto(f"{base}/c/evil")
        page.fill("form.search input[name=q]", "脚本注入")
        page.press("form.search input[name=q]", "Enter")
        page.locator("#results [data-status]").first.wait_for()
        text = page.locator("#evil-1-0").inner_text()
        hit = page.locator("#results li.hit .text").first.inner_text()
        assert page.evaluate("typeof window.__pwned") == "undefined"
        assert page.locator("#results img, main img").count() == 0  # no element from a cue
        assert page.locator("a[href^='javascript' i]").count() == 0
    context.close()
    assert text.startswith("<script>window.__pwned=1</script>")
    assert hit.startswith("<script>window.__pwned=1</script>")
    assert errors == []


def test_share_page_open_graph_and_its_card(site: str, page: Page) -> None:
    page.goto(f"{site}/q/l367-49-1")
    og = {
        key: page.locator(f'meta[property="og:{key}"]').get_attribute("content")
        for key in ("title", "description", "image", "url")
    }
    assert og["title"] and og["title"].startswith("Sam Altman · 00:28:49")  # Accept-Language: en
    assert og["description"] and og["description"].startswith(
        "我们有一些对我们目前的规模有效的东西"
    )
    assert og["image"] == f"{site}/card/l367-49-1.png"
    assert og["url"] == f"{site}/q/l367-49-1"
    response = page.request.get(og["image"])
    assert response.status == 200 and response.headers["content-type"] == "image/png"
    png = response.body()
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    import io

    from PIL import Image

    assert Image.open(io.BytesIO(png)).size[0] == 1080
    # The card shows on the page, loaded (not broken): `load` waited for it.
    assert page.evaluate("document.querySelector('img.card').naturalWidth") == 1080


def test_an_unknown_passage_is_404_with_a_search_box(site: str, page: Page) -> None:
    response = page.goto(f"{site}/q/l367-99999-0")
    assert response is not None and response.status == 404
    assert page.locator("form.search input[name=q]").is_visible()
    page.fill("form.search input[name=q]", ANSWER)
    page.press("form.search input[name=q]", "Enter")
    page.locator("#results [data-status='answer']").wait_for()
