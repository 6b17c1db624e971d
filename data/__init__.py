"""The bundled data, shipped inside the package as `bot.data`.

Transcripts (.txt + .toml metadata), spelling groups, the user dictionary,
stopwords and topics live in this folder; in a checkout it is the top-level
data/ folder, in an installed wheel it is bot/data/ in site-packages.
"""

from pathlib import Path

DATA_DIR = Path(__file__).resolve().parent
