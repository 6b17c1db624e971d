"""Every user-visible string has a Chinese translation, and the compiled catalog is current."""

from __future__ import annotations

import gettext
from pathlib import Path

from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

from bot.app.i18n import LOCALE_DIR, gettext_for, lang_for

ROOT = Path(__file__).resolve().parent.parent
PO = LOCALE_DIR / "zh" / "LC_MESSAGES" / "quotebot.po"
MO = PO.with_suffix(".mo")


def source_messages() -> set[str]:
    found = set()
    for folder in ("bot", "handlers"):
        for _file, _line, message, _comments, _ctx in extract_from_dir(ROOT / folder):
            found.add(message if isinstance(message, str) else message[0])
    return found


def test_every_string_in_code_is_translated() -> None:
    with PO.open("rb") as fh:
        catalog = read_po(fh)
    translated = {m.id: m.string for m in catalog if m.id}
    missing = sorted(m for m in source_messages() if not translated.get(m))
    assert missing == []


def test_compiled_catalog_matches_the_po_file() -> None:
    with PO.open("rb") as fh:
        catalog = read_po(fh)
    with MO.open("rb") as fh:
        compiled = gettext.GNUTranslations(fh)
    stale = [m.id for m in catalog if m.id and compiled.gettext(m.id) != m.string]
    assert stale == [], "run: pybabel compile -d bot/app/locale -D quotebot"


def test_language_choice() -> None:
    assert lang_for("en") == "en" and lang_for("en-GB") == "en"
    assert lang_for("zh-hans") == "zh" and lang_for(None) == "zh" and lang_for("ru") == "zh"
    assert gettext_for("zh")("Another one") == "再来一段"
    assert gettext_for("en")("Another one") == "Another one"
