"""The emulated world: users, chats, messages, queued updates, pending queries.

Plain data that renders itself as Bot API JSON (``to_dict``), plus the access rules the
Bot API applies before a bot may post to a chat (blocked, not started, left, migrated).
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass, field
from typing import Any, Literal

from .errors import bad_request, forbidden

ChatType = Literal["private", "group", "supergroup", "channel"]
# What Telegram delivers when allowed_updates is empty or unset.
_NOT_BY_DEFAULT = frozenset(["chat_member", "message_reaction", "message_reaction_count"])
# PTB requires every field of ChatMemberAdministrator.
_ADMIN_RIGHTS = [
    "can_be_edited",
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
]


def now_seconds() -> int:
    return int(time.time())


def utf16_slice(text: str, offset: int, length: int) -> str:
    return text.encode("utf-16-le")[offset * 2 : (offset + length) * 2].decode("utf-16-le")


@dataclass(eq=False)
class User:
    """A Telegram user, or the bot itself (``is_bot=True``)."""

    id: int
    first_name: str
    username: str | None = None
    language_code: str | None = None
    is_bot: bool = False

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"id": self.id, "is_bot": self.is_bot, "first_name": self.first_name}
        if self.username:
            data["username"] = self.username
        if self.language_code and not self.is_bot:
            data["language_code"] = self.language_code
        return data


@dataclass(eq=False)
class Member:
    user: User
    status: str = "member"  # creator, administrator, member, left, kicked

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"user": self.user.to_dict(), "status": self.status}
        if self.status in ("creator", "administrator"):
            data["is_anonymous"] = False
        if self.status == "administrator":
            data.update(dict.fromkeys(_ADMIN_RIGHTS, True), can_be_edited=False)
        elif self.status == "kicked":
            data["until_date"] = 0
        return data


@dataclass(eq=False)
class MessageVersion:
    """A message's state after one edit (``StoredMessage.edits``)."""

    text: str | None
    entities: list[dict[str, Any]]
    reply_markup: dict[str, Any] | None


@dataclass(eq=False)
class StoredMessage:
    """A message as the chat members see it.

    ``text``/``entities`` are the parsed result (no HTML); ``source_text`` and
    ``parse_mode`` are what the bot sent; ``len(edits)`` counts successful edits.
    A photo keeps its sizes and caption in ``extra`` (the Message JSON fields).
    """

    chat: Chat
    message_id: int
    sender: User | None
    outgoing: bool
    text: str | None = None
    entities: list[dict[str, Any]] = field(default_factory=list)
    reply_markup: dict[str, Any] | None = None
    reply_to: StoredMessage | None = None
    sender_chat: Chat | None = None
    source_text: str | None = None
    parse_mode: str | None = None
    date: int = field(default_factory=now_seconds)
    edit_date: int | None = None
    edits: list[MessageVersion] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)
    created_at: float = field(default_factory=time.monotonic)

    @property
    def chat_id(self) -> int:
        return self.chat.id

    @property
    def buttons(self) -> list[dict[str, Any]]:
        """Inline keyboard buttons, row by row, flattened."""
        rows = (self.reply_markup or {}).get("inline_keyboard", [])
        return [b for row in rows for b in row]

    @property
    def button_texts(self) -> list[str]:
        return [b["text"] for b in self.buttons]

    @property
    def photo(self) -> list[dict[str, Any]] | None:
        return self.extra.get("photo")

    def entity_texts(self, kind: str) -> list[str]:
        """The substrings covered by entities of type ``kind`` (e.g. ``"bold"``)."""
        text, entities = self.text, self.entities
        if text is None:
            text, entities = self.extra.get("caption", ""), self.extra.get("caption_entities", [])
        return [utf16_slice(text, e["offset"], e["length"]) for e in entities if e["type"] == kind]

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
                data["entities"] = self.entities
        data.update(self.extra)
        if self.reply_markup:
            data["reply_markup"] = self.reply_markup
        return data

    def __repr__(self) -> str:
        who = "bot" if self.outgoing else "user"
        return f"<StoredMessage chat={self.chat.id} id={self.message_id} {who} text={self.text!r}>"


@dataclass(eq=False)
class Chat:
    """A private chat, basic group, supergroup or channel."""

    id: int
    type: ChatType
    title: str | None = None
    username: str | None = None
    user: User | None = None  # the other side of a private chat
    members: dict[int, Member] = field(default_factory=dict)
    bot_status: str = "member"
    started: bool = True  # private: the user pressed Start (or wrote) at some point
    blocked: bool = False
    migrated_to: int | None = None
    messages: dict[int, StoredMessage] = field(default_factory=dict)
    next_message_id: int = 1

    @property
    def chat_instance(self) -> str:
        """Stable per-chat id sent with callback queries (PTB ignores queries without it)."""
        digest = hashlib.sha256(f"chat-instance:{self.id}".encode()).digest()
        return str(int.from_bytes(digest[:8], "big", signed=True))

    @property
    def bot_is_admin(self) -> bool:
        return self.bot_status in ("creator", "administrator")

    def allocate_message_id(self) -> int:
        self.next_message_id += 1
        return self.next_message_id - 1

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"id": self.id, "type": self.type}
        if self.user is not None:
            data.update(
                {k: v for k, v in self.user.to_dict().items() if k in ("first_name", "username")}
            )
        else:
            data["title"] = self.title or ""
            if self.username and self.type != "group":
                data["username"] = self.username
        return data


@dataclass(eq=False)
class CallbackAnswer:
    """What the bot passed to answerCallbackQuery."""

    text: str | None
    show_alert: bool
    url: str | None


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
    """One inline result as the user would see it (text parsed like sendMessage)."""

    id: str
    type: str
    title: str | None
    text: str | None
    entities: list[dict[str, Any]]
    reply_markup: dict[str, Any] | None
    raw: dict[str, Any]


@dataclass(eq=False)
class InlineAnswer:
    """What the bot passed to answerInlineQuery."""

    results: list[InlineResultView]
    cache_time: int | None
    is_personal: bool
    next_offset: str | None

    @property
    def ids(self) -> list[str]:
        return [r.id for r in self.results]


@dataclass(eq=False)
class InlineQueryRecord:
    id: str
    user: User
    query: str
    created_at: float
    answer: InlineAnswer | None = None


class World:
    """All emulated state, plus the Bot API's rules for who the bot may write to."""

    def __init__(self, bot: User) -> None:
        self.bot = bot
        self.users: dict[int, User] = {bot.id: bot}
        self.chats: dict[int, Chat] = {}
        self.updates: list[dict[str, Any]] = []
        self.next_update_id = 100_000_001
        self.allowed_updates: frozenset[str] | None = None  # None: Telegram's default
        self.webhook: dict[str, Any] | None = None  # url, secret_token
        self.callback_queries: dict[str, CallbackQueryRecord] = {}
        self.inline_queries: dict[str, InlineQueryRecord] = {}
        self.commands: dict[tuple[str, str], list[dict[str, str]]] = {}  # (scope, lang)
        self.descriptions: dict[str, str] = {}  # by language code ("" = default)
        self.files: dict[str, bytes] = {}  # file_id -> uploaded bytes (sendPhoto)
        # Files users sent (send_document): file_id -> (file_path, bytes, size Telegram reports).
        self.user_files: dict[str, tuple[str, bytes, int]] = {}

    def lookup_chat(self, chat_id: int | str) -> Chat:
        """The chat, or the error Telegram gives for ids the bot cannot know."""
        chat = self.chats.get(chat_id) if isinstance(chat_id, int) else None
        if chat is not None:
            return chat
        if isinstance(chat_id, int) and chat_id in self.users:
            raise forbidden("bot can't initiate conversation with a user")
        raise bad_request("chat not found")

    def check_can_send(self, chat: Chat) -> None:
        """Raise the Bot API error for chats the bot may not post to."""
        if chat.migrated_to is not None:
            raise bad_request(
                "group chat was upgraded to a supergroup chat",
                {"migrate_to_chat_id": chat.migrated_to},
            )
        if chat.type == "private":
            if chat.blocked:
                raise forbidden("bot was blocked by the user")
            if not chat.started:
                raise forbidden("bot can't initiate conversation with a user")
        elif chat.bot_status in ("left", "kicked"):
            raise forbidden(f"bot is not a member of the {chat.type} chat")
        elif chat.type == "channel" and not chat.bot_is_admin:
            raise bad_request("need administrator rights in the channel chat")

    def queue_update(self, kind: str, payload: dict[str, Any]) -> None:
        """Queue an update unless allowed_updates excludes it (Telegram filters on creation)."""
        allowed = self.allowed_updates
        if (kind not in allowed) if allowed else (kind in _NOT_BY_DEFAULT):
            return
        self.updates.append({"update_id": self.next_update_id, kind: payload})
        self.next_update_id += 1

    def confirm(self, offset: int) -> None:
        """getUpdates ``offset``: forget every update before it."""
        if offset > 0:
            self.updates = [u for u in self.updates if u["update_id"] >= offset]
        elif offset < 0:
            self.updates = self.updates[offset:]
