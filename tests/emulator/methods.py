"""The Bot API methods the emulator implements, with Telegram's validation order.

Each handler takes the request :class:`Params` and returns the ``result`` value or
raises :class:`ApiError`.  Validation follows the real server: parameters and text are
checked first (they are parsed by the Bot API process), then the chat is resolved and
access rules apply (blocked, kicked, migrated), then message-level checks (reply
target, message to edit, "not modified").
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from .entities import FormattedText, utf16_len
from .errors import ApiError, bad_request, conflict, query_too_old
from .formatting import MESSAGE_TEXT_LIMIT, format_text
from .markup import parse_reply_markup
from .params import Params
from .state import (
    ALL_UPDATE_TYPES,
    DEFAULT_UPDATE_TYPES,
    CallbackAnswer,
    Chat,
    InlineAnswer,
    InlineResultView,
    Member,
    StoredMessage,
    World,
    now_seconds,
)
from .waiting import ChangeSignal

__all__ = ["KNOWN_UNIMPLEMENTED", "BotApi", "CallContext"]

#: Real Bot API methods the emulator does not implement; they get an explicit 400
#: instead of Telegram's 404, which PTB would misreport as an invalid token.
KNOWN_UNIMPLEMENTED = frozenset(
    m.lower()
    for m in [
        "sendPhoto",
        "sendDocument",
        "sendAudio",
        "sendVideo",
        "sendAnimation",
        "sendVoice",
        "sendVideoNote",
        "sendMediaGroup",
        "sendLocation",
        "sendVenue",
        "sendContact",
        "sendPoll",
        "sendDice",
        "sendSticker",
        "sendPaidMedia",
        "sendInvoice",
        "sendGame",
        "forwardMessage",
        "forwardMessages",
        "copyMessage",
        "copyMessages",
        "editMessageCaption",
        "editMessageMedia",
        "editMessageLiveLocation",
        "stopMessageLiveLocation",
        "stopPoll",
        "pinChatMessage",
        "unpinChatMessage",
        "unpinAllChatMessages",
        "getFile",
        "getUserProfilePhotos",
        "setMessageReaction",
        "banChatMember",
        "unbanChatMember",
        "restrictChatMember",
        "promoteChatMember",
        "setChatPermissions",
        "exportChatInviteLink",
        "createChatInviteLink",
        "setChatTitle",
        "setChatDescription",
        "setChatPhoto",
        "deleteChatPhoto",
        "setChatMenuButton",
        "getChatMenuButton",
        "setMyDefaultAdministratorRights",
        "getMyDefaultAdministratorRights",
        "getStickerSet",
        "answerWebAppQuery",
        "answerShippingQuery",
        "answerPreCheckoutQuery",
        "getUserChatBoosts",
        "getBusinessConnection",
        "getForumTopicIconStickers",
        "createForumTopic",
    ]
)
_CHAT_ACTIONS = frozenset(
    [
        "typing",
        "upload_photo",
        "record_video",
        "upload_video",
        "record_voice",
        "upload_voice",
        "upload_document",
        "choose_sticker",
        "find_location",
        "record_video_note",
        "upload_video_note",
    ]
)
_COMMAND_RE = re.compile(r"^[a-z0-9_]{1,32}$")
_INLINE_RESULT_TYPES = frozenset(
    [
        "article",
        "photo",
        "gif",
        "mpeg4_gif",
        "video",
        "audio",
        "voice",
        "document",
        "location",
        "venue",
        "contact",
        "game",
        "sticker",
    ]
)
_NOT_MODIFIED = (
    "message is not modified: specified new message content and reply markup are exactly "
    "the same as a current content and reply markup of the message"
)


@dataclass(frozen=True, slots=True)
class CallContext:
    """Per-request facts handlers may need."""

    seq: int
    now: float


Handler = Callable[[Params, CallContext], Any]


class BotApi:
    """Method implementations over a :class:`World`."""

    def __init__(
        self,
        world: World,
        signal: ChangeSignal,
        *,
        strict: bool,
        privacy_mode: bool,
        query_ttl: float,
        clock: Callable[[], float],
    ) -> None:
        self.world = world
        self.signal = signal
        self.strict = strict
        self.privacy_mode = privacy_mode
        self.query_ttl = query_ttl
        self.clock = clock
        self.closing = False
        self._poll_generation = 0
        handlers: dict[str, Handler] = {
            "getMe": self.get_me,
            "logOut": self.ok,
            "close": self.ok,
            "getUpdates": self.get_updates,
            "setWebhook": self.set_webhook,
            "deleteWebhook": self.delete_webhook,
            "getWebhookInfo": self.get_webhook_info,
            "sendMessage": self.send_message,
            "editMessageText": self.edit_message_text,
            "editMessageReplyMarkup": self.edit_message_reply_markup,
            "deleteMessage": self.delete_message,
            "deleteMessages": self.delete_messages,
            "sendChatAction": self.send_chat_action,
            "answerCallbackQuery": self.answer_callback_query,
            "answerInlineQuery": self.answer_inline_query,
            "getChat": self.get_chat,
            "getChatMember": self.get_chat_member,
            "getChatAdministrators": self.get_chat_administrators,
            "getChatMemberCount": self.get_chat_member_count,
            "leaveChat": self.leave_chat,
            "setMyCommands": self.set_my_commands,
            "getMyCommands": self.get_my_commands,
            "deleteMyCommands": self.delete_my_commands,
            "setMyDescription": self.set_my_description,
            "getMyDescription": self.get_my_description,
            "setMyShortDescription": self.set_my_short_description,
            "getMyShortDescription": self.get_my_short_description,
            "setMyName": self.set_my_name,
            "getMyName": self.get_my_name,
        }
        self._handlers = {name.lower(): (name, fn) for name, fn in handlers.items()}

    # ------------------------------------------------------------------ dispatch

    def canonical(self, method: str) -> str | None:
        """Bot API method names are case-insensitive."""
        entry = self._handlers.get(method.lower())
        return entry[0] if entry else None

    async def call(self, method: str, params: Params, ctx: CallContext) -> Any:
        _, handler = self._handlers[method.lower()]
        result = handler(params, ctx)
        if isinstance(result, Awaitable):
            result = await result
        return result

    # ------------------------------------------------------------------ helpers

    def _format(self, p: Params, text_field: str = "text") -> FormattedText:
        formatted = format_text(
            p.get_str(text_field),
            p.get_str("parse_mode"),
            p.raw.get("entities"),
            strict=self.strict,
            resolve_user=self.world.resolve_user,
        )
        if utf16_len(formatted.text) > MESSAGE_TEXT_LIMIT:
            raise bad_request("message is too long")
        return formatted

    def _markup(self, p: Params, *, inline_only: bool = False) -> dict[str, Any] | None:
        return parse_reply_markup(
            p.raw.get("reply_markup"), strict=self.strict, inline_only=inline_only
        )

    def _chat_for_message(self, p: Params) -> Chat:
        chat = self.world.lookup_chat(p.chat_id())
        self.world.check_can_send(chat)
        return chat

    def _message(self, chat: Chat, message_id: int, missing: str) -> StoredMessage:
        message = chat.messages.get(message_id)
        if message is None or message.deleted:
            raise bad_request(missing)
        return message

    def _reply_target(self, p: Params, chat: Chat) -> StoredMessage | None:
        reply = p.get_json("reply_parameters", "reply parameters")
        if reply is not None:
            if not isinstance(reply, dict):
                raise bad_request("can't parse reply parameters JSON object")
            if "message_id" not in reply:
                raise bad_request('can\'t find field "message_id"')
            message_id = int(reply["message_id"])
            allow = bool(reply.get("allow_sending_without_reply", False))
        else:
            message_id = p.get_int("reply_to_message_id", 0) or 0
            allow = p.get_bool("allow_sending_without_reply")
            if not message_id:
                return None
        target = chat.messages.get(message_id)
        if target is None or target.deleted:
            if allow:
                return None
            raise bad_request("message to be replied not found")
        return target

    def ok(self, p: Params, ctx: CallContext) -> bool:
        return True

    # ------------------------------------------------------------------ bot & updates

    def get_me(self, p: Params, ctx: CallContext) -> dict[str, Any]:
        data = self.world.bot.to_dict()
        data.update(
            can_join_groups=True,
            can_read_all_group_messages=not self.privacy_mode,
            supports_inline_queries=True,
            can_connect_to_business=False,
            has_main_web_app=False,
        )
        return data

    def set_allowed_updates(self, allowed: Any) -> None:
        if not isinstance(allowed, list):
            raise bad_request("can't parse allowed updates JSON object")
        wanted = tuple(t for t in allowed if t in ALL_UPDATE_TYPES)
        self.world.allowed_updates = wanted or DEFAULT_UPDATE_TYPES

    async def get_updates(self, p: Params, ctx: CallContext) -> list[dict[str, Any]]:
        """Long polling: answer as soon as an update is pending, or after ``timeout``.

        A newer getUpdates call terminates an older one with 409 Conflict, as on
        Telegram (this happens after PTB abandons a long poll during shutdown).
        """
        if self.world.webhook is not None:
            raise conflict(
                "can't use getUpdates method while webhook is active; use deleteWebhook "
                "to delete the webhook first"
            )
        offset = p.get_int("offset", 0) or 0
        limit = min(max(p.get_int("limit", 100) or 100, 1), 100)
        timeout = max(p.get_float("timeout", 0.0) or 0.0, 0.0)
        allowed = p.get_json("allowed_updates", "allowed updates")
        if allowed is not None:
            self.set_allowed_updates(allowed)
        self._poll_generation += 1
        generation = self._poll_generation
        self.signal.notify()
        self.world.confirm(offset)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            if self.closing:
                return []
            if generation != self._poll_generation:
                raise conflict(
                    "terminated by other getUpdates request; make sure that only one bot "
                    "instance is running"
                )
            if self.world.updates:
                return [dict(u) for u in self.world.updates[:limit]]
            remaining = deadline - loop.time()
            if remaining <= 0:
                return []
            await self.signal.wait(remaining)

    def set_webhook(self, p: Params, ctx: CallContext) -> bool:
        url = p.get_str("url") or ""
        if not url:
            return self.delete_webhook(p, ctx)
        if not url.lower().startswith("https://"):
            raise bad_request("bad webhook: An HTTPS URL must be provided for webhook")
        allowed = p.get_json("allowed_updates", "allowed updates")
        if allowed is not None:
            self.set_allowed_updates(allowed)
        if p.get_bool("drop_pending_updates"):
            self.world.updates.clear()
        self.world.webhook = {
            "url": url,
            "max_connections": p.get_int("max_connections", 40),
            "secret_token": p.get_str("secret_token"),
            "ip_address": p.get_str("ip_address"),
        }
        return True

    def delete_webhook(self, p: Params, ctx: CallContext) -> bool:
        self.world.webhook = None
        if p.get_bool("drop_pending_updates"):
            self.world.updates.clear()
        return True

    def get_webhook_info(self, p: Params, ctx: CallContext) -> dict[str, Any]:
        hook = self.world.webhook
        info: dict[str, Any] = {
            "url": hook["url"] if hook else "",
            "has_custom_certificate": False,
            "pending_update_count": len(self.world.updates),
        }
        if hook:
            info["max_connections"] = hook["max_connections"]
            if self.world.allowed_updates != DEFAULT_UPDATE_TYPES:
                info["allowed_updates"] = list(self.world.allowed_updates)
            if hook["ip_address"]:
                info["ip_address"] = hook["ip_address"]
        return info

    # ------------------------------------------------------------------ messages

    def send_message(self, p: Params, ctx: CallContext) -> dict[str, Any]:
        p.chat_id()  # "chat_id is empty" comes first
        formatted = self._format(p)
        markup = self._markup(p)
        chat = self._chat_for_message(p)
        reply_to = self._reply_target(p, chat)
        channel = chat.type == "channel"
        message = StoredMessage(
            chat=chat,
            message_id=chat.allocate_message_id(),
            date=now_seconds(),
            sender=None if channel else self.world.bot,
            sender_chat=chat if channel else None,
            outgoing=True,
            text=formatted.text,
            entities=formatted.entity_dicts(),
            reply_markup=markup,
            reply_to=reply_to,
            source_text=p.get_str("text"),
            parse_mode=p.get_str("parse_mode"),
            created_at=ctx.now,
            request_seq=ctx.seq,
        )
        if p.get_bool("protect_content"):
            message.extra["has_protected_content"] = True
        chat.messages[message.message_id] = message
        return message.to_dict()

    def _edit_target(self, p: Params) -> tuple[Chat, int]:
        if "inline_message_id" in p:
            raise bad_request("MESSAGE_ID_INVALID")
        chat_id = p.chat_id()
        message_id = p.get_int("message_id")
        if not message_id:
            raise bad_request("message identifier is not specified")
        chat = self.world.lookup_chat(chat_id)
        self.world.check_can_send(chat)
        return chat, message_id

    def edit_message_text(self, p: Params, ctx: CallContext) -> dict[str, Any]:
        formatted = self._format(p)
        markup = self._markup(p, inline_only=True)
        chat, message_id = self._edit_target(p)
        message = self._message(chat, message_id, "message to edit not found")
        if not message.outgoing:
            raise bad_request("message can't be edited")
        if message.text is None:
            raise bad_request("there is no text in the message to edit")
        entities = formatted.entity_dicts()
        if (
            message.text == formatted.text
            and message.entities == entities
            and message.reply_markup == markup
        ):
            raise bad_request(_NOT_MODIFIED)
        message.text = formatted.text
        message.entities = entities
        message.reply_markup = markup
        message.source_text = p.get_str("text")
        message.parse_mode = p.get_str("parse_mode")
        message.edit_date = now_seconds()
        message.edits.append(message.snapshot())
        return message.to_dict()

    def edit_message_reply_markup(self, p: Params, ctx: CallContext) -> dict[str, Any]:
        markup = self._markup(p, inline_only=True)
        chat, message_id = self._edit_target(p)
        message = self._message(chat, message_id, "message to edit not found")
        if not message.outgoing:
            raise bad_request("message can't be edited")
        if message.reply_markup == markup:
            raise bad_request(_NOT_MODIFIED)
        message.reply_markup = markup
        message.edit_date = now_seconds()
        message.edits.append(message.snapshot())
        return message.to_dict()

    def _delete(self, chat: Chat, message_id: int) -> None:
        message = self._message(chat, message_id, "message to delete not found")
        if not message.outgoing and chat.type != "private" and not chat.bot_is_admin:
            raise bad_request("message can't be deleted")
        message.deleted = True

    def delete_message(self, p: Params, ctx: CallContext) -> bool:
        chat = self.world.lookup_chat(p.chat_id())
        message_id = p.require_int("message_id", "message identifier is not specified")
        self._delete(chat, message_id)
        return True

    def delete_messages(self, p: Params, ctx: CallContext) -> bool:
        chat = self.world.lookup_chat(p.chat_id())
        ids = p.get_json("message_ids", "message identifiers")
        if not isinstance(ids, list) or not ids:
            raise bad_request("message identifiers are not specified")
        for message_id in ids:
            message = chat.messages.get(int(message_id))
            if message is not None and not message.deleted:
                self._delete(chat, int(message_id))
        return True

    def send_chat_action(self, p: Params, ctx: CallContext) -> bool:
        p.chat_id()
        action = p.get_str("action")
        if action not in _CHAT_ACTIONS:
            raise bad_request("wrong parameter action in request")
        chat = self._chat_for_message(p)
        chat.actions.append(action)
        return True

    # ------------------------------------------------------------------ queries

    def answer_callback_query(self, p: Params, ctx: CallContext) -> bool:
        record = self.world.callback_queries.get(p.get_str("callback_query_id") or "")
        if (
            record is None
            or record.answer is not None
            or ctx.now - record.created_at > self.query_ttl
        ):
            raise query_too_old()
        text = p.get_str("text")
        if text is not None and len(text) > 200:
            raise bad_request("MESSAGE_TOO_LONG")
        record.answer = CallbackAnswer(
            text=text,
            show_alert=p.get_bool("show_alert"),
            url=p.get_str("url"),
            cache_time=p.get_int("cache_time", 0) or 0,
            answered_at=ctx.now,
        )
        return True

    def answer_inline_query(self, p: Params, ctx: CallContext) -> bool:
        record = self.world.inline_queries.get(p.get_str("inline_query_id") or "")
        results = p.get_json("results", "inline query results")
        if not isinstance(results, list):
            raise bad_request('field "results" must be of type Array')
        if len(results) > 50:
            raise bad_request("RESULTS_TOO_MUCH")
        views = []
        seen: set[str] = set()
        for raw in results:
            view = self._inline_result(raw)
            if view.id in seen:
                raise bad_request("RESULT_ID_DUPLICATE")
            seen.add(view.id)
            views.append(view)
        next_offset = p.get_str("next_offset")
        if next_offset is not None and len(next_offset.encode()) > 64:
            raise bad_request("NEXT_OFFSET_INVALID")
        if (
            record is None
            or record.answer is not None
            or ctx.now - record.created_at > self.query_ttl
        ):
            raise query_too_old()
        button = p.get_json("button", "inline query results button")
        record.answer = InlineAnswer(
            query_id=record.id,
            results=views,
            cache_time=p.get_int("cache_time"),
            is_personal=p.get_bool("is_personal"),
            next_offset=next_offset,
            button=button if isinstance(button, dict) else None,
            answered_at=ctx.now,
        )
        return True

    def _inline_result(self, raw: Any) -> InlineResultView:
        if not isinstance(raw, dict):
            raise bad_request("can't parse inline query result: expected an Object")
        kind = raw.get("type")
        if not isinstance(kind, str):
            raise bad_request("can't parse inline query result: Can't find field \"type\"")
        if kind.lower() not in _INLINE_RESULT_TYPES:
            raise bad_request(f'can\'t parse inline query result: Unsupported type "{kind}"')
        result_id = raw.get("id")
        if not isinstance(result_id, str):
            raise bad_request('can\'t parse inline query result: Field "id" must be of type String')
        if not result_id:
            raise bad_request("RESULT_ID_EMPTY")
        if len(result_id.encode()) > 64:
            raise bad_request("RESULT_ID_INVALID")
        title = raw.get("title")
        if kind == "article" and not title:
            raise bad_request("ARTICLE_TITLE_EMPTY")
        content = raw.get("input_message_content")
        if kind == "article" and not isinstance(content, dict):
            raise bad_request(
                "can't parse inline query result: Can't find field \"input_message_content\""
            )
        text: str | None = None
        entities: list[dict[str, Any]] = []
        if isinstance(content, dict) and "message_text" in content:
            formatted = format_text(
                content.get("message_text")
                if isinstance(content.get("message_text"), str)
                else None,
                content.get("parse_mode"),
                content.get("entities"),
                strict=self.strict,
                resolve_user=self.world.resolve_user,
            )
            if utf16_len(formatted.text) > MESSAGE_TEXT_LIMIT:
                raise bad_request("MESSAGE_TOO_LONG")
            text, entities = formatted.text, formatted.entity_dicts()
        markup = parse_reply_markup(raw.get("reply_markup"), strict=self.strict, inline_only=True)
        return InlineResultView(
            id=result_id,
            type=kind,
            title=title,
            description=raw.get("description"),
            text=text,
            entities=entities,
            reply_markup=markup,
            raw=raw,
        )

    # ------------------------------------------------------------------ chats

    def _readable_chat(self, p: Params, name: str = "chat_id") -> Chat:
        chat = self.world.lookup_chat(p.chat_id(name))
        if chat.migrated_to is not None or chat.type != "private":
            try:
                self.world.check_can_send(chat)
            except ApiError as exc:
                if exc.status == 400 and "administrator rights" in exc.description:
                    return chat
                raise
        return chat

    def get_chat(self, p: Params, ctx: CallContext) -> dict[str, Any]:
        return self._readable_chat(p).full_info()

    def _user_id(self, p: Params) -> int:
        user_id = p.get_int("user_id")
        if not user_id:
            raise bad_request("user_id is empty")
        return user_id

    def get_chat_member(self, p: Params, ctx: CallContext) -> dict[str, Any]:
        chat = self._readable_chat(p)
        user_id = self._user_id(p)
        user = self.world.users.get(user_id)
        if user is None:
            raise bad_request("user not found")
        if user_id == self.world.bot.id:
            status = "member" if chat.type == "private" else chat.bot_status
            if chat.bot_kicked:
                status = "kicked" if chat.type != "group" else "left"
            return Member(user, status).to_dict()
        if chat.type == "private":
            if chat.user is not None and chat.user.id == user_id:
                return Member(user, "member").to_dict()
            raise bad_request("user not found")
        member = chat.members.get(user_id)
        return (member or Member(user, "left")).to_dict()

    def get_chat_administrators(self, p: Params, ctx: CallContext) -> list[dict[str, Any]]:
        chat = self._readable_chat(p)
        if chat.type == "private":
            raise bad_request("there are no administrators in the private chat")
        admins = [
            m.to_dict() for m in chat.members.values() if m.status in ("creator", "administrator")
        ]
        if chat.bot_is_admin and not chat.bot_kicked:
            admins.append(Member(self.world.bot, chat.bot_status).to_dict())
        return admins

    def get_chat_member_count(self, p: Params, ctx: CallContext) -> int:
        chat = self._readable_chat(p)
        if chat.type == "private":
            return 2
        present = ("creator", "administrator", "member", "restricted")
        count = sum(1 for m in chat.members.values() if m.status in present)
        return count + (1 if chat.bot_is_member and not chat.bot_kicked else 0)

    def leave_chat(self, p: Params, ctx: CallContext) -> bool:
        chat = self._readable_chat(p)
        if chat.type == "private":
            raise bad_request("chat member status can't be changed in private chats")
        chat.bot_status = "left"
        return True

    # ------------------------------------------------------------------ bot settings

    def _scope_key(self, p: Params) -> tuple[str, str]:
        scope = p.get_json("scope", "bot command scope") or {"type": "default"}
        return json.dumps(scope, sort_keys=True), p.get_str("language_code") or ""

    def set_my_commands(self, p: Params, ctx: CallContext) -> bool:
        commands = p.get_json("commands", "commands")
        if not isinstance(commands, list):
            raise bad_request('field "commands" must be of type Array')
        if len(commands) > 100:
            raise bad_request("too many commands specified")
        clean = []
        for item in commands:
            if not isinstance(item, dict):
                raise bad_request("can't parse BotCommand: expected an Object")
            command = str(item.get("command", ""))
            description = str(item.get("description", ""))
            if not _COMMAND_RE.match(command):
                raise bad_request("BOT_COMMAND_INVALID")
            if not 1 <= len(description) <= 256:
                raise bad_request("BOT_COMMAND_DESCRIPTION_INVALID")
            clean.append({"command": command, "description": description})
        key = self._scope_key(p)
        if clean:
            self.world.commands[key] = clean
        else:
            self.world.commands.pop(key, None)
        return True

    def get_my_commands(self, p: Params, ctx: CallContext) -> list[dict[str, Any]]:
        return [dict(c) for c in self.world.commands.get(self._scope_key(p), [])]

    def delete_my_commands(self, p: Params, ctx: CallContext) -> bool:
        self.world.commands.pop(self._scope_key(p), None)
        return True

    def _set_text_setting(
        self, p: Params, store: dict[str, str], name: str, limit: int, error: str
    ) -> bool:
        value = p.get_str(name) or ""
        if len(value) > limit:
            raise bad_request(error)
        language = p.get_str("language_code") or ""
        if value:
            store[language] = value
        else:
            store.pop(language, None)
        return True

    def _get_text_setting(self, p: Params, store: dict[str, str]) -> str:
        language = p.get_str("language_code") or ""
        return store.get(language, store.get("", ""))

    def set_my_description(self, p: Params, ctx: CallContext) -> bool:
        return self._set_text_setting(
            p, self.world.descriptions, "description", 512, "description is too long"
        )

    def get_my_description(self, p: Params, ctx: CallContext) -> dict[str, str]:
        return {"description": self._get_text_setting(p, self.world.descriptions)}

    def set_my_short_description(self, p: Params, ctx: CallContext) -> bool:
        return self._set_text_setting(
            p,
            self.world.short_descriptions,
            "short_description",
            120,
            "short description is too long",
        )

    def get_my_short_description(self, p: Params, ctx: CallContext) -> dict[str, str]:
        return {"short_description": self._get_text_setting(p, self.world.short_descriptions)}

    def set_my_name(self, p: Params, ctx: CallContext) -> bool:
        return self._set_text_setting(p, self.world.names, "name", 64, "bot name is too long")

    def get_my_name(self, p: Params, ctx: CallContext) -> dict[str, str]:
        return {"name": self._get_text_setting(p, self.world.names) or self.world.bot.first_name}
