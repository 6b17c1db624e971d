"""``parse_mode=HTML`` exactly as Telegram parses it.

This is a byte-level port of TDLib's ``parse_html`` (``td/telegram/MessageEntity.cpp``),
which is what the Bot API server runs.  It works on the UTF-8 bytes so that the byte
offsets in error messages ("Unsupported start tag \\"foo\\" at byte offset 4") are the
ones Telegram reports, and it counts entity offsets in UTF-16 code units.

Telegram's rules worth knowing (all reproduced here):

* only ``b strong i em u ins s strike del span(class=tg-spoiler) tg-spoiler a code pre
  blockquote tg-emoji`` exist; any other tag, a bare ``<`` (``a < b``) or an unclosed or
  mismatched tag is a 400 "can't parse entities" error;
* only ``&lt; &gt; &amp; &quot;`` and numeric references are decoded (the ``;`` is
  optional); real Telegram keeps any other ``&`` literally, e.g. ``AT&T`` or ``&nbsp;``.
  With ``strict=True`` (the emulator default) such a bare ``&`` in text is rejected
  instead, because it almost always means user text was not passed through
  ``html.escape``; pass ``strict=False`` for Telegram's lenient behaviour;
* an ``<a href>`` with an invalid URL silently becomes plain text, ``tg://user?id=N``
  becomes a text_mention, ``<pre><code class="language-x">`` becomes ``pre`` with
  ``language``, ``<blockquote expandable>`` an expandable_blockquote;
* empty tags (``<b></b>``) produce no entity.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .entities import Entity, sort_entities
from .urls import InvalidUrl, check_link, link_user_id

__all__ = ["HtmlParseError", "parse_html"]

_SUPPORTED_TAGS = frozenset(
    {
        "a",
        "b",
        "strong",
        "i",
        "em",
        "s",
        "strike",
        "del",
        "u",
        "ins",
        "tg-spoiler",
        "tg-emoji",
        "span",
        "pre",
        "code",
        "blockquote",
    }
)
_SPACES = frozenset(b" \t\r\n\0\v\f")
_LT, _GT, _AMP, _SLASH, _EQ, _HASH = (ord(c) for c in "<>&/=#")
_INT64_MAX = (1 << 63) - 1


class HtmlParseError(ValueError):
    """The HTML is invalid; the message is TDLib's (prefix it with "can't parse entities: ")."""


@dataclass(slots=True)
class _Open:
    tag: str
    argument: bytes
    utf16_offset: int
    result_pos: int


def _is_alpha(c: int) -> bool:
    return 65 <= c <= 90 or 97 <= c <= 122


def _is_digit(c: int) -> bool:
    return 48 <= c <= 57


def _is_hex(c: int) -> bool:
    return _is_digit(c) or 65 <= c <= 70 or 97 <= c <= 102


def _decode_entity(data: bytes, pos: int) -> tuple[int, int]:
    """Port of ``decode_html_entity``: ``(code point, new position)`` or ``(0, pos)``."""
    size = len(data)

    def at(i: int) -> int:
        return data[i] if i < size else 0

    end = pos + 1
    code = 0
    if at(pos + 1) == _HASH:
        end += 1
        if at(pos + 2) == ord("x"):
            end += 1
            while _is_hex(at(end)):
                code = code * 16 + int(chr(at(end)), 16)
                end += 1
        else:
            while _is_digit(at(end)):
                code = code * 10 + at(end) - 48
                end += 1
        if code == 0 or code >= 0x10FFFF or end - pos >= 10:
            return 0, pos
    else:
        while _is_alpha(at(end)):
            end += 1
        name = data[pos + 1 : end]
        named = {b"lt": "<", b"gt": ">", b"amp": "&", b"quot": '"'}.get(name)
        if named is None:
            return 0, pos
        code = ord(named)
    if at(end) == ord(";"):
        end += 1
    return code, end


def _utf8(code: int) -> bytes:
    return chr(code).encode("utf-8", "surrogatepass")


def parse_html(
    html: str,
    *,
    strict: bool = True,
    resolve_user: Callable[[int], dict[str, Any] | None] | None = None,
) -> tuple[str, list[Entity]]:
    """Parse Telegram-HTML into ``(plain text, entities)`` or raise :class:`HtmlParseError`.

    ``resolve_user`` turns the id of a ``tg://user?id=N`` link into the user dict of the
    resulting text_mention; unknown users keep a ``text_link``.
    """
    data = html.encode("utf-8", "surrogatepass")
    size = len(data)

    def at(i: int) -> int:
        return data[i] if i < size else 0

    out = bytearray()
    utf16 = 0
    entities: list[Entity] = []
    stack: list[_Open] = []
    has_surrogates = False
    i = 0
    while i < size:
        c = data[i]
        if c == _AMP:
            code, new_i = _decode_entity(data, i)
            if code:
                utf16 += 2 if code > 0xFFFF else 1
                has_surrogates |= 0xD800 <= code <= 0xDFFF
                out += _utf8(code)
                i = new_i
                continue
            if strict:
                raise HtmlParseError(
                    f'Character "&" at byte offset {i} does not start an HTML entity; '
                    "escape it as &amp; (emulator strict mode: real Telegram would show "
                    "it literally)"
                )
        if c != _LT:
            if c & 0xC0 != 0x80:
                utf16 += 2 if c >= 0xF0 else 1
            out.append(c)
            i += 1
            continue

        begin = i
        i += 1
        if at(i) != _SLASH:
            while at(i) not in _SPACES and at(i) != _GT:
                i += 1
            if at(i) == 0:
                raise HtmlParseError(f"Unclosed start tag at byte offset {begin}")
            tag = data[begin + 1 : i].lower().decode("utf-8", "replace")
            if tag not in _SUPPORTED_TAGS:
                raise HtmlParseError(f'Unsupported start tag "{tag}" at byte offset {begin}')
            argument = b""
            while at(i) != _GT:
                while at(i) != 0 and at(i) in _SPACES:
                    i += 1
                if at(i) == _GT:
                    break
                attr_begin = i
                while at(i) not in _SPACES and at(i) not in b"=>/\"'":
                    i += 1
                attr_name = data[attr_begin:i]
                if not attr_name:
                    raise HtmlParseError(
                        f'Empty attribute name in the tag "{tag}" at byte offset {begin}'
                    )
                while at(i) != 0 and at(i) in _SPACES:
                    i += 1
                if at(i) != _EQ:
                    if at(i) == 0:
                        raise HtmlParseError(f'Unclosed start tag "{tag}" at byte offset {begin}')
                    if tag == "blockquote" and attr_name == b"expandable":
                        argument = b"1"
                    continue
                i += 1
                while at(i) != 0 and at(i) in _SPACES:
                    i += 1
                if at(i) == 0:
                    raise HtmlParseError(f'Unclosed start tag "{tag}" at byte offset {begin}')
                if at(i) not in b"\"'":
                    token_begin = i
                    while chr(at(i)).isascii() and (chr(at(i)).isalnum() or at(i) in b".-"):
                        if at(i) == 0:
                            break
                        i += 1
                    value = data[token_begin:i].lower()
                    if at(i) not in _SPACES and at(i) != _GT:
                        raise HtmlParseError(
                            f"Unexpected end of name token at byte offset {token_begin}"
                        )
                else:
                    quote = at(i)
                    i += 1
                    buf = bytearray()
                    while at(i) != quote and at(i) != 0:
                        if at(i) == _AMP:
                            code, new_i = _decode_entity(data, i)
                            if code:
                                buf += _utf8(code)
                                i = new_i
                                continue
                        buf.append(at(i))
                        i += 1
                    if at(i) == quote:
                        i += 1
                    value = bytes(buf)
                if at(i) == 0:
                    raise HtmlParseError(f"Unclosed start tag at byte offset {begin}")
                if tag == "a" and attr_name == b"href":
                    argument = value
                elif tag == "code" and attr_name == b"class" and value.startswith(b"language-"):
                    argument = value[9:]
                elif tag == "span" and attr_name == b"class" and value.startswith(b"tg-"):
                    argument = value[3:]
                elif tag == "tg-emoji" and attr_name == b"emoji-id":
                    argument = value
                elif tag == "blockquote" and attr_name == b"expandable":
                    argument = b"1"
            if tag == "span" and argument != b"spoiler":
                raise HtmlParseError(
                    f'Tag "span" must have class "tg-spoiler" at byte offset {begin}'
                )
            stack.append(_Open(tag, argument, utf16, len(out)))
        else:
            if not stack:
                raise HtmlParseError(f"Unexpected end tag at byte offset {begin}")
            while at(i) not in _SPACES and at(i) != _GT:
                i += 1
            end_tag = data[begin + 2 : i].lower().decode("utf-8", "replace")
            while at(i) != 0 and at(i) in _SPACES:
                i += 1
            if at(i) != _GT:
                raise HtmlParseError(f"Unclosed end tag at byte offset {begin}")
            top = stack[-1]
            if end_tag and end_tag != top.tag:
                raise HtmlParseError(
                    f"Unmatched end tag at byte offset {begin}, expected "
                    f'"</{top.tag}>", found "</{end_tag}>"'
                )
            if utf16 > top.utf16_offset:
                _close(top, utf16, out, entities, resolve_user)
            stack.pop()
        i += 1  # skip the closing '>'

    if stack:
        raise HtmlParseError(f'Can\'t find end tag corresponding to start tag "{stack[-1].tag}"')
    for e in entities:
        if e.type == "code":
            e.language = None
    text = bytes(out).decode("utf-8", "surrogatepass")
    if has_surrogates:
        try:
            text = text.encode("utf-16", "surrogatepass").decode("utf-16")
        except UnicodeDecodeError:
            raise HtmlParseError(
                "Text contains invalid Unicode characters after decoding HTML entities, "
                "check for unmatched surrogate code units"
            ) from None
    return text, sort_entities(entities)


def _close(
    top: _Open,
    utf16: int,
    out: bytearray,
    entities: list[Entity],
    resolve_user: Callable[[int], dict[str, Any] | None] | None,
) -> None:
    """Create the entity for a closed, non-empty tag (TDLib's big if-chain)."""
    offset = top.utf16_offset
    length = utf16 - offset
    tag = top.tag
    simple = {
        "i": "italic",
        "em": "italic",
        "b": "bold",
        "strong": "bold",
        "s": "strikethrough",
        "strike": "strikethrough",
        "del": "strikethrough",
        "u": "underline",
        "ins": "underline",
        "tg-spoiler": "spoiler",
        "span": "spoiler",
    }
    if tag in simple:
        entities.append(Entity(simple[tag], offset, length))
    elif tag == "tg-emoji":
        raw = top.argument.decode("utf-8", "replace")
        try:
            emoji_id = int(raw)
        except ValueError:
            emoji_id = 0
        if emoji_id == 0 or not -_INT64_MAX - 1 <= emoji_id <= _INT64_MAX:
            raise HtmlParseError("Invalid custom emoji identifier specified")
        entities.append(Entity("custom_emoji", offset, length, custom_emoji_id=str(emoji_id)))
    elif tag == "a":
        url_bytes = top.argument or bytes(out[top.result_pos :])
        url = url_bytes.decode("utf-8", "replace")
        user_id = link_user_id(url)
        user = resolve_user(user_id) if user_id is not None and resolve_user else None
        if user is not None:
            entities.append(Entity("text_mention", offset, length, user=user))
            return
        try:
            checked = check_link(url)
        except InvalidUrl:
            return  # Telegram silently drops links it cannot use
        entities.append(Entity("text_link", offset, length, url=checked))
    elif tag == "pre":
        last = entities[-1] if entities else None
        if (
            last is not None
            and last.type == "code"
            and last.offset == offset
            and last.length == length
            and last.language
        ):
            last.type = "pre"
        else:
            entities.append(Entity("pre", offset, length))
    elif tag == "code":
        last = entities[-1] if entities else None
        language = top.argument.decode("utf-8", "replace")
        if (
            last is not None
            and last.type == "pre"
            and last.offset == offset
            and last.length == length
            and language
        ):
            last.language = language
        else:
            entities.append(Entity("code", offset, length, language=language or None))
    elif tag == "blockquote":
        kind = "expandable_blockquote" if top.argument else "blockquote"
        entities.append(Entity(kind, offset, length))
