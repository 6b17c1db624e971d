"""``BotApiEmulator``: the public face of the emulator.

One object plays both sides: it serves the Bot API over HTTP for the bot under test
(PTB's real ``Application``), and it gives the test a "user side" that injects updates
exactly as Telegram would deliver them and awaits what the bot answered.  Faults and
flood control sit in the request path; every request is recorded.

Everything runs in the test's event loop; the emulator is not thread-safe.
"""

from __future__ import annotations

import asyncio
import itertools
import re
import time
from collections.abc import Callable, Iterable, Sequence
from typing import Any, TypeVar

from aiohttp import web

from .entities import entities_from_dicts, entity_text, fix_formatted_text
from .errors import ApiError, bad_request
from .faults import Fault, FaultPlan, FloodGate, FloodLimits
from .methods import KNOWN_UNIMPLEMENTED, BotApi, CallContext
from .params import Params, UploadedFile, peek_chat_id, read_params
from .recording import RecordedRequest
from .server import ApiServer, HttpReply, json_reply
from .state import (
    CallbackAnswer,
    CallbackQueryRecord,
    Chat,
    InlineAnswer,
    InlineQueryRecord,
    Member,
    StoredMessage,
    User,
    World,
    now_seconds,
)
from .waiting import ChangeSignal

__all__ = ["BotApiEmulator"]

T = TypeVar("T")
_TOKEN_RE = re.compile(r"^\d+:[A-Za-z0-9_-]+$")
ChatRef = Chat | int
MessageRef = StoredMessage | dict[str, Any] | int


class BotApiEmulator:
    """A faithful local Telegram Bot API for end-to-end tests and benchmarks.

    Use as ``async with BotApiEmulator(...) as emu:`` and point PTB at
    ``emu.base_url``.  ``strict`` rejects two inputs real Telegram tolerates but that
    are always bugs (a bare ``&`` in HTML text, an inline button with two actions);
    ``privacy_mode`` applies Telegram's group privacy rules to injected group messages.
    """

    def __init__(
        self,
        token: str = "123456:TEST-secret-token",
        *,
        username: str = "quote_test_bot",
        first_name: str = "Quote Test Bot",
        bot_id: int | None = None,
        strict: bool = True,
        privacy_mode: bool = True,
        flood_limits: FloodLimits | None = None,
        query_ttl: float = 15.0,
        host: str = "127.0.0.1",
        port: int = 0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if not _TOKEN_RE.match(token):
            raise ValueError(f"not a bot token: {token!r}")
        self.token = token
        self.host = host
        self._clock = clock
        self.bot = User(
            id=bot_id if bot_id is not None else int(token.split(":", 1)[0]),
            first_name=first_name,
            username=username,
            is_bot=True,
        )
        self.world = World(self.bot)
        self.signal = ChangeSignal()
        self.privacy_mode = privacy_mode
        self.api = BotApi(
            self.world,
            self.signal,
            strict=strict,
            privacy_mode=privacy_mode,
            query_ttl=query_ttl,
            clock=clock,
        )
        self.faults = FaultPlan()
        self._flood = FloodGate(flood_limits) if flood_limits is not None else None
        self.requests: list[RecordedRequest] = []
        self._server = ApiServer(self._dispatch, host, port)
        self._cursors: dict[int, int] = {}
        self._user_ids = itertools.count(1_000_000_001)
        self._group_ids = itertools.count(4_100_000_001)
        self._super_ids = itertools.count(1_001_000_000_001)
        self._query_ids = itertools.count(4_611_686_018_427_387_904)
        self._started = False

    # ------------------------------------------------------------------ lifecycle

    async def __aenter__(self) -> BotApiEmulator:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    async def start(self) -> None:
        await self._server.start()
        self.api.closing = False
        self._started = True

    async def stop(self) -> None:
        """Release pending long polls, then close the server."""
        self.api.closing = True
        self.signal.notify()
        await asyncio.sleep(0)
        await self._server.stop()
        self._started = False

    @property
    def port(self) -> int:
        return self._server.port

    @property
    def base_url(self) -> str:
        """Pass to ``ApplicationBuilder().base_url(...)`` / ``Bot(base_url=...)``."""
        return f"http://{self.host}:{self._server.port}/bot"

    @property
    def flood_limits(self) -> FloodLimits | None:
        return self._flood.limits if self._flood else None

    @flood_limits.setter
    def flood_limits(self, limits: FloodLimits | None) -> None:
        self._flood = FloodGate(limits) if limits is not None else None

    # ------------------------------------------------------------------ HTTP dispatch

    async def _dispatch(self, token: str, method: str, request: web.Request) -> HttpReply:
        arrived = self._clock()
        if not _TOKEN_RE.match(token):
            return json_reply(404, ApiError(404, "Not Found").payload())
        if token != self.token:
            return json_reply(401, ApiError(401, "Unauthorized").payload())
        parse_error: ApiError | None = None
        try:
            raw = await read_params(request)
        except ApiError as exc:
            raw, parse_error = {}, exc
        canonical = self.api.canonical(method)
        # Record (and match faults/flood on) the numeric id even for "@username" targets.
        chat_key, is_group = self._flood_target(peek_chat_id(raw))
        record = RecordedRequest(
            seq=len(self.requests) + 1,
            method=canonical or method,
            arrived=arrived,
            chat_id=chat_key,
            params={k: v for k, v in raw.items() if not isinstance(v, UploadedFile)},
            http_method=request.method,
            content_type=request.headers.get("Content-Type"),
        )
        self.requests.append(record)
        try:
            if parse_error is not None:
                raise parse_error
            if canonical is None:
                if method.lower() in KNOWN_UNIMPLEMENTED:
                    raise bad_request(
                        f"method {method} is not implemented by the quotebot emulator"
                    )
                raise ApiError(404, "Not Found")
            fault = self.faults.take(canonical, record.chat_id)
            if fault is not None:
                reply = await self._apply_fault(fault, canonical, raw, record)
                if reply is not None:
                    return reply
            if self._flood is not None and self._flood.applies_to(canonical):
                error = self._flood.check(self._clock(), chat_key, is_group)
                if error is not None:
                    record.flood_limited = True
                    raise error
            result = await self.api.call(
                canonical, Params(raw), CallContext(record.seq, self._clock())
            )
            if self._flood is not None and self._flood.applies_to(canonical):
                self._flood.record(self._clock(), chat_key)
            return self._finish(record, 200, {"ok": True, "result": result})
        except ApiError as exc:
            return self._finish(record, exc.status, exc.payload())
        finally:
            self.signal.notify()

    def _flood_target(self, chat_id: int | str | None) -> tuple[int | str | None, bool]:
        chat = self.world.find_chat(chat_id) if chat_id is not None else None
        if chat is None:
            return chat_id, False
        return chat.id, chat.type in ("group", "supergroup")

    async def _apply_fault(
        self, fault: Fault, method: str, raw: dict[str, Any], record: RecordedRequest
    ) -> HttpReply | None:
        if not fault.fails:
            await asyncio.sleep(fault.delay)
            return None
        record.injected = True
        if fault.applied:
            try:
                await self.api.call(method, Params(raw), CallContext(record.seq, self._clock()))
                if self._flood is not None and self._flood.applies_to(method):
                    self._flood.record(self._clock(), record.chat_id)
            except ApiError:
                pass
            self.signal.notify()
        if fault.delay:
            await asyncio.sleep(fault.delay)
        if fault.disconnect:
            self._finish_record(record, 0, "connection dropped by the emulator", None)
            return HttpReply(0, disconnect=True)
        body = fault.raw_body()
        if body is not None:
            status = fault.status or 502
            self._finish_record(record, status, body.split("</title>")[0].split(">")[-1], None)
            return HttpReply(status, body, content_type="text/html")
        error = fault.error()
        assert error is not None
        raise error

    def _finish(self, record: RecordedRequest, status: int, payload: dict[str, Any]) -> HttpReply:
        self._finish_record(record, status, payload.get("description"), payload.get("result"))
        return json_reply(status, payload)

    def _finish_record(
        self, record: RecordedRequest, status: int, description: str | None, result: Any
    ) -> None:
        record.finished = self._clock()
        record.status = status
        record.ok = status == 200
        record.description = description
        record.result = result

    # ------------------------------------------------------------------ faults

    def fail_next(
        self,
        method: str | None,
        *,
        status: int | None = None,
        description: str | None = None,
        retry_after: int | None = None,
        migrate_to_chat_id: int | None = None,
        times: int = 1,
        chat_id: ChatRef | str | None = None,
        delay: float = 0.0,
        applied: bool = False,
        disconnect: bool = False,
        body: str | None = None,
    ) -> Fault:
        """Make the next ``times`` calls of ``method`` (``None`` = any) fail or stall.

        ``status=429`` answers ``Too Many Requests: retry after N`` with
        ``parameters.retry_after``; 500 is Telegram's JSON "Internal Server Error";
        502/503/504 return nginx's HTML page (PTB raises NetworkError); ``disconnect``
        drops the connection; ``delay`` alone only slows the call down; ``applied``
        performs the call before failing (response lost -> the bot may duplicate).
        """
        if status is None and not disconnect and delay <= 0:
            raise ValueError("a fault needs a status, disconnect=True or a delay")
        if status is None and retry_after is not None:
            status = 429
        target = chat_id.id if isinstance(chat_id, Chat) else chat_id
        return self.faults.add(
            Fault(
                method=method,
                chat_id=target,
                status=status,
                description=description,
                retry_after=retry_after,
                migrate_to_chat_id=migrate_to_chat_id,
                delay=delay,
                applied=applied,
                disconnect=disconnect,
                body=body,
                remaining=times,
            )
        )

    def clear_faults(self) -> None:
        self.faults.clear()

    # ------------------------------------------------------------------ world building

    def add_user(
        self,
        first_name: str,
        *,
        last_name: str | None = None,
        username: str | None = None,
        language_code: str | None = "en",
        is_premium: bool | None = None,
        user_id: int | None = None,
    ) -> User:
        """Create a user (``language_code`` e.g. ``"zh-hans"`` or ``"en"``)."""
        user = User(
            id=user_id if user_id is not None else next(self._user_ids),
            first_name=first_name,
            last_name=last_name,
            username=username,
            language_code=language_code,
            is_premium=is_premium,
        )
        if user.id in self.world.users:
            raise ValueError(f"user id {user.id} already exists")
        self.world.users[user.id] = user
        return user

    def private_chat(self, user: User, *, started: bool = True) -> Chat:
        """The user's private chat with the bot (created on first use).

        ``started=False`` models a user who never pressed Start: sends then fail with
        "bot can't initiate conversation with a user" until the user writes.
        """
        chat = self.world.chats.get(user.id)
        if chat is None:
            chat = Chat(id=user.id, type="private", user=user, started=started)
            self.world.chats[user.id] = chat
        return chat

    def add_group(
        self,
        title: str,
        *,
        members: Iterable[User] = (),
        admins: Iterable[User] = (),
        owner: User | None = None,
        supergroup: bool = False,
        username: str | None = None,
        bot_admin: bool = False,
        bot_member: bool = True,
    ) -> Chat:
        """A basic group (or supergroup) containing the bot.

        The owner defaults to the first admin, else the first member.
        """
        admin_list = list(admins)
        member_list = list(members)
        if owner is None:
            owner = admin_list[0] if admin_list else (member_list[0] if member_list else None)
        chat_id = -next(self._super_ids) if supergroup else -next(self._group_ids)
        chat = Chat(
            id=chat_id,
            type="supergroup" if supergroup else "group",
            title=title,
            username=username,
            bot_status=("administrator" if bot_admin else "member") if bot_member else "left",
        )
        for user in member_list:
            chat.members[user.id] = Member(user, "member")
        for user in admin_list:
            chat.members[user.id] = Member(user, "administrator")
        if owner is not None:
            chat.members[owner.id] = Member(owner, "creator")
        self.world.chats[chat.id] = chat
        return chat

    def add_channel(
        self,
        title: str,
        *,
        username: str | None = None,
        bot_admin: bool = True,
        admins: Iterable[User] = (),
    ) -> Chat:
        """A channel; the bot must be an admin to post or to receive channel posts."""
        chat = Chat(
            id=-next(self._super_ids),
            type="channel",
            title=title,
            username=username,
            bot_status="administrator" if bot_admin else "member",
        )
        for index, user in enumerate(admins):
            chat.members[user.id] = Member(user, "creator" if index == 0 else "administrator")
        self.world.chats[chat.id] = chat
        return chat

    def add_member(self, chat: ChatRef, user: User, status: str = "member") -> None:
        self._chat(chat).members[user.id] = Member(user, status)

    def block(self, user: User) -> None:
        """The user blocks the bot: sends fail with 403, a my_chat_member update is queued."""
        chat = self.private_chat(user)
        if not chat.blocked:
            chat.blocked = True
            self._my_chat_member(chat, user, "member", "kicked")

    def unblock(self, user: User) -> None:
        chat = self.private_chat(user)
        if chat.blocked:
            chat.blocked = False
            self._my_chat_member(chat, user, "kicked", "member")

    def kick_bot(self, chat: ChatRef, *, by: User | None = None) -> None:
        """Remove the bot from a group/channel (403 "bot was kicked from the ... chat")."""
        target = self._chat(chat)
        if target.type == "private":
            raise ValueError("use block() for private chats")
        old = target.bot_status
        target.bot_kicked = True
        target.bot_status = "left" if target.type == "group" else "kicked"
        self._my_chat_member(target, by or self._actor(target), old, target.bot_status)

    def migrate(self, group: ChatRef, *, by: User | None = None) -> Chat:
        """Upgrade a basic group to a supergroup, as Telegram does.

        The old id then answers 400 "group chat was upgraded to a supergroup chat" with
        ``parameters.migrate_to_chat_id``; service messages with ``migrate_to_chat_id``
        and ``migrate_from_chat_id`` are delivered like Telegram's.
        """
        old = self._chat(group)
        if old.type != "group" or old.migrated_to is not None:
            raise ValueError("only a basic group that was not migrated yet can be migrated")
        new = Chat(
            id=-next(self._super_ids),
            type="supergroup",
            title=old.title,
            members={uid: Member(m.user, m.status) for uid, m in old.members.items()},
            bot_status=old.bot_status,
            bot_kicked=old.bot_kicked,
            migrated_from=old.id,
        )
        self.world.chats[new.id] = new
        old.migrated_to = new.id
        actor = by or self._actor(old)
        now = now_seconds()
        for chat, extra in (
            (old, {"migrate_to_chat_id": new.id}),
            (new, {"migrate_from_chat_id": old.id}),
        ):
            message = StoredMessage(
                chat=chat,
                message_id=chat.allocate_message_id(),
                date=now,
                sender=actor,
                outgoing=False,
                extra=extra,
                created_at=self._clock(),
            )
            chat.messages[message.message_id] = message
            if self._bot_receives(chat, message):
                self.world.queue_update("message", message.to_dict())
        self.signal.notify()
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
        """A user sends a text message; commands get their ``bot_command`` entity.

        Returns the stored message (``.to_dict()`` is the Message JSON in the update).
        In groups with privacy mode on, the update is only queued when Telegram would
        deliver it (commands for this bot, replies to the bot, @mentions of the bot).
        """
        target = self._chat(chat)
        if entities is None:
            formatted = fix_formatted_text(text)
            plain, entity_dicts = formatted.text, formatted.entity_dicts()
        else:
            plain = text
            entity_dicts = [
                e.to_dict() for e in entities_from_dicts(entities, self.world.resolve_user)
            ]
        return self._user_message(
            target, user, text=plain, entities=entity_dicts, reply_to=reply_to
        )

    def send_sticker(
        self, chat: ChatRef, user: User, emoji: str = "👍", *, reply_to: MessageRef | None = None
    ) -> StoredMessage:
        """A sticker message (no text)."""
        unique = next(self._query_ids)
        sticker = {
            "file_id": f"CAACAgIAAxkBAAE{unique}",
            "file_unique_id": f"AgAD{unique % 10**8}",
            "type": "regular",
            "width": 512,
            "height": 512,
            "is_animated": False,
            "is_video": False,
            "emoji": emoji,
            "file_size": 23_456,
        }
        return self._user_message(
            self._chat(chat), user, extra={"sticker": sticker}, reply_to=reply_to
        )

    def send_photo(
        self,
        chat: ChatRef,
        user: User,
        caption: str | None = None,
        *,
        reply_to: MessageRef | None = None,
    ) -> StoredMessage:
        """A photo message (no text; optional caption with detected entities)."""
        unique = next(self._query_ids)
        photo = [
            {
                "file_id": f"AgACAgIAAxkBAAE{unique}_{size}",
                "file_unique_id": f"AQAD{unique % 10**8}{size}",
                "width": size,
                "height": size * 3 // 4,
                "file_size": size * 100,
            }
            for size in (90, 320, 800)
        ]
        extra: dict[str, Any] = {"photo": photo}
        if caption:
            formatted = fix_formatted_text(caption)
            extra["caption"] = formatted.text
            if formatted.entities:
                extra["caption_entities"] = formatted.entity_dicts()
        return self._user_message(self._chat(chat), user, extra=extra, reply_to=reply_to)

    def edit_text(self, message: StoredMessage, text: str) -> StoredMessage:
        """The author edits a message; queues ``edited_message`` (or ``edited_channel_post``)."""
        if message.outgoing:
            raise ValueError("users cannot edit the bot's messages")
        formatted = fix_formatted_text(text)
        message.text = formatted.text
        message.entities = formatted.entity_dicts()
        message.edit_date = now_seconds()
        message.edits.append(message.snapshot())
        kind = "edited_channel_post" if message.chat.type == "channel" else "edited_message"
        if self._bot_receives(message.chat, message):
            self.world.queue_update(kind, message.to_dict())
        self.signal.notify()
        return message

    def channel_post(self, channel: ChatRef, text: str) -> StoredMessage:
        """A post in a channel: ``channel_post`` update, ``sender_chat`` set, no ``from``."""
        chat = self._chat(channel)
        if chat.type != "channel":
            raise ValueError("channel_post() needs a channel")
        formatted = fix_formatted_text(text)
        message = StoredMessage(
            chat=chat,
            message_id=chat.allocate_message_id(),
            date=now_seconds(),
            sender=None,
            sender_chat=chat,
            outgoing=False,
            text=formatted.text,
            entities=formatted.entity_dicts(),
            created_at=self._clock(),
        )
        chat.messages[message.message_id] = message
        if self._bot_receives(chat, message):
            self.world.queue_update("channel_post", message.to_dict())
        self.signal.notify()
        return message

    def press_button(
        self, chat: ChatRef, user: User, message: MessageRef, button: str | int | tuple[int, int]
    ) -> str:
        """Press an inline button of a bot message; returns the callback query id.

        ``button`` is the button text, its index in the flattened keyboard, or
        ``(row, column)``.  The update carries ``message``, ``data`` and
        ``chat_instance`` exactly like Telegram's (PTB ignores queries without it).
        """
        target = self._message(chat, message)
        if target.deleted:
            raise ValueError(f"message {target.message_id} was deleted")
        pressed = self._find_button(target, button)
        if "callback_data" not in pressed:
            raise ValueError(f"button {pressed['text']!r} has no callback_data: {pressed}")
        query_id = str(next(self._query_ids))
        self.world.callback_queries[query_id] = CallbackQueryRecord(
            id=query_id,
            user=user,
            message=target,
            data=pressed["callback_data"],
            created_at=self._clock(),
        )
        self.world.queue_update(
            "callback_query",
            {
                "id": query_id,
                "from": user.to_dict(),
                "message": target.to_dict(),
                "chat_instance": target.chat.chat_instance,
                "data": pressed["callback_data"],
            },
        )
        self.signal.notify()
        return query_id

    def inline_query(
        self, user: User, query: str, *, offset: str = "", chat_type: str | None = "sender"
    ) -> str:
        """The user types ``@bot query``; returns the inline query id."""
        query_id = str(next(self._query_ids))
        self.world.inline_queries[query_id] = InlineQueryRecord(
            id=query_id,
            user=user,
            query=query,
            offset=offset,
            chat_type=chat_type,
            created_at=self._clock(),
        )
        payload: dict[str, Any] = {
            "id": query_id,
            "from": user.to_dict(),
            "query": query,
            "offset": offset,
        }
        if chat_type is not None:
            payload["chat_type"] = chat_type
        self.world.queue_update("inline_query", payload)
        self.signal.notify()
        return query_id

    # ------------------------------------------------------------------ observing

    @property
    def pending_updates(self) -> list[dict[str, Any]]:
        """Updates queued and not yet confirmed by a getUpdates offset."""
        return list(self.world.updates)

    def chat(self, chat_id: int | str) -> Chat:
        chat = self.world.find_chat(chat_id)
        if chat is None:
            raise KeyError(f"no chat {chat_id!r}")
        return chat

    def messages(
        self, chat: ChatRef, *, from_bot: bool | None = True, include_deleted: bool = False
    ) -> list[StoredMessage]:
        """Messages in a chat, oldest first (by default: sent by the bot, not deleted)."""
        result = sorted(self._chat(chat).messages.values(), key=lambda m: m.message_id)
        if from_bot is not None:
            result = [m for m in result if m.outgoing == from_bot]
        if not include_deleted:
            result = [m for m in result if not m.deleted]
        return result

    def requests_for(
        self,
        method: str | None = None,
        *,
        chat_id: ChatRef | str | None = None,
        ok: bool | None = None,
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
        """The next ``count`` messages the bot sends to ``chat``.

        Each call consumes what it returns, so a conversation reads naturally:
        inject, wait for 1, inject, wait for 1...  (``messages()`` shows them all.)
        """
        chat_id = self._chat_id(chat)
        cursor = self._cursors.get(chat_id, 0)

        def sent() -> list[StoredMessage]:
            target = self.world.chats.get(chat_id)
            if target is None:
                return []
            return sorted(
                (m for m in target.messages.values() if m.outgoing), key=lambda m: m.message_id
            )

        def probe() -> list[StoredMessage] | None:
            messages = sent()
            if len(messages) - cursor < count:
                return None
            self._cursors[chat_id] = cursor + count
            return messages[cursor : cursor + count]

        def describe() -> str:
            got = [m.text for m in sent()[cursor:]]
            return (
                f"timed out after {timeout}s waiting for {count} bot message(s) in chat "
                f"{chat_id}; got {len(got)}: {got!r}{self._recent()}"
            )

        return await self.signal.wait_until(probe, timeout, describe)

    async def wait_for_edits(
        self, message: StoredMessage, count: int = 1, timeout: float = 5.0
    ) -> StoredMessage:
        """Wait until ``message`` has been edited at least ``count`` times in total."""
        return await self.wait_for(
            lambda: message if len(message.edits) >= count else None,
            timeout,
            f"{count} edit(s) of message {message.message_id} in chat {message.chat_id}",
        )

    async def wait_for_callback_answer(self, query_id: str, timeout: float = 5.0) -> CallbackAnswer:
        record = self.world.callback_queries[query_id]
        return await self.wait_for(
            lambda: record.answer, timeout, f"answerCallbackQuery({query_id})"
        )

    async def wait_for_inline_answer(self, query_id: str, timeout: float = 5.0) -> InlineAnswer:
        record = self.world.inline_queries[query_id]
        return await self.wait_for(lambda: record.answer, timeout, f"answerInlineQuery({query_id})")

    async def wait_for_request(
        self,
        method: str,
        *,
        chat_id: ChatRef | str | None = None,
        count: int = 1,
        timeout: float = 5.0,
    ) -> list[RecordedRequest]:
        """Wait until ``count`` matching requests have been answered."""

        def probe() -> list[RecordedRequest] | None:
            done = [r for r in self.requests_for(method, chat_id=chat_id) if r.status is not None]
            return done if len(done) >= count else None

        return await self.wait_for(probe, timeout, f"{count} {method} request(s)")

    # ------------------------------------------------------------------ internals

    def _recent(self, limit: int = 8) -> str:
        relevant = [r for r in self.requests if r.method != "getUpdates"][-limit:]
        if not relevant:
            return "; no bot requests recorded"
        return "; recent requests: " + ", ".join(r.summary() for r in relevant)

    def _chat_id(self, chat: ChatRef) -> int:
        return chat.id if isinstance(chat, Chat) else int(chat)

    def _chat(self, chat: ChatRef) -> Chat:
        if isinstance(chat, Chat):
            return chat
        return self.chat(chat)

    def _actor(self, chat: Chat) -> User:
        for member in chat.members.values():
            if member.status == "creator":
                return member.user
        if chat.members:
            return next(iter(chat.members.values())).user
        return chat.user or self.bot

    def _message(self, chat: ChatRef, message: MessageRef) -> StoredMessage:
        target = self._chat(chat)
        if isinstance(message, StoredMessage):
            if message.chat is not target:
                raise ValueError(f"message {message.message_id} is not in chat {target.id}")
            return message
        message_id = int(message["message_id"]) if isinstance(message, dict) else int(message)
        try:
            return target.messages[message_id]
        except KeyError:
            raise ValueError(f"no message {message_id} in chat {target.id}") from None

    @staticmethod
    def _find_button(message: StoredMessage, button: str | int | tuple[int, int]) -> dict[str, Any]:
        rows = (message.reply_markup or {}).get("inline_keyboard", [])
        if isinstance(button, tuple):
            row, column = button
            return rows[row][column]  # type: ignore[no-any-return]
        flat = [b for row in rows for b in row]
        if isinstance(button, int):
            return flat[button]
        for candidate in flat:
            if candidate["text"] == button:
                return candidate
        raise ValueError(
            f"no button {button!r} on message {message.message_id}: {message.button_texts}"
        )

    def _my_chat_member(self, chat: Chat, actor: User, old: str, new: str) -> None:
        self.world.queue_update(
            "my_chat_member",
            {
                "chat": chat.to_dict(),
                "from": actor.to_dict(),
                "date": now_seconds(),
                "old_chat_member": Member(self.bot, old).to_dict(),
                "new_chat_member": Member(self.bot, new).to_dict(),
            },
        )
        self.signal.notify()

    def _user_message(
        self,
        chat: Chat,
        user: User,
        *,
        text: str | None = None,
        entities: list[dict[str, Any]] | None = None,
        extra: dict[str, Any] | None = None,
        reply_to: MessageRef | None = None,
    ) -> StoredMessage:
        if chat.type == "channel":
            raise ValueError("use channel_post() for channels")
        if chat.migrated_to is not None:
            raise ValueError(f"chat {chat.id} was migrated to {chat.migrated_to}")
        if chat.type == "private":
            if chat.user is not None and chat.user.id != user.id:
                raise ValueError(f"chat {chat.id} is {chat.user.first_name}'s private chat")
            if chat.blocked:
                raise ValueError(f"{user.first_name} blocked the bot; call unblock() first")
            chat.started = True
        elif user.id not in chat.members:
            raise ValueError(
                f"{user.first_name} is not a member of {chat.title!r}; add_member() first"
            )
        message = StoredMessage(
            chat=chat,
            message_id=chat.allocate_message_id(),
            date=now_seconds(),
            sender=user,
            outgoing=False,
            text=text,
            entities=entities or [],
            reply_to=self._message(chat, reply_to) if reply_to is not None else None,
            extra=extra or {},
            created_at=self._clock(),
        )
        chat.messages[message.message_id] = message
        if self._bot_receives(chat, message):
            self.world.queue_update("message", message.to_dict())
        self.signal.notify()
        return message

    def _bot_receives(self, chat: Chat, message: StoredMessage) -> bool:
        """Telegram's delivery rules, including group privacy mode."""
        if chat.type == "private":
            return not chat.blocked
        if chat.bot_kicked or not chat.bot_is_member:
            return False
        if chat.type == "channel":
            return chat.bot_is_admin
        if not self.privacy_mode or chat.bot_is_admin:
            return True
        if any(key.startswith("migrate_") or key.startswith("new_chat") for key in message.extra):
            return True
        if message.reply_to is not None and message.reply_to.outgoing:
            return True
        text = message.text or message.extra.get("caption") or ""
        entity_key = "entities" if message.text is not None else "caption_entities"
        entities = (
            message.entities if message.text is not None else message.extra.get(entity_key, [])
        )
        username = (self.bot.username or "").lower()
        for raw in entities_from_dicts(entities):
            covered = entity_text(text, raw)
            if raw.type == "bot_command" and raw.offset == 0:
                _, at, target = covered.partition("@")
                return not at or target.lower() == username
            if raw.type == "mention" and covered[1:].lower() == username:
                return True
        return False
