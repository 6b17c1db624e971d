"""``parse_mode=HTML`` checked the way Telegram checks it, in compact form.

Telegram turns HTML into plain text plus entities (offsets in UTF-16 code units) and
refuses the whole message when the HTML is not its dialect: a tag outside its short
list, a bare ``<``, an unclosed or mismatched tag.  The 4096 limit applies to the text
*after* parsing and trimming.  This module reproduces that with :mod:`html.parser`
instead of a port of TDLib; what it does not model (auto-detected mentions/URLs, the
exact byte offsets in error messages, TDLib's entity splitting) no test relies on.

Strict where Telegram is lenient, because it always means a bug: a ``&`` that does not
start ``&lt; &gt; &amp; &quot;`` or a numeric reference (text not passed through
``html.escape``) is rejected instead of shown literally.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser
from typing import Any

MESSAGE_LIMIT = 4096  # sendMessage / editMessageText / inline message text
CAPTION_LIMIT = 1024

_SIMPLE = {
    "b": "bold",
    "strong": "bold",
    "i": "italic",
    "em": "italic",
    "u": "underline",
    "ins": "underline",
    "s": "strikethrough",
    "strike": "strikethrough",
    "del": "strikethrough",
    "tg-spoiler": "spoiler",
    "span": "spoiler",
    "code": "code",
    "pre": "pre",
    "blockquote": "blockquote",
}
_TAGS = frozenset([*_SIMPLE, "a", "tg-emoji"])
_NAMED = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}
_BARE_AMP = re.compile(r"&(?!(?:lt|gt|amp|quot|#\d+|#[xX][0-9a-fA-F]+);)")
_CONTROL = re.compile(r"[\x00-\x09\x0b-\x1f]")  # Telegram shows these as spaces


class HtmlError(ValueError):
    """Telegram's "can't parse entities" (the message follows TDLib's wording)."""


def utf16_len(text: str) -> int:
    """Length in UTF-16 code units, the unit of every Bot API offset and limit."""
    return len(text) + sum(1 for ch in text if ord(ch) > 0xFFFF)


def check_link(url: str) -> str:
    """Telegram's URL check for links and URL buttons; raises ValueError with its reason."""
    link = url.strip()
    if link.lower().startswith("tg://"):
        return link
    scheme, sep, rest = link.partition("://")
    if not sep:
        scheme, rest = "http", link
    if scheme.lower() not in ("http", "https"):
        raise ValueError("Unsupported URL protocol")
    host = re.split(r"[/?#]", rest, maxsplit=1)[0].rpartition("@")[2].partition(":")[0]
    if "." not in host.strip(".") or not re.fullmatch(r"[\w.-]+", host):
        raise ValueError("Wrong HTTP URL")
    return f"{scheme.lower()}://{rest}"


class _Parser(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=False)
        self.parts: list[str] = []
        self.pos = 0  # UTF-16 offset of the end of the text so far
        self.stack: list[tuple[str, int, int, dict[str, str | None]]] = []
        self.entities: list[dict[str, Any]] = []

    def _add(self, text: str) -> None:
        self.parts.append(text)
        self.pos += utf16_len(text)

    def handle_data(self, data: str) -> None:
        if "<" in data:  # html.parser passes a "<" that starts no tag on as text
            raise HtmlError(f'Unsupported start tag "{data[data.index("<") :][:10]}"')
        self._add(data)

    def handle_entityref(self, name: str) -> None:
        self._add(_NAMED[name])  # parse_html let no other name through

    def handle_charref(self, name: str) -> None:
        try:
            code = int(name[1:], 16) if name[:1] in "xX" else int(name)
        except ValueError:
            code = 0
        if not 0 < code < 0x110000 or 0xD800 <= code <= 0xDFFF:
            raise HtmlError(f"Invalid character reference &#{name};")
        self._add(chr(code))

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in _TAGS:
            raise HtmlError(f'Unsupported start tag "{tag}"')
        values = dict(attrs)
        if tag == "span" and values.get("class") != "tg-spoiler":
            raise HtmlError('Tag "span" must have class "tg-spoiler"')
        self.stack.append((tag, self.pos, len(self.parts), values))

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        raise HtmlError(f'Unsupported start tag "{tag}/"')

    def handle_endtag(self, tag: str) -> None:
        if not self.stack:
            raise HtmlError(f'Unexpected end tag "</{tag}>"')
        opened, start, first_part, attrs = self.stack.pop()
        if tag != opened:
            raise HtmlError(f'Unmatched end tag, expected "</{opened}>", found "</{tag}>"')
        if self.pos == start:  # empty tags make no entity
            return
        entity: dict[str, Any] = {
            "offset": start,
            "length": self.pos - start,
            "type": _SIMPLE.get(tag),
        }
        last = self.entities[-1] if self.entities else None
        if tag == "a":
            try:  # no href: the text is the URL; an unusable URL leaves plain text
                url = attrs.get("href") or "".join(self.parts[first_part:])
                entity.update(type="text_link", url=check_link(url))
            except ValueError:
                return
        elif tag == "pre" and last and last["type"] == "code" and last["offset"] == start:
            if last["length"] == entity["length"]:  # <pre><code class="language-x">
                entity = {**self.entities.pop(), "type": "pre"}
        elif tag == "tg-emoji":
            entity.update(type="custom_emoji", custom_emoji_id=attrs.get("emoji-id") or "")
        elif tag == "code" and (attrs.get("class") or "").startswith("language-"):
            entity["language"] = (attrs["class"] or "")[9:]
        elif tag == "blockquote" and "expandable" in attrs:
            entity["type"] = "expandable_blockquote"
        self.entities.append(entity)

    def unknown_decl(self, data: str) -> None:
        raise HtmlError("Comments, declarations and processing instructions are unsupported")

    handle_comment = handle_decl = handle_pi = unknown_decl


def parse_html(html: str) -> tuple[str, list[dict[str, Any]]]:
    """Telegram-HTML to ``(text, entities)`` before trimming; raises :class:`HtmlError`."""
    bare = _BARE_AMP.search(html)
    if bare:
        raise HtmlError(
            f'Character "&" at offset {bare.start()} does not start an HTML entity; escape it '
            "as &amp; (emulator strict mode: real Telegram would show it literally)"
        )
    parser = _Parser()
    parser.feed(html)
    parser.close()
    if parser.stack:
        tag = parser.stack[-1][0]
        raise HtmlError(f'Can\'t find end tag corresponding to start tag "{tag}"')
    entities = sorted(parser.entities, key=lambda e: (e["offset"], -e["length"]))
    return "".join(parser.parts), entities


def format_text(text: str, parse_mode: str | None) -> tuple[str, list[dict[str, Any]]]:
    """What the user sees of a bot's text: parsed, cleaned and trimmed like Telegram does.

    Raises ValueError with the Bot API's description (without "Bad Request: ").
    """
    if not text:
        raise ValueError("message text is empty")
    text = _CONTROL.sub(" ", text.replace("\r", ""))
    mode = (parse_mode or "").lower()
    if mode == "html":
        try:
            text, entities = parse_html(text)
        except HtmlError as exc:
            raise ValueError(f"can't parse entities: {exc}") from None
    elif mode in ("", "none"):
        entities = []
    else:
        raise ValueError(f"the quotebot emulator only implements parse_mode HTML, not {mode!r}")
    # Trailing spaces/newlines go; leading ones only up to the first entity.
    kept = text.rstrip(" \n")
    end = utf16_len(kept)
    entities = [
        {**e, "length": min(e["offset"] + e["length"], end) - e["offset"]}
        for e in entities
        if e["offset"] < end
    ]
    first = min([e["offset"] for e in entities], default=len(kept))
    skip = len(kept[:first]) - len(kept[:first].lstrip(" \n"))
    if skip:
        kept = kept[skip:]
        entities = [{**e, "offset": e["offset"] - skip} for e in entities]
    if not kept.strip():
        raise ValueError("text must be non-empty")
    return kept, entities


def clean_user_text(text: str) -> str:
    """A user's message as Telegram delivers it (control characters blanked, trimmed)."""
    return _CONTROL.sub(" ", text.replace("\r", "")).strip(" \n")
