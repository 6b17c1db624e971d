"""Rebuild the card font: Noto Sans CJK SC cut down to the characters quotebot draws.

    python tools/build_font_subset.py [--source-dir /usr/share/fonts/opentype/noto]

Needs the full fonts on this machine (Debian/Ubuntu: `apt-get install
fonts-noto-cjk`) and fontTools (in the dev extra). Run it whenever a
transcript or its metadata changes: `tests/test_cards.py` fails when a
passage has a character the subset lacks. The output is committed, so
installing or testing quotebot never needs the system fonts:

    bot/cards/fonts/NotoSansCJKsc-Regular.subset.otf
    bot/cards/fonts/NotoSansCJKsc-Bold.subset.otf
    bot/cards/fonts/LICENSE-OFL.txt     the font's copyright notice and the SIL OFL 1.1
    bot/cards/fonts/VERSION             a hash of the character set (card cache key)

The character set is every character of data/*.txt and data/*.toml (the
transcripts, and the titles and speaker names a card shows), printable ASCII,
common CJK and Latin punctuation, full-width forms, the characters the card
draws itself (— · @ # …), and, for conversations operators import
(`quotebot add`), every character of GB2312 (the 6,763 Han characters of
everyday Simplified Chinese) and of Big5's first level (the 5,401 common
Traditional ones), enumerated from Python's own codecs.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import sys
from pathlib import Path

from fontTools import subset
from fontTools.ttLib import TTCollection, TTFont

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "data"
OUT = ROOT / "bot" / "cards" / "fonts"
FACE = "Noto Sans CJK SC"
WEIGHTS = ("Regular", "Bold")
DEBIAN_COPYRIGHT = Path("/usr/share/doc/fonts-noto-cjk/copyright")

EXTRA = (
    "".join(chr(c) for c in range(0x20, 0x7F))  # printable ASCII: Latin, digits, punctuation
    + "".join(
        chr(c) for c in range(0x3000, 0x3020)
    )  # CJK symbols and punctuation 、。〈〉《》「」『』【】〔〕
    + "".join(chr(c) for c in range(0xFF01, 0xFF5F))  # full-width forms ！（），：；？ and digits
    + "\u00a0·«»¡¿°×÷"  # Latin-1 punctuation the card or a title may use
    + "‐‑‒–—―‘’‚“”„•…‰′″›‹"  # general punctuation: dashes, quotes, ellipsis
    + "—·@#…"  # what the card itself draws
)


def codec_characters(codec: str, rows: range, cells: range) -> set[str]:
    """Every character a double-byte codec maps the codes rows x cells to."""
    out = set()
    for row in rows:
        for cell in cells:
            with contextlib.suppress(UnicodeDecodeError):
                out.add(bytes([row, cell]).decode(codec))
    return out


# Everyday Chinese beyond the bundled transcript: GB2312 (Simplified, levels 1 and 2)
# and Big5 level 1 (common Traditional, lead bytes 0xA4-0xC6).
EVERYDAY = codec_characters("gb2312", range(0xA1, 0xF8), range(0xA1, 0xFF)) | codec_characters(
    "big5", range(0xA4, 0xC7), [*range(0x40, 0x7F), *range(0xA1, 0xFF)]
)


def charset(data_dir: Path = DATA) -> str:
    """Every character to keep, sorted, without controls (newlines, tabs)."""
    chars = set(EXTRA) | EVERYDAY
    for path in sorted([*data_dir.glob("*.txt"), *data_dir.glob("*.toml")]):
        chars.update(path.read_text(encoding="utf-8"))
    return "".join(sorted(c for c in chars if c.isprintable() or c == "\u3000"))


def find_face(source_dir: Path, weight: str) -> TTFont | None:
    """The SC face of NotoSansCJK-<weight>.ttc, or NotoSansCJKsc-<weight>.otf, if present."""
    for ttc in sorted(source_dir.rglob(f"NotoSansCJK-{weight}.ttc")):
        for font in TTCollection(ttc).fonts:
            if font["name"].getDebugName(1) == FACE:
                return font
    for otf in sorted(source_dir.rglob(f"NotoSansCJKsc-{weight}.otf")):
        return TTFont(otf)
    return None


def licence_text(font: TTFont) -> str:
    """The font's own copyright notice, then the OFL 1.1 from the Debian copyright file."""
    names = font["name"]
    notice = names.getDebugName(0) or "Copyright 2014-2021 Adobe (http://www.adobe.com/)"
    lines = [
        "The fonts in this folder are subsets of Noto Sans CJK SC (Regular and Bold),",
        "cut down by tools/build_font_subset.py to the characters quotebot draws.",
        "They are Modified Versions under the SIL Open Font License 1.1 below.",
        "",
        notice,
        f"Font: {names.getDebugName(4)}, version {names.getDebugName(5)}",
        "Source: https://github.com/notofonts/noto-cjk",
        "",
    ]
    if DEBIAN_COPYRIGHT.exists():
        text = DEBIAN_COPYRIGHT.read_text(encoding="utf-8")
        start = text.index("License: SIL-1.1\n -")
        body = text[start:].split("\n", 1)[1]
        for line in body.splitlines():
            if line and not line.startswith(" "):
                break  # the next stanza
            lines.append("" if line.strip() == "." else line[1:])
    else:
        lines.append("SIL OPEN FONT LICENSE Version 1.1: https://openfontlicense.org")
    return "\n".join(lines).rstrip() + "\n"


def build(source_dir: Path, out_dir: Path = OUT, data_dir: Path = DATA) -> list[Path]:
    chars = charset(data_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    licence = ""
    for weight in WEIGHTS:
        font = find_face(source_dir, weight)
        if font is None:
            print(f"no {FACE} {weight} under {source_dir}; skipped", file=sys.stderr)
            continue
        licence = licence or licence_text(font)
        options = subset.Options()
        options.name_IDs = ["*"]  # keep the copyright and licence names
        options.name_languages = ["*"]
        options.layout_features = ["kern", "palt", "locl", "ccmp", "liga"]
        options.hinting = False
        options.notdef_outline = True
        options.glyph_names = False
        subsetter = subset.Subsetter(options)
        subsetter.populate(text=chars)
        subsetter.subset(font)
        path = out_dir / f"NotoSansCJKsc-{weight}.subset.otf"
        font.save(path)
        written.append(path)
        print(f"{path.relative_to(ROOT)}: {path.stat().st_size / 1e6:.2f} MB")
    if not written:
        raise SystemExit(
            f"error: {FACE} not found under {source_dir} (apt-get install fonts-noto-cjk)"
        )
    (out_dir / "LICENSE-OFL.txt").write_text(licence, encoding="utf-8")
    digest = hashlib.sha256(chars.encode("utf-8")).hexdigest()[:16]
    (out_dir / "VERSION").write_text(f"{digest}\n", encoding="utf-8")
    print(f"{len(chars)} characters, VERSION {digest}")
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--source-dir",
        type=Path,
        default=Path("/usr/share/fonts/opentype/noto"),
        help="where the full Noto Sans CJK fonts are (.ttc or SC .otf)",
    )
    args = parser.parse_args(argv)
    build(args.source_dir)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
