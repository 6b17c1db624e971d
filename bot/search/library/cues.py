"""What every reader shares: decoding, time checks, and cues merged into turns."""

from __future__ import annotations

import codecs
import html
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from bot.errors import QuotebotError

# A pause longer than this between two cues of one speaker starts a new turn.
PAUSE = 3.0
# A turn this long is closed at the next sentence end, so turns stay the size
# of the seed's (a monologue read from subtitles would otherwise be one turn).
LONG_TURN = 1200
_SENTENCE_END = ("。", "！", "？", "!", "?", ".", "…", "；", ";")
# Overlap tolerated between consecutive cues (rounding in exporters); more is counted.
OVERLAP_TOLERANCE = 0.01
# Text without sentence ends (automatic captions, many Whisper exports) is cut into
# paragraphs, which become passages, at cue boundaries: at the longest pause once a
# run of text has MIN_RUN characters, and before it grows past MAX_RUN.
MIN_RUN = 40
MAX_RUN = 140
_SOFT_END = ("，", ",", "、", "：", ":", "—")
# A cue this long without a sentence end is first cut at word boundaries into
# pieces of at most SPLIT_TO characters, with times interpolated.
SPLIT_LONG = 80
SPLIT_TO = 60
# A word of an automatic caption lasts at most this long; a longer wait before
# the next word's timestamp is a pause.
WORD_MAX = 0.8
# Lines repeated from the cue before count as repeats when the cue starts within this.
REPEAT_WINDOW = 1.0
# Outside automatic captions, a line (or a growing caption's start) counts as a
# repeat from this many characters: "No." said twice is speech.
REPEAT_MIN = 8


class ImportRefused(QuotebotError, ValueError):
    """A file that cannot be imported; the message is one line naming the file and where."""

    def __init__(
        self,
        path: Path | str,  # a file, or the URL of a video page
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
    other: str = ""  # the same speech in the other script (two-language subtitles)


@dataclass(frozen=True, slots=True)
class RawCue:
    """A cue as a reader found it: its lines still carry tags and word timestamps."""

    start: float
    end: float
    lines: tuple[str, ...]  # raw lines: styling tags, entities, <00:00:01.520> stamps
    speaker: str | None
    number: int
    line: int | None = None


@dataclass
class ImportStats:
    """What an import did, for its one summary line."""

    cues: int = 0  # cues (segments) read from the file
    duplicates: int = 0  # repeated lines (rolling captions) and repeated cues dropped
    overlaps: int = 0  # cues starting before the one before them ended
    word_timed: bool = False  # the file carries per-word timestamps (automatic captions)
    bilingual: int = 0  # cues with a parallel line in the other script
    paragraph_breaks: int = 0  # cuts made in text without sentence ends


@dataclass
class DraftTurn:
    speaker: str  # label
    start: float
    text: str = ""
    cues: list[tuple[int, float]] = field(default_factory=list)  # (char offset, second)
    # Two-language subtitles: (char offset of the cue in `text`, its other-script line).
    parallel: list[tuple[int, str]] = field(default_factory=list)


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
    stats: ImportStats = field(default_factory=ImportStats)
    # No cue named a speaker: the one speaker has no name unless --speaker gives one.
    unnamed: bool = False

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


def check_times(path: Path, cues: Sequence[Cue | RawCue], unit: str = "cue") -> int:
    """Refuse cues that end before they start or start before the cue before them
    (WebVTT requires cues in order of start); return how many overlap an earlier cue.

    Overlapping cues and equal start times are what the WebVTT spec allows (two
    people talking at once, as diarising tools write it), so they are accepted.
    """
    previous: Cue | RawCue | None = None
    overlaps = 0
    latest_end = 0.0
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
            if cue.start < previous.start - OVERLAP_TOLERANCE:
                raise ImportRefused(
                    path,
                    f"backwards times: starts at {hms(cue.start)}, before {unit} "
                    f"{previous.number} ({hms(previous.start)})",
                    cue.line,
                    cue.number,
                    unit,
                )
            if cue.start < latest_end - OVERLAP_TOLERANCE:
                overlaps += 1
        latest_end = max(latest_end, cue.end)
        previous = cue
    return overlaps


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


# -- shapes: rolling captions, repeats, two languages ----------------------------------

# A word timestamp inside a cue: "<00:00:01.520>" (YouTube's automatic captions).
_STAMP = re.compile(r"<((?:\d+:)?\d{1,2}:\d{2}\.\d{1,3})>")
_HAN = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")
_LATIN = re.compile(r"[A-Za-z]")


def _stamp_seconds(stamp: str) -> float:
    parts = stamp.split(":")
    h = int(parts[0]) if len(parts) == 3 else 0
    return h * 3600 + int(parts[-2]) * 60 + float(parts[-1])


def _timed_words(path: Path, raw: str, cue: RawCue, unit: str) -> list[tuple[float, str]] | None:
    """(second, word) of a line with word timestamps; None for a line without them.

    The text before the first timestamp starts at the cue's start. A timestamp
    going back in time inside its cue is refused: that is a broken file.
    """
    parts = _STAMP.split(raw)
    if len(parts) == 1:
        return None
    words: list[tuple[float, str]] = []
    at = cue.start
    for k, part in enumerate(parts):
        if k % 2:
            second = _stamp_seconds(part)
            if second < at - OVERLAP_TOLERANCE:
                raise ImportRefused(
                    path,
                    f"backwards times: the word timestamp <{part}> goes back before {hms(at)}",
                    cue.line,
                    cue.number,
                    unit,
                )
            at = second
            continue
        word = clean(part)
        if word:
            words.append((at, word))
    return words


def _bilingual(lines: list[str]) -> tuple[str, str] | None:
    """(Chinese text, Latin-script text) of a cue whose lines are both, else None."""
    han = [ln for ln in lines if _HAN.search(ln)]
    latin = [ln for ln in lines if not _HAN.search(ln) and _LATIN.search(ln)]
    if not han or not latin or len(han) + len(latin) != len(lines):
        return None
    main = ""
    for ln in han:
        main = join(main, ln)
    return main, " ".join(latin)


def _joined(lines: list[str]) -> str:
    out = ""
    for line in lines:
        out = join(out, line)
    return out


def shape_cues(
    path: Path, raw_cues: list[RawCue], unit: str = "cue", latin_first: bool = False
) -> tuple[list[Cue], ImportStats]:
    """The cues of a file as pieces of speech, each said once, in order of start.

    - Rolling captions (YouTube's automatic ones): a line repeating a line of the
      cue just before is dropped, so each line is kept once; a line with word
      timestamps becomes one piece per word at its own second.
    - A cue repeating the one before (same speaker, adjacent, REPEAT_MIN characters
      or more) is dropped; one that grows the one before by whole words ("Hello
      there" then "Hello there my friend") keeps only the new words.
    - Two-language cues (a Chinese line and a Latin-script line in most cues):
      the Chinese line is the text (the Latin one with `latin_first`: an English
      transcript), the other is kept beside it (`Cue.other`).

    Times are checked first (`check_times`); the stats count what was done.
    """
    stats = ImportStats(cues=len(raw_cues))
    stats.overlaps = check_times(path, raw_cues, unit)
    cleaned = [[c for c in (clean(ln) for ln in cue.lines) if c] for cue in raw_cues]
    with_text = [lines for lines in cleaned if lines]
    pairs = [_bilingual(lines) for lines in cleaned]
    two_languages = bool(with_text) and sum(p is not None for p in pairs) * 2 >= len(with_text)
    # In automatic captions every repeated line is a repeat; elsewhere a short line
    # said twice ("No." "No.") may be speech, so only longer lines count as repeats.
    stamped = any(_STAMP.search(ln) for cue in raw_cues for ln in cue.lines)
    shortest_repeat = 1 if stamped else REPEAT_MIN
    out: list[Cue] = []
    previous: RawCue | None = None
    previous_lines: list[str] = []
    previous_text = ""
    for cue, lines, pair in zip(raw_cues, cleaned, pairs, strict=True):
        if not lines:
            continue
        adjacent = (
            previous is not None
            and cue.start - previous.end <= REPEAT_WINDOW
            and cue.speaker == previous.speaker
        )
        text = _joined(lines)
        if two_languages and pair is not None:
            if latin_first:
                pair = (pair[1], pair[0])
            if adjacent and pair[0] == previous_text:
                stats.duplicates += 1
            else:
                stats.bilingual += 1
                out.append(
                    Cue(cue.start, cue.end, pair[0], cue.speaker, cue.number, cue.line, pair[1])
                )
            previous, previous_lines, previous_text = cue, lines, pair[0]
            continue
        out += _spoken_once(
            path, cue, adjacent, previous_lines, previous_text, shortest_repeat, unit, stats
        )
        previous, previous_lines, previous_text = cue, lines, text
    out.sort(key=lambda c: c.start)  # word times may run past the next cue's start
    return out, stats


def _spoken_once(
    path: Path,
    cue: RawCue,
    adjacent: bool,
    previous_lines: list[str],
    previous_text: str,
    shortest_repeat: int,
    unit: str,
    stats: ImportStats,
) -> list[Cue]:
    """One cue of a one-language file as its new speech: lines repeating the cue before
    dropped, a growing caption cut to its new words, word timestamps one piece each."""
    kept_raw: list[str] = []
    for raw in cue.lines:
        line = clean(raw)
        if not line:
            continue
        if adjacent and len(line) >= shortest_repeat and line in previous_lines:
            stats.duplicates += 1  # the rolling line, or a cue said twice
            continue
        kept_raw.append(raw)
    untimed = ""
    words: list[tuple[float, str]] = []
    for raw in kept_raw:
        timed = _timed_words(path, raw, cue, unit)
        if timed is None:
            untimed = join(untimed, clean(raw))
        else:
            stats.word_timed = True
            words += timed
    if (
        untimed
        and adjacent
        and len(previous_text) >= REPEAT_MIN
        and len(untimed) > len(previous_text)
        and untimed.startswith(previous_text)
        and len(cue.lines) == 1
        and untimed[len(previous_text)] == " "  # whole words only ("I" is not "It's")
    ):
        untimed = untimed[len(previous_text) :].strip()  # a growing caption: the new words
        stats.duplicates += 1
    out: list[Cue] = []
    if untimed:
        out.append(Cue(cue.start, cue.end, untimed, cue.speaker, cue.number, cue.line))
    for k, (at, word) in enumerate(words):
        nxt = words[k + 1][0] if k + 1 < len(words) else max(cue.end, at)
        out.append(Cue(at, min(nxt, at + WORD_MAX), word, cue.speaker, cue.number, cue.line))
    return out


_WORD = re.compile(r"[A-Za-z0-9]+(?:['’][A-Za-z]+)*|[\u3400-\u9fff\uf900-\ufaff]")


def count_words(text: str) -> int:
    """Words in a text: Latin-script words and numbers, and each Chinese character as one."""
    return len(_WORD.findall(text))


def summary(draft: Draft) -> str:
    """What an import did (cues, words, duplicates removed, overlaps, …) for the one line
    `quotebot add` prints; the turns are on that line already."""
    st = draft.stats
    words = sum(count_words(t.text) for t in draft.turns)
    unit = "segments" if draft.format == "JSON" else "cues"
    parts = [f"{st.cues:,} {unit}", f"{words:,} words"]
    parts += [f"{st.duplicates:,} duplicates removed", f"{st.overlaps:,} overlaps"]
    if st.word_timed:
        parts.append("word timestamps")
    if st.bilingual:
        parts.append(f"{st.bilingual:,} two-language cues")
    if st.paragraph_breaks:
        n = st.paragraph_breaks
        parts.append(f"{n:,} cut{'' if n == 1 else 's'} at pauses (no sentence ends)")
    return ", ".join(parts)


# -- turns ------------------------------------------------------------------------------


def _has_end(text: str) -> bool:
    return any(ch in text for ch in _SENTENCE_END)


def _word_cuts(text: str) -> list[int]:
    """Character positions in `text` between words (never inside a Latin or Chinese word)."""
    if not any(_cjk(ch) for ch in text):
        return [m.start() for m in re.finditer(r"(?<=\S) (?=\S)", text)]
    import jieba

    cuts, pos = [], 0
    for token in jieba.cut(text, HMM=False):
        pos += len(token)
        if 0 < pos < len(text):
            cuts.append(pos)
    return cuts


def _split_long(cue: Cue) -> list[Cue]:
    """A long cue without a sentence end as pieces of at most SPLIT_TO characters, cut
    between words, their times interpolated by character position."""
    text = cue.text
    if len(text) <= SPLIT_LONG or _has_end(text[:-1]):
        return [cue]
    cuts = _word_cuts(text)
    pieces: list[tuple[int, int]] = []
    begin = 0
    last_cut = 0
    for cut in [*cuts, len(text)]:
        if cut - begin > SPLIT_TO and last_cut > begin:
            pieces.append((begin, last_cut))
            begin = last_cut
        last_cut = cut
    pieces.append((begin, len(text)))
    span = cue.end - cue.start
    out = []
    for k, (a, b) in enumerate(pieces):
        piece = text[a:b].strip()
        if not piece:
            continue
        start = cue.start + span * a / len(text)
        end = cue.start + span * b / len(text)
        other = cue.other if k == 0 else ""
        out.append(Cue(start, end, piece, cue.speaker, cue.number, cue.line, other))
    return out


def _run_after(run: int, glue: int, text: str) -> int:
    """Characters since the last sentence end once `text` follows `glue` separator characters."""
    for i in range(len(text) - 1, -1, -1):
        if text[i] in _SENTENCE_END:
            return len(text) - i - 1
    return run + glue + len(text)


def _sep(prev: str, text: str) -> str:
    """What `join` puts between two pieces: a space between Latin words, nothing next to CJK."""
    if not prev or not text or _cjk(prev[-1]) or _cjk(text[0]):
        return ""
    return " "


def paragraph_cuts(cues: list[Cue]) -> set[int]:
    """Where to start a new paragraph (after cue i) in text without sentence ends.

    A run of text since the last sentence end that would grow past MAX_RUN
    characters is cut at the cue boundary with the longest pause once the run
    has MIN_RUN characters (a comma counts as a short pause). Punctuated text
    is left alone: its sentences are short.
    """
    cuts: set[int] = set()
    n = len(cues)
    low, high = MIN_RUN, MAX_RUN
    i = 0
    while i < n:
        run = 0
        candidates: list[tuple[float, int]] = []
        j = i
        restart = None
        prev = ""
        while j < n:
            text = cues[j].text
            run = _run_after(run, len(_sep(prev, text)), text)
            # A passage shows the other-language lines too: they count.
            run += len(cues[j].other) + 1 if cues[j].other else 0
            prev = text
            if j + 1 >= n:
                break
            if text.endswith(_SENTENCE_END):
                candidates = []
            elif run >= low:
                pause = max(0.0, cues[j + 1].start - cues[j].end)
                score = pause + (0.3 if text.endswith(_SOFT_END) else 0.0)
                # Among equal pauses, the cut nearest two thirds of the range.
                score -= abs(run - (low + 2 * high) / 3) / 1000
                candidates.append((score, j))
            nxt = cues[j + 1].text
            first_end = next((k for k, ch in enumerate(nxt) if ch in _SENTENCE_END), len(nxt))
            first_end += len(cues[j + 1].other) + 1 if cues[j + 1].other else 0
            if run + len(_sep(text, nxt)) + first_end > high and run > 0:
                restart = max(candidates)[1] if candidates else j
                cuts.add(restart)
                break
            j += 1
        if restart is None:
            break
        i = restart + 1
    return cuts


def _build_turn(label: str, cues: list[Cue], stats: ImportStats | None) -> DraftTurn:
    pieces = [piece for cue in cues for piece in _split_long(cue)]
    cuts = paragraph_cuts(pieces)
    if stats is not None:
        stats.paragraph_breaks += len(cuts)
    turn = DraftTurn(label, pieces[0].start)
    parts: list[str] = []
    length = 0
    last = ""
    for k, piece in enumerate(pieces):
        sep = "\n" if k - 1 in cuts else _sep(last, piece.text)
        if not sep and last and piece.other and not last.endswith(_SENTENCE_END + _SOFT_END):
            sep = " "  # two-language subtitles: each cue is a line of its own, kept apart
        parts.append(sep)
        length += len(sep)
        turn.cues.append((length, piece.start))
        if piece.other:
            turn.parallel.append((length, piece.other))
        parts.append(piece.text)
        length += len(piece.text)
        last = piece.text
    turn.text = "".join(parts)
    return turn


def merge_cues(
    cues: list[Cue], default_speaker: str = "Speaker 1", stats: ImportStats | None = None
) -> tuple[list[str], list[DraftTurn]]:
    """Consecutive cues of one speaker as turns; a new turn at a speaker change or a pause.

    A cue without a speaker continues the previous cue's speaker. A turn of
    LONG_TURN characters is closed at the next sentence end or pause of a
    second (at twice that length, at the next cue). Text without sentence ends
    gets paragraph breaks (`paragraph_cuts`), so passages start and end between
    words. Each turn keeps the character offset and start second of every cue in it.
    """
    speakers: list[str] = []
    groups: list[tuple[str, list[Cue]]] = []
    length = 0
    last_end = 0.0
    last_text = ""
    speaker = default_speaker
    for cue in cues:
        if not cue.text:
            continue
        speaker = cue.speaker or speaker
        if speaker not in speakers:
            speakers.append(speaker)
        gap = cue.start - last_end
        new_turn = (
            not groups
            or speaker != groups[-1][0]
            or gap > PAUSE
            or (length >= LONG_TURN and (last_text.endswith(_SENTENCE_END) or gap >= 1.0))
            or length >= 2 * LONG_TURN
        )
        if new_turn:
            groups.append((speaker, []))
            length = 0
        groups[-1][1].append(cue)
        length += len(cue.text) + 1
        last_text = cue.text
        last_end = max(last_end, cue.end)
    return speakers, [_build_turn(label, group, stats) for label, group in groups]
