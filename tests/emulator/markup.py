"""``reply_markup`` validation with the Bot API's error descriptions.

Telegram rejects a whole message when one button is wrong, so the emulator does too:
inline buttons need a ``text`` and an action; ``callback_data`` must be 1-64 bytes
(``BUTTON_DATA_INVALID``); ``url`` must be an http(s)/tg link; an empty
``callback_data``/``url`` counts as missing ("Text buttons are unallowed in the inline
keyboard").  Real Telegram silently uses the first action when a button has several;
with ``strict=True`` the emulator rejects that instead (it is always a bug).

The returned dict is the normalised markup Telegram would echo back in ``Message``.
"""

from __future__ import annotations

import json
from typing import Any

from .errors import ApiError, bad_request
from .urls import InvalidUrl, check_link

__all__ = ["CALLBACK_DATA_LIMIT", "parse_reply_markup"]

CALLBACK_DATA_LIMIT = 64
_MAX_BUTTONS = 100
# Order in which the Bot API looks for a button's action.
_INLINE_ACTIONS = (
    "url",
    "login_url",
    "callback_data",
    "web_app",
    "switch_inline_query",
    "switch_inline_query_current_chat",
    "switch_inline_query_chosen_chat",
    "copy_text",
    "callback_game",
    "pay",
)
_BOOL_FIELDS = (
    "resize_keyboard",
    "one_time_keyboard",
    "selective",
    "is_persistent",
    "remove_keyboard",
    "force_reply",
)


def _button_error(message: str) -> ApiError:
    return bad_request(f"can't parse inline keyboard button: {message}")


def parse_reply_markup(
    raw: Any, *, strict: bool, inline_only: bool = False
) -> dict[str, Any] | None:
    """Validate a ``reply_markup`` parameter (JSON string or dict) or raise ApiError."""
    if raw is None or raw == "":
        return None
    if isinstance(raw, str):
        try:
            raw = json.loads(raw)
        except ValueError:
            raise bad_request("can't parse reply keyboard markup JSON object") from None
    if not isinstance(raw, dict):
        raise bad_request("object expected as reply markup")
    for name in _BOOL_FIELDS:
        if name in raw and not isinstance(raw[name], bool):
            raise bad_request(f'field "{name}" must be of type Boolean')
    if "inline_keyboard" in raw:
        return {"inline_keyboard": _parse_inline_keyboard(raw["inline_keyboard"], strict)}
    if inline_only:
        raise bad_request("inline keyboard expected")
    if "keyboard" in raw:
        keyboard = raw["keyboard"]
        if not isinstance(keyboard, list) or not all(isinstance(r, list) for r in keyboard):
            raise bad_request('field "keyboard" must be of type Array')
        for row in keyboard:
            for button in row:
                if isinstance(button, str):
                    continue
                if not isinstance(button, dict) or not isinstance(button.get("text"), str):
                    raise bad_request("can't parse keyboard button: Can't find field \"text\"")
        return dict(raw)
    if raw.get("remove_keyboard") or raw.get("hide_keyboard") or raw.get("force_reply"):
        return dict(raw)
    raise bad_request("can't parse reply keyboard markup JSON object")


def _parse_inline_keyboard(rows: Any, strict: bool) -> list[list[dict[str, Any]]]:
    if not isinstance(rows, list) or not all(isinstance(row, list) for row in rows):
        raise bad_request('field "inline_keyboard" must be of type Array')
    if sum(len(row) for row in rows) > _MAX_BUTTONS:
        raise bad_request("reply markup is too long")
    return [[_parse_inline_button(button, strict) for button in row] for row in rows]


def _present(button: dict[str, Any], name: str) -> bool:
    if name not in button or button[name] is None:
        return False
    # The Bot API reads url/callback_data as optional strings: "" means "absent".
    return not (name in ("url", "callback_data") and button[name] == "")


def _parse_inline_button(button: Any, strict: bool) -> dict[str, Any]:
    if not isinstance(button, dict):
        raise _button_error("InlineKeyboardButton must be an Object")
    if "text" not in button:
        raise _button_error('Can\'t find field "text"')
    text = button["text"]
    if not isinstance(text, str):
        raise _button_error('Field "text" must be of type String')
    if not text.strip():
        raise bad_request("BUTTON_TEXT_INVALID")
    actions = [name for name in _INLINE_ACTIONS if _present(button, name)]
    if not actions:
        raise _button_error("Text buttons are unallowed in the inline keyboard")
    if strict and len(actions) > 1:
        raise _button_error(
            f"exactly one of the optional fields must be used, got {', '.join(actions)} "
            "(emulator strict mode: real Telegram silently uses the first one)"
        )
    action = actions[0]
    value = button[action]
    result: dict[str, Any] = {"text": text}
    if action == "url":
        if not isinstance(value, str):
            raise _button_error('Field "url" must be of type String')
        try:
            result["url"] = check_link(value)
        except InvalidUrl as exc:
            raise bad_request(f"inline keyboard button URL '{value}' is invalid: {exc}") from None
    elif action == "callback_data":
        if not isinstance(value, str):
            raise _button_error('Field "callback_data" must be of type String')
        if len(value.encode("utf-8")) > CALLBACK_DATA_LIMIT:
            raise bad_request("BUTTON_DATA_INVALID")
        result["callback_data"] = value
    elif action == "web_app":
        url = value.get("url") if isinstance(value, dict) else None
        if not isinstance(url, str):
            raise _button_error('Can\'t find field "url"')
        try:
            result["web_app"] = {"url": check_link(url, https_only=True)}
        except InvalidUrl as exc:
            raise bad_request(
                f"inline keyboard button Web App URL '{url}' is invalid: {exc}"
            ) from None
    elif action in ("switch_inline_query", "switch_inline_query_current_chat"):
        if not isinstance(value, str):
            raise _button_error(f'Field "{action}" must be of type String')
        result[action] = value
    elif action == "copy_text":
        copied = value.get("text") if isinstance(value, dict) else None
        if not isinstance(copied, str) or not 1 <= len(copied) <= 256:
            raise bad_request("BUTTON_COPY_TEXT_INVALID")
        result["copy_text"] = {"text": copied}
    elif action in ("pay", "callback_game"):
        raise bad_request("BUTTON_TYPE_INVALID")
    else:
        if not isinstance(value, dict):
            raise _button_error(f'Field "{action}" must be of type Object')
        for key, flag in value.items():
            if key.startswith("allow_") and not isinstance(flag, bool):
                raise _button_error(f'Field "{key}" must be of type Boolean')
        result[action] = dict(value)
    return result
