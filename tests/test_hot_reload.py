"""Hot reload (issue 17): a running `quotebot run` serves conversations added to or
removed from its library without a restart, while queries keep flowing.

The bot runs as a real subprocess against the local Bot API emulator (see
tests/test_run_process.py); `quotebot add` and `quotebot remove` run beside it
as an operator would. The time from `quotebot add` returning to the first
answer quoting the new conversation is printed (not asserted: no timed assertions).
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.emulator import BotApiEmulator
from tests.test_run_process import (  # noqa: F401 (fixtures)
    BOT_USERNAME,
    QUERY,
    REPLY_TIMEOUT,
    START_TIMEOUT,
    TOKEN,
    StartBot,
    assert_clean_stderr,
    cache_dir,
    new_user,
    start_bot,
)

pytestmark = pytest.mark.timeout(180)
FIXTURES = Path(__file__).parent / "fixtures" / "subtitles"
NEW_PHRASE = "holding on to the rail"  # said by Mira in overlap.vtt
QUOTED = "Even the mayor, yes,"  # the start of the passage that quotes it


async def cli(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    return await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-m", "bot", *args],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


async def test_library_changes_are_served_while_queries_flow(
    start_bot: StartBot,  # noqa: F811 (the fixture imported above)
    cache_dir: Path,  # noqa: F811
    tmp_path: Path,
) -> None:
    library = tmp_path / "library"
    library.mkdir()
    env = {
        "QUOTEBOT_LIBRARY_DIR": str(library),
        "QUOTEBOT_CACHE_DIR": str(cache_dir),
        "QUOTEBOT_SEMANTIC": "off",
    }
    async with BotApiEmulator(token=TOKEN, username=BOT_USERNAME) as emu:
        bot = start_bot(emu, QUOTEBOT_LIBRARY_POLL="1", **env)
        await bot.until(
            emu.wait_for(lambda: emu.requests_for("getUpdates") or None, START_TIMEOUT),
            "the first getUpdates",
        )
        # A steady flow of queries from one user for the whole test.
        flow_user, flow_chat = new_user(emu, "Flow")
        sent = 0
        stop = asyncio.Event()

        async def flow() -> None:
            nonlocal sent
            while not stop.is_set():
                emu.send_text(flow_chat, flow_user, QUERY)
                sent += 1
                await asyncio.sleep(0.1)

        flowing = asyncio.create_task(flow())
        asker, chat = new_user(emu, "Asker")

        async def ask(text: str) -> str:
            [reply] = await bot.until(
                emu.wait_for_messages(chat, count=1, timeout=REPLY_TIMEOUT), f"a reply to {text}"
            )
            return reply.text or ""

        async def ask_until(text: str, wanted: bool, what: str) -> float:
            """Ask until the answer does (or no longer does) quote the new conversation;
            returns when that first happened (time.monotonic())."""
            deadline = time.monotonic() + 60
            while True:
                emu.send_text(chat, asker, text)
                answer = await ask(text)
                if (QUOTED in answer) == wanted:
                    return time.monotonic()
                assert time.monotonic() < deadline, f"never {what}{bot.tail()}"
                await asyncio.sleep(0.2)

        # Before: the phrase is not in any conversation.
        emu.send_text(chat, asker, NEW_PHRASE)
        assert QUOTED not in await ask(NEW_PHRASE)

        menus = len(emu.requests_for("setMyCommands"))
        assert menus and "conversation" not in str(emu.requests_for("setMyCommands")[0].params)
        added = await cli("add", str(FIXTURES / "overlap.vtt"), "--title", "The bridge", env=env)
        assert added.returncode == 0, added.stderr
        done = time.monotonic()
        answered = await ask_until(NEW_PHRASE, True, "answered from the added conversation")
        print(f"\nadd-to-answer: {answered - done:.2f} s (library polled every 1 s)")
        # The command menus follow: /conversation now that there are two.
        await bot.poll_until(
            lambda: len(emu.requests_for("setMyCommands")) > menus, 30, "new command menus"
        )
        latest = emu.requests_for("setMyCommands")[-1].params["commands"]
        assert "conversation" in str(latest)

        # A broken file in the library: logged, and the bot goes on with what it has.
        (library / "broken.txt").write_text("发言人1 00:00:01\nhello\n", encoding="utf-8")
        (library / "broken.toml").write_text("id = \n", encoding="utf-8")
        await bot.poll_until(
            lambda: "could not be loaded; still serving" in bot.stderr, 30, "the broken-file line"
        )
        emu.send_text(chat, asker, NEW_PHRASE)
        assert QUOTED in await ask(NEW_PHRASE)
        (library / "broken.toml").unlink()
        (library / "broken.txt").unlink()

        removed = await cli("remove", "overlap", env=env)
        assert removed.returncode == 0, removed.stderr
        await ask_until(NEW_PHRASE, False, "stopped quoting the removed conversation")

        stop.set()
        await flowing
        # Every query of the flow was answered: nothing failed, nothing hung.
        await bot.until(
            emu.wait_for_messages(flow_chat, count=sent, timeout=REPLY_TIMEOUT),
            f"all {sent} answers of the flow",
        )
        flow_answers = emu.messages(flow_chat)
        assert len(flow_answers) == sent
        assert all("RLHF" in (m.text or "") for m in flow_answers)
        assert bot.proc.poll() is None
    assert_clean_stderr(bot)
    reloads = [ln for ln in bot.stderr.splitlines() if "library changed" in ln]
    print(f"{sent} flow queries answered; " + "; ".join(ln[24:] for ln in reloads))
    assert sum("library changed: now" in ln for ln in reloads) >= 2


def test_console_serves_an_added_conversation(cache_dir: Path, tmp_path: Path) -> None:  # noqa: F811
    """`quotebot console` reloads too: the same query, before and after `quotebot add`."""
    env = {
        "QUOTEBOT_LIBRARY_DIR": str(tmp_path / "library"),
        "QUOTEBOT_CACHE_DIR": str(cache_dir),
        "QUOTEBOT_SEMANTIC": "off",
        "QUOTEBOT_LIBRARY_POLL": "1",
        "QUOTEBOT_DB": str(tmp_path / "console.db"),
    }
    out_path = tmp_path / "console.out"
    with out_path.open("w") as out, (tmp_path / "console.err").open("w") as err:
        console = subprocess.Popen(
            [sys.executable, "-m", "bot", "console", "--lang", "en"],
            stdin=subprocess.PIPE,
            stdout=out,
            stderr=err,
            text=True,
            env={**os.environ, **env},
            cwd=tmp_path,
        )
    assert console.stdin is not None

    def ask_and_wait(seen: int) -> str:
        """Send the query; the console's new output once it has answered."""
        console.stdin.write(NEW_PHRASE + "\n")
        console.stdin.flush()
        deadline = time.monotonic() + 60
        while "holding on to the rail" not in (new := out_path.read_text()[seen:]):
            assert console.poll() is None and time.monotonic() < deadline, new
            time.sleep(0.05)
        time.sleep(0.2)  # the rest of the answer's lines
        return out_path.read_text()[seen:]

    try:
        first = ask_and_wait(0)
        assert "couldn't find anything" in first and QUOTED not in first
        added = subprocess.run(
            [sys.executable, "-m", "bot", "add", str(FIXTURES / "overlap.vtt")],
            env={**os.environ, **env},
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert added.returncode == 0, added.stderr
        deadline = time.monotonic() + 60
        while QUOTED not in (answer := ask_and_wait(len(out_path.read_text()))):
            assert time.monotonic() < deadline, answer
            time.sleep(0.5)
        assert "— Mira · 00:00:08" in answer
    finally:
        console.stdin.close()
        console.wait(timeout=30)
    assert console.returncode == 0
    assert "library changed: now 2 conversation(s)" in (tmp_path / "console.err").read_text()
