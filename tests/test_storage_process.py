"""Storage faults at start, and one process per database, as an operator meets them.

`quotebot run` and `quotebot console` as subprocesses on a QUOTEBOT_DB that is
corrupt, garbage, from a newer quotebot, in a read-only folder, or below a file,
or already used by a running bot: one line naming QUOTEBOT_DB, exit code 2, no
traceback, and the process ends (a subprocess timeout is the hang detector).
"""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.emulator import BotApiEmulator
from tests.test_run_process import (  # noqa: F401  (fixtures)
    BOT_USERNAME,
    START_TIMEOUT,
    TOKEN,
    StartBot,
    _clean_env,
    cache_dir,
    start_bot,
)

pytestmark = pytest.mark.timeout(120)

COMMANDS = ["run", "console"]


def _run(
    command: str, db: Path, cwd: Path, cache: Path, timeout: float = 60
) -> subprocess.CompletedProcess:
    env = _clean_env(
        TELEGRAM_BOT_TOKEN=TOKEN,
        TELEGRAM_API_URL="http://127.0.0.1:9/bot",  # never reached: the database is checked first
        QUOTEBOT_DB=str(db),
        QUOTEBOT_CACHE_DIR=str(cache),
        QUOTEBOT_SEMANTIC="off",
    )
    return subprocess.run(
        [sys.executable, "-m", "bot", command],
        env=env,
        cwd=cwd,
        input="RLHF\n",
        capture_output=True,
        text=True,
        timeout=timeout,  # a hang (aiosqlite's thread left running) fails here
    )


def _schema(db: Path) -> None:
    """A real quotebot database, with enough rows to span many pages."""
    from bot.storage.migrations import MIGRATIONS

    with sqlite3.connect(db) as conn:
        for number, script in enumerate(MIGRATIONS, start=1):
            conn.executescript(script)
            conn.execute(f"PRAGMA user_version = {number}")
        conn.executemany(
            "INSERT INTO queries (ts, kind, query, n_results, latency_ms) VALUES (1, 'm', ?, 0, 1)",
            [("x" * 500,)] * 2000,
        )
    conn.close()


def corrupt(folder: Path) -> Path:
    db = folder / "corrupt.db"
    _schema(db)
    data = bytearray(db.read_bytes())
    for offset in range(4096, len(data), 4096):  # every page but the first (the header)
        data[offset : offset + 4096] = os.urandom(4096)
    db.write_bytes(bytes(data))
    return db


def garbage(folder: Path) -> Path:
    db = folder / "garbage.db"
    db.write_bytes(os.urandom(20_000))
    return db


def newer(folder: Path) -> Path:
    db = folder / "newer.db"
    _schema(db)
    with sqlite3.connect(db) as conn:
        conn.execute("PRAGMA user_version = 99")
    conn.close()
    return db


def below_a_file(folder: Path) -> Path:
    (folder / "afile").write_text("not a folder")
    return folder / "afile" / "quotebot.db"


def read_only_folder(folder: Path) -> Path:
    if os.geteuid() == 0:
        pytest.skip("running as root: permissions do not make a folder read-only for root")
    ro = folder / "ro"
    ro.mkdir()
    ro.chmod(0o555)
    return ro / "quotebot.db"


FAULTS: dict[str, tuple[Callable[[Path], Path], str]] = {
    "corrupt": (corrupt, "is corrupt"),
    "garbage": (garbage, "is not a SQLite database"),
    "newer-schema": (newer, "has schema v99, newer than this quotebot"),
    "below-a-file": (below_a_file, "is a file, not a folder"),
    "read-only-folder": (read_only_folder, "not writable"),
}


@pytest.mark.parametrize("command", COMMANDS)
@pytest.mark.parametrize("fault", list(FAULTS))
def test_unusable_database_is_one_line_naming_quotebot_db_and_exit_2(
    fault: str, command: str, tmp_path: Path, shared_cache: Path
) -> None:
    make, message = FAULTS[fault]
    db = make(tmp_path)
    proc = _run(command, db, tmp_path, shared_cache)
    lines = proc.stderr.strip().splitlines()
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith(f"quotebot: error: QUOTEBOT_DB ({db}) ")
    assert message in lines[0]
    assert proc.stdout == ""


async def test_second_bot_on_the_same_database_refuses_to_start(
    start_bot: StartBot,  # noqa: F811
    tmp_path: Path,
    cache_dir: Path,  # noqa: F811
) -> None:
    async with BotApiEmulator(token=TOKEN, username=BOT_USERNAME) as emu:
        first = start_bot(emu)
        await first.until(
            emu.wait_for(lambda: emu.requests_for("getUpdates") or None, START_TIMEOUT),
            "the first getUpdates",
        )
        for command in COMMANDS:
            proc = _run(command, first.db_path, tmp_path, cache_dir)
            assert proc.returncode == 2, proc.stderr
            assert proc.stderr.strip().splitlines() == [
                f"quotebot: error: QUOTEBOT_DB ({first.db_path}) is in use by another "
                f"quotebot (pid {first.proc.pid}); one process per database"
            ]
        assert first.proc.poll() is None  # the first one goes on
        first.kill()
        # The lock dies with its process (even a SIGKILL): the next start is allowed.
        proc = _run("console", first.db_path, tmp_path, cache_dir)
        assert proc.returncode == 0, proc.stderr


def test_console_answers_and_logs_any_text_then_exits(tmp_path: Path, shared_cache: Path) -> None:
    """`printf 'RLHF\\n\\xff\\n人类反馈强化学习\\n' | quotebot console`, and NUL, RTL marks, 4,096 characters."""
    db = tmp_path / "quotebot.db"
    lines = [
        b"RLHF",
        b"\xff",  # not UTF-8: reaches Python as a lone surrogate
        "人类反馈强化学习".encode(),
        b"RLHF\x00GPT",
        "\u202eRLHF\u202c \u200f意识".encode(),
        ("人" * 4096).encode(),
        b"GPT-4",
    ]
    proc = subprocess.run(
        [sys.executable, "-m", "bot", "console"],
        env=_clean_env(
            QUOTEBOT_DB=str(db), QUOTEBOT_CACHE_DIR=str(shared_cache), QUOTEBOT_SEMANTIC="off"
        ),
        cwd=tmp_path,
        input=b"\n".join(lines) + b"\n",
        capture_output=True,
        timeout=60,  # it used to hang at exit
    )
    err = proc.stderr.decode("utf-8", "replace")
    assert proc.returncode == 0, err
    assert "Traceback" not in err and "ERROR" not in err
    with sqlite3.connect(db) as conn:
        logged = [q for (q,) in conn.execute("SELECT query FROM queries ORDER BY id")]
    conn.close()
    assert logged == [
        "RLHF",
        "\ufffd",
        "人类反馈强化学习",
        "RLHF\x00GPT",
        "\u202eRLHF\u202c \u200f意识",
        "人" * 4096,
        "GPT-4",
    ]
    out = proc.stdout.decode("utf-8", "replace")
    assert out.count("RLHF") >= 2 and "GPT-4" in out
