"""Reply language: Chinese by default, English for users whose Telegram speaks English.

Strings are written in English in the code and translated with gettext
catalogs (bot/app/locale/<lang>/LC_MESSAGES/quotebot.po, compiled to .mo with
Babel: `pybabel compile -d bot/app/locale -D quotebot`). The English "catalog" is
the source text itself.
"""

from __future__ import annotations

import functools
import gettext
from pathlib import Path
from typing import Literal

LOCALE_DIR = Path(__file__).resolve().parent / "locale"
DOMAIN = "quotebot"
Lang = Literal["zh", "en"]


def lang_for(language_code: str | None) -> Lang:
    """Telegram's IETF language tag of a user to the reply language."""
    if language_code and language_code.lower().split("-")[0] == "en":
        return "en"
    return "zh"


@functools.cache
def translations(lang: Lang) -> gettext.NullTranslations:
    if lang == "en":
        return gettext.NullTranslations()
    return gettext.translation(DOMAIN, LOCALE_DIR, languages=[lang], fallback=False)


def N_(text: str) -> str:
    """Marks a string for translation where it is defined (pybabel extracts it); it is
    translated where it is shown."""
    return text


def gettext_for(lang: Lang):
    """The `_` function for one language."""
    return translations(lang).gettext
