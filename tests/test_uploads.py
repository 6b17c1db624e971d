"""Subtitles sent to the bot in a private chat (issue 17), through the emulator.

An administrator's file is imported (the reply is the summary line) and served
without a restart; a stranger's gets the usual text-only answer and nothing is
stored; an oversized file is refused before it is downloaded; a file that is
not subtitles gets its one-line error.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from tests.emulator import BotApiEmulator
from tests.test_run_process import (  # noqa: F401 (fixtures)
    BOT_USERNAME,
    REPLY_TIMEOUT,
    START_TIMEOUT,
    TOKEN,
    StartBot,
    assert_clean_stderr,
    cache_dir,
    start_bot,
)

pytestmark = pytest.mark.timeout(180)
FIXTURES = Path(__file__).parent / "fixtures" / "subtitles"


async def test_uploads_by_admin_and_stranger(
    start_bot: StartBot,  # noqa: F811 (the fixture imported above)
    cache_dir: Path,  # noqa: F811
    tmp_path: Path,
) -> None:
    library = tmp_path / "library"
    async with BotApiEmulator(token=TOKEN, username=BOT_USERNAME) as emu:
        admin = emu.add_user("Ops", language_code="en")
        stranger = emu.add_user("Li", language_code="zh-hans")
        admin_chat, stranger_chat = emu.private_chat(admin), emu.private_chat(stranger)
        bot = start_bot(
            emu,
            QUOTEBOT_ADMIN_IDS=str(admin.id),
            QUOTEBOT_LIBRARY_DIR=str(library),
            QUOTEBOT_LIBRARY_POLL="1",
            QUOTEBOT_SEMANTIC="off",
        )
        await bot.until(
            emu.wait_for(lambda: emu.requests_for("getUpdates") or None, START_TIMEOUT),
            "the first getUpdates",
        )

        async def reply(chat) -> str:
            [message] = await bot.until(
                emu.wait_for_messages(chat, count=1, timeout=REPLY_TIMEOUT), "a reply"
            )
            return message.text or ""

        vtt = (FIXTURES / "overlap.vtt").read_bytes()
        # A stranger: the usual answer to anything but text, and nothing stored.
        emu.send_sticker(stranger_chat, stranger)
        usual = await reply(stranger_chat)
        emu.send_document(stranger_chat, stranger, "overlap.vtt", vtt, mime_type="text/vtt")
        assert await reply(stranger_chat) == usual
        assert not library.exists() or not any(library.iterdir())
        assert emu.requests_for("getFile") == []

        # Too big: refused by its announced size, never downloaded.
        emu.send_document(admin_chat, admin, "season.vtt", b"WEBVTT\n", file_size=30_000_000)
        assert await reply(admin_chat) == "season.vtt: too big (30.0 MB; at most 5 MB)"
        assert emu.requests_for("getFile") == []
        # Not subtitles: by its name, then by its content.
        emu.send_document(admin_chat, admin, "notes.pdf", b"%PDF-1.4\n")
        assert await reply(admin_chat) == (
            "notes.pdf: not a subtitle file (send a .vtt, .srt, .json or .txt file)"
        )
        emu.send_document(admin_chat, admin, "notes.srt", b"Dear diary, today I went out.\n")
        assert await reply(admin_chat) == (
            "notes.srt:1: not a subtitle file (expected WebVTT (.vtt), SRT (.srt), "
            "JSON segments (.json) or the seed format (.txt))"
        )
        assert not library.exists() or not any(library.iterdir())

        # The administrator's file: imported, the summary line, served without a restart.
        emu.send_document(admin_chat, admin, "overlap.vtt", vtt, caption="The bridge")
        summary = await reply(admin_chat)
        assert summary.startswith(
            "added overlap: The bridge (WebVTT, 6 turns, 00:00:19, speakers: Mira, Tom): "
            "8 cues, 67 words, 0 duplicates removed, 4 overlaps; in "
        ), summary
        assert (library / "overlap.toml").is_file()
        sent = time.monotonic()
        while True:
            emu.send_text(stranger_chat, stranger, "holding on to the rail")
            if "Even the mayor, yes," in await reply(stranger_chat):
                break
            assert time.monotonic() - sent < 60, "the upload was never served" + bot.tail()
        # Sent again: the id is taken, one line says so.
        emu.send_document(admin_chat, admin, "overlap.vtt", vtt)
        again = await reply(admin_chat)
        assert again.startswith("id 'overlap' is already in the library"), again
    assert_clean_stderr(bot)
