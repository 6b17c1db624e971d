"""Progress of the slow steps (indexing a catalogue, embedding passages) for whoever waits.

On a terminal a bar redrawn in place; anywhere else (a service's log) a line
every quarter, so a first start of a big catalogue is never silent for minutes.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable

log = logging.getLogger(__name__)


def terminal_progress(label: str) -> Callable[[int, int], None]:
    """A progress bar on a terminal's stderr, or a log line every 25% otherwise."""
    tty = sys.stderr.isatty()
    last = [-1]

    def show(done: int, total: int) -> None:
        if total <= 0:
            return
        share = done / total
        if tty:
            filled = int(share * 30)
            end = "\n" if done >= total else ""
            sys.stderr.write(f"\r{label} [{'#' * filled}{'.' * (30 - filled)}] {done}/{total}{end}")
            sys.stderr.flush()
        elif int(share * 4) > last[0]:
            last[0] = int(share * 4)
            log.info("%s: %d/%d", label, done, total)

    return show
