"""The daily-quote scheduler: one task that wakes when the next subscription is due.

No timer per chat: the database knows the next due instant, the task sleeps
until then (or until a subscription changes), sends everything due through
the pacer, and goes back to sleep. Sending itself is a callable given from
outside (handlers/ for Telegram, the console for a terminal), which reports
an Outcome; this module decides what each outcome means for the subscription.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import random
import sqlite3
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from enum import Enum

from bot import metrics
from bot.app import CardReply, Links, Reply, daily_card_view, daily_quote_view
from bot.daily.throttle_sends import Pacer
from bot.daily.times import next_send, utc_now
from bot.search import Passage, QuoteEngine
from bot.storage import ChatConversations, Subscription, SubscriptionStore, passage_number

log = logging.getLogger(__name__)

MAX_SLEEP = 60.0  # re-check at least this often (clock jumps, another process editing)
BATCH = 200
MAX_FAILURES = 5  # consecutive days of permanent failures before a chat is switched off
RETRY_LATER = dt.timedelta(minutes=1)  # after an outage outlasted the in-round retries
MAX_ATTEMPTS = 5  # transient failures retried with backoff within one due time
STOP_TIMEOUT = 6.0  # a graceful stop waits this long for the sends in flight


class Kind(Enum):
    SENT = "sent"
    GONE = "gone"  # blocked, kicked, chat deleted: stop for good
    MIGRATED = "migrated"  # group became a supergroup: resend to the new id
    RETRY_AFTER = "retry_after"  # flood limit: wait as told, then resend
    TRANSIENT = "transient"  # network, timeout, 5xx: back off and resend
    FAILED = "failed"  # anything else: skip today, count it


@dataclass(frozen=True, slots=True)
class Outcome:
    kind: Kind
    detail: str = ""
    retry_after: float = 0.0
    new_chat_id: int | None = None


Send = Callable[[int, Reply], Awaitable[Outcome]]
SendCard = Callable[[int, CardReply], Awaitable[Outcome]]  # the daily quote as a photo
Clock = Callable[[], dt.datetime]


class DailyQuotes:
    def __init__(
        self,
        subscriptions: SubscriptionStore,
        engine: QuoteEngine,
        send: Send,
        *,
        pacer: Pacer | None = None,
        links: Links | None = None,
        catch_up: bool = True,
        grace: dt.timedelta = dt.timedelta(minutes=10),
        concurrency: int = 8,
        clock: Clock = utc_now,
        backoff: float = 1.0,
        send_card: SendCard | None = None,
        chats: ChatConversations | None = None,
    ) -> None:
        self.subscriptions = subscriptions
        self.engine = engine
        self.send = send
        self._due = self._handled = 0  # the current round's figures (metrics)
        # None when `send` paces itself (the Telegram bot's rate limiter shares one Pacer).
        self.pacer = pacer
        self.links = links or Links()
        self.catch_up = catch_up
        self.grace = grace
        self.concurrency = concurrency
        self.clock = clock
        self.backoff = backoff
        self.send_card = send_card  # None: card subscriptions get the text quote
        # Each chat's chosen conversation (/conversation): its daily quote comes from it.
        self.chats = chats or ChatConversations(subscriptions.db)
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._stopping = False

    # -- lifecycle -------------------------------------------------------------
    def start(self) -> None:
        if self._task is None:
            self._stopping = False
            self._task = asyncio.create_task(self._run(), name="daily-quotes")

    async def stop(self, timeout: float = STOP_TIMEOUT) -> None:
        """Let the sends in flight finish and be recorded, start no new one, then stop.

        Call it while the send path still works (the Telegram bot's post_stop, before
        its HTTP client is shut down). A send that fails while stopping is not retried:
        its claim is given back and the chat stays due for the next start. After
        `timeout` (a flood-limit pause, a hung connection) the task is cancelled; a
        claim cancelled mid-send stays `sending` and is resent at the next start.
        """
        self._stopping = True
        self._wake.set()
        if self._task is not None:
            task, self._task = self._task, None
            done, _ = await asyncio.wait({task}, timeout=timeout)
            if not done:
                log.warning("daily quotes: sends still in flight after %.0fs; cancelling", timeout)
                task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    def wake(self) -> None:
        """A subscription changed: re-read the next due time now."""
        self._wake.set()

    async def _run(self) -> None:
        try:
            interrupted = await self.subscriptions.recover()
        except sqlite3.Error:  # a locked or failing database: the schedule starts anyway
            log.exception("daily quotes: could not recover interrupted sends")
            interrupted = 0
        if interrupted:
            log.warning(
                "daily quotes: %d send(s) interrupted by the last stop or crash; sending again",
                interrupted,
            )
        while not self._stopping:
            # Cleared before the round reads the database: a wake() during the round
            # (a subscription changed after it was read) makes the next wait return at once.
            self._wake.clear()
            try:
                await self.run_due()
                delay = await self._seconds_to_next()
            except Exception:  # last resort, at the top of the schedule's loop: one bad row,
                # a locked database or a bug in one round must not end every later round
                log.exception("daily quotes: scheduling round failed")
                delay = 5.0
            if self._stopping:
                break
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=delay)

    async def _seconds_to_next(self) -> float:
        due = await self.subscriptions.next_due()
        if due is None:
            return MAX_SLEEP
        return min(MAX_SLEEP, max(0.0, (due - self.clock()).total_seconds()))

    # -- one round ---------------------------------------------------------------
    async def run_due(self) -> int:
        """Send everything due now; returns how many quotes went out."""
        sent = 0
        # The round's figures for /metrics: due when it began (or fetched, if more fell
        # due meanwhile) and not yet handled. An empty round leaves the last ones shown.
        self._due = await self.subscriptions.count_due(self.clock())
        self._handled = 0
        fetched = 0
        while not self._stopping:
            batch = await self.subscriptions.due(self.clock(), BATCH)
            if not batch:
                break
            fetched += len(batch)
            self._due = max(self._due, fetched)
            metrics.DAILY_DUE.set(self._due)
            metrics.DAILY_LEFT.set(self._due - self._handled)
            queue: asyncio.Queue[Subscription] = asyncio.Queue()
            for sub in batch:
                queue.put_nowait(sub)
            results = await asyncio.gather(
                *(self._worker(queue) for _ in range(min(self.concurrency, len(batch))))
            )
            sent += sum(results)
        return sent

    async def _worker(self, queue: asyncio.Queue[Subscription]) -> int:
        sent = 0
        while not queue.empty() and not self._stopping:
            sub = queue.get_nowait()
            try:
                went = await self.deliver(sub)
                sent += went
                metrics.DAILY_SENT.inc(went)
            except Exception:  # last resort, per chat: one chat's failure (a bad row, a bug,
                # a sender that raised) must not cost the rest of the batch their quote
                log.exception("daily quote for chat %s failed", sub.chat_id)
                await self.subscriptions.reschedule(sub.chat_id, self._next(sub), failed=True)
            finally:
                self._handled += 1
                metrics.DAILY_LEFT.set(max(self._due - self._handled, 0))
        return sent

    def _next(self, sub: Subscription) -> dt.datetime:
        """The first send time after now (a due row's next_at is never in the future)."""
        return next_send(sub.local_time, sub.zone, max(self.clock(), sub.next_at))

    async def deliver(self, sub: Subscription) -> int:
        """One due subscription: claim its day, send, record. Returns 1 if a quote went out."""
        if not self.catch_up and self.clock() - sub.next_at > self.grace:
            # We were down at the chat's time and catch-up is off: skip that day.
            await self.subscriptions.reschedule(sub.chat_id, self._next(sub))
            return 0
        # Otherwise a late send is the one catch-up for its day: the claim below
        # makes it the only send for that day, and the next one is in the future.
        day = sub.due_day
        passage = await self._claim(sub, day)
        if passage is None:
            # Already sent: never twice.
            await self.subscriptions.reschedule(sub.chat_id, self._next(sub))
            return 0
        return await self._send(sub, day, passage)

    async def _claim(self, sub: Subscription, day: dt.date) -> Passage | None:
        """The passage the chat's day is claimed for; None if that day's quote went out.

        The claim records the passage, so a send interrupted by a crash is resent
        with the same passage and the rotation counter moves on once.
        """
        passage = self.pick(sub, await self.conversation_of(sub.chat_id))
        claimed = await self.subscriptions.claim(sub.chat_id, day, passage.id)
        if claimed is None:
            return None
        if claimed != passage.id:  # resending an interrupted claim: the same passage
            passage = self.engine.get(claimed) or passage
        return passage

    async def _send(self, sub: Subscription, day: dt.date, passage: Passage) -> int:
        """Send the claimed quote, retrying what may pass (a flood limit, an outage, a
        group that became a supergroup), and record how it ended. 1 if it went out."""
        reply = self.daily_reply(sub, passage)
        chat_id = sub.chat_id
        in_flight = False
        try:
            for attempt in range(MAX_ATTEMPTS):
                if self.pacer is not None:
                    await self.pacer.acquire(group=chat_id if chat_id < 0 else None)
                in_flight = True
                if sub.card and self.send_card is not None:
                    outcome = await self.send_card(chat_id, self.daily_card(sub, passage))
                else:
                    outcome = await self.send(chat_id, reply)
                in_flight = False
                if outcome.kind is Kind.SENT:
                    await self.subscriptions.delivered(sub, day, passage.id, self._next(sub))
                    return 1
                if self._stopping and outcome.kind is not Kind.GONE:
                    # Stopping: no retries. The chat stays due; the next start sends it.
                    await self.subscriptions.release(chat_id, day)
                    return 0
                if outcome.kind is Kind.GONE:
                    await self._gone(chat_id, day, outcome)
                    return 0
                if outcome.kind is Kind.MIGRATED and outcome.new_chat_id is not None:
                    log.info(
                        "chat %s migrated to %s; moving its subscription",
                        chat_id,
                        outcome.new_chat_id,
                    )
                    await self.subscriptions.migrate(chat_id, outcome.new_chat_id)
                    chat_id = outcome.new_chat_id
                    sub = await self.subscriptions.get(chat_id) or sub
                    continue
                if not await self._wait_to_retry(outcome, attempt):
                    break  # FAILED
        except asyncio.CancelledError:
            # Cancelled by a stop that ran out of time. A send that never left gives its
            # claim back; one cut off mid-request may have arrived, so its claim stays
            # `sending` and is resent at the next start (at-least-once).
            if not in_flight:
                await self.subscriptions.release(chat_id, day)
            raise
        await self._not_sent(sub, chat_id, day, outcome)
        return 0

    async def _wait_to_retry(self, outcome: Outcome, attempt: int) -> bool:
        """Wait as a flood limit or an outage asks; False if the outcome is not retried."""
        if outcome.kind is Kind.RETRY_AFTER:
            if self.pacer is not None:
                self.pacer.pause(outcome.retry_after)
            else:
                await asyncio.sleep(outcome.retry_after)
            return True
        if outcome.kind is Kind.TRANSIENT:
            await asyncio.sleep(self.backoff * 2**attempt)
            return True
        return False

    async def _gone(self, chat_id: int, day: dt.date, outcome: Outcome) -> None:
        """Blocked, kicked, chat deleted: the subscription is switched off for good."""
        log.info("chat %s is gone (%s); subscription switched off", chat_id, outcome.detail)
        await self.subscriptions.release(chat_id, day)
        await self.subscriptions.deactivate(chat_id, outcome.detail or "gone")

    async def _not_sent(
        self, sub: Subscription, chat_id: int, day: dt.date, outcome: Outcome
    ) -> None:
        """The day's claim given back, and the chat due again: soon after an outage,
        tomorrow after a failure (switched off after MAX_FAILURES days of them)."""
        log.warning("daily quote for chat %s not sent: %s", chat_id, outcome.detail)
        await self.subscriptions.release(chat_id, day)
        if outcome.kind in (Kind.TRANSIENT, Kind.RETRY_AFTER):
            # Telegram or the network is down: still due, the next round retries it.
            # An outage is no reason to give up on a chat, so it is not counted.
            await self.subscriptions.reschedule(chat_id, self.clock() + RETRY_LATER)
        elif sub.failures + 1 >= MAX_FAILURES:
            await self.subscriptions.deactivate(
                chat_id, f"failed {MAX_FAILURES} days: {outcome.detail}"
            )
        else:
            await self.subscriptions.reschedule(chat_id, self._next(sub), failed=True)

    # -- what is sent ------------------------------------------------------------
    async def conversation_of(self, chat_id: int) -> str | None:
        """The conversation a chat chose, or None for all: also when the chosen one was
        removed from the library since (the chat keeps its subscription and gets any)."""
        if len(self.engine.conversations) < 2:
            return None
        chosen = await self.chats.get(chat_id)
        if chosen is not None and chosen not in self.engine.conversations:
            log.info("chat %s chose conversation %r, which is gone; quoting all", chat_id, chosen)
            return None
        return chosen

    def pick(self, sub: Subscription, conversation: str | None = None) -> Passage:
        """The chat's next passage in its rotation (of one conversation, if it chose one)."""
        good = self.engine.good_rows(conversation)
        if not len(good) and conversation is not None:
            return self.engine.random(random.Random(sub.seed + sub.delivered), conversation)
        row = int(good[passage_number(sub.seed, sub.delivered, len(good))]) if len(good) else 0
        return self.engine.table[row]

    def daily_reply(self, sub: Subscription, passage: Passage) -> Reply:
        return daily_quote_view(self.engine, passage, sub.lang, self.links)

    def daily_card(self, sub: Subscription, passage: Passage) -> CardReply:
        return daily_card_view(self.engine, passage, sub.lang, self.links)
