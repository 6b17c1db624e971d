"""A catalogue's index, built per conversation (issue 12): adding one conversation
segments that one, a first build shares the work out over processes, and both
give exactly the index a single build from scratch gives. Also the two
structures that let a big index open fast: text columns and the hashed
vocabulary; and the meaning vectors, cached per conversation."""

from __future__ import annotations

import logging
import pickle
import re
from pathlib import Path

import numpy as np
import pytest
from bot.data import DATA_DIR

from bot.search.index import build as cache
from bot.search.index import inverted as index_module
from bot.search.index import shards as parts
from bot.search.index.build import load_or_build
from bot.search.index.columns import TextColumn
from bot.search.index.inverted import TermCounts, Vocabulary, assemble, build_index
from bot.search.meaning.models import Embedder
from bot.search.meaning.vectors import load_or_build_meaning
from bot.search.transcripts.conversation import format_hms

pytestmark = pytest.mark.timeout(120)

WORDS = ["蜜蜂", "薰衣草", "蜂箱", "花粉", "冬天", "蜂王", "山谷", "雨季", "果园", "养蜂人"]


def write_conversation(folder: Path, n: int, turns: int = 6) -> str:
    """A small seed-format conversation with words of its own (different for each n)."""
    folder.mkdir(parents=True, exist_ok=True)
    lines = []
    for t in range(turns):
        a, b = WORDS[(n + t) % len(WORDS)], WORDS[(n * 3 + t + 1) % len(WORDS)]
        lines += [
            f"发言人{1 + t % 2} {format_hms(30 * t)}",
            f"第{n}场第{t}段：我们聊到{a}和{b}，还有编号{n}{t}的故事，这是一句完整的话。",
            "",
        ]
    (folder / f"s{n:03d}.txt").write_text("\n".join(lines), encoding="utf-8")
    (folder / f"s{n:03d}.toml").write_text(
        f'id = "s{n}"\ntitle = "Show {n}"\ntitle_zh = "节目 {n}"\nlanguage = "zh-Hans"\n'
        'video_url = ""\n\n[speakers.1]\nname = "A"\nname_zh = "甲"\n\n'
        '[speakers.2]\nname = "B"\nname_zh = "乙"\n',
        encoding="utf-8",
    )
    return f"s{n}"


def same_index(a: cache.IndexFiles, b: cache.IndexFiles) -> bool:
    return (
        a.table.texts == b.table.texts
        and a.table.compact == b.table.compact
        and a.index.vocabulary == b.index.vocabulary
        and np.array_equal(a.index.offsets, b.index.offsets)
        and np.array_equal(a.index.docs, b.index.docs)
        and np.array_equal(a.index.impacts, b.index.impacts)
        and np.array_equal(a.table.at, b.table.at)
        and np.array_equal(a.table.conversation, b.table.conversation)
        and a.conversations == b.conversations
    )


def built_counts(caplog: pytest.LogCaptureFixture) -> list[tuple[int, int]]:
    """(segmented, from the cache) of each build logged."""
    found = []
    for record in caplog.records:
        m = re.search(r"\((\d+) segmented, (\d+) from the cache\)", record.getMessage())
        if m:
            found.append((int(m.group(1)), int(m.group(2))))
    return found


def test_text_column_holds_any_text_and_survives_concat_and_pickle() -> None:
    strings = ["", "RLHF是什么", "a\nb", "🙂 emoji", "x" * 1000, "末尾"]
    column = TextColumn.from_strings(strings)
    assert list(column) == strings and len(column) == len(strings)
    assert column[1] == "RLHF是什么" and column[-1] == "末尾" and column[1:3] == strings[1:3]
    with pytest.raises(IndexError):
        column[len(strings)]
    both = TextColumn.concat([column, TextColumn.from_strings(["再来"]), column])
    assert list(both) == [*strings, "再来", *strings]
    assert pickle.loads(pickle.dumps(both)) == both
    # Saved as a uint8 array and read back (as the cache does, memory-mapped or not).
    again = TextColumn(np.array(column.data), column.offsets.copy())
    assert again == column
    with pytest.raises(ValueError):
        TextColumn(b"abc", np.array([0, 2, 5]))  # past the end


def test_vocabulary_finds_every_term_and_never_answers_for_a_colliding_one(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    terms = ["蜜蜂", "\x01蜜蜂", "gpt-4", "rlhf", "薰衣草"]
    vocabulary = build_index([(terms[:1] + terms[2:], terms[1:2])]).vocabulary
    ids = [vocabulary.get(t) for t in terms]
    assert sorted(ids) == list(range(len(terms)))  # every term found, each with its own id
    assert [vocabulary.terms[i] for i in ids] == terms
    assert vocabulary.get("不存在") is None and vocabulary.get("") is None
    # Two terms given the same hash: the lookup compares the text and keeps looking.
    forced = Vocabulary(
        TextColumn.from_strings(["甲", "乙"]),
        np.array([7, 7], dtype=np.uint64),
        np.array([0, 1], dtype=np.int32),
    )
    monkeypatch.setattr(index_module, "term_hash", lambda term: 7)  # everything collides
    assert forced.get("甲") == 0 and forced.get("乙") == 1 and forced.get("丙") is None


def test_assembled_parts_give_the_index_one_build_gives() -> None:
    docs = [(["蜜蜂", "花粉"], ["\x01蜜蜂"]), (["蜂箱"], []), (["蜜蜂", "蜜蜂"], ["\x01花粉"])]
    whole = build_index(docs)
    split = assemble([TermCounts.count(docs[:1]), TermCounts.count(docs[1:])])
    assert whole.vocabulary == split.vocabulary
    for name in ("offsets", "docs", "impacts", "idf"):
        assert np.array_equal(getattr(whole, name), getattr(split, name)), name


def test_adding_a_conversation_segments_only_that_one(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    caplog.set_level(logging.INFO, logger="bot.search.index.build")
    library, cache_dir = tmp_path / "library", tmp_path / "cache"
    for n in range(2):
        write_conversation(library, n)
    segmented: list[str] = []
    real = cache.segment

    def counting(conv, *tools):
        segmented.append(conv.id)
        return real(conv, *tools)

    monkeypatch.setattr(cache, "segment", counting)
    load_or_build(DATA_DIR, cache_dir, library, workers=1)
    assert sorted(segmented) == ["l367", "s0", "s1"]
    new = write_conversation(library, 2)
    segmented.clear()
    grown = load_or_build(DATA_DIR, cache_dir, library, workers=1)
    assert segmented == [new]
    assert built_counts(caplog)[-1] == (1, 3)
    assert [c.id for c in grown.conversations] == ["l367", "s0", "s1", "s2"]
    # Exactly the index a build from scratch makes.
    scratch = load_or_build(DATA_DIR, tmp_path / "scratch", library, workers=1)
    assert same_index(grown, scratch)
    # The new conversation's own words find it.
    from bot.search.engine import QuoteEngine

    engine = QuoteEngine.from_files(grown)
    [best, *_] = engine.search("编号23的故事", 3)
    assert best.passage.conversation == "s2"


def test_a_first_build_on_several_processes_equals_a_build_on_one(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="bot.search.index.build")
    library = tmp_path / "library"
    for n in range(5):
        write_conversation(library, n)
    progress: list[tuple[int, int]] = []
    parallel = load_or_build(
        DATA_DIR, tmp_path / "a", library, progress=lambda d, t: progress.append((d, t)), workers=2
    )
    assert progress[-1] == (6, 6) and [d for d, _ in progress] == sorted(d for d, _ in progress)
    single = load_or_build(DATA_DIR, tmp_path / "b", library, workers=1)
    assert same_index(parallel, single)
    assert built_counts(caplog) == [(6, 0), (6, 0)]
    # The workers cached their parts: a changed alias-free restart needs none segmented.
    (tmp_path / "a").joinpath("index-" + parallel.key).rename(tmp_path / "moved")
    load_or_build(DATA_DIR, tmp_path / "a", library, workers=2)
    assert built_counts(caplog)[-1] == (0, 6)


def test_a_damaged_part_is_segmented_again(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="bot.search.index.build")
    library, cache_dir = tmp_path / "library", tmp_path / "cache"
    write_conversation(library, 0)
    first = load_or_build(DATA_DIR, cache_dir, library, workers=1)
    victim = max(
        (p for p in (cache_dir / "parts").rglob("*.npy") if "texts" in p.name),
        key=lambda p: p.stat().st_size,
    )
    victim.write_bytes(victim.read_bytes()[:-7])
    # A new conversation forces the index to be assembled again, reading every part.
    write_conversation(library, 1)
    second = load_or_build(DATA_DIR, cache_dir, library, workers=1)
    assert built_counts(caplog)[-1] == (2, 1)
    assert any("unreadable" in r.getMessage() for r in caplog.records)
    assert second.table.texts[: len(first.table)] == list(first.table.texts)


class _CountingModel:
    """Deterministic vectors from the text's hash; remembers what it embedded."""

    dim = 8

    def __init__(self) -> None:
        self.embedded: list[str] = []

    def _vectors(self, texts: list[str]) -> np.ndarray:
        rows = [np.random.default_rng(abs(hash(t)) % 2**32).normal(size=self.dim) for t in texts]
        return np.array(rows, dtype=np.float32).reshape(len(texts), self.dim)

    def query(self, texts: list[str]) -> np.ndarray:
        return self._vectors(texts)

    def passage(self, texts: list[str]) -> np.ndarray:
        self.embedded += texts
        return self._vectors(texts)

    def close(self) -> None:
        pass


def test_meaning_vectors_are_embedded_once_per_conversation(tmp_path: Path) -> None:
    library, cache_dir = tmp_path / "library", tmp_path / "cache"
    write_conversation(library, 0)
    model = _CountingModel()
    embedder = Embedder(model, "counting-1")
    small = load_or_build(DATA_DIR, cache_dir, library, workers=1).table
    first = load_or_build_meaning(embedder, small, cache_dir)
    assert len(model.embedded) == 2 * len(small)  # alone and with neighbours
    write_conversation(library, 1)
    grown = load_or_build(DATA_DIR, cache_dir, library, workers=1).table
    model.embedded.clear()
    second = load_or_build_meaning(embedder, grown, cache_dir)
    added = int((grown.conversation == 2).sum())
    assert len(model.embedded) == 2 * added  # only the new conversation's passages
    assert np.array_equal(second.vectors.passages[: len(small)], first.vectors.passages)
    assert second.vectors.passages.shape == (len(grown), 8)
    model.embedded.clear()
    load_or_build_meaning(embedder, grown, cache_dir)
    assert model.embedded == []


def test_part_rejects_a_part_written_for_other_data(tmp_path: Path) -> None:
    library = tmp_path / "library"
    write_conversation(library, 0)
    load_or_build(DATA_DIR, tmp_path / "cache", library, workers=1)
    folder = next((tmp_path / "cache" / "parts").iterdir())
    key = folder.name.removeprefix("part-")
    assert parts.read_part(folder, key).conversation.id in {"l367", "s0"}
    with pytest.raises(parts.CacheError):
        parts.read_part(folder, "0" * 20)


def test_a_build_deletes_what_nobody_used_for_a_week_and_keeps_the_rest(tmp_path: Path) -> None:
    import os
    import time

    library, cache_dir = tmp_path / "library", tmp_path / "cache"
    write_conversation(library, 0)
    first = load_or_build(DATA_DIR, cache_dir, library, workers=1)
    old_index = cache_dir / f"index-{first.key}"
    (library / "s000.txt").unlink()
    (library / "s000.toml").unlink()
    write_conversation(library, 1)
    long_ago = time.time() - 8 * 86400
    vectors = cache_dir / "vectors-x" / "conv-y.npy"
    vectors.parent.mkdir()
    vectors.write_bytes(b"old")
    # What a process killed while writing leaves behind.
    half_written = [cache_dir / ".building-x", cache_dir / "parts" / ".building-y"]
    for folder in half_written:
        folder.mkdir()
    stale_vectors = cache_dir / "vectors-x" / ".vectors-z.npy"
    stale_vectors.write_bytes(b"half")
    for path in (
        old_index,
        vectors,
        stale_vectors,
        *(cache_dir / "parts").iterdir(),
        *half_written,
    ):
        os.utime(path, (long_ago, long_ago))
    second = load_or_build(DATA_DIR, cache_dir, library, workers=1)
    assert not old_index.exists() and not vectors.exists()
    assert not stale_vectors.exists() and not any(p.exists() for p in half_written)
    assert (cache_dir / f"index-{second.key}").is_dir()
    # The bundled conversation's part was used by this build (touched), s0's was not.
    remaining = {
        parts.read_part(p, p.name.removeprefix("part-")).conversation.id
        for p in (cache_dir / "parts").iterdir()
    }
    assert remaining == {"l367", "s1"}
    assert load_or_build(DATA_DIR, cache_dir, library, workers=1).key == second.key


@pytest.mark.parametrize("workers", [1, 2])
def test_parts_that_cannot_be_cached_cost_one_warning_and_no_answer(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, workers: int
) -> None:
    caplog.set_level(logging.WARNING, logger="bot.search.index.build")
    library, cache_dir = tmp_path / "library", tmp_path / "cache"
    for n in range(4):
        write_conversation(library, n)
    cache_dir.mkdir()
    (cache_dir / "parts").write_text("a file where the parts folder belongs")
    files = load_or_build(DATA_DIR, cache_dir, library, workers=workers)
    assert len(files.conversations) == 5
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1 and "could not cache 5 of 5" in warnings[0], warnings
    assert (cache_dir / f"index-{files.key}").is_dir()  # the index itself was written


def _children(pid: int) -> set[int]:
    """Processes whose parent is `pid` (Linux /proc)."""
    found = set()
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            found.add(int(stat.parent.name))
    return found


@pytest.mark.parametrize("signal_name", ["SIGTERM", "SIGKILL"])
def test_workers_leave_when_a_build_is_stopped(tmp_path: Path, signal_name: str) -> None:
    """A process stopped mid-build cannot shut its worker pool down; the workers notice
    their parent is gone and exit instead of waiting for work forever."""
    import os
    import signal
    import subprocess
    import sys
    import time

    library = tmp_path / "library"
    for n in range(12):
        write_conversation(library, n, turns=300)
    script = (
        "from pathlib import Path\n"
        "from bot.data import DATA_DIR\n"
        "from bot.search.index.build import load_or_build\n"
        "if __name__ == '__main__':\n"
        f"    load_or_build(DATA_DIR, Path({str(tmp_path / 'cache')!r}), Path({str(library)!r}), workers=2)\n"
    )
    (tmp_path / "build.py").write_text(script)
    proc = subprocess.Popen([sys.executable, str(tmp_path / "build.py")])
    workers: set[int] = set()
    deadline = time.monotonic() + 30
    while len(workers) < 2 and time.monotonic() < deadline:
        workers = {c for c in _children(proc.pid) if b"spawn_main" in _cmdline(c)}
        time.sleep(0.1)
    assert len(workers) == 2, "the build never started its workers"
    os.kill(proc.pid, getattr(signal, signal_name))
    proc.wait(10)
    deadline = time.monotonic() + 10
    while any(_running(w) for w in workers) and time.monotonic() < deadline:
        time.sleep(0.1)
    alive = [w for w in workers if _running(w)]
    assert not alive, f"workers {alive} outlived their parent"


def _running(pid: int) -> bool:
    """Alive and not a zombie (an exited orphan its new parent has not reaped yet)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def _cmdline(pid: int) -> bytes:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return b""
