"""Importing conversations people already have: subtitles and transcripts.

`read_transcript(path)` reads WebVTT, SRT, a JSON transcript (`{"segments":
[{start, end, text, speaker?}]}`, as Whisper-style tools export) or the seed's
own format into a `Draft`: turns of one speaker each, built from the cues,
with every cue's time kept: the shapes real files have (rolling automatic
captions with word timestamps, overlapping cues, repeats, two-language cues,
speech without punctuation) are recognised by `cues.shape_cues`. `catalog` writes a Draft into the user
library in the seed's own format (.txt + .toml), atomically, and lists and
removes what is there; `video` fetches a video page's subtitles with yt-dlp.

The names below are the library's public surface (the CLI and chat uploads
use them); the modules behind them are its internals.

Every refusal is an `ImportRefused` whose message is one line naming the
file and the line or cue.
"""

from bot.search.library.catalog import Entry, LibraryError, add, added_line, entries, remove
from bot.search.library.cues import (
    Cue,
    Draft,
    DraftTurn,
    ImportRefused,
    ImportStats,
    RawCue,
    merge_cues,
    shape_cues,
    summary,
)
from bot.search.library.readers import FORMATS, SUFFIXES, read_transcript, transcript_sources
from bot.search.library.video import DEFAULT_LANGS, Fetched, fetch, is_url

__all__ = [
    "DEFAULT_LANGS",
    "FORMATS",
    "SUFFIXES",
    "Cue",
    "Draft",
    "DraftTurn",
    "Entry",
    "Fetched",
    "ImportRefused",
    "ImportStats",
    "LibraryError",
    "RawCue",
    "add",
    "added_line",
    "entries",
    "fetch",
    "is_url",
    "merge_cues",
    "read_transcript",
    "remove",
    "shape_cues",
    "summary",
    "transcript_sources",
]
