"""The emulated Telegram world: users, chats, messages, pending updates and queries.

Everything here is plain data plus the access rules the Bot API enforces before it
lets a bot talk to a chat (blocked by the user, kicked, migrated group...).  Objects
render themselves into Bot API JSON with ``to_dict`` so that updates and method
results are built from one source of truth.
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass, field
from typing import Any, Literal

from .entities import Entity, entity_text
from .errors import ApiError, bad_request, forbidden

__all__ = [
    "ALL_UPDATE_TYPES",
    "DEFAULT_UPDATE_TYPES",
    "CallbackAnswer",
    "CallbackQueryRecord",
    "Chat",
    "ChatType",
    "InlineAnswer",
    "InlineQueryRecord",
    "InlineResultView",
    "Member",
    "MessageVersion",
    "StoredMessage",
    "User",
    "World",
]

ChatType = Literal["private", "group", "supergroup", "channel"]

ALL_UPDATE_TYPES = (
    "message",
    "edited_message",
    "channel_post",
    "edited_channel_post",
    "business_connection",
    "business_message",
    "edited_business_message",
    "deleted_business_messages",
    "message_reaction",
    "message_reaction_count",
    "inline_query",
    "chosen_inline_result",
    "callback_query",
    "shipping_query",
    "pre_checkout_query",
    "purchased_paid_media",
    "poll",
    "poll_answer",
    "my_chat_member",
    "chat_member",
    "chat_join_request",
    "chat_boost",
    "removed_chat_boost",
)
#: What Telegram delivers when allowed_updates is empty/unset.
DEFAULT_UPDATE_TYPES = tuple(
    t
    for t in ALL_UPDATE_TYPES
    if t not in ("chat_member", "message_reaction", "message_reaction_count")
)

_ADMIN_RIGHTS = (
    "can_be_edited",
    "is_anonymous",
    "can_manage_chat",
    "can_delete_messages",
    "can_manage_video_chats",
    "can_restrict_members",
    "can_promote_members",
    "can_change_info",
    "can_invite_users",
    "can_post_stories",
    "can_edit_stories",
    "can_delete_stories",
)


def now_seconds() -> int:
    """Bot API dates are Unix time in whole seconds."""
    return int(time.time())


@dataclass(eq=False)
class User:
    """A Telegram user (or the bot itself, with ``is_bot=True``)."""

    id: int
    first_name: str
    last_name: str | None = None
    username: str | None = None
    language_code: str | None = None
    is_bot: bool = False
    is_premium: bool | None = None

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"id": self.id, "is_bot": self.is_bot, "first_name": self.first_name}
        if self.last_name:
            data["last_name"] = self.last_name
        if self.username:
            data["username"] = self.username
        if self.language_code and not self.is_bot:
            data["language_code"] = self.language_code
        if self.is_premium:
            data["is_premium"] = True
        return data


@dataclass(eq=False)
class Member:
    """A user's membership in a group, supergroup or channel."""

    user: User
    status: str = "member"  # creator, administrator, member, restricted, left, kicked

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"user": self.user.to_dict(), "status": self.status}
        if self.status == "creator":
            data["is_anonymous"] = False
        elif self.status == "administrator":
            data.update(dict.fromkeys(_ADMIN_RIGHTS, True))
            data["is_anonymous"] = False
            data["can_be_edited"] = False
        elif self.status == "kicked":
            data["until_date"] = 0
        return data


@dataclass(eq=False)
class MessageVersion:
    """One state of a message; ``StoredMessage.edits`` holds the state after each edit."""

    text: str | None
    entities: list[dict[str, Any]]
    reply_markup: dict[str, Any] | None
    date: int
    source_text: str | None = None
    parse_mode: str | None = None


@dataclass(eq=False)
class StoredMessage:
    """A message as Telegram stores it, i.e. what the chat members see.

    ``text``/``entities`` are the parsed result (no HTML); ``source_text`` and
    ``parse_mode`` are what the bot sent.  ``edits`` lists the versions after each
    edit, so ``len(msg.edits)`` is the number of successful edits.
    """

    chat: Chat
    message_id: int
    date: int
    sender: User | None
    outgoing: bool
    text: str | None = None
    entities: list[dict[str, Any]] = field(default_factory=list)
    reply_markup: dict[str, Any] | None = None
    reply_to: StoredMessage | None = None
    sender_chat: Chat | None = None
    source_text: str | None = None
    parse_mode: str | None = None
    edit_date: int | None = None
    edits: list[MessageVersion] = field(default_factory=list)
    deleted: bool = False
    extra: dict[str, Any] = field(default_factory=dict)
    created_at: float = 0.0
    request_seq: int | None = None

    @property
    def chat_id(self) -> int:
        return self.chat.id

    @property
    def buttons(self) -> list[dict[str, Any]]:
        """Inline keyboard buttons, row by row, flattened."""
        if not self.reply_markup:
            return []
        return [b for row in self.reply_markup.get("inline_keyboard", []) for b in row]

    @property
    def button_texts(self) -> list[str]:
        return [b["text"] for b in self.buttons]

    def entity_texts(self, kind: str) -> list[str]:
        """The substrings covered by entities of type ``kind`` (e.g. ``"bold"``)."""
        if self.text is None:
            return []
        return [
            entity_text(self.text, Entity(kind, e["offset"], e["length"]))
            for e in self.entities
            if e["type"] == kind
        ]

    def snapshot(self) -> MessageVersion:
        return MessageVersion(
            self.text,
            [dict(e) for e in self.entities],
            self.reply_markup,
            self.edit_date or self.date,
            self.source_text,
            self.parse_mode,
        )

    def to_dict(self, *, with_reply: bool = True) -> dict[str, Any]:
        """Bot API ``Message`` JSON (one level of ``reply_to_message``, like Telegram)."""
        data: dict[str, Any] = {"message_id": self.message_id}
        if self.sender is not None:
            data["from"] = self.sender.to_dict()
        if self.sender_chat is not None:
            data["sender_chat"] = self.sender_chat.to_dict()
        data["chat"] = self.chat.to_dict()
        data["date"] = self.date
        if self.edit_date is not None:
            data["edit_date"] = self.edit_date
        if with_reply and self.reply_to is not None:
            data["reply_to_message"] = self.reply_to.to_dict(with_reply=False)
        if self.text is not None:
            data["text"] = self.text
            if self.entities:
                data["entities"] = [dict(e) for e in self.entities]
        data.update(self.extra)
        if self.reply_markup and "inline_keyboard" in self.reply_markup:
            data["reply_markup"] = self.reply_markup
        return data

    def __repr__(self) -> str:
        flags = " deleted" if self.deleted else ""
        return (
            f"<StoredMessage chat={self.chat.id} id={self.message_id} "
            f"{'bot' if self.outgoing else 'user'} text={self.text!r}{flags}>"
        )


@dataclass(eq=False)
class Chat:
    """A private chat, basic group, supergroup or channel as the bot knows it."""

    id: int
    type: ChatType
    title: str | None = None
    username: str | None = None
    user: User | None = None
    members: dict[int, Member] = field(default_factory=dict)
    bot_status: str = "member"
    bot_kicked: bool = False
    started: bool = True
    blocked: bool = False
    migrated_to: int | None = None
    migrated_from: int | None = None
    messages: dict[int, StoredMessage] = field(default_factory=dict)
    actions: list[str] = field(default_factory=list)
    next_message_id: int = 1
    description: str | None = None

    @property
    def chat_instance(self) -> str:
        """Stable per-chat identifier sent with callback queries (signed 64-bit)."""
        digest = hashlib.sha256(f"chat-instance:{self.id}".encode()).digest()
        return str(int.from_bytes(digest[:8], "big", signed=True))

    @property
    def bot_is_admin(self) -> bool:
        return self.bot_status in ("creator", "administrator")

    @property
    def bot_is_member(self) -> bool:
        return self.bot_status in ("creator", "administrator", "member", "restricted")

    def allocate_message_id(self) -> int:
        message_id = self.next_message_id
        self.next_message_id += 1
        return message_id

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"id": self.id, "type": self.type}
        if self.type == "private" and self.user is not None:
            data["first_name"] = self.user.first_name
            if self.user.last_name:
                data["last_name"] = self.user.last_name
            if self.user.username:
                data["username"] = self.user.username
        else:
            data["title"] = self.title or ""
            if self.username and self.type != "group":
                data["username"] = self.username
        return data

    def full_info(self) -> dict[str, Any]:
        """``ChatFullInfo`` for getChat (PTB 22 requires the three extra fields)."""
        data = self.to_dict()
        data["accent_color_id"] = 0
        data["max_reaction_count"] = 11
        data["accepted_gift_types"] = {
            "unlimited_gifts": False,
            "limited_gifts": False,
            "unique_gifts": False,
            "premium_subscription": False,
            "gifts_from_channels": False,
        }
        if self.description:
            data["description"] = self.description
        if self.type in ("group", "supergroup"):
            data["permissions"] = {
                "can_send_messages": True,
                "can_send_other_messages": True,
                "can_add_web_page_previews": True,
            }
        return data

    def visible_messages(self) -> list[StoredMessage]:
        return [m for m in self.messages.values() if not m.deleted]


@dataclass(eq=False)
class CallbackAnswer:
    """What the bot passed to answerCallbackQuery."""

    text: str | None
    show_alert: bool
    url: str | None
    cache_time: int
    answered_at: float


@dataclass(eq=False)
class CallbackQueryRecord:
    """A button press injected by the test, and the bot's answer once it arrives."""

    id: str
    user: User
    message: StoredMessage
    data: str
    created_at: float
    answer: CallbackAnswer | None = None


@dataclass(eq=False)
class InlineResultView:
    """One inline result as the user would see/send it (text parsed like sendMessage)."""

    id: str
    type: str
    title: str | None
    description: str | None
    text: str | None
    entities: list[dict[str, Any]]
    reply_markup: dict[str, Any] | None
    raw: dict[str, Any]


@dataclass(eq=False)
class InlineAnswer:
    """What the bot passed to answerInlineQuery."""

    query_id: str
    results: list[InlineResultView]
    cache_time: int | None
    is_personal: bool
    next_offset: str | None
    button: dict[str, Any] | None
    answered_at: float

    @property
    def ids(self) -> list[str]:
        return [r.id for r in self.results]


@dataclass(eq=False)
class InlineQueryRecord:
    """An inline query injected by the test."""

    id: str
    user: User
    query: str
    offset: str
    chat_type: str | None
    created_at: float
    answer: InlineAnswer | None = None


class World:
    """All emulated state, plus the Bot API's chat access rules."""

    def __init__(self, bot: User) -> None:
        self.bot = bot
        self.users: dict[int, User] = {bot.id: bot}
        self.chats: dict[int, Chat] = {}
        self.updates: list[dict[str, Any]] = []
        self.next_update_id = 100_000_001
        self.allowed_updates: tuple[str, ...] = DEFAULT_UPDATE_TYPES
        self.webhook: dict[str, Any] | None = None
        self.callback_queries: dict[str, CallbackQueryRecord] = {}
        self.inline_queries: dict[str, InlineQueryRecord] = {}
        self.commands: dict[tuple[str, str], list[dict[str, Any]]] = {}
        self.descriptions: dict[str, str] = {}
        self.short_descriptions: dict[str, str] = {}
        self.names: dict[str, str] = {}

    # ----------------------------------------------------------------- lookups

    def resolve_user(self, user_id: int) -> dict[str, Any] | None:
        user = self.users.get(user_id)
        return user.to_dict() if user is not None else None

    def find_chat(self, chat_id: int | str) -> Chat | None:
        if isinstance(chat_id, str):
            name = chat_id.removeprefix("@").lower()
            for chat in self.chats.values():
                if chat.username and chat.username.lower() == name and chat.type != "private":
                    return chat
            return None
        return self.chats.get(chat_id)

    def lookup_chat(self, chat_id: int | str) -> Chat:
        """The chat, or the error Telegram gives for ids the bot cannot know."""
        chat = self.find_chat(chat_id)
        if chat is not None:
            return chat
        if isinstance(chat_id, int) and chat_id > 0 and chat_id in self.users:
            raise forbidden("bot can't initiate conversation with a user")
        raise bad_request("chat not found")

    def check_can_send(self, chat: Chat) -> None:
        """Raise the Bot API error for chats the bot may not post to."""
        if chat.migrated_to is not None:
            raise ApiError(
                400,
                "Bad Request: group chat was upgraded to a supergroup chat",
                {"migrate_to_chat_id": chat.migrated_to},
            )
        if chat.type == "private":
            if chat.user is not None and chat.user.id == self.bot.id:
                raise forbidden("bots can't send messages to bots")
            if chat.blocked:
                raise forbidden("bot was blocked by the user")
            if not chat.started:
                raise forbidden("bot can't initiate conversation with a user")
            return
        kind = {"group": "group", "supergroup": "supergroup", "channel": "channel"}[chat.type]
        if chat.bot_kicked:
            raise forbidden(f"bot was kicked from the {kind} chat")
        if not chat.bot_is_member:
            raise forbidden(f"bot is not a member of the {kind} chat")
        if chat.type == "channel" and not chat.bot_is_admin:
            raise bad_request("need administrator rights in the channel chat")

    # ----------------------------------------------------------------- updates

    def queue_update(self, kind: str, payload: dict[str, Any]) -> dict[str, Any] | None:
        """Queue an update unless allowed_updates excludes it (Telegram filters on creation)."""
        if kind not in self.allowed_updates:
            return None
        update = {"update_id": self.next_update_id, kind: payload}
        self.next_update_id += 1
        self.updates.append(update)
        return update

    def confirm(self, offset: int) -> None:
        """getUpdates ``offset`` semantics: forget everything before it."""
        if offset > 0:
            self.updates = [u for u in self.updates if u["update_id"] >= offset]
        elif offset < 0:
            self.updates = self.updates[offset:]
