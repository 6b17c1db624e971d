"""The index cache on disk: no pickles, validated on load, replaced when unreadable."""

from __future__ import annotations

import logging
import pickle
from pathlib import Path

import numpy as np
import pytest
from bot.data import DATA_DIR

from bot.search.index import build as cache
from bot.search.index.build import load_or_build
from tests.test_catalogue_cache import same_index


class Exploit:
    """Unpickling this creates a file: proof that a pickle from the cache was loaded."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (Path.touch, (self.marker,))


def cache_folder(cache_dir: Path) -> Path:
    [folder] = [p for p in cache_dir.iterdir() if p.name.startswith("index-")]
    return folder


def rebuilds(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if "rebuilding" in r.getMessage()]


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    cache_dir = tmp_path_factory.mktemp("cache")
    load_or_build(DATA_DIR, cache_dir)
    return cache_dir


@pytest.fixture
def cache_dir(built: Path, tmp_path: Path) -> Path:
    import shutil

    target = tmp_path / "cache"
    shutil.copytree(built, target)
    return target


def test_cache_round_trip_holds_no_pickle(
    cache_dir: Path, caplog: pytest.LogCaptureFixture
) -> None:
    folder = cache_folder(cache_dir)
    names = sorted(p.name for p in folder.iterdir())
    assert "index.json" in names and not [n for n in names if n.endswith(".pkl")]
    for npy in folder.glob("*.npy"):
        np.load(npy, allow_pickle=False)  # plain arrays only
    loaded = load_or_build(DATA_DIR, cache_dir)
    assert rebuilds(caplog) == []
    rebuilt = cache._build(
        DATA_DIR, Path("/dev/null/x"), loaded.key, loaded.aliases, cache._stopwords(DATA_DIR)
    )
    assert same_index(loaded, rebuilt)


@pytest.mark.parametrize(
    "victim", ["largest", "index.json", "index.docs.npy", "table.at.npy", "words.dict"]
)
def test_truncated_cache_file_is_rebuilt_once_and_then_used(
    cache_dir: Path, caplog: pytest.LogCaptureFixture, victim: str
) -> None:
    caplog.set_level(logging.WARNING, logger="bot.search.index.build")
    folder = cache_folder(cache_dir)
    path = max(folder.iterdir(), key=lambda p: p.stat().st_size)
    path = path if victim == "largest" else folder / victim
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    first = load_or_build(DATA_DIR, cache_dir)
    assert len(rebuilds(caplog)) == 1
    second = load_or_build(DATA_DIR, cache_dir)
    assert len(rebuilds(caplog)) == 1, "the rebuilt cache was not written back"
    assert same_index(first, second)
    # No leftovers: the index folder and the conversation's part, nothing half-written.
    assert sorted(p.name for p in cache_dir.iterdir()) == [cache_folder(cache_dir).name, "parts"]
    assert [p.name.startswith("part-") for p in (cache_dir / "parts").iterdir()] == [True]


def test_garbage_and_wrong_dtype_are_rebuilt(
    cache_dir: Path, caplog: pytest.LogCaptureFixture
) -> None:
    folder = cache_folder(cache_dir)
    (folder / "index.json").write_text('{"format": "7", "garbage": true}')
    load_or_build(DATA_DIR, cache_dir)
    assert len(rebuilds(caplog)) == 1
    load_or_build(DATA_DIR, cache_dir)
    assert len(rebuilds(caplog)) == 1


def test_malicious_pickles_in_the_cache_are_never_loaded(
    cache_dir: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    folder = cache_folder(cache_dir)
    marker = tmp_path / "pwned"
    payload = pickle.dumps(Exploit(marker))
    # The old format's file name, and an object array where a plain one belongs.
    (folder / "index.pkl").write_bytes(payload)
    np.save(folder / "index.idf.npy", np.array([Exploit(marker)], dtype=object), allow_pickle=True)
    loaded = load_or_build(DATA_DIR, cache_dir)
    assert not marker.exists(), "a pickle from the cache was executed"
    assert len(rebuilds(caplog)) == 1
    assert loaded.index.idf.dtype == np.float32
    assert not (cache_folder(cache_dir) / "index.pkl").exists()  # the folder was replaced
    load_or_build(DATA_DIR, cache_dir)
    assert not marker.exists() and len(rebuilds(caplog)) == 1
