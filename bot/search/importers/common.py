"""What every reader shares: decoding, time checks, and cues merged into turns."""

from __future__ import annotations

import codecs
import html
import re
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

# A pause longer than this between two cues of one speaker starts a new turn.
PAUSE = 3.0
# A turn this long is closed at the next sentence end, so turns stay the size
# of the seed's (a monologue read from subtitles would otherwise be one turn).
LONG_TURN = 1200
_SENTENCE_END = ("。", "！", "？", "!", "?", ".", "…", "；", ";")
# Overlap tolerated between consecutive cues (rounding in exporters).
OVERLAP_TOLERANCE = 0.01


class ImportRefused(ValueError):
    """A file that cannot be imported; the message is one line naming the file and where."""

    def __init__(
        self,
        path: Path,
        message: str,
        line: int | None = None,
        cue: int | None = None,
        unit: str = "cue",
    ) -> None:
        where = str(path) + (f":{line}" if line is not None else "")
        if cue is not None:
            where += f": {unit} {cue}"
        super().__init__(f"{where}: {message}")
        self.path = path
        self.line = line
        self.cue = cue


@dataclass(frozen=True, slots=True)
class Cue:
    start: float  # seconds
    end: float
    text: str  # one line, whitespace collapsed, tags stripped
    speaker: str | None  # the label in the file (voice tag, "Name:", "SPEAKER_00"), if any
    number: int  # 1-based position in the file, for messages
    line: int | None = None  # line of its timing line, when the format has lines


@dataclass
class DraftTurn:
    speaker: str  # label
    start: float
    text: str = ""
    cues: list[tuple[int, float]] = field(default_factory=list)  # (char offset, second)


@dataclass
class Draft:
    """A conversation read from a file, before it gets an id and a title."""

    path: Path
    format: str  # "WebVTT", "SRT", "JSON", "seed"
    speakers: list[str]  # labels, in order of first appearance
    turns: list[DraftTurn]
    end: float
    # From the seed format's metadata, when there is one.
    meta: dict = field(default_factory=dict)
    names: dict[str, str] = field(default_factory=dict)  # label -> display name

    @property
    def text_sample(self) -> str:
        return "".join(t.text for t in self.turns[:50])


# -- decoding ---------------------------------------------------------------------------


def decode(path: Path, data: bytes) -> str:
    """Text of a file in UTF-8 (with or without a BOM) or UTF-16 (with a BOM); refused otherwise."""
    if not data.strip(b" \t\r\n\x00\xef\xbb\xbf\xff\xfe"):
        raise ImportRefused(path, "empty file (nothing to import)")
    if data.startswith(codecs.BOM_UTF8):
        encoding, body = "utf-8", data[3:]
    elif data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        encoding, body = "utf-16", data
    else:
        encoding, body = "utf-8", data
        if _looks_utf16(data):
            raise ImportRefused(
                path, "wrong encoding: looks like UTF-16 without a BOM; save it as UTF-8"
            )
    try:
        text = body.decode(encoding)
    except UnicodeDecodeError as exc:
        if encoding == "utf-16":
            raise ImportRefused(path, "wrong encoding: not valid UTF-16 despite its BOM") from None
        line = body[: exc.start].count(b"\n") + 1
        if _binary(body):
            raise ImportRefused(
                path,
                "not a subtitle file (binary data; expected WebVTT, SRT, JSON or the seed format)",
            ) from None
        raise ImportRefused(
            path,
            f"wrong encoding: byte 0x{body[exc.start]:02X} is not UTF-8 (Latin-1 or another "
            "legacy encoding?); only UTF-8 and UTF-16 with a BOM are accepted: save it as UTF-8",
            line=line,
        ) from None
    text = text.removeprefix("\ufeff").replace("\r\n", "\n").replace("\r", "\n")
    if "\x00" in text or _binary(text[:4096].encode("utf-8", "replace")):
        raise ImportRefused(path, "not a subtitle file (binary data)")
    if not text.strip():
        raise ImportRefused(path, "empty file (nothing to import)")
    return text


def _looks_utf16(data: bytes) -> bool:
    head = data[:2000]
    return len(head) >= 4 and head.count(b"\x00") >= len(head) // 3


def _binary(data: bytes) -> bool:
    head = data[:4096]
    controls = sum(1 for b in head if b < 32 and b not in (9, 10, 13))
    return b"\x00" in head or controls > max(2, len(head) // 100)


# -- time -------------------------------------------------------------------------------


def hms(seconds: float) -> str:
    ms = round(seconds * 1000)
    return f"{ms // 3_600_000:02d}:{ms % 3_600_000 // 60_000:02d}:{ms % 60_000 // 1000:02d}.{ms % 1000:03d}"


def check_times(path: Path, cues: list[Cue], unit: str = "cue") -> None:
    """Refuse cues that end before they start, go back in time, or overlap the one before."""
    previous: Cue | None = None
    for cue in cues:
        if cue.start < 0 or cue.end < cue.start:
            raise ImportRefused(
                path,
                f"backwards times: ends at {hms(cue.end)} before it starts at {hms(cue.start)}",
                cue.line,
                cue.number,
                unit,
            )
        if previous is not None:
            if cue.start < previous.start:
                raise ImportRefused(
                    path,
                    f"backwards times: starts at {hms(cue.start)}, before {unit} "
                    f"{previous.number} ({hms(previous.start)})",
                    cue.line,
                    cue.number,
                    unit,
                )
            if cue.start < previous.end - OVERLAP_TOLERANCE:
                raise ImportRefused(
                    path,
                    f"overlapping times: starts at {hms(cue.start)}, before {unit} "
                    f"{previous.number} ends ({hms(previous.end)})",
                    cue.line,
                    cue.number,
                    unit,
                )
        previous = cue


# -- text -------------------------------------------------------------------------------

_TAG = re.compile(r"<[^>\n]*>")
_SPACE = re.compile(r"\s+")


def clean(text: str) -> str:
    """Cue text as one line: tags stripped, entities decoded, whitespace collapsed (CJK-aware)."""
    text = html.unescape(_TAG.sub("", text))
    lines = [_SPACE.sub(" ", line).strip() for line in text.split("\n")]
    out = ""
    for line in filter(None, lines):
        out = join(out, line)
    return out


def _cjk(ch: str) -> bool:
    if not ch:
        return False
    o = ord(ch)
    return (
        0x2E80 <= o <= 0x9FFF  # CJK radicals, punctuation, kana, unified ideographs
        or 0xAC00 <= o <= 0xD7AF  # Hangul
        or 0xF900 <= o <= 0xFAFF
        or 0xFF00 <= o <= 0xFFEF  # full-width forms and punctuation
        or 0x20000 <= o <= 0x3FFFF
        or (o > 0x2E80 and unicodedata.category(ch) == "Lo")
    )


def join(a: str, b: str) -> str:
    """Two pieces of running text: with a space between Latin words, none next to CJK."""
    if not a:
        return b
    if not b:
        return a
    if _cjk(a[-1]) or _cjk(b[0]):
        return a + b
    return f"{a} {b}"


# -- turns ------------------------------------------------------------------------------


def merge_cues(
    cues: list[Cue], default_speaker: str = "Speaker 1"
) -> tuple[list[str], list[DraftTurn]]:
    """Consecutive cues of one speaker as turns; a new turn at a speaker change or a pause.

    A cue without a speaker continues the previous cue's speaker. Each turn keeps
    the character offset and start second of every cue in it.
    """
    speakers: list[str] = []
    turns: list[DraftTurn] = []
    current: DraftTurn | None = None
    last_end = 0.0
    speaker = default_speaker
    for cue in cues:
        if not cue.text:
            continue
        speaker = cue.speaker or speaker
        if speaker not in speakers:
            speakers.append(speaker)
        new_turn = (
            current is None
            or speaker != current.speaker
            or cue.start - last_end > PAUSE
            or (len(current.text) >= LONG_TURN and current.text.endswith(_SENTENCE_END))
        )
        if new_turn:
            current = DraftTurn(speaker, cue.start)
            turns.append(current)
        assert current is not None
        joined = join(current.text, cue.text)
        offset = len(joined) - len(cue.text)
        current.text = joined
        current.cues.append((offset, cue.start))
        last_end = max(last_end, cue.end)
    return speakers, turns
