"""How many private text queries per second one `quotebot run` process answers.

    python bench/capacity_bench.py                       # rates 5 10 20 40 80 /s, 6 s each
    python bench/capacity_bench.py --rates 10 20 --seconds 10
    python bench/capacity_bench.py --no-baseline --metrics-out metrics.txt   # + /metrics after

Starts the local Bot API emulator (tests/emulator, 127.0.0.1 only) in this
process and `python -m bot run` (long polling, exactly as in production) as a
child process. At each offered rate, distinct users (one message each, so no
per-user or per-chat limit applies) send private text queries on an open-loop
schedule for a fixed time; queries alternate between the keyword/phrase set
(tests/eval/queries.toml) and the question set (tests/eval/questions.toml,
which reaches the embedder). It measures replies per second sustained (replies
over the time from the first query to the last reply) and the reply latency
from the emulator queueing the update to the bot's sendMessage arriving,
p50/p99/max.

The same loop then runs against a baseline bot (`--fixed-reply-bot`, a bare
python-telegram-bot Application that answers every text with a fixed string,
same polling and concurrency settings): the framework's and the emulator's own
ceiling on this machine.

QUOTEBOT_SEND_RATE is raised to 1000 for the run: at the default 30 the
pacer (Telegram's limit of about 30 messages a second per bot) would cap
replies at 30/s and hide the process's own capacity. The index cache comes
from QUOTEBOT_CACHE_DIR (built once if empty).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import subprocess
import sys
import tempfile
import time
import tomllib
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402

from tests.emulator import BotApiEmulator, RecordedRequest  # noqa: E402

TOKEN = "123456:CAPACITY-bench-token-abcdef"
START_TIMEOUT = 120.0
DRAIN_TIMEOUT = 30.0


def load_queries() -> list[str]:
    words = tomllib.loads((ROOT / "tests/eval/queries.toml").read_text("utf-8"))["query"]
    questions = tomllib.loads((ROOT / "tests/eval/questions.toml").read_text("utf-8"))["query"]
    mixed: list[str] = []
    for a, b in zip(words, questions, strict=False):
        mixed += [a["q"], b["q"]]
    return [q for q in mixed if q.strip() and not q.startswith("/")]


@dataclass
class Round:
    bot: str
    offered: float
    sent: int
    replied: int
    replies_per_s: float
    p50_ms: float
    p99_ms: float
    max_ms: float


def percentile(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


class Load:
    """Users, their chats and when each query was queued."""

    def __init__(self, emu: BotApiEmulator, queries: list[str]) -> None:
        self.emu = emu
        self.queries = queries
        self.n = 0
        self.queued: dict[int, float] = {}  # chat id -> when its one query was queued
        self.seen = 0  # emu.requests looked at so far
        self.unanswered: list[RecordedRequest] = []  # sendMessage calls still in flight
        self.replied: dict[int, float] = {}  # chat id -> when the first sendMessage arrived

    def send_one(self) -> None:
        user = self.emu.add_user(f"u{self.n}", language_code="zh-hans")
        chat = self.emu.private_chat(user)
        text = self.queries[self.n % len(self.queries)]
        self.n += 1
        self.queued[chat.id] = time.monotonic()
        self.emu.send_text(chat, user, text)

    def collect(self) -> None:
        # Requests are recorded on arrival and get their status when answered: those
        # not answered yet are looked at again next time.
        requests = self.emu.requests
        fresh = [r for r in requests[self.seen :] if r.method == "sendMessage"]
        self.seen = len(requests)
        waiting = []
        for request in self.unanswered + fresh:
            if request.status is None:
                waiting.append(request)
            elif request.ok and request.chat_id in self.queued:
                self.replied.setdefault(request.chat_id, request.arrived)
        self.unanswered = waiting

    async def wait_replies(self, chats: set[int], timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.collect()
            if chats <= self.replied.keys():
                return
            await asyncio.sleep(0.02)
        self.collect()


async def run_round(load: Load, bot: str, rate: float, seconds: float) -> Round:
    count = max(1, round(rate * seconds))
    first = load.n
    started = time.monotonic()
    for i in range(count):  # open loop: the schedule does not wait for replies
        delay = started + i / rate - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        load.send_one()
    chats = set(list(load.queued)[first:])
    await load.wait_replies(chats, DRAIN_TIMEOUT)
    answered = [c for c in chats if c in load.replied]
    latencies = [(load.replied[c] - load.queued[c]) * 1000 for c in answered]
    last = max((load.replied[c] for c in answered), default=started)
    span = max(last - started, 1e-9)
    return Round(
        bot,
        rate,
        count,
        len(answered),
        len(answered) / span,
        percentile(latencies, 50),
        percentile(latencies, 99),
        max(latencies, default=float("nan")),
    )


def start_process(
    emu: BotApiEmulator, bot: str, workdir: Path, cache: Path, metrics_port: int | None = None
) -> subprocess.Popen:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("QUOTEBOT_", "TELEGRAM_"))}
    if metrics_port is not None:
        env["QUOTEBOT_METRICS_LISTEN"] = f"127.0.0.1:{metrics_port}"
    env.update(
        TELEGRAM_BOT_TOKEN=TOKEN,
        TELEGRAM_API_URL=emu.base_url,
        QUOTEBOT_DB=str(workdir / f"{bot}.db"),
        QUOTEBOT_CACHE_DIR=str(cache),
        QUOTEBOT_LOG_LEVEL="WARNING",
        QUOTEBOT_SEND_RATE="1000",
        QUOTEBOT_USER_RATE="10000",
        PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")])),
    )
    if bot == "quotebot":
        command = [sys.executable, "-m", "bot", "run"]
    else:
        command = [sys.executable, str(Path(__file__).resolve()), "--fixed-reply-bot"]
    return subprocess.Popen(
        command,
        env=env,
        cwd=workdir,
        stdin=subprocess.DEVNULL,
        stderr=(workdir / f"{bot}.stderr").open("wb"),
    )


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def measure(
    bot: str, rates: list[float], seconds: float, cache: Path, metrics_out: Path | None = None
) -> list[Round]:
    workdir = Path(tempfile.mkdtemp(prefix=f"qb-capacity-{bot}-"))
    port = _free_port() if metrics_out is not None else None
    async with BotApiEmulator(token=TOKEN, username="quote_capacity_bot") as emu:
        proc = start_process(emu, bot, workdir, cache, port)
        try:
            load = Load(emu, load_queries())
            # Warm-up: the process is up, polling, and has answered a few of each kind.
            deadline = time.monotonic() + START_TIMEOUT
            while not emu.requests_for("getUpdates"):
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise SystemExit(f"{bot} did not start; see {workdir}/{bot}.stderr")
                await asyncio.sleep(0.1)
            for _ in range(10):
                load.send_one()
            await load.wait_replies(set(load.queued), START_TIMEOUT)
            await asyncio.sleep(1.0)
            rounds = []
            for rate in rates:
                rounds.append(await run_round(load, bot, rate, seconds))
                print(format_row(rounds[-1]), flush=True)
                await asyncio.sleep(1.0)
            if metrics_out is not None:  # the process's own account of the run
                async with httpx.AsyncClient(timeout=10) as client:
                    health = await client.get(f"http://127.0.0.1:{port}/healthz")
                    scraped = await client.get(f"http://127.0.0.1:{port}/metrics")
                metrics_out.write_text(
                    f"# /healthz: {health.status_code} {health.text}" + scraped.text, "utf-8"
                )
                print(f"/metrics written to {metrics_out}", flush=True)
            return rounds
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()


HEADER = (
    f"{'bot':<12}{'offered/s':>10}{'sent':>6}{'replied':>8}{'replies/s':>10}"
    f"{'p50 ms':>9}{'p99 ms':>9}{'max ms':>9}"
)


def format_row(r: Round) -> str:
    return (
        f"{r.bot:<12}{r.offered:>10g}{r.sent:>6}{r.replied:>8}{r.replies_per_s:>10.1f}"
        f"{r.p50_ms:>9.0f}{r.p99_ms:>9.0f}{r.max_ms:>9.0f}"
    )


def fixed_reply_bot() -> int:
    """The baseline: PTB alone, polling, answering every text with a fixed string."""
    from telegram import Update
    from telegram.ext import ApplicationBuilder, ContextTypes, MessageHandler, filters

    async def reply(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        assert update.effective_chat is not None
        await context.bot.send_message(update.effective_chat.id, "ok")

    application = (
        ApplicationBuilder()
        .token(os.environ["TELEGRAM_BOT_TOKEN"])
        .base_url(os.environ["TELEGRAM_API_URL"])
        .concurrent_updates(True)
        .build()
    )
    application.add_handler(MessageHandler(filters.TEXT, reply))
    application.run_polling(allowed_updates=Update.ALL_TYPES)
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rates", type=float, nargs="+", default=[5, 10, 20, 40, 80])
    parser.add_argument("--seconds", type=float, default=6.0, help="sending time per rate")
    parser.add_argument("--no-baseline", action="store_true")
    parser.add_argument("--fixed-reply-bot", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument(
        "--metrics-out",
        type=Path,
        metavar="FILE",
        help="serve quotebot's /metrics (QUOTEBOT_METRICS_LISTEN) and write it here at the end",
    )
    args = parser.parse_args()
    if args.fixed_reply_bot:
        return fixed_reply_bot()
    cache = Path(os.environ.get("QUOTEBOT_CACHE_DIR") or tempfile.mkdtemp(prefix="qb-cache-"))
    print(f"{os.cpu_count()} CPUs; {args.seconds:g} s per rate; QUOTEBOT_SEND_RATE raised to 1000")
    print(HEADER, flush=True)
    rounds = asyncio.run(measure("quotebot", args.rates, args.seconds, cache, args.metrics_out))
    if not args.no_baseline:
        rounds += asyncio.run(measure("fixed-reply", args.rates, args.seconds, cache))
    lost = sum(r.sent - r.replied for r in rounds)
    best = max((r.replies_per_s for r in rounds if r.bot == "quotebot"), default=0.0)
    print(
        f"quotebot peak sustained: {best:.1f} replies/s; unanswered in {DRAIN_TIMEOUT:g} s: {lost}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
