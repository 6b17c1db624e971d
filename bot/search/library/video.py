"""`quotebot add URL`: a video page's subtitles, title and URL, fetched with yt-dlp.

yt-dlp is used as a library: `extract_info` reads the page (YouTube and the
other sites it knows, or any page with an HTML5 `<video>` and `<track
kind="subtitles">` through its generic extractor) without downloading the
video, and the chosen subtitle file is fetched through the same session.
Uploaded subtitles are preferred to automatic captions, in the order of the
languages asked for; the file is then read like any other (`read_transcript`).

Every failure is an `ImportRefused` naming the URL, in one line.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from bot.search.library.cues import Draft, ImportRefused
from bot.search.library.readers import read_transcript

# Subtitle formats read_transcript takes, most preferred first.
_EXTS = ("vtt", "srt", "json")
DEFAULT_LANGS = ("zh", "en")
_TIMEOUT = 20.0


@dataclass(frozen=True)
class Fetched:
    """Subtitles fetched from a video page, read into a draft."""

    draft: Draft
    title: str
    video_url: str
    language: str  # the subtitle track's language as the page names it
    automatic: bool  # automatic captions (no uploaded subtitles in the languages asked)
    conv_id: str  # the video's id as a conversation id (letters and digits, at most 12)


def is_url(text: str) -> bool:
    """Whether `quotebot add` should treat an argument as a video page, not a file."""
    return text.startswith(("http://", "https://"))


class _Quiet:
    """yt-dlp's logger: nothing on the terminal; the last error kept for the one line."""

    def __init__(self) -> None:
        self.error_message = ""

    def debug(self, msg: str) -> None:
        pass

    def info(self, msg: str) -> None:
        pass

    def warning(self, msg: str) -> None:
        pass

    def error(self, msg: str) -> None:
        self.error_message = msg


def _reason(message: str) -> str:
    """yt-dlp's error as a short clause: no "ERROR:", no traceback, one line."""
    text = re.sub(r"\x1b\[[0-9;]*m", "", message).strip().split("\n")[0]
    text = re.sub(r"^ERROR:\s*", "", text)
    text = re.sub(r"^\[[\w:]+\]\s*", "", text)
    text = re.sub(r";\s*please report this issue.*$", "", text, flags=re.I)
    text = re.sub(r"\s*\(caused by .*\)$", "", text)
    text = re.sub(r"^[\w.-]+: (?=Unable to download)", "", text)  # "<video id>: Unable…"
    return text[:200] or "unknown error"


def _matches(wanted: str, lang: str) -> bool:
    """'zh' matches zh, zh-Hans, zh-CN…; 'zh-Hans' matches zh-Hans only (case-insensitive)."""
    wanted, lang = wanted.casefold(), lang.casefold()
    return lang == wanted or lang.startswith(wanted + "-") or lang.startswith(wanted + "_")


def choose_track(
    subtitles: dict, automatic: dict, langs: list[str]
) -> tuple[str, dict, bool] | None:
    """(language, track, automatic?) of the subtitles to import, or None.

    Uploaded subtitles in the languages asked for, in that order; then automatic
    captions in them; then any uploaded subtitles. A track is one of the
    formats read_transcript takes (WebVTT, SRT, JSON segments).
    """

    def track(formats: list) -> dict | None:
        by_ext = {f.get("ext"): f for f in formats if isinstance(f, dict) and f.get("url")}
        return next((by_ext[e] for e in _EXTS if e in by_ext), None)

    for pool, auto in ((subtitles, False), (automatic, True)):
        for wanted in langs:
            for lang, formats in pool.items():
                if lang != "live_chat" and _matches(wanted, lang) and (t := track(formats)):
                    return lang, t, auto
    for lang, formats in subtitles.items():
        if lang != "live_chat" and (t := track(formats)):
            return lang, t, False
    return None


def fetch(url: str, langs: list[str], language: str | None = None) -> Fetched:
    """The subtitles of the video at `url` as a draft, with the page's title and URL
    (`language`: the transcript's, as for `read_transcript`).

    ImportRefused (one line naming the URL) when the page cannot be read
    (unreachable, private, not a video) or has no subtitles in a readable format.
    """
    import yt_dlp
    from yt_dlp.utils import DownloadError

    logger = _Quiet()
    options = {
        "skip_download": True,
        "quiet": True,
        "no_warnings": True,
        "noprogress": True,
        "logger": logger,
        "socket_timeout": _TIMEOUT,
        "extractor_retries": 0,
        "noplaylist": True,
    }
    try:
        with yt_dlp.YoutubeDL(options) as ydl:
            info = ydl.extract_info(url, download=False)
            if info and info.get("_type") == "playlist":
                entries = [e for e in info.get("entries") or () if e]
                if len(entries) != 1:
                    raise ImportRefused(
                        url, f"a page with {len(entries)} videos; give one video's URL"
                    )
                info = entries[0]
            if not info:
                raise ImportRefused(url, "no video found on the page")
            subtitles = info.get("subtitles") or {}
            automatic = info.get("automatic_captions") or {}
            chosen = choose_track(subtitles, automatic, langs)
            if chosen is None:
                have = sorted(set(subtitles) | set(automatic))
                listed = f" (it has {', '.join(have[:10])} in other formats)" if have else ""
                raise ImportRefused(
                    url, f"no subtitles on the page{listed}; asked for {', '.join(langs)}"
                )
            lang, track, auto = chosen
            try:
                data = ydl.urlopen(track["url"]).read()
            except Exception as exc:  # yt-dlp's networking raises its own and urllib's errors
                raise ImportRefused(
                    url, f"cannot fetch the {lang} subtitles ({_reason(str(exc))})"
                ) from None
    except DownloadError as exc:
        raise ImportRefused(url, _reason(logger.error_message or str(exc))) from None
    video_id = str(info.get("id") or "video")
    try:
        draft = read_transcript(Path(f"{video_id}.{lang}.{track['ext']}"), data, language)
    except ImportRefused as exc:
        raise ImportRefused(url, f"its {lang} subtitles: {exc}") from None
    title = str(info.get("title") or video_id)
    if info.get("extractor_key") == "HTML5MediaEmbed":
        title = re.sub(r" \(1\)$", "", title)  # it numbers a page's <video>s: "Title (1)"
    conv_id = re.sub(r"[^A-Za-z0-9]", "", video_id)[:12] or "video"
    return Fetched(draft, title, str(info.get("webpage_url") or url), lang, auto, conv_id)
