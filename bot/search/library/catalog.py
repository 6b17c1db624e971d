"""The user library: imported conversations in the seed's own format, beside the bundled ones.

`quotebot add` writes `<id>.txt` and `<id>.toml` into the library folder
(`QUOTEBOT_LIBRARY_DIR`, default `~/.local/share/quotebot/library`; see bot.config). Both are
written into a temporary folder inside the library, read back with the same
loader the engine uses, then renamed into place: the .txt first, the .toml
last, because the loader ignores a .txt without its .toml. An interrupted add
leaves nothing the engine would load; `remove` goes the other way round.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import tempfile
import tomllib
from dataclasses import dataclass
from pathlib import Path

from bot.errors import QuotebotError
from bot.search.library.cues import Draft, summary
from bot.search.transcripts.conversation import (
    Conversation,
    TranscriptError,
    format_hms,
    load_conversation,
    load_directory,
)

_ID = re.compile(r"[A-Za-z0-9]{1,12}")


class LibraryError(QuotebotError, ValueError):
    """Something the library cannot do; the message is one line."""


@dataclass(frozen=True)
class Entry:
    conversation: Conversation
    source: str  # "bundled" or "library"


def entries(data_dir: Path, library_dir: Path) -> list[Entry]:
    """Every conversation the engine would load: bundled ones first, then the library's."""
    out = [Entry(c, "bundled") for c in load_directory(data_dir, allow_empty=True)]
    if library_dir.is_dir() and library_dir.resolve() != data_dir.resolve():
        out += [Entry(c, "library") for c in load_directory(library_dir, allow_empty=True)]
    return out


def _ids(folder: Path) -> dict[str, Path]:
    """id -> .toml of every conversation in a folder, read from the metadata alone."""
    ids: dict[str, Path] = {}
    if not folder.is_dir():
        return ids
    for meta in sorted(folder.glob("*.toml")):
        if not meta.with_suffix(".txt").exists():
            continue
        try:
            with meta.open("rb") as fh:
                value = tomllib.load(fh).get("id")
        except (OSError, tomllib.TOMLDecodeError):
            continue
        if isinstance(value, str):
            ids[value] = meta
    return ids


def guess_language(text: str) -> str:
    letters = [ch for ch in text if ch.isalpha()]
    if not letters:
        return "en"
    han = sum(1 for ch in letters if "\u4e00" <= ch <= "\u9fff")
    return "zh-Hans" if han >= len(letters) * 0.3 else "en"


def _toml_str(value: str) -> str:
    return json.dumps(value, ensure_ascii=False)


def _aliases(name: str) -> list[str]:
    parts = [name, *name.split()] if " " in name else [name]
    return list(dict.fromkeys(p for p in parts if len(p) > 1))


def render(
    draft: Draft,
    conv_id: str,
    title: str,
    video_url: str,
    language: str,
    names: dict[str, str],
) -> tuple[str, str]:
    """The .txt and .toml texts of a draft in the seed's own format."""
    if draft.format == "seed":  # keep the transcript's own speaker numbers
        numbers = {label: int(label) for label in draft.speakers}
    else:
        numbers = {label: n for n, label in enumerate(draft.speakers, start=1)}
    txt: list[str] = []
    cues: list[str] = []
    parallel: list[str] = []
    for index, turn in enumerate(draft.turns):
        start = int(turn.start)
        txt.append(f"发言人{numbers[turn.speaker]} {format_hms(start)}\n{turn.text}\n")
        last = start
        for offset, second in turn.cues:
            # One cue point a second is enough (word-timed captions have several).
            if int(second) == last:
                continue
            last = int(second)
            cues.append(f"[{index}, {offset}, {int(second)}]")
        parallel += [f"[{index}, {offset}, {_toml_str(line)}]" for offset, line in turn.parallel]
    seed_meta = draft.meta.get("speakers", {})
    meta = [
        f"# Imported by `quotebot add` from {draft.path.name} ({draft.format}).",
        f"id = {_toml_str(conv_id)}",
        f"title = {_toml_str(title)}",
        f"title_zh = {_toml_str(draft.meta.get('title_zh') or title)}",
        f"language = {_toml_str(language)}",
        f"video_url = {_toml_str(video_url)}",
        f'end = "{format_hms(int(draft.end + 0.999))}"',
    ]
    if draft.meta.get("intro_end"):
        meta.append(f'intro_end = "{format_hms(draft.meta["intro_end"])}"')
    if cues:
        meta.append("# [turn, character offset in the turn, second] of each subtitle cue")
        rows = [", ".join(cues[i : i + 8]) for i in range(0, len(cues), 8)]
        meta.append("cues = [\n  " + ",\n  ".join(rows) + ",\n]")
    if parallel:
        meta.append("# [turn, character offset in the turn, the cue's line in the other language]")
        meta.append("parallel = [\n  " + ",\n  ".join(parallel) + ",\n]")
    for label, n in numbers.items():
        # A file without speakers has one, unnamed unless --speaker names it.
        name = names.get(label) or draft.names.get(label) or ("" if draft.unnamed else label)
        seed = seed_meta.get(label)
        name_zh = seed.name_zh if seed is not None and label not in names else name
        aliases = list(seed.aliases) if seed is not None and label not in names else _aliases(name)
        meta += [
            "",
            f"[speakers.{n}]",
            f"name = {_toml_str(name)}",
            f"name_zh = {_toml_str(name_zh)}",
            f"aliases = [{', '.join(_toml_str(a) for a in aliases)}]",
        ]
    return "\n".join(txt), "\n".join(meta) + "\n"


def resolve_speakers(draft: Draft, pairs: list[str]) -> dict[str, str]:
    """`--speaker LABEL=NAME` pairs as label -> name; LABEL is the file's label or the number."""
    names: dict[str, str] = {}
    for pair in pairs:
        label, sep, name = pair.partition("=")
        label, name = label.strip(), name.strip()
        if not sep or not label or not name:
            raise LibraryError(f"--speaker wants LABEL=NAME, got {pair!r}")
        match = [s for s in draft.speakers if s == label] or [
            s for s in draft.speakers if s.casefold() == label.casefold()
        ]
        if not match and label.isdigit() and 1 <= int(label) <= len(draft.speakers):
            match = [draft.speakers[int(label) - 1]]
        if not match:
            known = ", ".join(f"{i}={s}" for i, s in enumerate(draft.speakers, 1))
            raise LibraryError(f"--speaker {label!r}: no such speaker in the file (it has {known})")
        names[match[0]] = name
    return names


def new_id(draft: Draft, wanted: str | None) -> str:
    if wanted is not None:
        if not _ID.fullmatch(wanted):
            raise LibraryError(f"--id must be 1-12 letters or digits, got {wanted!r}")
        return wanted
    if draft.meta.get("id"):
        return str(draft.meta["id"])
    stem = re.sub(r"[^A-Za-z0-9]", "", draft.path.stem)[:12]
    if stem:
        return stem
    return "c" + hashlib.sha1(draft.path.name.encode()).hexdigest()[:8]


def add(
    draft: Draft,
    library_dir: Path,
    data_dir: Path,
    *,
    conv_id: str | None = None,
    title: str | None = None,
    video_url: str | None = None,
    language: str | None = None,
    speakers: list[str] = (),  # type: ignore[assignment]
) -> Conversation:
    """Write a draft into the library atomically and return it as the engine will load it."""
    conv_id = new_id(draft, conv_id)
    taken = _ids(data_dir)
    if conv_id in taken:
        raise LibraryError(
            f"id {conv_id!r} is taken by a bundled conversation ({taken[conv_id]}); choose another with --id"
        )
    taken = _ids(library_dir)
    if conv_id in taken:
        raise LibraryError(
            f"id {conv_id!r} is already in the library ({taken[conv_id]}); "
            f"`quotebot remove {conv_id}` first, or choose another with --id"
        )
    names = resolve_speakers(draft, list(speakers))
    title = title or draft.meta.get("title") or draft.path.stem
    language = language or draft.meta.get("language") or guess_language(draft.text_sample)
    video_url = video_url if video_url is not None else draft.meta.get("video_url", "")
    txt, meta = render(draft, conv_id, title, video_url, language, names)
    try:
        library_dir.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=".adding-", dir=library_dir))
    except OSError as exc:
        raise LibraryError(
            f"cannot write the library {library_dir} ({exc.strerror or exc})"
        ) from None
    try:
        stem = conv_id
        for name, body in ((f"{stem}.txt", txt), (f"{stem}.toml", meta)):
            with (tmp / name).open("w", encoding="utf-8") as fh:
                fh.write(body)
                fh.flush()
                os.fsync(fh.fileno())
        try:
            load_conversation(tmp / f"{stem}.txt")  # exactly what the engine will read
        except TranscriptError as exc:
            raise LibraryError(f"{draft.path}: could not be stored faithfully ({exc})") from None
        os.replace(tmp / f"{stem}.txt", library_dir / f"{stem}.txt")
        os.replace(tmp / f"{stem}.toml", library_dir / f"{stem}.toml")
    except OSError as exc:
        raise LibraryError(
            f"cannot write the library {library_dir} ({exc.strerror or exc})"
        ) from None
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return load_conversation(library_dir / f"{conv_id}.txt")


def remove(conv_id: str, library_dir: Path, data_dir: Path) -> Path:
    """Take a conversation out of the library (metadata first, so it is never half-loaded)."""
    mine = _ids(library_dir)
    if conv_id not in mine:
        bundled = _ids(data_dir)
        if conv_id in bundled:
            raise LibraryError(
                f"{conv_id!r} is bundled with quotebot ({bundled[conv_id].parent}), not in the "
                "library; only conversations added with `quotebot add` can be removed"
            )
        raise LibraryError(f"no conversation {conv_id!r} in the library ({library_dir})")
    meta = mine[conv_id]
    try:
        meta.unlink()
        meta.with_suffix(".txt").unlink(missing_ok=True)
    except OSError as exc:
        raise LibraryError(f"cannot remove {meta} ({exc.strerror or exc})") from None
    return meta.with_suffix(".txt")


def added_line(conv: Conversation, draft: Draft, seconds: float, extra: str = "") -> str:
    """The one line said after an import: id, title, format, turns, duration, speakers,
    then what the import did (`summary`), `extra` and the time it took."""
    names = [s.name for s in conv.speakers.values() if s.name]
    speakers = f", speakers: {', '.join(names)}" if names else ", no speaker names"
    return (
        f"added {conv.id}: {conv.title} ({draft.format}, {len(conv.turns)} turns, "
        f"{format_hms(conv.duration)}{speakers}): {summary(draft)}{extra}; in {seconds:.2f} s"
    )
