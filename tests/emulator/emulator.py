"""``BotApiEmulator``: a local Telegram Bot API for quotebot's end-to-end tests.

One object plays both sides: it serves ``/bot<token>/<method>`` on 127.0.0.1 for the
bot under test (PTB's real ``Application``), and it gives the test a user side that
injects updates as Telegram would deliver them and reads what the bot sent.  Faults
sit in the request path; every request with the right token is recorded.

Everything runs in the test's event loop; the emulator is not thread-safe.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import re
import time
from collections.abc import Callable, Iterable, Sequence
from email.utils import formatdate
from typing import Any, TypeVar

from aiohttp import web

from .errors import ApiError
from .faults import Fault, nginx_page
from .formatting import clean_user_text
from .methods import BotApi, Params, Upload, read_params
from .recording import RecordedRequest
from .state import (
    CallbackQueryRecord,
    Chat,
    InlineQueryRecord,
    Member,
    StoredMessage,
    User,
    World,
)
from .waiting import ChangeSignal

__all__ = ["BotApiEmulator"]

T = TypeVar("T")
ChatRef = Chat | int
MessageRef = StoredMessage | int
_TOKEN_RE = re.compile(r"^\d+:[A-Za-z0-9_-]+$")
_COMMAND_RE = re.compile(r"/[A-Za-z0-9_]{1,64}(?:@([A-Za-z0-9_]{3,32}))?(?![\w/<>])")


class BotApiEmulator:
    """Use as ``async with BotApiEmulator(...) as emu:`` and point PTB at ``emu.base_url``.

    ``privacy_mode`` applies Telegram's group privacy rules to injected group messages;
    ``query_ttl`` is how long a callback or inline query may wait for its answer.
    """

    def __init__(
        self,
        token: str = "123456:TEST-secret-token",
        *,
        username: str = "quote_test_bot",
        first_name: str = "Quote Test Bot",
        privacy_mode: bool = True,
        query_ttl: float = 15.0,
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        if not _TOKEN_RE.match(token):
            raise ValueError(f"not a bot token: {token!r}")
        self.token = token
        self.host = host
        self.port = port
        self.bot = User(int(token.split(":")[0]), first_name, username=username, is_bot=True)
        self.world = World(self.bot)
        self.signal = ChangeSignal()
        self.privacy_mode = privacy_mode
        self.api = BotApi(self.world, self.signal, privacy_mode=privacy_mode, query_ttl=query_ttl)
        self.faults: list[Fault] = []
        self.requests: list[RecordedRequest] = []
        self._runner: web.AppRunner | None = None
        self._cursors: dict[int, int] = {}
        self._user_ids = itertools.count(1_000_000_001)
        self._group_ids = itertools.count(4_100_000_001)
        self._super_ids = itertools.count(1_001_000_000_001)
        self._query_ids = itertools.count(4_611_686_018_427_387_904)
        # Seconds added to the HTTP Date header of every answer (a server clock that is off).
        self.clock_offset = 0.0

    # ------------------------------------------------------------------ lifecycle & HTTP

    async def __aenter__(self) -> BotApiEmulator:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    async def start(self) -> None:
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_route("*", "/bot{token}/{method}", self._handle)
        app.router.add_get("/file/bot{token}/{path:.+}", self._download)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.5)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.api.closing = False

    async def stop(self) -> None:
        """Release pending long polls, then close the server."""
        self.api.closing = True
        self.signal.notify()
        await asyncio.sleep(0)
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    @property
    def base_url(self) -> str:
        """Pass to ``ApplicationBuilder().base_url(...)`` / ``Bot(base_url=...)``."""
        return f"http://{self.host}:{self.port}/bot"

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        token, method = request.match_info["token"], request.match_info["method"]
        if not _TOKEN_RE.match(token) or token != self.token:  # not recorded
            status, text = (401, "Unauthorized") if _TOKEN_RE.match(token) else (404, "Not Found")
            return self._reply(status, ApiError(status, text).payload())
        method = self.api.canonical(method)
        record = RecordedRequest(len(self.requests) + 1, method, time.monotonic(), None, {})
        self.requests.append(record)
        try:
            raw = await read_params(request)
            record.params = {k: v for k, v in raw.items() if not isinstance(v, Upload)}
            record.chat_id = _peek_chat_id(raw)
            fault = self._take_fault(record)
            if fault is not None:
                await asyncio.sleep(fault.delay)
                if fault.fails:
                    record.injected = True
                    if fault.disconnect:
                        self._finish(record, 0, "connection dropped by the emulator")
                        if request.transport is not None:
                            request.transport.abort()
                        return web.Response(status=204)
                    if fault.status in (502, 503, 504) and fault.description is None:
                        page = nginx_page(fault.status)
                        self._finish(record, fault.status, page.split("<title>")[1].split("<")[0])
                        return web.Response(
                            status=fault.status, text=page, content_type="text/html"
                        )
                    raise fault.error()
            result = await self.api.call(record.method, Params(raw), time.monotonic())
            self._finish(record, 200, None, result)
            return self._reply(200, {"ok": True, "result": result})
        except ApiError as exc:
            self._finish(record, exc.status, exc.description)
            return self._reply(exc.status, exc.payload())
        finally:
            self.signal.notify()

    async def _download(self, request: web.Request) -> web.StreamResponse:
        """A file a user sent, as Telegram serves it after getFile (recorded as "download")."""
        if request.match_info["token"] != self.token:
            return web.Response(status=401, text="Unauthorized")
        path = request.match_info["path"]
        record = RecordedRequest(len(self.requests) + 1, "download", time.monotonic(), None, {})
        record.params = {"file_path": path}
        self.requests.append(record)
        for file_path, data, _size in self.world.user_files.values():
            if file_path == path:
                self._finish(record, 200, None, len(data))
                return web.Response(body=data, content_type="application/octet-stream")
        self._finish(record, 404, "Not Found")
        return web.Response(status=404, text="Not Found")

    def _reply(self, status: int, payload: dict[str, Any]) -> web.Response:
        body = json.dumps(payload, ensure_ascii=False)
        date = formatdate(time.time() + self.clock_offset, usegmt=True)
        return web.Response(
            status=status, text=body, content_type="application/json", headers={"Date": date}
        )

    @staticmethod
    def _finish(
        record: RecordedRequest, status: int, description: str | None, result: Any = None
    ) -> None:
        record.finished = time.monotonic()
        record.status, record.ok = status, status == 200
        record.description, record.result = description, result

    def _take_fault(self, record: RecordedRequest) -> Fault | None:
        for fault in self.faults:
            if fault.matches(record.method, record.chat_id):
                fault.remaining -= 1
                fault.hits += 1
                if fault.remaining <= 0:
                    self.faults.remove(fault)
                return fault
        return None

    def fail_next(
        self,
        method: str | None,
        *,
        status: int | None = None,
        description: str | None = None,
        retry_after: int | None = None,
        times: int = 1,
        chat_id: ChatRef | None = None,
        delay: float = 0.0,
        disconnect: bool = False,
    ) -> Fault:
        """Make the next ``times`` calls of ``method`` (``None``: any) fail or stall.

        ``status=429`` answers "Too Many Requests: retry after N" with
        ``parameters.retry_after``; 500 is Telegram's JSON "Internal Server Error";
        502/503/504 return nginx's HTML page (PTB raises NetworkError); ``disconnect``
        drops the connection; ``delay`` alone only slows the call down.
        """
        if status is None and not disconnect and delay <= 0:
            raise ValueError("a fault needs a status, disconnect=True or a delay")
        target = chat_id.id if isinstance(chat_id, Chat) else chat_id
        fault = Fault(
            method,
            chat_id=target,
            status=status,
            description=description,
            retry_after=retry_after,
            delay=delay,
            disconnect=disconnect,
            remaining=times,
        )
        self.faults.append(fault)
        return fault

    # ------------------------------------------------------------------ world building

    def add_user(
        self,
        first_name: str,
        *,
        username: str | None = None,
        language_code: str | None = "en",
        user_id: int | None = None,
    ) -> User:
        """Create a user (``language_code`` e.g. ``"zh-hans"`` or ``"en"``)."""
        user = User(user_id or next(self._user_ids), first_name, username, language_code)
        if user.id in self.world.users:
            raise ValueError(f"user id {user.id} already exists")
        self.world.users[user.id] = user
        return user

    def private_chat(self, user: User, *, started: bool = True) -> Chat:
        """The user's private chat with the bot (created on first use).

        ``started=False``: the user never pressed Start, so sends fail with 403 until
        the user writes.
        """
        if user.id not in self.world.chats:
            self.world.chats[user.id] = Chat(user.id, "private", user=user, started=started)
        return self.world.chats[user.id]

    def add_group(
        self,
        title: str,
        *,
        members: Iterable[User] = (),
        admins: Iterable[User] = (),
        owner: User | None = None,
        supergroup: bool = False,
        bot_admin: bool = False,
    ) -> Chat:
        """A basic group (or supergroup) with the bot in it; the owner defaults to the
        first admin, else the first member."""
        members, admins = list(members), list(admins)
        owner = owner or next(iter(admins + members), None)
        chat = Chat(
            -next(self._super_ids if supergroup else self._group_ids),
            "supergroup" if supergroup else "group",
            title=title,
            bot_status="administrator" if bot_admin else "member",
        )
        for users, status in ((members, "member"), (admins, "administrator")):
            for user in users:
                chat.members[user.id] = Member(user, status)
        if owner is not None:
            chat.members[owner.id] = Member(owner, "creator")
        self.world.chats[chat.id] = chat
        return chat

    def add_channel(self, title: str, *, username: str | None = None) -> Chat:
        """A channel with the bot as admin (it then receives channel posts)."""
        chat = Chat(-next(self._super_ids), "channel", title, username, bot_status="administrator")
        self.world.chats[chat.id] = chat
        return chat

    def add_member(self, chat: ChatRef, user: User, status: str = "member") -> None:
        self._chat(chat).members[user.id] = Member(user, status)

    def block(self, user: User) -> None:
        """The user blocks the bot: sends fail with 403; a my_chat_member update is queued."""
        chat = self.private_chat(user)
        if not chat.blocked:
            chat.blocked = True
            self._my_chat_member(chat, user, "member", "kicked")

    def unblock(self, user: User) -> None:
        chat = self.private_chat(user)
        if chat.blocked:
            chat.blocked = False
            self._my_chat_member(chat, user, "kicked", "member")

    def migrate(self, group: ChatRef) -> Chat:
        """Upgrade a basic group to a supergroup, as Telegram does.

        The old id then answers 400 "group chat was upgraded to a supergroup chat" with
        ``parameters.migrate_to_chat_id`` (PTB: ChatMigrated), and both chats get the
        service message with ``migrate_to_chat_id`` / ``migrate_from_chat_id``.
        """
        old = self._chat(group)
        if old.type != "group" or old.migrated_to is not None:
            raise ValueError("only a basic group that was not migrated yet can be migrated")
        new = Chat(-next(self._super_ids), "supergroup", old.title, bot_status=old.bot_status)
        new.members = {uid: Member(m.user, m.status) for uid, m in old.members.items()}
        self.world.chats[new.id] = new
        old.migrated_to = new.id
        actor = self._actor(old)
        for chat, extra in (
            (old, {"migrate_to_chat_id": new.id}),
            (new, {"migrate_from_chat_id": old.id}),
        ):
            self._deliver(
                StoredMessage(chat, chat.allocate_message_id(), actor, False, extra=extra)
            )
        return new

    # ------------------------------------------------------------------ user side

    def send_text(
        self,
        chat: ChatRef,
        user: User,
        text: str,
        *,
        reply_to: MessageRef | None = None,
        entities: Sequence[dict[str, Any]] | None = None,
    ) -> StoredMessage:
        """A user sends a text message, cleaned and trimmed like Telegram does; a command
        at the start gets its ``bot_command`` entity.  With ``entities`` (even ``[]``) the
        text is delivered raw, exactly as given.

        In groups with privacy mode on, the update is only queued when Telegram would
        deliver it (commands for this bot, replies to the bot, @mentions of the bot).
        """
        fields = (
            _user_text(text) if entities is None else {"text": text, "entities": list(entities)}
        )
        return self._user_message(chat, user, reply_to, **fields)

    def send_sticker(
        self, chat: ChatRef, user: User, emoji: str = "👍", *, reply_to: MessageRef | None = None
    ) -> StoredMessage:
        """A sticker message (no text)."""
        n = next(self._query_ids)
        sticker = {
            "file_id": f"CAACAgIAAxkBAAE{n}",
            "file_unique_id": f"AgAD{n % 10**8}",
            "type": "regular",
            "width": 512,
            "height": 512,
            "is_animated": False,
            "is_video": False,
            "emoji": emoji,
        }
        return self._user_message(chat, user, reply_to, extra={"sticker": sticker})

    def send_photo(
        self,
        chat: ChatRef,
        user: User,
        caption: str | None = None,
        *,
        reply_to: MessageRef | None = None,
    ) -> StoredMessage:
        """A user's photo message (no text; an optional plain caption)."""
        n = next(self._query_ids)
        size = {"file_id": f"AgACAgIAAxkBAAE{n}", "file_unique_id": f"AQAD{n % 10**8}"}
        extra: dict[str, Any] = {"photo": [{**size, "width": 800, "height": 600}]}
        if caption:
            extra["caption"] = clean_user_text(caption)
        return self._user_message(chat, user, reply_to, extra=extra)

    def send_document(
        self,
        chat: ChatRef,
        user: User,
        file_name: str,
        data: bytes,
        *,
        caption: str | None = None,
        mime_type: str = "application/octet-stream",
        file_size: int | None = None,
    ) -> StoredMessage:
        """A user's file (no text; an optional caption). ``file_size`` overrides the size
        Telegram reports, to stand for a big file without holding its bytes."""
        n = next(self._query_ids)
        file_id = f"BQACAgIAAxkBAAE{n}"
        size = len(data) if file_size is None else file_size
        self.world.user_files[file_id] = (f"documents/file_{n}{_suffix(file_name)}", data, size)
        document = {
            "file_id": file_id,
            "file_unique_id": f"AgAD{n % 10**8}",
            "file_name": file_name,
            "mime_type": mime_type,
            "file_size": size,
        }
        extra: dict[str, Any] = {"document": document}
        if caption:
            extra["caption"] = clean_user_text(caption)
        return self._user_message(chat, user, None, extra=extra)

    def edit_text(self, message: StoredMessage, text: str) -> StoredMessage:
        """The author edits a message: ``edited_message`` (or ``edited_channel_post``)."""
        if message.outgoing:
            raise ValueError("users cannot edit the bot's messages")
        edited = _user_text(text)
        message.text, message.entities = edited["text"], edited["entities"]
        message.edit_date = int(time.time())
        kind = "edited_channel_post" if message.chat.type == "channel" else "edited_message"
        self._deliver(message, kind)
        return message

    def channel_post(self, channel: ChatRef, text: str) -> StoredMessage:
        """A post in a channel: ``sender_chat`` set, no ``from``."""
        chat = self._chat(channel)
        if chat.type != "channel":
            raise ValueError("channel_post() needs a channel")
        message_id = chat.allocate_message_id()
        message = StoredMessage(chat, message_id, None, False, sender_chat=chat, **_user_text(text))
        return self._deliver(message, "channel_post")

    def press_button(
        self, chat: ChatRef, user: User, message: MessageRef, button: str | int | tuple[int, int]
    ) -> str:
        """Press an inline button of a bot message; returns the callback query id.

        ``button`` is the button text, its index in the flattened keyboard, or
        ``(row, column)``.
        """
        target = self._message(chat, message)
        rows = (target.reply_markup or {}).get("inline_keyboard", [])
        if isinstance(button, tuple):
            pressed = rows[button[0]][button[1]]
        elif isinstance(button, int):
            pressed = target.buttons[button]
        else:
            found = [b for b in target.buttons if b["text"] == button]
            if not found:
                raise ValueError(f"no button {button!r} among {target.button_texts}")
            pressed = found[0]
        if "callback_data" not in pressed:
            raise ValueError(f"button {pressed['text']!r} has no callback_data: {pressed}")
        query_id = str(next(self._query_ids))
        data = pressed["callback_data"]
        self.world.callback_queries[query_id] = CallbackQueryRecord(
            query_id, user, target, data, time.monotonic()
        )
        self._queue(
            "callback_query",
            {
                "id": query_id,
                "from": user.to_dict(),
                "message": target.to_dict(),
                "chat_instance": target.chat.chat_instance,
                "data": data,
            },
        )
        return query_id

    def inline_query(self, user: User, query: str, *, offset: str = "") -> str:
        """The user types ``@bot query``; returns the inline query id."""
        query_id = str(next(self._query_ids))
        self.world.inline_queries[query_id] = InlineQueryRecord(
            query_id, user, query, time.monotonic()
        )
        payload = {"id": query_id, "from": user.to_dict(), "query": query, "offset": offset}
        self._queue("inline_query", {**payload, "chat_type": "sender"})
        return query_id

    # ------------------------------------------------------------------ observing

    @property
    def pending_updates(self) -> list[dict[str, Any]]:
        """Updates queued and not yet confirmed by a getUpdates offset."""
        return list(self.world.updates)

    def messages(self, chat: ChatRef, *, from_bot: bool | None = True) -> list[StoredMessage]:
        """Messages in a chat, oldest first (by default: those the bot sent)."""
        found = sorted(self._chat(chat).messages.values(), key=lambda m: m.message_id)
        return [m for m in found if from_bot is None or m.outgoing == from_bot]

    def requests_for(
        self, method: str | None = None, *, chat_id: ChatRef | None = None, ok: bool | None = None
    ) -> list[RecordedRequest]:
        """Recorded requests filtered by method (case-insensitive), chat and outcome."""
        target = chat_id.id if isinstance(chat_id, Chat) else chat_id
        return [
            r
            for r in self.requests
            if (method is None or r.method.lower() == method.lower())
            and (target is None or r.chat_id == target)
            and (ok is None or r.ok == ok)
        ]

    async def wait_for(
        self, probe: Callable[[], T | None], timeout: float = 5.0, what: str = "condition"
    ) -> T:
        """Await until ``probe()`` returns something other than ``None``."""
        return await self.signal.wait_until(
            probe, timeout, lambda: f"timed out after {timeout}s waiting for {what}{self._recent()}"
        )

    async def wait_for_messages(
        self, chat: ChatRef, count: int = 1, timeout: float = 5.0
    ) -> list[StoredMessage]:
        """The next ``count`` messages the bot sends to ``chat`` (each call consumes
        what it returns, so a conversation reads: inject, wait for 1, inject...)."""
        chat_id = chat.id if isinstance(chat, Chat) else chat
        cursor = self._cursors.get(chat_id, 0)

        def probe() -> list[StoredMessage] | None:
            sent = self.messages(chat_id) if chat_id in self.world.chats else []
            if len(sent) - cursor < count:
                return None
            self._cursors[chat_id] = cursor + count
            return sent[cursor : cursor + count]

        return await self.wait_for(probe, timeout, f"{count} bot message(s) in chat {chat_id}")

    # ------------------------------------------------------------------ internals

    def _recent(self, limit: int = 8) -> str:
        relevant = [r.summary() for r in self.requests if r.method != "getUpdates"][-limit:]
        return "; recent requests: " + (", ".join(relevant) or "none")

    def _chat(self, chat: ChatRef) -> Chat:
        return chat if isinstance(chat, Chat) else self.world.chats[chat]

    def _actor(self, chat: Chat) -> User:
        ranked = sorted(chat.members.values(), key=lambda m: m.status != "creator")
        return ranked[0].user if ranked else self.bot

    def _message(self, chat: ChatRef, message: MessageRef) -> StoredMessage:
        target = self._chat(chat)
        message_id = message.message_id if isinstance(message, StoredMessage) else message
        if message_id not in target.messages:
            raise ValueError(f"no message {message_id} in chat {target.id}")
        return target.messages[message_id]

    def _queue(self, kind: str, payload: dict[str, Any]) -> None:
        self.world.queue_update(kind, payload)
        self.signal.notify()

    def _my_chat_member(self, chat: Chat, actor: User, old: str, new: str) -> None:
        self._queue(
            "my_chat_member",
            {
                "chat": chat.to_dict(),
                "from": actor.to_dict(),
                "date": int(time.time()),
                "old_chat_member": Member(self.bot, old).to_dict(),
                "new_chat_member": Member(self.bot, new).to_dict(),
            },
        )

    def _user_message(
        self, chat: ChatRef, user: User, reply_to: MessageRef | None, **fields: Any
    ) -> StoredMessage:
        target = self._chat(chat)
        if target.type == "channel":
            raise ValueError("use channel_post() for channels")
        if target.migrated_to is not None:
            raise ValueError(f"chat {target.id} was migrated to {target.migrated_to}")
        if target.type == "private":
            if target.user is not user:
                raise ValueError(f"chat {target.id} is not {user.first_name}'s private chat")
            if target.blocked:
                raise ValueError(f"{user.first_name} blocked the bot; call unblock() first")
            target.started = True
        elif user.id not in target.members:
            raise ValueError(f"{user.first_name} is not in {target.title!r}; add_member() first")
        replied = self._message(target, reply_to) if reply_to is not None else None
        message = StoredMessage(
            target, target.allocate_message_id(), user, False, reply_to=replied, **fields
        )
        return self._deliver(message)

    def _deliver(self, message: StoredMessage, kind: str = "message") -> StoredMessage:
        """Store a user-side message and queue its update if Telegram would deliver it."""
        chat = message.chat
        chat.messages[message.message_id] = message
        if self._bot_receives(chat, message):
            self.world.queue_update(kind, message.to_dict())
        self.signal.notify()
        return message

    def _bot_receives(self, chat: Chat, message: StoredMessage) -> bool:
        """Telegram's delivery rules, including group privacy mode."""
        if chat.type == "private":
            return not chat.blocked
        if chat.bot_status in ("left", "kicked"):
            return False
        if chat.type == "channel":
            return chat.bot_is_admin
        if not self.privacy_mode or chat.bot_is_admin:
            return True
        if "migrate_to_chat_id" in message.extra or "migrate_from_chat_id" in message.extra:
            return True
        if message.reply_to is not None and message.reply_to.outgoing:
            return True
        text = message.text or message.extra.get("caption") or ""
        username = (self.bot.username or "").lower()
        command = _COMMAND_RE.match(text)
        if command:
            return command.group(1) is None or command.group(1).lower() == username
        return f"@{username}" in text.lower()


def _suffix(name: str) -> str:
    dot = name.rfind(".")
    return name[dot:] if dot > 0 and re.fullmatch(r"\.[A-Za-z0-9]{1,8}", name[dot:]) else ""


def _user_text(text: str) -> dict[str, Any]:
    """A user's text as Telegram delivers it: cleaned, trimmed, a leading command marked."""
    text = clean_user_text(text)
    if not text:
        raise ValueError("Telegram delivers no empty message (entities=[] sends it raw)")
    command = _COMMAND_RE.match(text)
    entities = [{"offset": 0, "length": command.end(), "type": "bot_command"}] if command else []
    return {"text": text, "entities": entities}


def _peek_chat_id(raw: dict[str, Any]) -> int | str | None:
    """The chat a request is for, for the log and for faults (never raises)."""
    value = raw.get("chat_id")
    if value in (None, ""):
        return None
    return int(value) if re.fullmatch(r"-?\d+", str(value).strip()) else str(value)
