"""The README's Operating output: a backup taken during a daily round, restored and verified;
then `quotebot doctor` with one failure (a webhook set elsewhere) and without it.

    python bench/backup_demo.py [WORKDIR]      # default: /tmp/quotebot-backup-demo

The local Bot API emulator (tests/emulator, 127.0.0.1 only) plays Telegram, slow to
answer sends; 1,000 subscriptions are due at once and 30 users query meanwhile.
`quotebot run`, `backup`, `restore` and `doctor` are real processes. The index cache
comes from QUOTEBOT_CACHE_DIR (built at start if empty).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.search.index.build import default_cache_dir  # noqa: E402
from tests.emulator import BotApiEmulator  # noqa: E402
from tests.seeding import subscribe_all_due  # noqa: E402

TOKEN = "7654321098:AAH-quote_SECRET-part-0123456789"
CHATS = 1000
SENT = "SELECT chat_id, day, passage FROM deliveries WHERE status = 'sent'"
QUERIES = "SELECT id, ts, query FROM queries"
ROUND = ("quotebot_daily_due ", "quotebot_daily_left ", "quotebot_daily_sent_total ")


class Demo:
    def __init__(self, work: Path, emu: BotApiEmulator) -> None:
        self.work = work
        self.db = work / "quotebot.db"
        self.emu = emu
        self.cache = os.environ.get("QUOTEBOT_CACHE_DIR") or str(default_cache_dir())

    def env(self, **extra: str) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("QUOTEBOT_", "TELEGRAM_"))}
        env.update(
            TELEGRAM_BOT_TOKEN=TOKEN,
            TELEGRAM_API_URL=self.emu.base_url,
            QUOTEBOT_DB=str(self.db),
            QUOTEBOT_CACHE_DIR=self.cache,
            QUOTEBOT_LOG_LEVEL="WARNING",
            PYTHONPATH=str(ROOT),
            **extra,
        )
        return env

    async def quotebot(self, *args: str) -> int:
        """Run `quotebot ARGS` off the event loop (the emulator keeps answering) and show it."""
        print("$ quotebot " + " ".join(args))
        done = await asyncio.to_thread(
            subprocess.run,
            [sys.executable, "-m", "bot", *args],
            env=self.env(),
            cwd=self.work,
            capture_output=True,
            text=True,
        )
        print((done.stdout + done.stderr).rstrip())
        print(f"(exit {done.returncode})")
        return done.returncode

    def rows(self, sql: str) -> set[tuple]:
        uri = f"file:{self.db}?mode=ro"
        with contextlib.closing(sqlite3.connect(uri, uri=True)) as conn:
            return set(conn.execute(sql).fetchall())


async def main(work: Path) -> None:
    async with BotApiEmulator(token=TOKEN, username="quote_test_bot") as emu:
        demo = Demo(work, emu)
        users = [emu.add_user(f"u{i}") for i in range(CHATS)]
        chats = [emu.private_chat(u) for u in users]
        await subscribe_all_due(demo.db, [c.id for c in chats])
        emu.fail_next("sendMessage", delay=0.3, times=100 * CHATS)  # Telegram slow to answer
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]
        with (work / "run.stderr").open("wb") as stderr:
            bot = subprocess.Popen(
                [sys.executable, "-m", "bot", "run"],
                env=demo.env(QUOTEBOT_METRICS_LISTEN=f"127.0.0.1:{port}"),
                cwd=work,
                stderr=stderr,
            )
        while len(emu.requests_for("sendMessage", ok=True)) < 200:
            await asyncio.sleep(0.05)
        for user, chat in zip(users[:30], chats[:30], strict=True):
            emu.send_text(chat, user, "意识")
        await asyncio.sleep(1)
        sent_before, queries_before = demo.rows(SENT), demo.rows(QUERIES)
        print(
            f"# mid-round: {len(sent_before)} of {CHATS} daily quotes recorded sent, "
            f"{len(queries_before)} queries logged"
        )
        async with httpx.AsyncClient() as client:
            scraped = (await client.get(f"http://127.0.0.1:{port}/metrics")).text
        figures = [line for line in scraped.splitlines() if line.startswith(ROUND)]
        print("# /metrics mid-round: " + " ".join(figures))
        backup = str(work / "backups" / "quotebot-2026-12-05.db")
        await demo.quotebot("backup", backup)
        await demo.quotebot("restore", backup)  # refused: the bot runs
        bot.send_signal(signal.SIGTERM)
        while bot.poll() is None:
            await asyncio.sleep(0.05)
        print(
            f"# stopped (exit {bot.returncode}): {len(demo.rows(SENT))} recorded sent at the stop"
        )
        await demo.quotebot("restore", backup)
        sent_after, queries_after = demo.rows(SENT), demo.rows(QUERIES)
        [(integrity,)] = demo.rows("PRAGMA integrity_check")
        print(
            f"# verified: integrity {integrity}; deliveries recorded before the backup all "
            f"present: {sent_before <= sent_after} ({len(sent_after)} in the backup); "
            f"queries: {queries_before <= queries_after}"
        )
        emu.world.webhook = {"url": "https://old-host.example/hook", "secret_token": None}
        await demo.quotebot("doctor")  # one failure: the webhook
        emu.world.webhook = None
        await demo.quotebot("doctor")


if __name__ == "__main__":
    folder = Path(sys.argv[1] if len(sys.argv) > 1 else "/tmp/quotebot-backup-demo")
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    asyncio.run(main(folder))
