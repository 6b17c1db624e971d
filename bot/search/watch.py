"""Hot reload: a running bot picks up conversations added to or removed from its library.

`LibraryWatch` polls the library folder: every `interval` seconds it lists the
conversations' files (name, size, modification time; `quotebot add` writes a
temporary folder first and renames the .txt, then the .toml, into place). When
the listing changes and then holds still for a moment, it builds a new engine
on a worker thread (the event loop keeps answering meanwhile) and hands it to
`swap`, which replaces the running engine in one assignment: a query already
under way finishes on the engine it started with. A build that fails (a broken
file in the library) is logged in one line and the old engine goes on serving;
the same listing is not tried again until it changes.

Polling, rather than SIGHUP or inotify: it needs no step from the operator
(`quotebot add` in another shell, a file copied in, an upload in the chat all
just work), no process id, and no platform-specific API or extra package, and
a missed event cannot leave the bot stale; it costs one directory listing
every couple of seconds.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from pathlib import Path
from typing import Generic, TypeVar

from bot.search.transcripts.conversation import TranscriptError

log = logging.getLogger(__name__)

# What loading a changed library raises for a file's sake: a transcript or subtitle
# that does not read (TranscriptError), a file gone or unreadable mid-build, a
# damaged index cache or text that does not decode (ValueError).
LOADING_ERRORS: tuple[type[Exception], ...] = (TranscriptError, OSError, ValueError)

E = TypeVar("E")
State = tuple[tuple[str, int, int], ...]
SETTLE = 0.2  # seconds a changed listing must hold still before a build


def library_state(library_dir: Path | None) -> State:
    """(name, size, mtime in ns) of the library's .toml files and of each .txt with a
    .toml beside it (the loader ignores a .txt alone: `quotebot add` renames the .txt
    into place first), by name."""
    if library_dir is None:
        return ()
    try:
        entries = []
        names = {p.name for p in library_dir.iterdir()}
        for name in names:
            if name.startswith("."):
                continue
            stem, dot, suffix = name.rpartition(".")
            if dot and (suffix == "toml" or (suffix == "txt" and f"{stem}.toml" in names)):
                try:
                    st = (library_dir / name).stat()
                except FileNotFoundError:  # removed since the listing
                    continue
                entries.append((name, st.st_size, st.st_mtime_ns))
    except (FileNotFoundError, NotADirectoryError):
        return ()
    except OSError as exc:
        log.warning("cannot list the library %s: %s", library_dir, exc)
        return ()
    return tuple(sorted(entries))


class LibraryWatch(Generic[E]):
    """Rebuilds the engine when the library changes and hands it to `swap` (see the module)."""

    def __init__(
        self,
        library_dir: Path | None,
        build: Callable[[], E],
        swap: Callable[[E], None],
        interval: float = 2.0,
    ) -> None:
        self.library_dir = library_dir
        self.build = build
        self.swap = swap
        self.interval = interval
        self.state: State = library_state(library_dir)
        self.reloads = 0  # engines swapped in
        self.failures = 0  # builds that failed (the old engine went on)

    async def check(self) -> bool:
        """One poll: True when a changed library was built and swapped in."""
        state = await asyncio.to_thread(library_state, self.library_dir)
        if state == self.state:
            return False
        while True:  # wait until a copy or an add in progress has finished
            await asyncio.sleep(SETTLE)
            settled = await asyncio.to_thread(library_state, self.library_dir)
            if settled == state:
                break
            state = settled
        started = time.perf_counter()
        try:
            engine = await asyncio.to_thread(self.build)
        except LOADING_ERRORS as exc:  # a broken or unreadable file: one line, keep serving
            self.state = state
            self.failures += 1
            log.error(
                "library changed but could not be loaded; still serving the previous "
                "conversations: %s",
                str(exc).splitlines()[0] if str(exc) else type(exc).__name__,
            )
            return False
        except Exception:  # a bug, not a file: its traceback, but never take the bot down
            self.state = state
            self.failures += 1
            log.exception(
                "library changed and loading it failed unexpectedly; still serving the "
                "previous conversations"
            )
            return False
        self.state = state
        self.swap(engine)
        self.reloads += 1
        conversations = getattr(engine, "conversations", {})
        log.info(
            "library changed: now %d conversation(s); new index in %.2f s",
            len(conversations),
            time.perf_counter() - started,
        )
        return True

    async def run(self) -> None:
        """Poll until cancelled."""
        while True:
            await asyncio.sleep(self.interval)
            try:
                await self.check()
            except asyncio.CancelledError:
                raise
            except Exception:  # never let the watch die quietly
                log.exception("library watch: unexpected error; watching on")


def engine_builder(
    data_dir: Path, cache_dir: Path | None, library_dir: Path | None
) -> Callable[[], object]:
    """What a running bot rebuilds on a change: the engine as it loads at start (the index
    from the per-conversation cache, so only an added conversation is segmented; the
    meaning layer built on its own thread while the new engine answers by words)."""

    def build() -> object:
        from bot.search.engine import QuoteEngine

        return QuoteEngine.load(data_dir, cache_dir, meaning="background", library_dir=library_dir)

    return build


async def stop(task: asyncio.Task | None) -> None:
    """Cancel a watch task and wait for it to end."""
    if task is None or task.done():
        return
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
