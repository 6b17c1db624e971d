"""Request parameters, read the way the Bot API reads them.

The Bot API accepts query strings, ``application/json``,
``application/x-www-form-urlencoded`` and ``multipart/form-data``.  PTB 22 (httpx) sends
``POST`` with form-urlencoded bodies, or multipart when a file is attached, and no body
at all for parameterless calls such as ``getMe``.  In form bodies every value is a
string and structured values (``reply_markup``, ``entities``, ``reply_parameters``,
``results``, ``allowed_updates``...) arrive JSON-encoded, so every getter here accepts
both native JSON values and their string forms.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from .errors import ApiError, bad_request

__all__ = ["Params", "UploadedFile", "read_params"]


@dataclass(frozen=True, slots=True)
class UploadedFile:
    """A multipart file part (the emulator keeps only its metadata and size)."""

    field: str
    filename: str | None
    content_type: str | None
    size: int


async def read_params(request: web.Request) -> dict[str, Any]:
    """Merge query-string and body parameters (the body wins), like the Bot API."""
    params: dict[str, Any] = dict(request.query)
    if not request.body_exists:
        return params
    content_type = request.content_type
    if content_type == "application/json":
        try:
            body = await request.json()
        except ValueError:
            raise bad_request("can't parse JSON encoded request") from None
        if not isinstance(body, dict):
            raise bad_request("can't parse JSON encoded request: Object expected")
        params.update(body)
    elif content_type in ("application/x-www-form-urlencoded", "multipart/form-data"):
        form = await request.post()
        for key, value in form.items():
            if isinstance(value, web.FileField):
                data = value.file.read()
                params[key] = UploadedFile(key, value.filename, value.content_type, len(data))
            else:
                params[key] = value
    return params


class Params:
    """Typed access to raw parameters with Bot API-style errors."""

    def __init__(self, raw: dict[str, Any]) -> None:
        self.raw = raw

    def __contains__(self, name: str) -> bool:
        return self.raw.get(name) not in (None, "")

    def get_str(self, name: str) -> str | None:
        value = self.raw.get(name)
        if value is None:
            return None
        if isinstance(value, str):
            return value
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, int | float):
            return str(value)
        return json.dumps(value)

    def get_int(self, name: str, default: int | None = None) -> int | None:
        value = self.raw.get(name)
        if value is None or value == "":
            return default
        if isinstance(value, bool):
            return int(value)
        if isinstance(value, int):
            return value
        if isinstance(value, float) and value.is_integer():
            return int(value)
        try:
            return int(str(value).strip())
        except ValueError:
            raise bad_request(f'field "{name}" must be a valid Number') from None

    def get_float(self, name: str, default: float | None = None) -> float | None:
        value = self.raw.get(name)
        if value is None or value == "":
            return default
        try:
            return float(value)
        except (TypeError, ValueError):
            raise bad_request(f'field "{name}" must be a valid Number') from None

    def get_bool(self, name: str, default: bool = False) -> bool:
        value = self.raw.get(name)
        if value is None or value == "":
            return default
        if isinstance(value, bool):
            return value
        if isinstance(value, int | float):
            return value != 0
        return str(value).strip().lower() in ("true", "1", "yes", "on")

    def get_json(self, name: str, what: str) -> Any:
        """A structured parameter; ``what`` names it in the parse error."""
        value = self.raw.get(name)
        if value is None or value == "":
            return None
        if isinstance(value, str):
            try:
                return json.loads(value)
            except ValueError:
                raise bad_request(f"can't parse {what} JSON object") from None
        return value

    def chat_id(self, name: str = "chat_id") -> int | str:
        """An integer id or ``@username``; anything else is "chat not found"."""
        value = self.raw.get(name)
        if value is None or value == "":
            raise bad_request(f"{name} is empty")
        return coerce_chat_id(value)

    def require_int(self, name: str, message: str) -> int:
        value = self.get_int(name)
        if value is None:
            raise bad_request(message)
        return value


def coerce_chat_id(value: Any) -> int | str:
    """Normalise a chat id parameter; raise "chat not found" for garbage."""
    if isinstance(value, bool):
        raise bad_request("chat not found")
    if isinstance(value, int):
        return value
    text = str(value).strip()
    if text.lstrip("-").isdigit():
        return int(text)
    if text.startswith("@") and len(text) > 1:
        return text
    raise bad_request("chat not found")


def peek_chat_id(raw: dict[str, Any]) -> int | str | None:
    """Best-effort chat id for recording, faults and flood control (never raises)."""
    value = raw.get("chat_id")
    if value is None or value == "":
        return None
    try:
        return coerce_chat_id(value)
    except ApiError:
        return str(value)
