"""The Bot API methods quotebot calls, validated the way Telegram validates them.

Implemented: getMe, getUpdates, setWebhook, deleteWebhook, getWebhookInfo, sendMessage,
sendPhoto, getFile, editMessageText, answerCallbackQuery, answerInlineQuery, getChatMember,
setMyCommands, setMyDescription.  Any other method is a 400 that names it, so a bot change that needs
one fails loudly instead of passing against a lenient fake.

Each handler takes the request :class:`Params` and returns the ``result`` or raises
:class:`ApiError`.  As on Telegram, the text and markup are checked before the chat.
"""

from __future__ import annotations

import asyncio
import hashlib
import itertools
import json
import re
import struct
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from .errors import QUERY_TOO_OLD, bad_request, conflict
from .formatting import CAPTION_LIMIT, MESSAGE_LIMIT, check_link, format_text, utf16_len
from .state import (
    CallbackAnswer,
    Chat,
    InlineAnswer,
    InlineResultView,
    Member,
    MessageVersion,
    StoredMessage,
    World,
    now_seconds,
)
from .waiting import ChangeSignal

__all__ = ["BotApi", "Params", "Upload", "read_params"]

CALLBACK_DATA_LIMIT = 64  # bytes
_BUTTON_ACTIONS = (
    "url",
    "callback_data",
    "switch_inline_query",
    "switch_inline_query_current_chat",
    "web_app",
)
_COMMAND_RE = re.compile(r"[a-z0-9_]{1,32}")
_NOT_MODIFIED = (
    "message is not modified: specified new message content and reply markup are exactly "
    "the same as a current content and reply markup of the message"
)


@dataclass(frozen=True, slots=True)
class Upload:
    """A file part of a multipart request."""

    filename: str | None
    data: bytes


async def read_params(request: web.Request) -> dict[str, Any]:
    """Query string and body (JSON, form or multipart) merged, like the Bot API reads them."""
    params: dict[str, Any] = dict(request.query)
    if not request.body_exists:
        return params
    if request.content_type == "application/json":
        try:
            body = await request.json()
        except ValueError:
            raise bad_request("can't parse JSON encoded request") from None
        if not isinstance(body, dict):
            raise bad_request("can't parse JSON encoded request: Object expected")
        params.update(body)
    else:
        for key, value in (await request.post()).items():
            is_file = isinstance(value, web.FileField)
            params[key] = Upload(value.filename, value.file.read()) if is_file else value
    return params


MAX_BOT_DOWNLOAD = 20 * 1024 * 1024  # getFile refuses larger files to bots


class Params:
    """Typed access to raw parameters; form values are strings, structured ones JSON."""

    def __init__(self, raw: dict[str, Any]) -> None:
        self.raw = raw

    def get_str(self, name: str) -> str | None:
        value = self.raw.get(name)
        return value if value is None or isinstance(value, str) else json.dumps(value)

    def get_int(self, name: str, default: int | None = None) -> int | None:
        value = self.raw.get(name)
        if value in (None, ""):
            return default
        try:
            return int(value)
        except (TypeError, ValueError):
            raise bad_request(f'field "{name}" must be a valid Number') from None

    def get_bool(self, name: str) -> bool:
        value = self.raw.get(name)
        return value is True or str(value).lower() in ("true", "1")

    def get_json(self, name: str) -> Any:
        value = self.raw.get(name)
        if not isinstance(value, str) or value == "":
            return None if value == "" else value
        try:
            return json.loads(value)
        except ValueError:
            raise bad_request(f"can't parse {name} JSON object") from None

    def chat_id(self) -> int:
        value = self.raw.get("chat_id")
        if value in (None, ""):
            raise bad_request("chat_id is empty")
        if not re.fullmatch(r"-?\d+", str(value).strip()):
            raise bad_request("chat not found")  # (no @username chats are emulated)
        return int(value)


def text_or_error(text: str | None, parse_mode: str | None, limit: int, too_long: str) -> Any:
    """``format_text`` with the Bot API's 400s, including the length limit after parsing."""
    try:
        plain, entities = format_text(text or "", parse_mode)
    except ValueError as exc:
        raise bad_request(str(exc)) from None
    if utf16_len(plain) > limit:
        raise bad_request(too_long)
    return plain, entities


def parse_markup(raw: Any) -> dict[str, Any] | None:
    """Validate an inline keyboard like Telegram (one bad button refuses the message)."""
    if isinstance(raw, str) and raw:
        try:
            raw = json.loads(raw)
        except ValueError:
            raise bad_request("can't parse reply keyboard markup JSON object") from None
    if not raw:
        return None
    if not isinstance(raw, dict) or not isinstance(raw.get("inline_keyboard"), list):
        raise bad_request("the quotebot emulator only implements inline keyboards")
    rows = raw["inline_keyboard"]
    if not all(isinstance(row, list) for row in rows):
        raise bad_request('field "inline_keyboard" must be of type Array')
    return {"inline_keyboard": [[_button(b) for b in row] for row in rows]}


def _button(button: Any) -> dict[str, str]:
    if not isinstance(button, dict) or not isinstance(button.get("text"), str):
        raise bad_request("can't parse inline keyboard button: Can't find field \"text\"")
    if not button["text"].strip():
        raise bad_request("BUTTON_TEXT_INVALID")
    actions = [a for a in button if a != "text" and button[a] not in (None, "")]
    if not actions:
        raise bad_request(
            "can't parse inline keyboard button: Text buttons are unallowed in the inline keyboard"
        )
    if len(actions) > 1:  # Telegram silently uses one of them; it is always a bug
        raise bad_request(f"can't parse inline keyboard button: several actions: {actions}")
    [action] = actions
    value = button[action]
    if action == "web_app":  # a Mini App: {"url": "https://…"} (private chats: check_web_app)
        url = value.get("url") if isinstance(value, dict) else None
        if not isinstance(url, str) or not url.startswith("https://"):
            raise bad_request("BUTTON_URL_INVALID")
        return {"text": button["text"], "web_app": {"url": url}}  # type: ignore[dict-item]
    if action not in _BUTTON_ACTIONS or not isinstance(value, str):
        raise bad_request(f"inline button {action!r} is not implemented by the quotebot emulator")
    if action == "callback_data" and len(value.encode()) > CALLBACK_DATA_LIMIT:
        raise bad_request("BUTTON_DATA_INVALID")
    if action == "url":
        try:
            value = check_link(value)
        except ValueError as exc:
            raise bad_request(f"inline keyboard button URL '{value}' is invalid: {exc}") from None
    return {"text": button["text"], action: value}


def check_web_app(chat: Chat, markup: dict[str, Any] | None) -> None:
    """Telegram allows web_app buttons only in private chats with the bot."""
    rows = (markup or {}).get("inline_keyboard", [])
    if chat.type != "private" and any("web_app" in b for row in rows for b in row):
        raise bad_request("BUTTON_TYPE_INVALID")


def image_size(data: bytes) -> tuple[int, int] | None:
    """Width and height of a PNG or JPEG, else None."""
    if data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) >= 24:
        return struct.unpack(">II", data[16:24])  # type: ignore[return-value]
    i = 2 if data[:2] == b"\xff\xd8" else len(data)
    while i + 9 < len(data) and data[i] == 0xFF:
        marker = data[i + 1]
        if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):  # start of frame
            height, width = struct.unpack(">HH", data[i + 5 : i + 9])
            return width, height
        i += 2 + int.from_bytes(data[i + 2 : i + 4], "big")
    return None


class BotApi:
    """Method implementations over a :class:`World`."""

    def __init__(
        self, world: World, signal: ChangeSignal, *, privacy_mode: bool, query_ttl: float
    ) -> None:
        self.world = world
        self.signal = signal
        self.privacy_mode = privacy_mode
        self.query_ttl = query_ttl
        self.closing = False
        self._poll_generation = 0
        self._file_ids = itertools.count(1)
        handlers: dict[str, Callable[[Params, float], Any]] = {
            "getMe": self.get_me,
            "getUpdates": self.get_updates,
            "setWebhook": self.set_webhook,
            "deleteWebhook": self.delete_webhook,
            "getWebhookInfo": self.get_webhook_info,
            "sendMessage": self.send_message,
            "sendPhoto": self.send_photo,
            "getFile": self.get_file,
            "editMessageText": self.edit_message_text,
            "answerCallbackQuery": self.answer_callback_query,
            "answerInlineQuery": self.answer_inline_query,
            "getChatMember": self.get_chat_member,
            "setMyCommands": self.set_my_commands,
            "setMyDescription": self.set_my_description,
        }
        self.handlers = {name.lower(): (name, fn) for name, fn in handlers.items()}

    def canonical(self, method: str) -> str:
        """Method names are case-insensitive; unknown ones come back unchanged."""
        return self.handlers.get(method.lower(), (method, None))[0]

    async def call(self, method: str, params: Params, now: float) -> Any:
        entry = self.handlers.get(method.lower())
        if entry is None:
            raise bad_request(f"method {method} is not implemented by the quotebot emulator")
        result = entry[1](params, now)
        return await result if asyncio.iscoroutine(result) else result

    # ------------------------------------------------------------------ bot & updates

    def get_file(self, p: Params, now: float) -> dict[str, Any]:
        """A file a user sent: its path under /file/bot<token>/; bots may fetch up to 20 MB."""
        file_id = str(p.raw.get("file_id") or "")
        if file_id not in self.world.user_files:
            raise bad_request("invalid file_id")
        path, _data, size = self.world.user_files[file_id]
        if size > MAX_BOT_DOWNLOAD:
            raise bad_request("file is too big")
        return {
            "file_id": file_id,
            "file_unique_id": f"AgAD{abs(hash(file_id)) % 10**8}",
            "file_size": size,
            "file_path": path,
        }

    def get_me(self, p: Params, now: float) -> dict[str, Any]:
        return {
            **self.world.bot.to_dict(),
            "can_join_groups": True,
            "can_read_all_group_messages": not self.privacy_mode,
            "supports_inline_queries": True,
        }

    def _allowed_updates(self, p: Params) -> None:
        allowed = p.get_json("allowed_updates")
        if isinstance(allowed, list):
            self.world.allowed_updates = frozenset(allowed) or None

    async def get_updates(self, p: Params, now: float) -> list[dict[str, Any]]:
        """Long polling; a newer call ends an older one with 409, as on Telegram."""
        if self.world.webhook is not None:
            raise conflict("can't use getUpdates method while webhook is active")
        self._allowed_updates(p)
        self._poll_generation += 1
        generation = self._poll_generation
        self.signal.notify()
        self.world.confirm(p.get_int("offset", 0) or 0)
        limit = min(max(p.get_int("limit", 100) or 100, 1), 100)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + max(p.get_int("timeout", 0) or 0, 0)
        while not self.closing:
            if generation != self._poll_generation:
                raise conflict(
                    "terminated by other getUpdates request; make sure that only one bot "
                    "instance is running"
                )
            if self.world.updates or loop.time() >= deadline:
                return [dict(u) for u in self.world.updates[:limit]]
            await self.signal.wait(deadline - loop.time())
        return []

    def set_webhook(self, p: Params, now: float) -> bool:
        url = p.get_str("url") or ""
        if not url.lower().startswith("https://"):
            raise bad_request("bad webhook: An HTTPS URL must be provided for webhook")
        self._allowed_updates(p)
        self.delete_webhook(p, now)
        self.world.webhook = {"url": url, "secret_token": p.get_str("secret_token")}
        return True

    def get_webhook_info(self, p: Params, now: float) -> dict[str, Any]:
        """Telegram's WebhookInfo: the url ("" in polling mode) and the updates waiting."""
        hook = self.world.webhook or {}
        info: dict[str, Any] = {
            "url": hook.get("url", ""),
            "has_custom_certificate": False,
            "pending_update_count": len(self.world.updates),
        }
        if hook.get("last_error_message"):
            info["last_error_date"] = int(time.time())
            info["last_error_message"] = hook["last_error_message"]
        return info

    def delete_webhook(self, p: Params, now: float) -> bool:
        self.world.webhook = None
        if p.get_bool("drop_pending_updates"):
            self.world.updates.clear()
        return True

    # ------------------------------------------------------------------ messages

    def _target(self, p: Params) -> Chat:
        chat = self.world.lookup_chat(p.chat_id())
        self.world.check_can_send(chat)
        return chat

    def _reply_to(self, p: Params, chat: Chat) -> StoredMessage | None:
        reply = p.get_json("reply_parameters")
        if not reply:
            return None
        if not isinstance(reply, dict) or "message_id" not in reply:
            raise bad_request("can't parse reply parameters JSON object")
        target = chat.messages.get(int(reply["message_id"]))
        if target is None and not reply.get("allow_sending_without_reply"):
            raise bad_request("message to be replied not found")
        return target

    def _post(self, p: Params, chat: Chat, **fields: Any) -> dict[str, Any]:
        channel = chat.type == "channel"
        message = StoredMessage(
            chat=chat,
            message_id=chat.allocate_message_id(),
            sender=None if channel else self.world.bot,
            sender_chat=chat if channel else None,
            outgoing=True,
            reply_to=self._reply_to(p, chat),
            parse_mode=p.get_str("parse_mode"),
            **fields,
        )
        chat.messages[message.message_id] = message
        return message.to_dict()

    def send_message(self, p: Params, now: float) -> dict[str, Any]:
        p.chat_id()  # "chat_id is empty" comes first
        text, entities = text_or_error(
            p.get_str("text"), p.get_str("parse_mode"), MESSAGE_LIMIT, "message is too long"
        )
        markup = parse_markup(p.raw.get("reply_markup"))
        chat = self._target(p)
        check_web_app(chat, markup)
        return self._post(
            p,
            chat,
            text=text,
            entities=entities,
            reply_markup=markup,
            source_text=p.get_str("text"),
        )

    def send_photo(self, p: Params, now: float) -> dict[str, Any]:
        """A new upload (multipart) gets a file_id; a known file_id is sent again."""
        p.chat_id()
        photo = p.raw.get("photo")
        if isinstance(photo, str) and photo.startswith("attach://"):
            photo = p.raw.get(photo.removeprefix("attach://"))
        if isinstance(photo, Upload):
            data = photo.data
            if image_size(data) is None:
                raise bad_request("IMAGE_PROCESS_FAILED")
            file_id = f"AgACAgIAAxkDAAE{next(self._file_ids):06d}"
        elif isinstance(photo, str) and photo in self.world.files:
            file_id, data = photo, self.world.files[photo]
        elif photo:
            raise bad_request("wrong file identifier/HTTP URL specified")
        else:
            raise bad_request("there is no photo in the request")
        extra: dict[str, Any] = {}
        if p.get_str("caption"):
            caption, entities = text_or_error(
                p.get_str("caption"),
                p.get_str("parse_mode"),
                CAPTION_LIMIT,
                "message caption is too long",
            )
            extra = (
                {"caption": caption, "caption_entities": entities}
                if entities
                else {"caption": caption}
            )
        markup = parse_markup(p.raw.get("reply_markup"))
        chat = self._target(p)
        check_web_app(chat, markup)
        self.world.files[file_id] = data
        width, height = image_size(data) or (0, 0)
        extra["photo"] = [
            {
                "file_id": file_id,
                "file_unique_id": hashlib.sha1(data).hexdigest()[:16],
                "width": width,
                "height": height,
                "file_size": len(data),
            }
        ]
        return self._post(
            p, chat, reply_markup=markup, source_text=p.get_str("caption"), extra=extra
        )

    def edit_message_text(self, p: Params, now: float) -> dict[str, Any]:
        text, entities = text_or_error(
            p.get_str("text"), p.get_str("parse_mode"), MESSAGE_LIMIT, "message is too long"
        )
        markup = parse_markup(p.raw.get("reply_markup"))
        if "inline_message_id" in p.raw:
            raise bad_request("inline messages are not implemented by the quotebot emulator")
        chat = self._target(p)
        check_web_app(chat, markup)
        message = chat.messages.get(p.get_int("message_id", 0) or 0)
        if message is None:
            raise bad_request("message to edit not found")
        if not message.outgoing:
            raise bad_request("message can't be edited")
        if message.text is None:
            raise bad_request("there is no text in the message to edit")
        if (message.text, message.entities, message.reply_markup) == (text, entities, markup):
            raise bad_request(_NOT_MODIFIED)
        message.text, message.entities, message.reply_markup = text, entities, markup
        message.source_text, message.parse_mode = p.get_str("text"), p.get_str("parse_mode")
        message.edit_date = now_seconds()
        message.edits.append(MessageVersion(text, entities, markup))
        return message.to_dict()

    # ------------------------------------------------------------------ queries

    def _fresh(self, record: Any, now: float) -> None:
        if record is None or record.answer is not None or now - record.created_at > self.query_ttl:
            raise bad_request(QUERY_TOO_OLD)

    def answer_callback_query(self, p: Params, now: float) -> bool:
        record = self.world.callback_queries.get(p.get_str("callback_query_id") or "")
        self._fresh(record, now)
        text = p.get_str("text")
        if text is not None and len(text) > 200:
            raise bad_request("MESSAGE_TOO_LONG")
        record.answer = CallbackAnswer(text, p.get_bool("show_alert"), p.get_str("url"))
        return True

    def answer_inline_query(self, p: Params, now: float) -> bool:
        results = p.get_json("results")
        if not isinstance(results, list):
            raise bad_request('field "results" must be of type Array')
        if len(results) > 50:
            raise bad_request("RESULTS_TOO_MUCH")
        views = [self._inline_result(r) for r in results]
        if len({v.id for v in views}) < len(views):
            raise bad_request("RESULT_ID_DUPLICATE")
        next_offset = p.get_str("next_offset")
        if next_offset is not None and len(next_offset.encode()) > 64:
            raise bad_request("NEXT_OFFSET_INVALID")
        record = self.world.inline_queries.get(p.get_str("inline_query_id") or "")
        self._fresh(record, now)
        record.answer = InlineAnswer(
            views, p.get_int("cache_time"), p.get_bool("is_personal"), next_offset
        )
        return True

    def _inline_result(self, raw: Any) -> InlineResultView:
        if isinstance(raw, dict) and raw.get("type") == "photo" and "photo_file_id" in raw:
            return self._cached_photo_result(raw)
        if not isinstance(raw, dict) or raw.get("type") != "article":
            raise bad_request(
                "only article inline results are implemented by the quotebot emulator"
            )
        result_id = raw.get("id")
        if not isinstance(result_id, str) or not 1 <= len(result_id.encode()) <= 64:
            raise bad_request("RESULT_ID_INVALID")
        if not raw.get("title"):
            raise bad_request("ARTICLE_TITLE_EMPTY")
        content = raw.get("input_message_content")
        if not isinstance(content, dict) or "message_text" not in content:
            raise bad_request("the quotebot emulator only implements text message content")
        text, entities = text_or_error(
            content["message_text"], content.get("parse_mode"), MESSAGE_LIMIT, "MESSAGE_TOO_LONG"
        )
        markup = parse_markup(raw.get("reply_markup"))
        return InlineResultView(result_id, "article", raw["title"], text, entities, markup, raw)

    def _cached_photo_result(self, raw: dict[str, Any]) -> InlineResultView:
        """InlineQueryResultCachedPhoto: a photo the bot uploaded before, by file_id."""
        result_id = raw.get("id")
        if not isinstance(result_id, str) or not 1 <= len(result_id.encode()) <= 64:
            raise bad_request("RESULT_ID_INVALID")
        if raw["photo_file_id"] not in self.world.files:
            raise bad_request("wrong file identifier/HTTP URL specified")
        text, entities = None, []
        if raw.get("caption"):
            text, entities = text_or_error(
                raw["caption"], raw.get("parse_mode"), CAPTION_LIMIT, "MEDIA_CAPTION_TOO_LONG"
            )
        markup = parse_markup(raw.get("reply_markup"))
        return InlineResultView(result_id, "photo", raw.get("title"), text, entities, markup, raw)

    # ------------------------------------------------------------------ chats & settings

    def get_chat_member(self, p: Params, now: float) -> dict[str, Any]:
        chat = self.world.lookup_chat(p.chat_id())
        if chat.migrated_to is not None:
            self.world.check_can_send(chat)  # the migration error
        user = self.world.users.get(p.get_int("user_id", 0) or 0)
        if user is None:
            raise bad_request("user not found")
        if user is self.world.bot:
            return Member(user, chat.bot_status).to_dict()
        if chat.type == "private":
            if chat.user is not user:
                raise bad_request("user not found")
            return Member(user).to_dict()
        return chat.members.get(user.id, Member(user, "left")).to_dict()

    def set_my_commands(self, p: Params, now: float) -> bool:
        commands = p.get_json("commands")
        if not isinstance(commands, list) or len(commands) > 100:
            raise bad_request("commands must be an Array of at most 100 BotCommand")
        clean = []
        for item in commands:
            command, description = str(item.get("command")), str(item.get("description"))
            if not _COMMAND_RE.fullmatch(command):
                raise bad_request("BOT_COMMAND_INVALID")
            if not 1 <= len(description) <= 256:
                raise bad_request("BOT_COMMAND_DESCRIPTION_INVALID")
            clean.append({"command": command, "description": description})
        scope = json.dumps(p.get_json("scope") or {"type": "default"}, sort_keys=True)
        self.world.commands[(scope, p.get_str("language_code") or "")] = clean
        return True

    def set_my_description(self, p: Params, now: float) -> bool:
        description = p.get_str("description") or ""
        if len(description) > 512:
            raise bad_request("description is too long")
        self.world.descriptions[p.get_str("language_code") or ""] = description
        return True
