"""Message entities and the normalisation Telegram applies to every formatted text.

Telegram does not store what the bot sends verbatim: TDLib's ``fix_formatted_text``
replaces control characters, drops ``\\r``, trims leading/trailing spaces and newlines,
splits bold/italic/... ranges around code and links, drops formatting nested in code,
and finally auto-detects mentions, hashtags, bot commands, URLs and e-mails.  The bot
gets the resulting text and entities back in the returned ``Message`` and that is what
users see, so the emulator ports that pipeline (from ``td/telegram/MessageEntity.cpp``)
rather than storing the input.  URL detection is a simplified approximation of TDLib's
(it needs an explicit scheme or a common TLD); everything else follows TDLib.

All offsets and lengths are in UTF-16 code units, as in the Bot API.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from typing import Any

__all__ = [
    "Entity",
    "FormattedText",
    "TextEmpty",
    "find_entities",
    "fix_formatted_text",
    "sort_entities",
    "utf16_len",
]

SPLITTABLE = ("bold", "italic", "underline", "strikethrough", "spoiler")
BLOCKQUOTE = ("blockquote", "expandable_blockquote")
PRE = ("pre", "code")
CONTINUOUS = (
    "mention",
    "hashtag",
    "cashtag",
    "bot_command",
    "url",
    "email",
    "phone_number",
    "bank_card",
    "text_link",
    "text_mention",
    "custom_emoji",
)
#: Entity types a client may send (TDLib's ``is_user_entity``); others are re-detected.
USER_ENTITY_TYPES = (*SPLITTABLE, *BLOCKQUOTE, *PRE, "text_link", "text_mention", "custom_emoji")
ALL_TYPES = (*SPLITTABLE, *BLOCKQUOTE, *PRE, *CONTINUOUS)

# TDLib MessageEntity::get_type_priority; lower sorts first for equal offset and length.
_PRIORITY = {
    "mention": 50,
    "hashtag": 50,
    "bot_command": 50,
    "url": 50,
    "email": 50,
    "bold": 90,
    "italic": 91,
    "code": 20,
    "pre": 11,
    "pre_code": 10,
    "text_link": 49,
    "text_mention": 49,
    "cashtag": 50,
    "phone_number": 50,
    "underline": 92,
    "strikethrough": 93,
    "blockquote": 0,
    "bank_card": 50,
    "spoiler": 94,
    "custom_emoji": 99,
    "expandable_blockquote": 1,
}


class TextEmpty(ValueError):
    """The text is empty after parsing and trimming (``Text must be non-empty``)."""


class EntityError(ValueError):
    """An explicit entity does not fit the text (message is TDLib's, capitalised)."""


def utf16_len(text: str) -> int:
    """Length in UTF-16 code units, the unit of all Bot API offsets and limits."""
    return len(text) + sum(1 for ch in text if ord(ch) > 0xFFFF)


@dataclass(slots=True)
class Entity:
    """One ``MessageEntity``; ``user`` is the full user dict of a text_mention."""

    type: str
    offset: int
    length: int
    url: str | None = None
    language: str | None = None
    user: dict[str, Any] | None = None
    custom_emoji_id: str | None = None

    @property
    def end(self) -> int:
        return self.offset + self.length

    @property
    def kind(self) -> str:
        """TDLib distinguishes ``pre`` with a language (PreCode) from plain ``pre``."""
        return "pre_code" if self.type == "pre" and self.language else self.type

    def to_dict(self) -> dict[str, Any]:
        """Bot API JSON form."""
        data: dict[str, Any] = {"offset": self.offset, "length": self.length, "type": self.type}
        if self.url is not None:
            data["url"] = self.url
        if self.language:
            data["language"] = self.language
        if self.user is not None:
            data["user"] = dict(self.user)
        if self.custom_emoji_id is not None:
            data["custom_emoji_id"] = self.custom_emoji_id
        return data


@dataclass(slots=True)
class FormattedText:
    """Plain text plus entities, i.e. what the recipient actually sees."""

    text: str
    entities: list[Entity] = field(default_factory=list)

    def entity_dicts(self) -> list[dict[str, Any]]:
        return [e.to_dict() for e in self.entities]


def _sort_key(entity: Entity) -> tuple[int, int, int]:
    return (entity.offset, -entity.length, _PRIORITY.get(entity.kind, 50))


def sort_entities(entities: Iterable[Entity]) -> list[Entity]:
    """Telegram's order: by offset, longer first, then by type priority."""
    return sorted(entities, key=_sort_key)


def _remove_empty(entities: list[Entity]) -> list[Entity]:
    kept = []
    for e in entities:
        if e.length <= 0:
            continue
        if e.type == "text_link" and not e.url:
            continue
        if e.type == "text_mention" and not e.user:
            continue
        if e.type == "custom_emoji" and not e.custom_emoji_id:
            continue
        kept.append(e)
    return kept


def _are_entities_valid(entities: list[Entity]) -> bool:
    """Port of TDLib ``are_entities_valid``: the fast path of ``fix_entities``."""
    end_pos = dict.fromkeys(SPLITTABLE, -1)
    stack: list[Entity] = []
    kinds: list[str] = []
    for e in entities:
        while stack and e.offset >= stack[-1].end:
            stack.pop()
            kinds.pop()
        if stack:
            if e.end > stack[-1].end:
                return False
            if e.kind in kinds:
                return False
            if stack[-1].type in PRE:
                return False
            if e.type in PRE and any(k not in BLOCKQUOTE for k in kinds):
                return False
            if (e.type in CONTINUOUS or e.type in BLOCKQUOTE) and any(
                k in CONTINUOUS for k in kinds
            ):
                return False
            if e.type in BLOCKQUOTE and any(k in BLOCKQUOTE for k in kinds):
                return False
            if any(k in SPLITTABLE for k in kinds):
                return False
        if e.type in SPLITTABLE:
            if end_pos[e.type] >= e.offset:
                return False
            end_pos[e.type] = e.end
        stack.append(e)
        kinds.append(e.kind)
    return True


def _remove_intersecting(entities: list[Entity]) -> list[Entity]:
    kept: list[Entity] = []
    last_end = 0
    for e in entities:
        if e.offset >= last_end:
            last_end = e.end
            kept.append(e)
    return kept


def _remove_intersecting_blockquote(
    entities: list[Entity], blockquotes: list[Entity]
) -> list[Entity]:
    if not blockquotes:
        return entities
    kept = []
    idx = 0
    for e in entities:
        while idx < len(blockquotes) and blockquotes[idx].end <= e.offset:
            idx += 1
        if idx < len(blockquotes):
            bq = blockquotes[idx]
            if bq.end < e.end or e.offset < bq.offset < e.end:
                continue
        kept.append(e)
    return kept


def _split_entities(splittable: list[Entity], others: list[Entity]) -> list[Entity]:
    """Port of TDLib ``split_entities``: merge same-type ranges, cut them at the borders
    of non-splittable entities and drop the parts inside code/pre."""
    splittable = sort_entities(splittable)
    begin = dict.fromkeys(SPLITTABLE, 0)
    end = dict.fromkeys(SPLITTABLE, 0)
    result: list[Entity] = []
    it = 0

    def flush(offset: int) -> None:
        for kind in SPLITTABLE:
            if end[kind] != 0 and begin[kind] < offset:
                if end[kind] <= offset:
                    result.append(Entity(kind, begin[kind], end[kind] - begin[kind]))
                    begin[kind] = 0
                    end[kind] = 0
                else:
                    result.append(Entity(kind, begin[kind], offset - begin[kind]))
                    begin[kind] = offset

    def add_entities(end_offset: int) -> None:
        nonlocal it
        while it < len(splittable):
            e = splittable[it]
            if e.offset >= end_offset:
                break
            if e.offset <= end[e.type] and end[e.type] != 0:
                end[e.type] = max(end[e.type], e.end)
            else:
                flush(e.offset)
                begin[e.type] = e.offset
                end[e.type] = e.end
            it += 1
        flush(end_offset)

    stack: list[Entity] = []

    def add_offset(offset: int) -> None:
        while stack and offset >= stack[-1].end:
            old_size = len(result)
            add_entities(stack[-1].end)
            if stack[-1].type in PRE:
                del result[old_size:]
            stack.pop()
        add_entities(offset)

    for other in others:
        add_offset(other.offset)
        stack.append(other)
    add_offset(1 << 62)
    return sort_entities(result)


def _resplit(splittable: list[Entity], others: list[Entity]) -> list[Entity]:
    if not splittable:
        return others
    split = _split_entities(splittable, others)
    if not others:
        return split
    return sort_entities([*others, *split])


def _fix_entities(entities: list[Entity]) -> list[Entity]:
    """Port of TDLib ``fix_entities``."""
    entities = sort_entities(entities)
    if _are_entities_valid(entities):
        return entities
    continuous = [e for e in entities if e.type not in SPLITTABLE and e.type not in BLOCKQUOTE]
    blockquotes = [e for e in entities if e.type in BLOCKQUOTE]
    splittable = [e for e in entities if e.type in SPLITTABLE]
    continuous = _remove_intersecting(continuous)
    if blockquotes:
        blockquotes = _remove_intersecting(blockquotes)
        continuous = _remove_intersecting_blockquote(continuous, blockquotes)
        continuous = sort_entities([*continuous, *blockquotes])
    return _resplit(splittable, continuous)


def _merge_new_entities(entities: list[Entity], new: list[Entity]) -> list[Entity]:
    """Port of TDLib ``merge_new_entities``: auto-detected entities never override
    (or intersect) explicit ones."""
    if not new:
        return entities
    continuous = [e for e in entities if e.type not in SPLITTABLE and e.type not in BLOCKQUOTE]
    blockquotes = [e for e in entities if e.type in BLOCKQUOTE]
    splittable = [e for e in entities if e.type in SPLITTABLE]
    new = _remove_intersecting_blockquote(new, blockquotes)
    merged: list[Entity] = []
    idx = 0
    for old in continuous:
        while idx < len(new) and new[idx].end <= old.offset:
            merged.append(new[idx])
            idx += 1
        merged.append(old)
        while idx < len(new) and new[idx].offset < old.end:
            idx += 1
    merged.extend(new[idx:])
    if blockquotes:
        merged = sort_entities([*merged, *blockquotes])
    return _resplit(splittable, merged)


_REMOVED_CHARS = {chr(c) for c in range(0x2028, 0x202F)} | {"\u0333", "\u033f", "\u030a"}


def _clean_input_string(text: str, entities: list[Entity]) -> tuple[str, list[Entity]]:
    """Port of TDLib ``clean_input_string_with_entities``.

    Control characters become spaces (``\\n`` survives, tab does not), ``\\r`` and a few
    invisible/combining characters are removed; entity offsets are shifted accordingly.
    """
    out: list[str] = []
    # new UTF-16 position for every old UTF-16 boundary
    mapping: dict[int, int] = {}
    old_pos = 0
    new_pos = 0
    for ch in text:
        mapping[old_pos] = new_pos
        units = 2 if ord(ch) > 0xFFFF else 1
        if ch == "\r" or ch in _REMOVED_CHARS:
            pass
        elif ord(ch) < 32 and ch != "\n":
            out.append(" ")
            new_pos += 1
        else:
            out.append(ch)
            new_pos += units
        old_pos += units
    mapping[old_pos] = new_pos
    total = old_pos

    fixed = []
    for e in sort_entities(entities):
        if e.offset > total:
            raise EntityError(
                f"Entity begins after the end of the text at UTF-16 offset {e.offset}"
            )
        if e.end > total:
            raise EntityError(
                f"Entity beginning at UTF-16 offset {e.offset} ends after the end of the "
                f"text at UTF-16 offset {e.end}"
            )
        if e.offset not in mapping:
            raise EntityError("Entity begins in a middle of a UTF-16 symbol")
        if e.end not in mapping:
            raise EntityError(
                f"Entity beginning at UTF-16 offset {e.offset} ends in a middle of a UTF-16 symbol"
            )
        start, stop = mapping[e.offset], mapping[e.end]
        fixed.append(replace(e, offset=start, length=stop - start))
    return "".join(out), fixed


def fix_formatted_text(
    text: str,
    entities: list[Entity] | None = None,
    *,
    detect: bool = True,
    detect_bot_commands: bool = True,
) -> FormattedText:
    """Port of TDLib ``fix_formatted_text`` (non-empty text, trimmed).

    Raises :class:`TextEmpty` when nothing but whitespace is left and
    :class:`EntityError` when explicit entities do not fit the text.
    """
    items = list(entities or [])
    for e in items:
        if e.offset < 0 or e.offset > 1_000_000:
            raise EntityError(f"Receive an entity with incorrect offset {e.offset}")
        if e.length < 0 or e.length > 1_000_000:
            raise EntityError(f"Receive an entity with incorrect length {e.length}")
    items = _fix_entities(_remove_empty(items))
    result, items = _clean_input_string(text, items)
    items = _remove_empty(items)

    # last non-whitespace character, in code points and in UTF-16 units
    last_index = -1
    last_utf16 = -1
    pos16 = 0
    for index, ch in enumerate(result):
        units = 2 if ord(ch) > 0xFFFF else 1
        if ch not in " \n":
            last_index = index
            last_utf16 = pos16 + units - 1
        pos16 += units
    if last_utf16 == -1:
        raise TextEmpty("Text must be non-empty")
    items = _fix_entities(items)

    # rtrim
    result = result[: last_index + 1]
    items = [e for e in items if e.offset <= last_utf16]
    items = [
        replace(e, length=last_utf16 + 1 - e.offset) if e.end > last_utf16 + 1 else e for e in items
    ]
    items = sort_entities(items)
    # ltrim: only whitespace before the first entity is removed
    first_entity = items[0].offset if items else len(result)
    skip = 0
    while skip < first_entity and skip < len(result) and result[skip] in " \n":
        skip += 1
    if skip:
        result = result[skip:]
        items = [replace(e, offset=e.offset - skip) for e in items]
    if not result.strip():
        raise TextEmpty("Text must be non-empty")

    if detect:
        items = _merge_new_entities(items, find_entities(result, bot_commands=detect_bot_commands))
    return FormattedText(result, sort_entities(items))


# --------------------------------------------------------------------------- detection


def _is_word(ch: str) -> bool:
    return ch.isalnum() or ch == "_"


def _is_hashtag_letter(ch: str) -> bool:
    return ch.isalnum() or ch in "_\u200c\u00b7" or 0xD80 <= ord(ch) <= 0xDFF


_ASCII_WORD = re.compile(r"[A-Za-z0-9_]*")
_COMMON_TLDS = frozenset(
    [
        "com",
        "org",
        "net",
        "edu",
        "gov",
        "mil",
        "int",
        "io",
        "ai",
        "app",
        "dev",
        "me",
        "co",
        "uk",
        "de",
        "fr",
        "it",
        "es",
        "nl",
        "pl",
        "ru",
        "ua",
        "by",
        "kz",
        "cn",
        "jp",
        "kr",
        "in",
        "ir",
        "br",
        "ca",
        "au",
        "eu",
        "us",
        "tv",
        "info",
        "biz",
        "xyz",
        "online",
        "site",
        "tech",
        "top",
        "pro",
        "store",
        "blog",
        "news",
        "link",
        "live",
        "cloud",
        "space",
        "club",
        "website",
        "email",
        "fm",
        "gg",
        "ly",
        "sh",
        "so",
        "to",
        "cc",
        "ws",
        "ch",
        "at",
        "se",
        "no",
        "fi",
        "dk",
        "cz",
        "sk",
        "hu",
        "ro",
        "bg",
        "gr",
        "tr",
        "il",
        "ae",
        "sa",
        "sg",
        "hk",
        "tw",
        "vn",
        "th",
        "id",
        "my",
        "ph",
        "nz",
        "mx",
        "ar",
        "cl",
        "pe",
        "ve",
    ]
)
# The look-behinds make matching start only at word boundaries (linear, not quadratic,
# on long unbroken words such as 4096 Chinese characters).
_URL_RE = re.compile(
    r"(?<![\w@.\-/])"
    r"(?P<scheme>(?:https?|ftp)://)?"
    r"(?P<host>(?:[A-Za-z0-9\u00a1-\uffff](?:[A-Za-z0-9\u00a1-\uffff\-]*[A-Za-z0-9\u00a1-\uffff])?\.)+"
    r"(?P<tld>[A-Za-z\u00a1-\uffff]{2,63}))"
    r"(?::\d{1,5})?"
    r"(?P<path>[/?#][^\s<>\"]*)?",
    re.IGNORECASE,
)
_EMAIL_RE = re.compile(
    r"(?<![A-Za-z0-9._%+\-])[A-Za-z0-9._%+\-]+@(?:[A-Za-z0-9](?:[A-Za-z0-9\-]*[A-Za-z0-9])?\.)+[A-Za-z]{2,63}"
)
_TG_URL_RE = re.compile(r"\b(?:tg|ton)://[A-Za-z0-9_\-]+(?:[/?][^\s<>\"]*)?", re.IGNORECASE)


def _find_mentions(text: str) -> list[tuple[int, int, str]]:
    found = []
    for match in re.finditer("@", text):
        start = match.start()
        if start > 0 and _is_word(text[start - 1]):
            continue
        name = _ASCII_WORD.match(text, start + 1)
        assert name is not None
        end = name.end()
        size = end - start - 1
        if size < 2 or size > 32:
            continue
        if end < len(text) and _is_word(text[end]):
            continue
        if size < 4 and text[start + 1 : end].lower() not in ("gif", "vid", "pic"):
            continue
        found.append((start, end, "mention"))
    return found


def _find_bot_commands(text: str) -> list[tuple[int, int, str]]:
    found = []
    for match in re.finditer("/", text):
        start = match.start()
        if start > 0 and (_is_word(text[start - 1]) or text[start - 1] in "/<>"):
            continue
        name = _ASCII_WORD.match(text, start + 1)
        assert name is not None
        end = name.end()
        if not 1 <= end - start - 1 <= 64:
            continue
        if end < len(text) and text[end] == "@":
            bot = _ASCII_WORD.match(text, end + 1)
            assert bot is not None
            if not 3 <= bot.end() - end - 1 <= 32:
                continue
            end = bot.end()
        if end < len(text) and (_is_word(text[end]) or text[end] in "/<>"):
            continue
        found.append((start, end, "bot_command"))
    return found


def _find_hashtags(text: str) -> list[tuple[int, int, str]]:
    found = []
    for match in re.finditer("#", text):
        start = match.start()
        if start > 0 and _is_hashtag_letter(text[start - 1]):
            continue
        end = start + 1
        while end < len(text) and _is_hashtag_letter(text[end]):
            end += 1
        body = text[start + 1 : end][:256]
        if not body or (end < len(text) and text[end] == "#"):
            continue
        if not any(ch.isalpha() for ch in body):
            continue
        found.append((start, start + 1 + len(body), "hashtag"))
    return found


def _find_cashtags(text: str) -> list[tuple[int, int, str]]:
    found = []
    for match in re.finditer(r"\$", text):
        start = match.start()
        if start > 0 and (_is_hashtag_letter(text[start - 1]) or text[start - 1] == "$"):
            continue
        if text.startswith("1INCH", start + 1):
            end = start + 6
        else:
            end = start + 1
            while end < len(text) and "A" <= text[end] <= "Z":
                end += 1
        if not 1 <= end - start - 1 <= 8:
            continue
        if end < len(text) and (_is_hashtag_letter(text[end]) or text[end] == "$"):
            continue
        found.append((start, end, "cashtag"))
    return found


def _find_urls(text: str) -> list[tuple[int, int, str]]:
    found: list[tuple[int, int, str]] = []
    for match in _EMAIL_RE.finditer(text):
        start, end = match.span()
        if start > 0 and (_is_word(text[start - 1]) or text[start - 1] in ".@"):
            continue
        found.append((start, end, "email"))
    for match in _URL_RE.finditer(text):
        start, end = match.span()
        if start > 0 and (_is_word(text[start - 1]) or text[start - 1] in "@.-/"):
            continue
        tld = match.group("tld").lower()
        if not match.group("scheme") and tld not in _COMMON_TLDS:
            continue
        # trailing punctuation is not part of a URL; unbalanced ')' neither
        while end > start and text[end - 1] in ".,:;!?'\"":
            end -= 1
        if text[end - 1] == ")" and text.count("(", start, end) < text.count(")", start, end):
            end -= 1
        found.append((start, end, "url"))
    for match in _TG_URL_RE.finditer(text):
        found.append((match.start(), match.end(), "url"))
    return found


def find_entities(text: str, *, bot_commands: bool = True) -> list[Entity]:
    """Auto-detected entities (TDLib ``find_entities``), non-intersecting, UTF-16 based."""
    spans = _find_mentions(text) + _find_hashtags(text) + _find_cashtags(text)
    if bot_commands:
        spans += _find_bot_commands(text)
    spans += _find_urls(text)
    prefix = _utf16_prefix(text)
    entities = [
        Entity(kind, prefix[start], prefix[end] - prefix[start]) for start, end, kind in spans
    ]
    return _remove_intersecting(sort_entities(entities))


def _utf16_prefix(text: str) -> list[int]:
    """``prefix[i]`` is the UTF-16 offset of code point ``i``."""
    prefix = [0]
    for ch in text:
        prefix.append(prefix[-1] + (2 if ord(ch) > 0xFFFF else 1))
    return prefix


def entity_text(text: str, entity: Entity) -> str:
    """The substring covered by ``entity`` (offsets are UTF-16)."""
    encoded = text.encode("utf-16-le")
    return encoded[entity.offset * 2 : entity.end * 2].decode("utf-16-le")


def entities_from_dicts(
    items: Iterable[dict[str, Any]], resolve: Callable[[int], dict[str, Any] | None] | None = None
) -> list[Entity]:
    """Build :class:`Entity` objects from trusted Bot API dicts (used for injected updates)."""
    out = []
    for item in items:
        user = item.get("user")
        if user is None and resolve is not None and item.get("type") == "text_mention":
            user = resolve(int(item["user_id"]))
        out.append(
            Entity(
                type=item["type"],
                offset=int(item["offset"]),
                length=int(item["length"]),
                url=item.get("url"),
                language=item.get("language"),
                user=user,
                custom_emoji_id=item.get("custom_emoji_id"),
            )
        )
    return out
