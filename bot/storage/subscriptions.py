"""Daily-quote subscriptions in SQLite.

A subscription is one row per chat with its next send instant (UTC). Due rows
are found through the partial index on `next_at`, so the scheduler keeps no
per-chat state in memory. Each delivery first claims a (chat, local day) row
in `deliveries`, with the passage chosen for it; a claim marked `sent` means
that day's quote went out, so a restart never sends it twice. A claim still
`sending` when the process died is resent, with the same passage, at the next
start (`recover`), so a crash skips no chat and repeats no passage later.
"""

from __future__ import annotations

import datetime as dt
import logging
import math
import random
import time
from dataclasses import dataclass
from typing import Literal

from bot.daily.times import Zone, local_day, next_send
from bot.storage.database import Database

log = logging.getLogger(__name__)

Lang = Literal["zh", "en"]  # bot.app.i18n.Lang; storage sits below bot.app, so spelled out here


@dataclass(frozen=True, slots=True)
class Subscription:
    chat_id: int
    chat_type: str
    lang: Lang
    local_time: dt.time
    zone: Zone
    next_at: dt.datetime  # aware UTC
    active: bool
    inactive_reason: str | None
    delivered: int
    seed: int
    failures: int
    card: bool = False  # the daily quote as a picture (a quote card)

    @property
    def due_day(self) -> dt.date:
        """The subscriber's local day the pending send belongs to."""
        return local_day(self.next_at, self.zone)


_COLUMNS = (
    "chat_id, chat_type, lang, local_time, zone, next_at, active, inactive_reason, "
    "delivered, seed, failures, card"
)


def _row(row: tuple) -> Subscription:
    (
        chat_id,
        chat_type,
        lang,
        local_time,
        zone,
        next_at,
        active,
        reason,
        delivered,
        seed,
        failures,
        card,
    ) = row
    return Subscription(
        chat_id=int(chat_id),
        chat_type=str(chat_type),
        lang="en" if lang == "en" else "zh",
        local_time=dt.time.fromisoformat(local_time),
        zone=Zone.from_name(zone),
        next_at=dt.datetime.fromtimestamp(next_at, dt.UTC),
        active=bool(active),
        inactive_reason=reason,
        delivered=int(delivered),
        seed=int(seed),
        failures=int(failures),
        card=bool(card),
    )


def passage_number(seed: int, delivered: int, pool: int) -> int:
    """The `delivered`-th pick of a chat: a permutation of range(pool) chosen by `seed`.

    An affine map n -> (a*n + b) mod pool with a coprime to pool visits every
    index once per cycle, so a chat sees every good passage before any repeats,
    with O(1) state (the seed and a counter) instead of a list of seen passages.
    """
    if pool <= 1:
        return 0
    rng = random.Random(seed)
    a = rng.randrange(1, pool)
    while math.gcd(a, pool) != 1:
        a = a % (pool - 1) + 1
    b = rng.randrange(pool)
    return (a * delivered + b) % pool


class SubscriptionStore:
    """Subscription rows on the bot's shared Database; every change is one atomic() transaction."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def get(self, chat_id: int) -> Subscription | None:
        async with self.db.execute(
            f"SELECT {_COLUMNS} FROM subscriptions WHERE chat_id = ?", (chat_id,)
        ) as cur:
            row = await cur.fetchone()
        return _row(tuple(row)) if row else None

    async def subscribe(
        self,
        chat_id: int,
        chat_type: str,
        lang: Lang,
        local_time: dt.time,
        zone: Zone,
        now: dt.datetime,
        card: bool = False,
    ) -> Subscription:
        """Create or change a chat's subscription; the first send is the next `local_time`.

        If today's time is still ahead, today counts; a chat that subscribes
        after its time gets its first quote tomorrow (no surprise catch-up).
        """
        next_at = next_send(local_time, zone, now)
        stamp = time.time()
        async with self.db.atomic() as conn:
            await conn.execute(
                "INSERT INTO subscriptions (chat_id, chat_type, lang, local_time, zone, next_at, active,"
                " inactive_reason, delivered, seed, failures, created_at, updated_at, card)"
                " VALUES (?, ?, ?, ?, ?, ?, 1, NULL, 0, ?, 0, ?, ?, ?)"
                " ON CONFLICT (chat_id) DO UPDATE SET chat_type = excluded.chat_type,"
                " lang = excluded.lang, local_time = excluded.local_time, zone = excluded.zone,"
                " next_at = excluded.next_at, active = 1, inactive_reason = NULL, failures = 0,"
                " updated_at = excluded.updated_at, card = excluded.card",
                (
                    chat_id,
                    chat_type,
                    lang,
                    local_time.strftime("%H:%M"),
                    zone.name,
                    next_at.timestamp(),
                    random.SystemRandom().randrange(2**31),
                    stamp,
                    stamp,
                    int(card),
                ),
            )
        subscription = await self.get(chat_id)
        assert subscription is not None
        return subscription

    async def unsubscribe(self, chat_id: int) -> bool:
        async with self.db.atomic() as conn:
            cur = await conn.execute(
                "UPDATE subscriptions SET active = 0, inactive_reason = 'unsubscribed', updated_at = ?"
                " WHERE chat_id = ? AND active = 1",
                (time.time(), chat_id),
            )
        return cur.rowcount > 0

    async def deactivate(self, chat_id: int, reason: str) -> None:
        async with self.db.atomic() as conn:
            await conn.execute(
                "UPDATE subscriptions SET active = 0, inactive_reason = ?, updated_at = ? WHERE chat_id = ?",
                (reason[:200], time.time(), chat_id),
            )

    async def migrate(self, old_id: int, new_id: int) -> None:
        """A group became a supergroup: its subscription, history and chosen conversation
        move to the new id."""
        async with self.db.atomic() as conn:
            await conn.execute("DELETE FROM subscriptions WHERE chat_id = ?", (new_id,))
            await conn.execute(
                "UPDATE subscriptions SET chat_id = ?, chat_type = 'supergroup', updated_at = ?"
                " WHERE chat_id = ?",
                (new_id, time.time(), old_id),
            )
            await conn.execute(
                "UPDATE OR IGNORE deliveries SET chat_id = ? WHERE chat_id = ?", (new_id, old_id)
            )
            # The chat's chosen conversation (bot.storage.chats) moves with it.
            await conn.execute(
                "UPDATE OR IGNORE chat_conversations SET chat_id = ? WHERE chat_id = ?",
                (new_id, old_id),
            )

    async def next_due(self) -> dt.datetime | None:
        async with self.db.execute(
            "SELECT MIN(next_at) FROM subscriptions WHERE active = 1"
        ) as cur:
            row = await cur.fetchone()
        if not row or row[0] is None:
            return None
        return dt.datetime.fromtimestamp(row[0], dt.UTC)

    async def count_due(self, now: dt.datetime) -> int:
        """How many active subscriptions are due at `now` (the partial index's range)."""
        async with self.db.execute(
            "SELECT COUNT(*) FROM subscriptions WHERE active = 1 AND next_at <= ?",
            (now.timestamp(),),
        ) as cur:
            row = await cur.fetchone()
        return int(row[0]) if row else 0

    async def due(self, now: dt.datetime, limit: int) -> list[Subscription]:
        async with self.db.execute(
            f"SELECT {_COLUMNS} FROM subscriptions WHERE active = 1 AND next_at <= ?"
            " ORDER BY next_at, chat_id LIMIT ?",
            (now.timestamp(), limit),
        ) as cur:
            rows = await cur.fetchall()
        due = []
        for raw in rows:
            try:
                due.append(_row(tuple(raw)))
            except ValueError as exc:  # a hand-edited or corrupt row must not block the rest
                log.error("subscription of chat %s is unreadable (%s); switched off", raw[0], exc)
                await self.deactivate(int(raw[0]), f"unreadable: {exc}")
        return due

    async def claim(self, chat_id: int, day: dt.date, passage_id: str) -> str | None:
        """Reserve (chat, day) for one send of `passage_id`; None if it is taken.

        Returns the passage to send: `passage_id` for a new claim, or the passage
        recorded in a claim that a previous process left unfinished (see
        `recover`), which is sent again (at-least-once after a crash).
        """
        async with self.db.atomic() as conn:
            cur = await conn.execute(
                "INSERT OR IGNORE INTO deliveries (chat_id, day, status, passage, at)"
                " VALUES (?, ?, 'sending', ?, ?)",
                (chat_id, day.isoformat(), passage_id, time.time()),
            )
            if cur.rowcount > 0:
                # The rotation moves on with the claim, not with the record of the send:
                # a send that went out but was never recorded cannot be picked again.
                await conn.execute(
                    "UPDATE subscriptions SET delivered = delivered + 1 WHERE chat_id = ?",
                    (chat_id,),
                )
                return passage_id
            cur = await conn.execute(
                "UPDATE deliveries SET status = 'sending', at = ?, passage = COALESCE(passage, ?)"
                " WHERE chat_id = ? AND day = ? AND status = 'interrupted'",
                (time.time(), passage_id, chat_id, day.isoformat()),
            )
            if cur.rowcount == 0:
                return None
            async with conn.execute(
                "SELECT passage FROM deliveries WHERE chat_id = ? AND day = ?",
                (chat_id, day.isoformat()),
            ) as rows:
                row = await rows.fetchone()
        return str(row[0]) if row and row[0] else passage_id

    async def recover(self) -> int:
        """At start: claims a previous process left in `sending` (it crashed or was killed
        mid-send) become `interrupted`, so their chats are sent that quote again.

        Only one process uses a database (bot.storage.lock), so every such claim is stale.
        """
        async with self.db.atomic() as conn:
            cur = await conn.execute(
                "UPDATE deliveries SET status = 'interrupted' WHERE status = 'sending'"
            )
        return cur.rowcount

    async def release(self, chat_id: int, day: dt.date) -> None:
        """Give a claim back (the send failed before reaching the user and will be retried);
        the rotation steps back with it, so the retry sends the same passage."""
        async with self.db.atomic() as conn:
            cur = await conn.execute(
                "DELETE FROM deliveries WHERE chat_id = ? AND day = ?"
                " AND status IN ('sending', 'interrupted')",
                (chat_id, day.isoformat()),
            )
            if cur.rowcount > 0:
                await conn.execute(
                    "UPDATE subscriptions SET delivered = MAX(delivered - 1, 0) WHERE chat_id = ?",
                    (chat_id,),
                )

    async def delivered(
        self, sub: Subscription, day: dt.date, passage_id: str, next_at: dt.datetime
    ) -> None:
        async with self.db.atomic() as conn:
            await conn.execute(
                "UPDATE deliveries SET status = 'sent', passage = ?, at = ? WHERE chat_id = ? AND day = ?",
                (passage_id, time.time(), sub.chat_id, day.isoformat()),
            )
            await conn.execute(
                "UPDATE subscriptions SET next_at = ?, failures = 0,"
                " updated_at = ? WHERE chat_id = ?",
                (next_at.timestamp(), time.time(), sub.chat_id),
            )

    async def reschedule(self, chat_id: int, next_at: dt.datetime, failed: bool = False) -> None:
        async with self.db.atomic() as conn:
            await conn.execute(
                "UPDATE subscriptions SET next_at = ?, failures = failures + ?, updated_at = ?"
                " WHERE chat_id = ?",
                (next_at.timestamp(), 1 if failed else 0, time.time(), chat_id),
            )
