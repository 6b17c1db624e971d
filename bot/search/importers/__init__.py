"""Importing conversations people already have: subtitles and transcripts.

`read_transcript(path)` reads WebVTT, SRT, a JSON transcript (`{"segments":
[{start, end, text, speaker?}]}`, as Whisper-style tools export) or the seed's
own format into a `Draft`: turns of one speaker each, built from the cues,
with every cue's time kept. `catalog` writes a Draft into the user library in
the seed's own format (.txt + .toml), atomically, and lists and removes what
is there.

Every refusal is an `ImportRefused` whose message is one line naming the
file and the line or cue.
"""

from bot.search.importers.common import Cue, Draft, DraftTurn, ImportRefused, merge_cues
from bot.search.importers.readers import FORMATS, read_transcript

__all__ = [
    "FORMATS",
    "Cue",
    "Draft",
    "DraftTurn",
    "ImportRefused",
    "merge_cues",
    "read_transcript",
]
