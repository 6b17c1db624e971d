"""Where the bundled data lives, kept apart so settings need not import the engine."""

from pathlib import Path

DEFAULT_DATA_DIR = Path(__file__).resolve().parent.parent / "data"
