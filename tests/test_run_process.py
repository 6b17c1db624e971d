"""`quotebot run` as it runs in production: a real subprocess against the local Bot API emulator.

Each test starts the emulator in its own event loop and `python -m bot run` as a
child process (log level DEBUG, where PTB logs the API URL and every call), talks
to it as a Telegram user, stops it with a signal and then checks what a user and
an operator would see: the reply, the exit code, the SQLite query log and stderr
(no traceback; never the token, its secret part or the webhook secret).

Polling mode (SIGTERM and SIGINT), webhook mode (setWebhook; handlers/webhook.py
checks the path, the secret header and the announced size before reading a body), Telegram refusing start-up, and the webhook
settings that are refused before anything starts.
"""

from __future__ import annotations

import asyncio
import os
import re
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import httpx
import pytest

from tests.emulator import BotApiEmulator, Chat, RecordedRequest, StoredMessage, User

pytestmark = pytest.mark.timeout(90)

T = TypeVar("T")

TOKEN = "7654321098:AAH-quote_SECRET-part-0123456789"
TOKEN_SECRET = TOKEN.split(":", 1)[1]
WEBHOOK_SECRET = "hook_SECRET-0123456789abc"  # 25 of A-Z a-z 0-9 _ -
BOT_USERNAME = "quote_test_bot"
START_TIMEOUT = 60.0  # loading the index dominates; with the shared cache it is ~1 s
REPLY_TIMEOUT = 20.0
EXIT_TIMEOUT = 10.0  # "a few seconds" after SIGTERM/SIGINT, with CI slack
QUERY = "什么是RLHF"
SECOND_QUERY = "人类反馈强化学习"
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"


def _clean_env(**extra: str) -> dict[str, str]:
    """os.environ without any quotebot/Telegram setting of the developer's shell, plus extra."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("QUOTEBOT_", "TELEGRAM_"))}
    env.update(extra)
    return env


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def cache_dir(engine, shared_cache: Path) -> Path:
    """The session's index cache (vectors included): `quotebot index` checks it, every `run` then starts fast."""
    cache = shared_cache
    proc = subprocess.run(
        [sys.executable, "-m", "bot", "index"],
        env=_clean_env(QUOTEBOT_CACHE_DIR=str(cache)),
        cwd=cache,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    assert "index ready" in proc.stdout
    return cache


@dataclass
class BotProcess:
    """A running `python -m bot run`; stdout and stderr go to files in its folder."""

    proc: subprocess.Popen[bytes]
    workdir: Path
    db_path: Path

    @property
    def stderr(self) -> str:
        return (self.workdir / "stderr.txt").read_text(encoding="utf-8", errors="replace")

    @property
    def stdout(self) -> str:
        return (self.workdir / "stdout.txt").read_text(encoding="utf-8", errors="replace")

    def tail(self, lines: int = 30) -> str:
        return "\n--- stderr (tail) ---\n" + "\n".join(self.stderr.splitlines()[-lines:])

    async def wait_exit(self, timeout: float) -> int:
        """Await the exit code (polling; the emulator keeps serving in this loop meanwhile)."""
        deadline = time.monotonic() + timeout
        while (code := self.proc.poll()) is None:
            if time.monotonic() > deadline:
                raise AssertionError(f"still running {timeout}s later{self.tail()}")
            await asyncio.sleep(0.02)
        return code

    async def until(self, awaitable: Awaitable[T], what: str) -> T:
        """Await something from the emulator, failing at once (with stderr) if the bot dies."""
        task = asyncio.ensure_future(awaitable)
        try:
            while not task.done():
                if self.proc.poll() is not None:
                    raise AssertionError(
                        f"quotebot exited with {self.proc.returncode} while waiting for "
                        f"{what}{self.tail()}"
                    )
                await asyncio.wait({task}, timeout=0.05)
            return task.result()
        finally:
            task.cancel()

    async def poll_until(self, probe: Callable[[], bool], timeout: float, what: str) -> None:
        """Check `probe` every 10 ms (for states the emulator does not signal)."""
        deadline = time.monotonic() + timeout
        while not probe():
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(f"no {what} (exit code {self.proc.poll()}){self.tail()}")
            await asyncio.sleep(0.01)

    async def stop(self, sig: signal.Signals) -> tuple[int, float]:
        """Send `sig`; the exit code and how long the process took to exit."""
        sent = time.monotonic()
        self.proc.send_signal(sig)
        code = await self.wait_exit(EXIT_TIMEOUT)
        return code, time.monotonic() - sent

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=10)


StartBot = Callable[..., BotProcess]


@pytest.fixture
async def start_bot(cache_dir: Path, tmp_path: Path) -> AsyncIterator[StartBot]:
    """Factory: `start_bot(emu, QUOTEBOT_X="...")` starts `quotebot run`; always killed after."""
    running: list[BotProcess] = []

    def start(emu: BotApiEmulator, *, token: str = TOKEN, **env: str) -> BotProcess:
        workdir = tmp_path / f"run{len(running)}"
        workdir.mkdir()
        settings = {
            "TELEGRAM_BOT_TOKEN": token,
            "TELEGRAM_API_URL": emu.base_url,
            "QUOTEBOT_DB": str(workdir / "quotebot.db"),
            "QUOTEBOT_CACHE_DIR": str(cache_dir),
            "QUOTEBOT_LOG_LEVEL": "DEBUG",
            "QUOTEBOT_USER_RATE": "1000",
        }
        full_env = _clean_env(**{**settings, **env})  # env may override any of them
        db_path = Path(full_env["QUOTEBOT_DB"])
        with (
            (workdir / "stdout.txt").open("wb") as out,
            (workdir / "stderr.txt").open("wb") as err,
        ):
            proc = subprocess.Popen(
                [sys.executable, "-m", "bot", "run"],
                env=full_env,
                cwd=workdir,  # no stray .env is picked up
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=err,
            )
        bot = BotProcess(proc, workdir, db_path)
        running.append(bot)
        return bot

    try:
        yield start
    finally:
        for bot in running:
            bot.kill()


def logged_queries(db_path: Path) -> list[tuple[str, str, int]]:
    with sqlite3.connect(db_path) as db:
        return db.execute("SELECT query, kind, chat_id FROM queries ORDER BY id").fetchall()


LOG_RECORD = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} ", re.MULTILINE)


def log_records(text: str) -> list[str]:
    """stderr split into log records (a record's traceback lines stay with it)."""
    starts = [m.start() for m in LOG_RECORD.finditer(text)]
    head = text[: starts[0]] if starts else text
    records = [text[a:b] for a, b in zip(starts, [*starts[1:], len(text)], strict=True)]
    return [head, *records] if head.strip() else records


def assert_clean_stderr(bot: BotProcess) -> None:
    """No crash and no secret in anything the process wrote, even at DEBUG."""
    err, out = bot.stderr, bot.stdout
    with_traceback = [r for r in log_records(err) if "Traceback" in r]
    assert with_traceback == [], "\n".join(with_traceback)
    for secret in (TOKEN, TOKEN_SECRET, WEBHOOK_SECRET):
        assert secret not in err, f"{secret!r} leaked to stderr"
        assert secret not in out, f"{secret!r} leaked to stdout"
    # The leak paths were really exercised: PTB logs the API URL at DEBUG, scrubbed.
    assert "Set Bot API URL" in err and "/bot<redacted>" in err


def superseded_poll(request: RecordedRequest) -> bool:
    return (
        request.method == "getUpdates"
        and request.status == 409
        and ("terminated by other getUpdates request" in (request.description or ""))
    )


def assert_quote(reply: StoredMessage) -> None:
    assert "RLHF" in reply.text
    assert any(name in reply.text for name in ("山姆·奥特曼", "莱克斯·弗里德曼"))


def new_user(emu: BotApiEmulator, name: str = "Li") -> tuple[User, Chat]:
    user = emu.add_user(name, language_code="zh-hans")
    return user, emu.private_chat(user)


# --------------------------------------------------------------------------- polling


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
async def test_polling_answers_then_stops_cleanly_on_signal(
    start_bot: StartBot, sig: signal.Signals
) -> None:
    async with BotApiEmulator(token=TOKEN, username=BOT_USERNAME) as emu:
        bot = start_bot(emu)
        await bot.until(
            emu.wait_for(lambda: emu.requests_for("getUpdates") or None, START_TIMEOUT),
            "the first getUpdates",
        )
        li, chat = new_user(emu)
        emu.send_text(chat, li, QUERY)
        [reply] = await bot.until(
            emu.wait_for_messages(chat, count=1, timeout=REPLY_TIMEOUT), "the reply"
        )
        assert_quote(reply)

        # A second query whose reply is still in flight (Telegram slow to answer) when
        # the signal arrives: the shutdown waits for it, and for its query log row.
        emu.fail_next("sendMessage", delay=1.0)
        emu.send_text(chat, li, SECOND_QUERY)
        # (Polled: the emulator signals waiters when a request is answered, not on arrival.)
        await bot.poll_until(
            lambda: len(emu.requests_for("sendMessage")) == 2, REPLY_TIMEOUT, "2nd sendMessage"
        )
        assert emu.requests_for("sendMessage")[-1].status is None  # not answered yet
        code, took = await bot.stop(sig)
        assert code == 0, bot.tail()
        assert took < EXIT_TIMEOUT

        [_, late] = emu.messages(chat)
        assert late.message_id > reply.message_id
        assert_quote(late)
        assert logged_queries(bot.db_path) == [
            (QUERY, "message", chat.id),
            (SECOND_QUERY, "message", chat.id),
        ]
        assert_clean_stderr(bot)
        assert "Application.stop() complete" in bot.stderr
        # Nothing the bot sent was refused. On stop PTB abandons its pending long poll and
        # calls getUpdates once more; Telegram (and the emulator) answers the abandoned
        # poll 409 "terminated by other getUpdates request", to nobody.
        assert [r.summary() for r in emu.requests if not r.ok and not superseded_poll(r)] == []
        assert [r.status for r in emu.requests_for("sendMessage")] == [200, 200]


# --------------------------------------------------------------------------- webhook


def _post_update(port: int, path: str, update: dict, secret: str | None) -> httpx.Response:
    headers = {} if secret is None else {SECRET_HEADER: secret}
    return httpx.post(f"http://127.0.0.1:{port}/{path}", json=update, headers=headers, timeout=10)


def _deliverable(emu: BotApiEmulator, message: StoredMessage) -> dict:
    """The Update the emulator queued for `message`, taken off its queue (we deliver it)."""
    [update] = [
        u
        for u in emu.pending_updates
        if u.get("message", {}).get("message_id") == message.message_id
        and u["message"]["chat"]["id"] == message.chat_id
    ]
    emu.world.confirm(update["update_id"] + 1)
    return update


def _start_webhook_bot(start_bot: StartBot, emu: BotApiEmulator, port: int) -> BotProcess:
    # The public URL is https (Telegram calls nothing else; TLS ends at a proxy) and the
    # server listens on 127.0.0.1; the path comes from the public URL.
    return start_bot(
        emu,
        QUOTEBOT_WEBHOOK_URL=PUBLIC_URL,
        QUOTEBOT_WEBHOOK_LISTEN="127.0.0.1",
        QUOTEBOT_WEBHOOK_PORT=str(port),
        QUOTEBOT_WEBHOOK_SECRET=WEBHOOK_SECRET,
    )


async def _until_listening(bot: BotProcess, port: int) -> None:
    """setWebhook comes after the server listens; still, wait until a connection succeeds."""
    deadline = time.monotonic() + START_TIMEOUT
    while True:
        try:
            _, writer = await asyncio.open_connection("127.0.0.1", port)
        except OSError:
            if time.monotonic() > deadline or bot.proc.poll() is not None:
                raise AssertionError(f"webhook server not listening{bot.tail()}") from None
            await asyncio.sleep(0.05)
        else:
            writer.close()
            return


PUBLIC_URL = "https://bot.example.com/tg/hook"


async def test_webhook_sets_the_hook_answers_posts_and_refuses_bad_secrets(
    start_bot: StartBot,
) -> None:
    port = _free_port()
    async with BotApiEmulator(token=TOKEN, username=BOT_USERNAME) as emu:
        bot = _start_webhook_bot(start_bot, emu, port)
        await bot.until(emu.wait_for(lambda: emu.world.webhook, START_TIMEOUT), "setWebhook")
        [set_hook] = emu.requests_for("setWebhook")
        assert set_hook.ok and set_hook.params["url"] == PUBLIC_URL
        assert set_hook.params["secret_token"] == WEBHOOK_SECRET
        assert emu.world.webhook["secret_token"] == WEBHOOK_SECRET
        assert emu.requests_for("getUpdates") == []
        await _until_listening(bot, port)

        li, chat = new_user(emu)
        # Forged deliveries first: refused by the webhook server, never processed.
        forged_none = _deliverable(emu, emu.send_text(chat, li, "没有密钥"))
        forged_wrong = _deliverable(emu, emu.send_text(chat, li, "错误的密钥"))
        real = _deliverable(emu, emu.send_text(chat, li, QUERY))

        async def post(update: dict, secret: str | None, path: str = "tg/hook") -> httpx.Response:
            return await asyncio.to_thread(_post_update, port, path, update, secret)

        no_header = await post(forged_none, None)
        assert no_header.status_code == 403, no_header.text
        wrong = await post(forged_wrong, WEBHOOK_SECRET[:-1] + "x")
        assert wrong.status_code == 403, wrong.text
        elsewhere = await post(forged_wrong, WEBHOOK_SECRET, path="other")
        assert elsewhere.status_code == 404
        not_json = await asyncio.to_thread(
            lambda: httpx.post(
                f"http://127.0.0.1:{port}/tg/hook",
                content=b"{not json",
                headers={SECRET_HEADER: WEBHOOK_SECRET},
                timeout=10,
            )
        )
        assert not_json.status_code == 400
        ok = await post(real, WEBHOOK_SECRET)
        assert ok.status_code == 200, ok.text

        [reply] = await bot.until(
            emu.wait_for_messages(chat, count=1, timeout=REPLY_TIMEOUT), "the reply"
        )
        assert_quote(reply)

        code, took = await bot.stop(signal.SIGTERM)
        assert code == 0, bot.tail()
        assert took < EXIT_TIMEOUT
        # After shutdown every accepted update is processed: still only the one reply.
        assert emu.messages(chat) == [reply]
        assert logged_queries(bot.db_path) == [(QUERY, "message", chat.id)]
        assert_clean_stderr(bot)
        assert "webhook: refused a POST from 127.0.0.1 (no secret token): 403" in bot.stderr
        assert "webhook: refused a POST from 127.0.0.1 (wrong secret): 403" in bot.stderr
        assert [r.summary() for r in emu.requests if not r.ok] == []


BIG = 10 * 1024 * 1024  # announced, never sent


async def _announce_big_body(port: int, secret: str | None) -> tuple[bytes, float]:
    """POST headers announcing a 10 MB body and then only a few bytes of it: the server's
    whole answer (read until it closes the connection) and how long it took."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    secret_line = f"{SECRET_HEADER}: {secret}\r\n" if secret is not None else ""
    head = (
        "POST /tg/hook HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        f"{secret_line}Content-Length: {BIG}\r\n\r\n"
    )
    started = time.monotonic()
    writer.write(head.encode() + b'{"update_id": 1, ')
    await writer.drain()
    try:
        answer = await asyncio.wait_for(reader.read(), timeout=5)  # until EOF: the server closed
    finally:
        writer.close()
    return answer, time.monotonic() - started


async def test_webhook_refuses_big_or_unauthenticated_bodies_before_reading_them(
    start_bot: StartBot,
) -> None:
    # The issue: a 90 MB body without the secret was read into memory before the secret
    # was checked. Now the headers alone decide: 403 (no secret) or 413 (over the 1 MiB
    # cap) comes back while the client has sent a few bytes of the 10 MB it announced,
    # and the server closes the connection rather than wait for the rest.
    port = _free_port()
    async with BotApiEmulator(token=TOKEN, username=BOT_USERNAME) as emu:
        bot = _start_webhook_bot(start_bot, emu, port)
        await bot.until(emu.wait_for(lambda: emu.world.webhook, START_TIMEOUT), "setWebhook")
        await _until_listening(bot, port)

        no_secret, took = await _announce_big_body(port, None)
        assert no_secret.startswith(b"HTTP/1.1 403 "), no_secret[:200]
        assert took < 2.0
        wrong_secret, _ = await _announce_big_body(port, "x" * 25)
        assert wrong_secret.startswith(b"HTTP/1.1 403 "), wrong_secret[:200]
        too_big, took = await _announce_big_body(port, WEBHOOK_SECRET)
        assert too_big.startswith(b"HTTP/1.1 413 "), too_big[:200]
        assert took < 2.0

        li, chat = new_user(emu)
        real = _deliverable(emu, emu.send_text(chat, li, QUERY))
        # The server still serves a real update afterwards.
        ok = await asyncio.to_thread(_post_update, port, "tg/hook", real, WEBHOOK_SECRET)
        assert ok.status_code == 200, ok.text
        [reply] = await bot.until(
            emu.wait_for_messages(chat, count=1, timeout=REPLY_TIMEOUT), "the reply"
        )
        assert_quote(reply)

        code, took = await bot.stop(signal.SIGTERM)
        assert code == 0, bot.tail()
        assert took < EXIT_TIMEOUT
        assert_clean_stderr(bot)
        assert "(Content-Length '10485760'): 413" in bot.stderr


# --------------------------------------------------------------------------- start-up refused


async def test_token_rejected_by_telegram_is_one_redacted_line(start_bot: StartBot) -> None:
    # Well-formed, so it passes the config check; the server says 401 (a revoked token).
    # PTB's InvalidToken message quotes the token; it must not reach the terminal.
    revoked = "7654321098:REVOKED-secret-part-987654321"
    async with BotApiEmulator(token=TOKEN, username=BOT_USERNAME) as emu:
        bot = start_bot(emu, token=revoked)
        code = await bot.wait_exit(START_TIMEOUT)
        assert code == 1, bot.tail()
        out = bot.stderr + bot.stdout
        assert revoked not in out and revoked.split(":", 1)[1] not in out
        assert bot.stderr.strip().splitlines()[-1] == (
            "quotebot: error: Telegram refused to start: "
            "The token `<redacted>` was rejected by the server."
        )
        assert emu.requests == []  # the emulator records only calls with its own token


async def test_http_webhook_refused_by_telegram_is_one_line(start_bot: StartBot) -> None:
    # The config accepts http://127.x (a self-hosted Bot API server in --local mode
    # calls plain-http webhooks); Telegram's cloud API, which the emulator follows,
    # refuses it. That must end in a one-line error, not a traceback.
    port = _free_port()
    async with BotApiEmulator(token=TOKEN, username=BOT_USERNAME) as emu:
        bot = start_bot(
            emu,
            QUOTEBOT_WEBHOOK_URL=f"http://127.0.0.1:{port}/hook",
            QUOTEBOT_WEBHOOK_LISTEN="127.0.0.1",
            QUOTEBOT_WEBHOOK_PORT=str(port),
            QUOTEBOT_WEBHOOK_SECRET=WEBHOOK_SECRET,
        )
        code = await bot.wait_exit(START_TIMEOUT)
        assert code == 1, bot.tail()
        last = bot.stderr.strip().splitlines()[-1]
        assert last.startswith("quotebot: error: Telegram refused to start: ")
        assert "https" in last.lower()
        [set_hook] = emu.requests_for("setWebhook")
        assert set_hook.status == 400
        assert set_hook.params["secret_token"] == WEBHOOK_SECRET
        for secret in (TOKEN, TOKEN_SECRET, WEBHOOK_SECRET):
            assert secret not in bot.stderr + bot.stdout


async def test_unreachable_bot_api_is_retried_one_line_per_attempt_then_stops_on_signal(
    start_bot: StartBot,
) -> None:
    # Nothing listens on this port: every getMe is a refused connection (a NetworkError).
    closed = _free_port()
    async with BotApiEmulator(token=TOKEN, username=BOT_USERNAME) as emu:
        bot = start_bot(emu, TELEGRAM_API_URL=f"http://127.0.0.1:{closed}/bot")
        deadline = time.monotonic() + START_TIMEOUT
        while bot.stderr.count("Bot API unreachable") < 2 and time.monotonic() < deadline:
            await asyncio.sleep(0.2)
        assert bot.proc.poll() is None, bot.tail()  # still waiting, not dead
        attempts = [ln for ln in bot.stderr.splitlines() if "Bot API unreachable" in ln]
        assert len(attempts) >= 2, bot.tail()
        assert "attempt 1:" in attempts[0] and "retrying in 1 s" in attempts[0]
        assert "attempt 2:" in attempts[1] and "retrying in 2 s" in attempts[1]
        bot.proc.send_signal(signal.SIGTERM)
        assert await bot.wait_exit(EXIT_TIMEOUT) == 0, bot.tail()
        assert "Traceback" not in bot.stderr
        for secret in (TOKEN, TOKEN_SECRET):
            assert secret not in bot.stderr + bot.stdout


# --------------------------------------------------------------------------- bad configuration


@pytest.mark.parametrize(
    ("env", "message"),
    [
        (
            {"QUOTEBOT_WEBHOOK_URL": "https://bot.example.com/hook"},
            "QUOTEBOT_WEBHOOK_SECRET must be set with a webhook: 16-256 of A-Z a-z 0-9 _ -",
        ),
        (
            {
                "QUOTEBOT_WEBHOOK_URL": "https://bot.example.com/hook",
                "QUOTEBOT_WEBHOOK_SECRET": "short",
            },
            "QUOTEBOT_WEBHOOK_SECRET must be set with a webhook: 16-256 of A-Z a-z 0-9 _ -",
        ),
        (
            {
                "QUOTEBOT_WEBHOOK_URL": "http://bot.example.com/hook",
                "QUOTEBOT_WEBHOOK_SECRET": WEBHOOK_SECRET,
            },
            "QUOTEBOT_WEBHOOK_URL must be an https:// URL",
        ),
    ],
    ids=["no-secret", "short-secret", "plain-http"],
)
def test_bad_webhook_settings_exit_2_with_one_line(
    env: dict[str, str], message: str, tmp_path: Path
) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "bot", "run"],
        env=_clean_env(TELEGRAM_BOT_TOKEN=TOKEN, **env),
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == [f"quotebot: error: {message}"]
    assert proc.stdout == ""
    assert TOKEN_SECRET not in proc.stderr and WEBHOOK_SECRET not in proc.stderr
