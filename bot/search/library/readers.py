"""The readers: WebVTT, SRT, JSON segments and the seed's own format, chosen by content."""

from __future__ import annotations

import html
import io
import json
import re
from pathlib import Path

from bot.search.library.cues import (
    Draft,
    DraftTurn,
    ImportRefused,
    RawCue,
    decode,
    hms,
    merge_cues,
    shape_cues,
)
from bot.search.transcripts.conversation import (
    Speaker,
    TranscriptError,
    load_conversation,
    parse_turns,
)

FORMATS = "WebVTT (.vtt), SRT (.srt), JSON segments (.json) or the seed format (.txt)"
_NOT_SUBTITLES = f"not a subtitle file (expected {FORMATS})"
SUFFIXES = (".vtt", ".srt", ".json", ".txt")


def transcript_sources(paths: list[Path]) -> list[Path]:
    """The files to import: each file as given, and a folder's .vtt/.srt/.json/.txt files
    (not its subfolders), by name. A folder with none of them is refused."""
    out: list[Path] = []
    for path in paths:
        if not path.is_dir():
            out.append(path)
            continue
        found = sorted(p for p in path.iterdir() if p.is_file() and p.suffix.lower() in SUFFIXES)
        if not found:
            raise ImportRefused(path, f"a folder without subtitle files ({', '.join(SUFFIXES)})")
        out += found
    return out


_SEED_HEADER = re.compile(r"^(?:发言人|演讲者|發言人|演講者)\s*(\d+)\s+\d{1,2}:\d{2}:\d{2}\s*$")
_SEED_NUMBER = re.compile(r"^(?:发言人|演讲者|發言人|演講者)\s*(\d+)\b", re.M)
# A cue timing line: "00:01:02.500 --> 00:01:04.000 settings" (VTT) or with commas (SRT).
_TIMING = re.compile(
    r"^\s*((?:\d+:)?\d{1,2}:\d{2}[.,]\d{1,3})\s+-->\s+((?:\d+:)?\d{1,2}:\d{2}[.,]\d{1,3})(?:\s.*)?$"
)


def read_transcript(path: Path, data: bytes | None = None, language: str | None = None) -> Draft:
    """Read any accepted format; ImportRefused (one line naming file and line or cue) otherwise.

    `language` is the transcript's language as the operator gives it (`--language`):
    in two-language subtitles its line is the text and the other one is parallel
    (default: the Chinese line is the text).
    """
    latin_first = bool(language) and not language.lower().startswith(("zh", "ja", "ko"))
    if data is None:
        try:
            data = path.read_bytes()
        except IsADirectoryError:
            raise ImportRefused(path, "is a folder, not a file") from None
        except OSError as exc:
            raise ImportRefused(path, f"cannot read it ({exc.strerror or exc})") from None
    text = decode(path, data)
    head = text.lstrip()
    first = head.split("\n", 1)[0].strip()
    suffix = path.suffix.lower()
    if head.startswith("WEBVTT"):
        return read_vtt(path, text, latin_first)
    if suffix == ".vtt":
        raise ImportRefused(path, "not a WebVTT file: the first line must be WEBVTT", line=1)
    if head.startswith(("{", "[")):
        return read_json(path, text, latin_first)
    if suffix == ".json":
        raise ImportRefused(path, "not JSON (expected an object with segments)", line=1)
    if _SEED_HEADER.match(first):
        return read_seed(path, text)
    lines = head.split("\n")
    if any(_TIMING.match(line) for line in lines[:3]) or (
        first.isdigit() and len(lines) > 1 and "-->" in lines[1]
    ):
        return read_srt(path, text, latin_first)
    raise ImportRefused(path, _NOT_SUBTITLES, line=1)


def _seconds(stamp: str) -> float:
    parts = stamp.replace(",", ".").split(":")
    h = int(parts[0]) if len(parts) == 3 else 0
    m, s = int(parts[-2]), float(parts[-1])
    return h * 3600 + m * 60 + s


def _timing_lines(path: Path, text: str) -> list[tuple[int, float, float]]:
    """(line, start, end) of every line with "-->", refusing a malformed one by its line."""
    out = []
    for lineno, line in enumerate(text.split("\n"), start=1):
        if "-->" not in line:
            continue
        m = _TIMING.match(line)
        if m is None:
            raise ImportRefused(
                path, f"malformed cue timing {line.strip()[:60]!r}", line=lineno, cue=len(out) + 1
            )
        out.append((lineno, _seconds(m.group(1)), _seconds(m.group(2))))
    return out


def _unread_cue(path: Path, starts: list[float], timings: list[tuple[int, float, float]]) -> None:
    """Refuse by its line the first timing line the parser did not read as a cue."""
    for n, (line, start, _end) in enumerate(timings, 1):
        if n > len(starts) or abs(starts[n - 1] - start) > 0.0005:
            raise ImportRefused(
                path,
                "this cue could not be read (a cue is an optional number or id, its timing "
                "line, then its text, with a blank line between cues)",
                line=line,
                cue=n,
            )
    raise ImportRefused(path, f"{len(starts)} cues read but {len(timings)} timing lines")


def _draft(
    path: Path,
    fmt: str,
    raw: list[RawCue],
    empty: str,
    unit: str = "cue",
    latin_first: bool = False,
) -> Draft:
    cues, stats = shape_cues(path, raw, unit, latin_first)
    speakers, turns = merge_cues(cues, stats=stats)
    if not turns:
        raise ImportRefused(path, empty)
    unnamed = not any(c.speaker for c in cues)
    return Draft(path, fmt, speakers, turns, max(c.end for c in raw), stats=stats, unnamed=unnamed)


# -- WebVTT -----------------------------------------------------------------------------


def read_vtt(path: Path, text: str, latin_first: bool = False) -> Draft:
    import webvtt
    from webvtt.errors import MalformedFileError

    if not re.match(r"WEBVTT(?:[ \t].*)?$", text.lstrip().split("\n", 1)[0]):
        raise ImportRefused(path, "not a WebVTT file: the first line must be WEBVTT", line=1)
    timings = _timing_lines(path, text)
    try:
        captions = list(webvtt.from_buffer(io.StringIO(text)))
    except MalformedFileError as exc:
        raise ImportRefused(path, f"not a WebVTT file ({exc})") from None
    if len(captions) != len(timings):
        _unread_cue(path, [_seconds(c.start) for c in captions], timings)
    cues = []
    for n, (caption, (line, start, end)) in enumerate(zip(captions, timings, strict=True), 1):
        voice = caption.voice.strip() if caption.voice else None
        lines = tuple(caption.raw_text.split("\n"))
        cues.append(RawCue(start, end, lines, voice or None, n, line))
    return _draft(
        path, "WebVTT", cues, "no cues with text (an empty subtitle file)", "cue", latin_first
    )


# -- SRT --------------------------------------------------------------------------------

# "Sam Altman: text", "- LEX: text", ">> 山姆: text", "SPEAKER_01: text"
_NAME_PREFIX = re.compile(
    r"^\s*(?:-\s*|>>\s*)?"
    r"((?:[A-Z][\w.'’-]*)(?: [A-Z0-9][\w.'’-]*){0,3}|[\u4e00-\u9fff·]{1,8})"
    r"\s*[:：]\s*(?=\S)"
)


def read_srt(path: Path, text: str, latin_first: bool = False) -> Draft:
    import srt

    timings = _timing_lines(path, text)
    try:
        subtitles = list(srt.parse(text))
    except srt.SRTParseError as exc:
        line = text[: exc.expected_start].count("\n") + 1
        raise ImportRefused(
            path, "not an SRT cue (expected a number, then a timing line)", line=line
        ) from None
    except (ValueError, srt.TimestampParseError) as exc:
        raise ImportRefused(path, f"not an SRT file ({exc})") from None
    if len(subtitles) != len(timings):
        _unread_cue(path, [s.start.total_seconds() for s in subtitles], timings)
    cues = []
    for n, (sub, (line, _start, _end)) in enumerate(zip(subtitles, timings, strict=True), 1):
        body = sub.content.strip()
        speaker = None
        m = _NAME_PREFIX.match(body)
        if m is not None:
            speaker = m.group(1).strip()
            body = body[m.end() :]
        start, end = sub.start.total_seconds(), sub.end.total_seconds()
        cues.append(RawCue(start, end, tuple(body.split("\n")), speaker, n, line))
    return _draft(
        path, "SRT", cues, "no cues with text (an empty subtitle file)", "cue", latin_first
    )


# -- JSON segments ----------------------------------------------------------------------


def read_json(path: Path, text: str, latin_first: bool = False) -> Draft:
    try:
        obj = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ImportRefused(path, f"not JSON ({exc.msg})", line=exc.lineno) from None
    if not isinstance(obj, dict) or not isinstance(obj.get("segments"), list):
        raise ImportRefused(
            path, 'not a JSON transcript: expected an object with "segments": [{start, end, text}]'
        )
    cues = []
    for n, seg in enumerate(obj["segments"], 1):

        def bad(message: str, n: int = n) -> ImportRefused:
            return ImportRefused(path, message, cue=n, unit="segment")

        if not isinstance(seg, dict):
            raise bad("not an object")
        for key in ("start", "end"):
            value = seg.get(key)
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise bad(f'"{key}" must be a number of seconds, got {value!r}')
        if not isinstance(seg.get("text"), str):
            raise bad('"text" must be a string')
        speaker = seg.get("speaker")
        if speaker is not None and not isinstance(speaker, str | int):
            raise bad('"speaker" must be a string or a number')
        lines = _stamped_words(seg) or tuple(seg["text"].split("\n"))
        cue = RawCue(
            float(seg["start"]),
            float(seg["end"]),
            lines,
            None if speaker in (None, "") else str(speaker),
            n,
        )
        cues.append(cue)
    return _draft(
        path, "JSON", cues, "no segments with text (an empty transcript)", "segment", latin_first
    )


def _stamped_words(seg: dict) -> tuple[str, ...]:
    """A segment's `words` ([{"word", "start", "end"}], as faster-whisper and WhisperX
    write them) as one line with a <hh:mm:ss.mmm> stamp before each timed word, the
    shape `shape_cues` reads from automatic captions; () when there are none. A word
    without a time goes with the one before; times are kept within the segment."""
    words = seg.get("words")
    if not isinstance(words, list) or not words:
        return ()
    start, end = float(seg["start"]), float(seg["end"])
    parts: list[str] = []
    at = start
    for w in words:
        if not isinstance(w, dict) or not isinstance(w.get("word"), str):
            return ()
        t = w.get("start")
        if isinstance(t, int | float) and not isinstance(t, bool):
            at = min(max(at, float(t)), max(end, start))
            parts.append(f"<{hms(at)}>")
        parts.append(html.escape(w["word"], quote=False))
    return ("".join(parts),)


# -- the seed's own format --------------------------------------------------------------


def read_seed(path: Path, text: str) -> Draft:
    meta: dict = {}
    try:
        if path.with_suffix(".toml").is_file():
            conv = load_conversation(path)
            meta = {
                "title": conv.title,
                "title_zh": conv.title_zh,
                "language": conv.language,
                "video_url": conv.video_url,
                "intro_end": conv.intro_end,
                "id": conv.id,
                "end": conv.end,
            }
            speakers = conv.speakers
            turns = conv.turns
        else:
            numbers = sorted({int(n) for n in _SEED_NUMBER.findall(text)})
            speakers = {n: Speaker(n, f"Speaker {n}", f"发言人{n}") for n in numbers}
            turns = parse_turns(text, path, speakers)
    except TranscriptError as exc:
        raise ImportRefused(exc.path, str(exc).split(": ", 1)[1], line=exc.line) from None
    names = {str(n): s.name for n, s in speakers.items()}
    meta["speakers"] = {str(n): s for n, s in speakers.items()}
    labels = []
    draft_turns = []
    for t in turns:
        label = str(t.speaker)
        if label not in labels:
            labels.append(label)
        cues = [(o, float(s)) for o, s in t.cues] or [(0, float(t.start))]
        draft_turns.append(DraftTurn(label, float(t.start), t.text, cues))
    end = float(max(turns[-1].start, meta.get("end", 0)))
    return Draft(path, "seed", labels, draft_turns, end, meta=meta, names=names)
