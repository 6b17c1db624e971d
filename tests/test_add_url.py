"""`quotebot add URL` (issue 17): subtitles fetched with yt-dlp from a video page.

Offline: the pages are served from 127.0.0.1 by the test, an HTML5 <video> with
<track kind="subtitles"> that yt-dlp's generic extractor reads; a page without
subtitles and a closed port are refused in one line naming the URL.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from bot.search.library.video import choose_track, is_url

PAGE = """<!DOCTYPE html>
<html><head><title>Boat workshop #3</title></head><body>
<h1>Boat workshop #3</h1>
<video controls>
  <source src="boat.mp4" type="video/mp4">
  <track kind="subtitles" srclang="zh" label="中文" src="boat.zh.vtt">
  <track kind="subtitles" srclang="en" label="English" src="boat.en.vtt">
</video>
</body></html>
"""
ZH = "WEBVTT\n\n00:00:01.000 --> 00:00:04.000\n先把橡木肋条蒸软。\n\n00:00:05.000 --> 00:00:08.000\n蒸汽箱要一直响一个小时。\n"
EN = "WEBVTT\n\n00:00:01.000 --> 00:00:04.000\nFirst we steam the oak ribs.\n\n00:00:05.000 --> 00:00:08.000\nKeep the steam box humming for an hour.\n"
NO_SUBS = '<html><head><title>Silent</title></head><body><video src="a.mp4"></video></body></html>'


class _Quiet(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def site(tmp_path: Path) -> Iterator[str]:
    root = tmp_path / "site"
    root.mkdir()
    (root / "boat.html").write_text(PAGE, encoding="utf-8")
    (root / "boat.zh.vtt").write_text(ZH, encoding="utf-8")
    (root / "boat.en.vtt").write_text(EN, encoding="utf-8")
    (root / "silent.html").write_text(NO_SUBS)
    server = ThreadingHTTPServer(("127.0.0.1", 0), partial(_Quiet, directory=str(root)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def run(args: list[str], tmp_path: Path) -> subprocess.CompletedProcess:
    env = {
        **os.environ,
        "QUOTEBOT_LIBRARY_DIR": str(tmp_path / "library"),
        "QUOTEBOT_CACHE_DIR": str(tmp_path / "cache"),
    }
    return subprocess.run(
        [sys.executable, "-m", "bot", *args], capture_output=True, text=True, env=env, timeout=120
    )


def test_page_subtitles_title_and_url(site: str, tmp_path: Path) -> None:
    url = f"{site}/boat.html"
    proc = run(["add", url], tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("added boat1: Boat workshop #3 (WebVTT, 1 turns, 00:00:08")
    assert f"subtitles (zh) of {url}" in proc.stdout
    meta = (tmp_path / "library" / "boat1.toml").read_text(encoding="utf-8")
    assert 'title = "Boat workshop #3"' in meta and f'video_url = "{url}"' in meta
    text = (tmp_path / "library" / "boat1.txt").read_text(encoding="utf-8")
    assert "先把橡木肋条蒸软。蒸汽箱要一直响一个小时。" in text
    # --lang: the English track, under another id.
    english = run(["add", url, "--lang", "fr,en", "--id", "boaten"], tmp_path)
    assert english.returncode == 0, english.stderr
    assert f"subtitles (en) of {url}" in english.stdout
    assert "Keep the steam box humming" in (tmp_path / "library" / "boaten.txt").read_text()


def test_page_without_subtitles_is_one_line(site: str, tmp_path: Path) -> None:
    url = f"{site}/silent.html"
    proc = run(["add", url], tmp_path)
    assert proc.returncode == 2
    assert proc.stderr == f"quotebot: error: {url}: no subtitles on the page; asked for zh, en\n"
    assert not (tmp_path / "library").exists() or not any((tmp_path / "library").iterdir())


def test_unreachable_host_is_one_line(tmp_path: Path) -> None:
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    url = f"http://127.0.0.1:{port}/boat.html"
    proc = run(["add", url], tmp_path)
    assert proc.returncode == 2
    lines = proc.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"quotebot: error: {url}: "), proc.stderr
    assert "Connection refused" in lines[0]


def test_track_preference() -> None:
    vtt = [{"ext": "vtt", "url": "u"}]
    srv3 = [{"ext": "srv3", "url": "u"}]  # a format the importer does not read
    uploaded = {"en": vtt, "zh-Hant": vtt, "de": srv3}
    auto = {"zh-Hans": vtt, "en": vtt}
    assert choose_track(uploaded, auto, ["zh-Hans", "zh", "en"])[:3:2] == ("zh-Hant", False)
    # Uploaded in any language asked beats automatic ones.
    assert choose_track({"en": vtt}, auto, ["zh", "en"])[::2] == ("en", False)
    # Automatic captions are the fallback.
    assert choose_track({"de": srv3}, auto, ["zh", "en"])[::2] == ("zh-Hans", True)
    # Nothing asked for: any uploaded track, never an automatic translation.
    assert choose_track({"fr": vtt}, {"ja": vtt}, ["zh"])[::2] == ("fr", False)
    assert choose_track({}, {"ja": vtt}, ["zh"]) is None
    assert is_url("https://youtu.be/x") and not is_url("show.vtt")
