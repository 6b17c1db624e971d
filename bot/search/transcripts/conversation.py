"""Loading conversations: a transcript (.txt) and its metadata (.toml) side by side.

The loader is strict on purpose: a transcript with a bad header would
otherwise shift every later quote to the wrong speaker or time, which is
worse for a quote bot than refusing to start.

Metadata keys: id, title, title_zh, language, video_url, intro_end and
[speakers.N] (name, name_zh, aliases); conversations imported by `quotebot
add` also carry `end` (when the recording ends) and `cues = [[turn, offset,
second], ...]`, the time of every subtitle cue inside its turn.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from bot.errors import QuotebotError

_HEADER = re.compile(r"^(?:发言人|演讲者|發言人|演講者)\s*(\d+)\s+(\d{1,2}):(\d{2}):(\d{2})\s*$")
# Anything that starts like a header but fails _HEADER is an error, not text.
_HEADER_LIKE = re.compile(r"^(?:发言人|演讲者|發言人|演講者)\s*\d+(?:\s|$)")


class TranscriptError(QuotebotError, ValueError):
    """A transcript or metadata file that cannot be loaded; names the file and line."""

    def __init__(self, path: Path, line: int | None, message: str) -> None:
        where = f"{path}:{line}" if line is not None else str(path)
        super().__init__(f"{where}: {message}")
        self.path = path
        self.line = line


@dataclass(frozen=True, slots=True)
class Speaker:
    number: int
    name: str
    name_zh: str
    # Other ways people name this speaker in a question ("Sam", "奥特曼"):
    # a question naming them prefers their turns instead of matching the name.
    aliases: tuple[str, ...] = ()

    def display(self, lang: str) -> str:
        return self.name if lang == "en" else self.name_zh


@dataclass(frozen=True, slots=True)
class Turn:
    index: int
    speaker: int
    start: int  # seconds from the start of the recording
    text: str  # paragraphs joined by "\n"
    line: int  # line of the header in the file, for error messages
    # Imported subtitles: (character offset in `text`, second) of each cue that
    # made the turn, so a passage's time is interpolated between cue times
    # instead of across the whole turn. Empty for hand-written transcripts.
    cues: tuple[tuple[int, int], ...] = ()
    # Two-language subtitles: (character offset in `text`, the same words in the
    # other language) of each cue that had a line in both; empty otherwise.
    parallel: tuple[tuple[int, str], ...] = ()


@dataclass(frozen=True)
class Conversation:
    id: str
    title: str
    title_zh: str
    language: str
    video_url: str
    speakers: dict[int, Speaker]
    turns: list[Turn] = field(repr=False)
    source: Path | None = None
    # Seconds before which the recording is introduction and sponsor reads:
    # such passages answer only queries clearly about them, and are never a daily quote.
    intro_end: int = 0
    # Second at which the recording ends (the last cue's end), 0 when unknown.
    end: int = 0
    # The speaker who asks the questions (bot.search.index.exchanges); 0: inferred.
    host: int = 0

    @property
    def duration(self) -> int:
        """Seconds the conversation lasts: its end if known, else the last turn's start."""
        return max(self.end, self.turns[-1].start if self.turns else 0)

    def video_link(self, seconds: int) -> str:
        """A link that opens the recording at `seconds` (YouTube's `t` parameter)."""
        if not self.video_url:
            return ""
        sep = "&" if "?" in self.video_url else "?"
        return f"{self.video_url}{sep}t={int(seconds)}s"


def format_hms(seconds: int) -> str:
    seconds = max(0, int(seconds))
    return f"{seconds // 3600:02d}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}"


def _speaker_aliases(value: object) -> tuple[str, ...]:
    """A speaker's other names: a list of non-empty strings ("Sam" alone would be S, a, m)."""
    if not isinstance(value, list) or not all(isinstance(a, str) and a.strip() for a in value):
        raise ValueError('speaker aliases must be a list of names, e.g. aliases = ["Sam"]')
    return tuple(value)


def parse_hms(text: str) -> int:
    """Seconds of an "HH:MM:SS" or "MM:SS" string (metadata such as intro_end); ValueError otherwise."""
    parts = text.strip().split(":")
    if not 2 <= len(parts) <= 3 or not all(p.isdigit() for p in parts):
        raise ValueError(f"not a timestamp: {text!r}")
    nums = [int(p) for p in parts]
    if len(nums) == 2:
        nums.insert(0, 0)
    h, m, s = nums
    if m >= 60 or s >= 60:
        raise ValueError(f"not a timestamp: {text!r}")
    return h * 3600 + m * 60 + s


def parse_turns(text: str, path: Path, speakers: dict[int, Speaker]) -> list[Turn]:
    """Split transcript text into turns, failing loudly on anything ambiguous."""
    text = text.removeprefix("\ufeff").replace("\r\n", "\n").replace("\r", "\n")
    turns: list[Turn] = []
    header: tuple[int, int, int] | None = None  # speaker, start, line
    paragraphs: list[str] = []

    def close() -> None:
        if header is None:
            return
        speaker, start, line = header
        if not paragraphs:
            raise TranscriptError(path, line, "turn has no text")
        turns.append(Turn(len(turns), speaker, start, "\n".join(paragraphs), line))

    for lineno, raw in enumerate(text.split("\n"), start=1):
        line = raw.strip()
        if not line:
            continue
        match = _HEADER.match(line)
        if match is None and _HEADER_LIKE.match(line):
            raise TranscriptError(path, lineno, f"malformed turn header {line[:40]!r}")
        if match is None:
            if header is None:
                raise TranscriptError(path, lineno, "text before the first turn header")
            paragraphs.append(line)
            continue
        speaker = int(match.group(1))
        h, m, s = (int(g) for g in match.group(2, 3, 4))
        if m >= 60 or s >= 60:
            raise TranscriptError(path, lineno, f"bad timestamp {line.split()[-1]!r}")
        start = h * 3600 + m * 60 + s
        if speaker not in speakers:
            raise TranscriptError(path, lineno, f"unknown speaker {speaker} (not in metadata)")
        if header is not None:
            close()
            previous = turns[-1].start
            if start < previous:
                raise TranscriptError(
                    path,
                    lineno,
                    f"timestamp {format_hms(start)} goes backwards (previous turn at "
                    f"{format_hms(previous)})",
                )
        header = (speaker, start, lineno)
        paragraphs = []
    close()
    if not turns:
        raise TranscriptError(path, None, "no turns found")
    return turns


def _read_metadata(path: Path) -> dict:
    try:
        with path.open("rb") as fh:
            return tomllib.load(fh)
    except FileNotFoundError:
        raise TranscriptError(path, None, "metadata file missing") from None
    except tomllib.TOMLDecodeError as exc:
        raise TranscriptError(path, None, f"invalid TOML: {exc}") from None


def load_conversation(txt_path: Path) -> Conversation:
    """Load one transcript and the .toml metadata file with the same stem."""
    meta_path = txt_path.with_suffix(".toml")
    meta = _read_metadata(meta_path)
    try:
        speakers = {
            int(num): Speaker(
                int(num),
                str(info["name"]),
                str(info.get("name_zh", info["name"])),
                _speaker_aliases(info.get("aliases", [])),
            )
            for num, info in meta.get("speakers", {}).items()
        }
        intro_end = parse_hms(str(meta["intro_end"])) if "intro_end" in meta else 0
        end = parse_hms(str(meta["end"])) if "end" in meta else 0
        host = int(meta.get("host", 0))
        if host and host not in speakers:
            raise ValueError(f"host {host} is not one of the speakers")
        conv_id = str(meta["id"])
        cue_rows = meta.get("cues", [])
        if not isinstance(cue_rows, list) or not all(
            isinstance(r, list) and len(r) == 3 and all(isinstance(v, int) for v in r)
            for r in cue_rows
        ):
            raise ValueError("cues must be a list of [turn, offset, second] whole numbers")
        parallel_rows = meta.get("parallel", [])
        if not isinstance(parallel_rows, list) or not all(
            isinstance(r, list)
            and len(r) == 3
            and isinstance(r[0], int)
            and isinstance(r[1], int)
            and isinstance(r[2], str)
            for r in parallel_rows
        ):
            raise ValueError("parallel must be a list of [turn, offset, text]")
    except (KeyError, ValueError, TypeError) as exc:
        raise TranscriptError(meta_path, None, f"bad metadata: {exc}") from None
    if not re.fullmatch(r"[A-Za-z0-9]{1,12}", conv_id):
        raise TranscriptError(meta_path, None, "id must be 1-12 letters or digits")
    try:
        text = txt_path.read_bytes().decode("utf-8")
    except UnicodeDecodeError as exc:
        raise TranscriptError(txt_path, None, f"not UTF-8: {exc}") from None
    turns = parse_turns(text, txt_path, speakers)
    if cue_rows or parallel_rows:
        turns = _attach_cues(turns, cue_rows, meta_path, parallel_rows)
    return Conversation(
        id=conv_id,
        title=str(meta.get("title", txt_path.stem)),
        title_zh=str(meta.get("title_zh", meta.get("title", txt_path.stem))),
        language=str(meta.get("language", "zh-Hans")),
        video_url=str(meta.get("video_url", "")),
        speakers=speakers,
        turns=turns,
        source=txt_path,
        intro_end=intro_end,
        end=end,
        host=host,
    )


def _attach_cues(
    turns: list[Turn],
    rows: list[list[int]],
    meta_path: Path,
    parallel: list[list] = (),  # type: ignore[assignment]
) -> list[Turn]:
    """Give each turn its cue times from the metadata's `cues = [[turn, offset, second], ...]`
    and its other-language lines from `parallel = [[turn, offset, text], ...]`."""
    by_turn: dict[int, list[tuple[int, int]]] = {}
    lines: dict[int, list[tuple[int, str]]] = {}
    for kind, table, target in (("cue", rows, by_turn), ("parallel line", parallel, lines)):
        for turn, offset, value in table:
            if not 0 <= turn < len(turns) or not 0 <= offset <= len(turns[turn].text):
                shown = value if isinstance(value, int) else "…"
                raise TranscriptError(
                    meta_path,
                    None,
                    f"bad metadata: {kind} [{turn}, {offset}, {shown}] is outside the text",
                )
            target.setdefault(turn, []).append((offset, value))  # type: ignore[attr-defined]
    out = []
    for t in turns:
        cues = tuple(sorted(by_turn.get(t.index, ())))
        other = tuple(sorted(lines.get(t.index, ())))
        if cues or other:
            t = Turn(t.index, t.speaker, t.start, t.text, t.line, cues, other)
        out.append(t)
    return out


def transcript_files(data_dir: Path) -> list[Path]:
    """The transcripts of a data directory (each .txt with a .toml beside it), by file name."""
    return [p for p in sorted(data_dir.glob("*.txt")) if p.with_suffix(".toml").exists()]


def catalogue_files(data_dir: Path, library_dir: Path | None = None) -> list[Path]:
    """The transcripts `load_all` reads, in its order: the bundled ones, then the library's."""
    files = transcript_files(data_dir)
    if (
        library_dir is not None
        and library_dir.is_dir()
        and library_dir.resolve() != data_dir.resolve()
    ):
        files += transcript_files(library_dir)
    return files


def load_directory(data_dir: Path, allow_empty: bool = False) -> list[Conversation]:
    """Every conversation in a data directory (each .txt with a .toml beside it), by file name."""
    convs = [load_conversation(p) for p in transcript_files(data_dir)]
    if not convs and not allow_empty:
        raise TranscriptError(data_dir, None, "no conversations (*.txt with a .toml beside it)")
    no_duplicates(convs, data_dir)
    return convs


def load_all(data_dir: Path, library_dir: Path | None = None) -> list[Conversation]:
    """The bundled conversations, then those of the user library (which may be empty or absent).

    Either folder may hold none, as long as there is one conversation in all.
    """
    convs = [load_conversation(p) for p in catalogue_files(data_dir, library_dir)]
    if not convs:
        raise no_conversations(data_dir, library_dir)
    no_duplicates(convs, data_dir)
    return convs


def no_conversations(data_dir: Path, library_dir: Path | None) -> TranscriptError:
    where = f"{data_dir}" + (f" or {library_dir}" if library_dir is not None else "")
    return TranscriptError(
        data_dir, None, f"no conversations in {where} (*.txt with a .toml beside it)"
    )


def no_duplicates(convs: list[Conversation], data_dir: Path) -> None:
    seen: dict[str, Path | None] = {}
    for conv in convs:
        if conv.id in seen:
            raise TranscriptError(conv.source or data_dir, None, f"duplicate id {conv.id!r}")
        seen[conv.id] = conv.source
