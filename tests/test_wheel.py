"""The built wheel works outside the checkout: data and catalogs ship inside the package.

Builds the wheel (pip, isolated build), installs it with --no-deps into a
fresh virtualenv whose dependencies come from this interpreter's
site-packages (a .pth line: the checkout's editable install is not
activated that way), and runs `quotebot search --json` from an empty folder.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

pytestmark = pytest.mark.timeout(600)


def run(*args: str | Path, cwd: Path, env: dict[str, str] | None = None) -> str:
    done = subprocess.run(
        [str(a) for a in args], cwd=cwd, env=env, capture_output=True, text=True, timeout=500
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def test_wheel_installed_in_a_fresh_venv_answers_a_search(
    tmp_path: Path, engine, shared_cache: Path
) -> None:
    dist = tmp_path / "dist"
    run(sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", dist, ROOT, cwd=tmp_path)
    [wheel] = dist.glob("quotebot-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    assert "bot/data/000_c2cd4d18928321da.txt" in names
    assert "bot/data/aliases.toml" in names and "bot/data/topics.toml" in names
    assert "bot/data/asks.toml" in names
    assert "bot/app/locale/zh/LC_MESSAGES/quotebot.mo" in names
    assert {
        "bot/cards/fonts/NotoSansCJKsc-Regular.subset.otf",
        "bot/cards/fonts/NotoSansCJKsc-Bold.subset.otf",
        "bot/cards/fonts/LICENSE-OFL.txt",
        "bot/cards/fonts/VERSION",
    } <= names

    venv = tmp_path / "venv"
    run(sys.executable, "-m", "venv", "--without-pip", venv, cwd=tmp_path)
    python = venv / "bin" / "python"
    site = Path(
        run(
            python, "-c", "import sysconfig; print(sysconfig.get_path('purelib'))", cwd=tmp_path
        ).strip()
    )
    (site / "deps.pth").write_text(sysconfig.get_path("purelib") + "\n")
    run(
        sys.executable,
        "-m",
        "pip",
        "--python",
        python,
        "install",
        "-q",
        "--no-deps",
        "--force-reinstall",
        wheel,
        cwd=tmp_path,
    )

    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("PYTHONPATH", "VIRTUAL_ENV") and not k.startswith("QUOTEBOT_")
    }
    # The session's cache: the bundled data is the same files, so the index and the
    # meaning vectors are found under the same keys (embedding them again would take a minute).
    env["QUOTEBOT_CACHE_DIR"] = str(shared_cache)
    env["QUOTEBOT_LIBRARY_DIR"] = str(tmp_path / "library")  # never the user's own
    where = run(python, "-c", "import bot; print(bot.__file__)", cwd=elsewhere, env=env)
    assert Path(where.strip()).is_relative_to(venv), where
    out = run(venv / "bin" / "quotebot", "search", "--json", "RLHF", cwd=elsewhere, env=env)
    answer = json.loads(out)
    assert answer["query"] == "RLHF" and answer["results"]
    assert answer["results"][0]["quote"]
    # `quotebot add` from the wheel: the importers ship in it, the library is outside it.
    srt = elsewhere / "show.srt"
    srt.write_text("1\n00:00:01,000 --> 00:00:02,000\nAnn: hello\n", encoding="utf-8")
    assert run(venv / "bin" / "quotebot", "add", srt, cwd=elsewhere, env=env).startswith(
        "added show"
    )
    assert "show  library" in run(
        venv / "bin" / "quotebot", "conversations", cwd=elsewhere, env=env
    )
    run(venv / "bin" / "quotebot", "remove", "show", cwd=elsewhere, env=env)
    card = elsewhere / "card.png"
    run(venv / "bin" / "quotebot", "card", "--out", card, "RLHF", cwd=elsewhere, env=env)
    assert card.read_bytes().startswith(b"\x89PNG")
