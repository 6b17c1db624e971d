"""From the ``text``/``parse_mode``/``entities`` parameters to what the user sees.

This is the Bot API layer on top of :mod:`.html_entities` and :mod:`.entities`: it
chooses the parser, validates explicit ``entities``, runs Telegram's normalisation and
maps every failure onto the exact Bot API description (``Bad Request: can't parse
entities: ...``, ``Bad Request: text must be non-empty``, ...).  Length limits are checked
by the callers because each method words the error differently.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from .entities import (
    ALL_TYPES,
    USER_ENTITY_TYPES,
    Entity,
    EntityError,
    FormattedText,
    TextEmpty,
    fix_formatted_text,
    utf16_len,
)
from .errors import ApiError, bad_request, lower_first
from .html_entities import HtmlParseError, parse_html
from .urls import InvalidUrl, check_link

__all__ = ["MESSAGE_TEXT_LIMIT", "format_text", "parse_explicit_entities", "utf16_len"]

#: sendMessage/editMessageText limit, counted after entity parsing in UTF-16 units.
MESSAGE_TEXT_LIMIT = 4096
#: Caption limit (photo captions injected by the user side).
CAPTION_LIMIT = 1024

UserResolver = Callable[[int], dict[str, Any] | None]


def format_text(
    text: str | None,
    parse_mode: str | None,
    entities: Any,
    *,
    strict: bool,
    resolve_user: UserResolver,
    empty_message: str = "message text is empty",
) -> FormattedText:
    """Parse and normalise a message text or raise the Bot API's :class:`ApiError`.

    ``entities`` is the raw parameter (JSON string or list); it is ignored when a
    ``parse_mode`` is given, as in the Bot API.
    """
    if text is None or text == "":
        raise bad_request(empty_message)
    mode = (parse_mode or "").strip().lower()
    explicit: list[Entity] = []
    if mode in ("", "none"):
        explicit = parse_explicit_entities(entities, resolve_user)
        plain = text
    elif mode == "html":
        try:
            plain, explicit = parse_html(text, strict=strict, resolve_user=resolve_user)
        except HtmlParseError as exc:
            raise bad_request(f"can't parse entities: {exc}") from None
    elif mode in ("markdown", "markdownv2"):
        raise bad_request(
            f"can't parse entities: the quotebot emulator does not implement parse_mode "
            f"{parse_mode!r}; use HTML"
        )
    else:
        raise bad_request("unsupported parse_mode")
    try:
        return fix_formatted_text(plain, explicit)
    except TextEmpty as exc:
        raise bad_request(lower_first(str(exc))) from None
    except EntityError as exc:
        raise bad_request(lower_first(str(exc))) from None


def parse_explicit_entities(raw: Any, resolve_user: UserResolver) -> list[Entity]:
    """Validate an ``entities`` parameter the way the Bot API does.

    Only user-settable entity types are kept; mentions, URLs etc. are dropped and then
    re-detected by Telegram itself.
    """
    if raw is None or raw == "":
        return []
    if isinstance(raw, str):
        try:
            raw = json.loads(raw)
        except ValueError:
            raise bad_request("can't parse entities JSON object") from None
    if not isinstance(raw, list):
        raise bad_request("can't parse entities JSON object")
    result: list[Entity] = []
    for item in raw:
        entity = _parse_entity(item, resolve_user)
        if entity.type in USER_ENTITY_TYPES:
            result.append(entity)
    return result


def _entity_error(message: str) -> ApiError:
    return bad_request(f"can't parse MessageEntity: {message}")


def _parse_entity(item: Any, resolve_user: UserResolver) -> Entity:
    if not isinstance(item, dict):
        raise _entity_error("expected an Object")
    for name in ("type", "offset", "length"):
        if name not in item:
            raise _entity_error(f'Can\'t find field "{name}"')
    kind = item["type"]
    if not isinstance(kind, str) or kind not in ALL_TYPES:
        raise _entity_error("Unsupported type specified")
    try:
        offset = int(item["offset"])
        length = int(item["length"])
    except (TypeError, ValueError):
        raise _entity_error('Field "offset" must be a valid Number') from None
    entity = Entity(kind, offset, length)
    if kind == "text_link":
        if "url" not in item:
            raise _entity_error('Can\'t find field "url"')
        url = str(item["url"])
        try:
            entity.url = check_link(url)
        except InvalidUrl as exc:
            raise bad_request(f"entity URL '{url}' is invalid: {exc}") from None
    elif kind == "text_mention":
        user = item.get("user")
        if not isinstance(user, dict):
            raise _entity_error('Can\'t find field "user"')
        try:
            user_id = int(user.get("id", 0))
        except (TypeError, ValueError):
            user_id = 0
        known = resolve_user(user_id) if user_id > 0 else None
        if known is None:
            raise bad_request("user not found")
        entity.user = known
    elif kind == "custom_emoji":
        if "custom_emoji_id" not in item:
            raise _entity_error('Can\'t find field "custom_emoji_id"')
        try:
            emoji_id = int(str(item["custom_emoji_id"]))
        except ValueError:
            emoji_id = 0
        if emoji_id <= 0 or emoji_id >= 1 << 63:
            raise _entity_error('Field "custom_emoji_id" must be a valid Number')
        entity.custom_emoji_id = str(emoji_id)
    elif kind == "pre" and item.get("language"):
        entity.language = str(item["language"])
    return entity
