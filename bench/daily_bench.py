"""Daily-quote delivery at scale, through the real send path, against a local Bot API.

    python bench/daily_bench.py                      # 10,000 due at once, limit raised to 300/s
    python bench/daily_bench.py --subs 1000 --rate 30  # Telegram's real limit (takes ~35 s)

Sets up N private chats in the emulator (tests/emulator, on 127.0.0.1), N
subscriptions all due in the same minute, a share of users who blocked the
bot (403), and bursts of 429 RetryAfter injected while the run goes on. The
scheduler (bot.daily.scheduler.DailyQuotes), the pacer (bot.daily.throttle_sends), and the Telegram sender of
handlers/delivery.py with a python-telegram-bot ExtBot (its rate limiter
backed by the pacer, as in production) deliver them. It reports the time to deliver all, lost and
duplicate messages, the peak send rate in any sliding one-second window, and
peak memory (of this process, which also hosts the emulator).
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import random
import resource
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from telegram.ext import ExtBot  # noqa: E402

from bot.daily.scheduler import DailyQuotes  # noqa: E402
from bot.daily.throttle_sends import Pacer  # noqa: E402
from bot.search.engine import QuoteEngine  # noqa: E402
from bot.storage import Store  # noqa: E402
from bot.storage.subscriptions import SubscriptionStore  # noqa: E402
from handlers.delivery import telegram_sender  # noqa: E402
from handlers.render import DEFAULTS  # noqa: E402
from handlers.throttle_api import PacedRateLimiter  # noqa: E402
from tests.emulator import BotApiEmulator, peak_rate  # noqa: E402

TOKEN = "123456:BENCH-secret-token-abcdef"


async def run(subs: int, rate: float, blocked_share: float, bursts: int) -> dict:
    engine = QuoteEngine.load(cache_dir=Path(tempfile.mkdtemp(prefix="qb-daily-cache-")))
    db = Path(tempfile.mkdtemp(prefix="qb-daily-")) / "bench.db"
    rng = random.Random(7)
    async with BotApiEmulator(token=TOKEN, username="quote_bench_bot") as emu:
        users = [emu.add_user(f"u{i}", language_code="zh-hans") for i in range(subs)]
        chats = [emu.private_chat(u) for u in users]
        blocked = set(rng.sample(range(subs), int(subs * blocked_share)))
        for i in blocked:
            emu.block(users[i])
        store = await Store.open(db)
        now = dt.datetime.now(dt.UTC)
        due = now.timestamp()
        async with store.db.atomic() as conn:
            await conn.executemany(
                "INSERT INTO subscriptions (chat_id, chat_type, lang, local_time, zone, next_at, seed,"
                " created_at, updated_at) VALUES (?, 'private', 'zh', '08:00', 'Asia/Shanghai', ?, ?, ?, ?)",
                [(c.id, due, rng.randrange(2**31), due, due) for c in chats],
            )
        # As in production (handlers/app.py): the bot's rate limiter is the pacer.
        bot = ExtBot(
            TOKEN,
            base_url=emu.base_url,
            rate_limiter=PacedRateLimiter(Pacer(per_second=rate)),
            defaults=DEFAULTS,
        )
        await bot.initialize()
        daily = DailyQuotes(
            SubscriptionStore(store.db), engine, telegram_sender(bot), concurrency=16
        )

        async def inject_429s() -> None:
            # Flood-limit answers arrive in bursts while the run goes on.
            for _ in range(bursts):
                await asyncio.sleep(max(0.5, subs / rate / (bursts + 1)))
                emu.fail_next("sendMessage", status=429, retry_after=1, times=3)

        injector = asyncio.create_task(inject_429s())
        started = time.perf_counter()
        sent = await daily.run_due()
        elapsed = time.perf_counter() - started
        injector.cancel()

        sends = emu.requests_for("sendMessage")
        ok_sends = [r for r in sends if r.ok]
        per_chat: dict[int, int] = {}
        for r in ok_sends:
            per_chat[r.chat_id] = per_chat.get(r.chat_id, 0) + 1
        expected = {c.id for i, c in enumerate(chats) if i not in blocked}
        lost = sorted(expected - set(per_chat))
        duplicates = sum(n - 1 for n in per_chat.values() if n > 1)
        async with store.db.execute(
            "SELECT COUNT(*) FROM subscriptions WHERE active = 0 AND inactive_reason LIKE '%blocked%'"
        ) as cur:
            deactivated = (await cur.fetchone())[0]
        first = min(r.arrived for r in ok_sends) if ok_sends else float("nan")
        await bot.shutdown()
        await store.close()
        return {
            "subscriptions": subs,
            "rate_limit_per_s": rate,
            "blocked_users": len(blocked),
            "injected_429": sum(1 for r in sends if r.status == 429),
            "delivered": sent,
            "seconds_to_deliver_all": round(elapsed, 1),
            "first_send_after_start_s": round(first - emu.requests[0].arrived, 3)
            if ok_sends
            else None,
            "lost": len(lost),
            "duplicates": duplicates,
            "deactivated_as_blocked": deactivated,
            "peak_sends_in_any_1s_window": peak_rate(r.arrived for r in sends),
            "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        }


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--subs", type=int, default=10_000)
    parser.add_argument(
        "--rate",
        type=float,
        default=300.0,
        help="sends per second; Telegram's limit is 30 (the bot's default), raised here to finish sooner",
    )
    parser.add_argument(
        "--blocked", type=float, default=0.02, help="share of users who blocked the bot"
    )
    parser.add_argument("--bursts", type=int, default=5, help="bursts of three 429 answers")
    args = parser.parse_args()
    print(
        f"rate limit {args.rate:g}/s ({'raised from the default 30/s' if args.rate != 30 else 'the default'})"
    )
    result = asyncio.run(run(args.subs, args.rate, args.blocked, args.bursts))
    for key, value in result.items():
        print(f"{key:>30}: {value}")
    ok = (
        result["lost"] == 0
        and result["duplicates"] == 0
        and result["peak_sends_in_any_1s_window"] <= args.rate
    )
    print("OK" if ok else "FAILED")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
