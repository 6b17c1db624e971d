"""Serving bot.web's pages on 127.0.0.1 from a thread, for tests and benchmarks."""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from bot.web import WebFront
from bot.web.server import serve

# Debian's chromium (.ci/run installs it), never a downloaded one; as root it needs
# --no-sandbox, and a test machine has no network for it to reach.
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def launch_chromium(playwright: Any) -> Any:
    """Debian's chromium, headless, through Playwright (a `Browser`)."""
    return playwright.chromium.launch(
        executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True
    )


HOSTILE_TOML = """\
id = "evil"
title = "<script>window.__pwned=1</script> Evil show"
title_zh = "\\"><img src=x onerror=\\"window.__pwned=1\\">恶意节目"
language = "zh-Hans"
video_url = "javascript:window.__pwned=1//"

[speakers.1]
name = "<img src=x onerror=window.__pwned=1>"
name_zh = "\\"><img src=x onerror=\\"window.__pwned=1\\">"

[speakers.2]
name = "Host"
name_zh = "主持人"
"""

# Cues as an imported subtitle file could hold them: markup, attribute breakouts, javascript: URLs.
HOSTILE_CUES = (
    "<script>window.__pwned=1</script>这是一段关于脚本注入的话，我们必须认真对待。",
    '"><img src=x onerror="window.__pwned=1">这段话里有一张坏图片，但它只是文字。',
    '<a href="javascript:window.__pwned=1">点这里</a>看看链接会不会执行，它不应该执行。',
)


def write_hostile(folder: Path) -> Path:
    """A conversation whose title, speakers, video URL and cues are all hostile."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "evil.toml").write_text(HOSTILE_TOML, encoding="utf-8")
    turns = ["演讲者2 00:00:00\n你好，欢迎来到节目。我们今天要谈谈安全的问题，这很重要吗？\n"]
    for n, cue in enumerate(HOSTILE_CUES, 1):
        turns.append(f"演讲者{1 if n % 2 else 2} 00:00:{n * 10:02d}\n{cue}\n")
    (folder / "evil.txt").write_text("\n".join(turns), encoding="utf-8")
    return folder


@contextlib.contextmanager
def serving(front: WebFront) -> Iterator[str]:
    """The web front on 127.0.0.1 (a free port) on its own thread; yields the base URL."""
    ready = threading.Event()
    state: dict[str, object] = {}

    def run() -> None:
        async def main() -> None:
            stop = asyncio.Event()
            state["loop"], state["stop"] = asyncio.get_running_loop(), stop

            def up(port: int) -> None:
                state["port"] = port
                ready.set()

            await serve(front, "127.0.0.1", 0, up, stop)

        try:
            asyncio.run(main())
        finally:
            ready.set()

    thread = threading.Thread(target=run, name="web-test-server", daemon=True)
    thread.start()
    ready.wait(60)
    if "port" not in state:
        raise RuntimeError("the web server did not start")
    try:
        yield f"http://127.0.0.1:{state['port']}"
    finally:
        loop, stop = state["loop"], state["stop"]
        loop.call_soon_threadsafe(stop.set)  # type: ignore[attr-defined]
        thread.join(30)
