"""Subtitles sent to the bot as a file by an administrator, imported into the library.

The same reader and library as `quotebot add` (bot.search.library): the reply is
the same one summary line, or the same one-line error. The running bot's library
watch (bot.search.LibraryWatch) then serves the new conversation without a restart.
These lines are for the operator and, like the command line's, in English.
"""

from __future__ import annotations

import time
from pathlib import PurePath

from bot.search.library import (
    SUFFIXES,
    ImportRefused,
    LibraryError,
    add,
    added_line,
    read_transcript,
)

# Telegram lets a bot download files of at most 20 MB (getFile).
TELEGRAM_DOWNLOAD_LIMIT = 20 * 1024 * 1024


def safe_name(name: str | None) -> str:
    """The file's own name (no folders), as messages show it; "upload" when it has none."""
    base = PurePath((name or "").replace("\\", "/")).name.strip()
    return base[:100] or "upload"


def refusal(name: str, size: int | None, max_bytes: int) -> str | None:
    """Why a file is refused before it is downloaded (kind, size), or None to go on."""
    name = safe_name(name)
    if PurePath(name).suffix.lower() not in SUFFIXES:
        return (
            f"{name}: not a subtitle file (send a {', '.join(SUFFIXES[:-1])} or "
            f"{SUFFIXES[-1]} file)"
        )
    limit = min(max_bytes, TELEGRAM_DOWNLOAD_LIMIT)
    if size is not None and size > limit:
        return f"{name}: too big ({size / 1e6:.1f} MB; at most {limit / 1e6:.0f} MB)"
    return None


def import_upload(
    name: str,
    data: bytes,
    library_dir: PurePath,
    data_dir: PurePath,
    title: str | None = None,
    max_bytes: int = TELEGRAM_DOWNLOAD_LIMIT,
) -> tuple[bool, str]:
    """Read and store an uploaded file: (True, the summary line) or (False, the error line).

    Blocking (reads, writes and re-reads files): call it on a worker thread.
    """
    from pathlib import Path

    name = safe_name(name)
    why = refusal(name, len(data), max_bytes)
    if why is not None:
        return False, why
    started = time.perf_counter()
    try:
        draft = read_transcript(Path(name), data)
        conv = add(draft, Path(library_dir), Path(data_dir), title=title or None)
    except (ImportRefused, LibraryError) as exc:
        return False, str(exc)
    return True, added_line(conv, draft, time.perf_counter() - started)
