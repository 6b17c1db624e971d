"""Search speed and memory at the seed's size and at 100x / 500x, with a naive baseline.

    python bench/search_bench.py                 # seed, 100x, 500x (500x builds for minutes)
    python bench/search_bench.py --scales 1,100  # quicker

Each scale is served twice: by words alone, and with the meaning layer (the
seed's real vectors; tiled to the catalogue's size for synthetic catalogues).

For each scale it builds a synthetic catalogue (the seed's turns reshuffled
into many conversations), builds the index into a fresh cache (timed), then
in a fresh process loads the index from the cache (the restart time), runs
every query of tests/eval/queries.toml several times and reports p50/p99
latency and resident memory. Two baselines are measured in the same
process and run: rapidfuzz `process.extract` over all passages, and a bm25s
(BM25) index over the same passages tokenised as the engine tokenises them
(the engine's own segmenter: jieba words plus Han bigrams of the folded
text); a bm25s query is timed as tokenise + retrieve top 3, as the engine's
search is. Finally it times a cold `quotebot search` process on the seed,
and prints a summary table of the latencies.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.data import DATA_DIR as DEFAULT_DATA_DIR  # noqa: E402
from figures import QUERY_SETS, p50_p99, rss_mb  # noqa: E402

from bot.search.transcripts.conversation import format_hms, load_conversation  # noqa: E402

SEED = DEFAULT_DATA_DIR / "000_c2cd4d18928321da.txt"
# The seed's meaning vectors, embedded once and kept between runs (tens of seconds to make).
SEED_CACHE = Path(os.environ.get("QUOTEBOT_CACHE_DIR") or Path.home() / ".cache" / "quotebot")


def make_catalogue(scale: int, folder: Path) -> None:
    """`scale` conversations, each the seed's turns in a different order."""
    seed = load_conversation(SEED)
    meta = SEED.with_suffix(".toml").read_text(encoding="utf-8")
    turns = seed.turns
    durations = [
        max(1, (turns[i + 1].start if i + 1 < len(turns) else t.start + 30) - t.start)
        for i, t in enumerate(turns)
    ]
    for k in range(scale):
        order = list(range(len(turns)))
        random.Random(k).shuffle(order)
        clock, lines = 0, []
        for i in order:
            lines.append(f"发言人{turns[i].speaker} {format_hms(clock)}")
            lines.append(turns[i].text)
            lines.append("")
            clock += durations[i]
        (folder / f"c{k:05d}.txt").write_text("\n".join(lines), encoding="utf-8")
        (folder / f"c{k:05d}.toml").write_text(
            meta.replace('id = "l367"', f'id = "c{k}"'), encoding="utf-8"
        )
    for extra in ("aliases.toml", "userdict.txt", "stopwords.txt", "topics.toml"):
        shutil.copy(DEFAULT_DATA_DIR / extra, folder / extra)


def attach_seed_vectors(engine) -> None:
    """The meaning layer for a synthetic catalogue: the seed's vectors, tiled.

    Embedding 73,500 passages twice would take an hour here; the time and
    memory of a query depend on the number of rows, not on their values, so
    the seed's real vectors repeated to the catalogue's size measure the same.
    """
    import numpy as np

    from bot.search.engine import QuoteEngine
    from bot.search.meaning.layer import MeaningLayer
    from bot.search.meaning.models import load_embedder
    from bot.search.meaning.vectors import (
        MeaningIndex,
        ModelVectors,
        Vectors,
        load_or_build_meaning,
    )

    embedder = load_embedder()
    seed = QuoteEngine.load(DEFAULT_DATA_DIR, SEED_CACHE, meaning="off")
    vectors = load_or_build_meaning(embedder, seed.table, SEED_CACHE).vectors
    n = len(engine.table)
    reps = -(-n // len(seed.table))
    tiled = Vectors(
        np.ascontiguousarray(np.tile(vectors.passages, (reps, 1))[:n]),
        np.ascontiguousarray(np.tile(vectors.windows, (reps, 1))[:n]),
        vectors.anchors,
    )
    engine.meaning_layer = MeaningLayer.ready(MeaningIndex([ModelVectors(embedder, tiled, 1.0)]))


def serve(
    data_dir: Path, cache_dir: Path, repeats: int, baseline_queries: int, meaning: bool = False
) -> dict:
    """Runs in a fresh process: load from cache, then time queries."""
    from rapidfuzz import fuzz, process

    from bot.search.engine import QuoteEngine

    rss_before = rss_mb()
    started = time.perf_counter()
    engine = QuoteEngine.load(data_dir, cache_dir, meaning="off")
    load_s = time.perf_counter() - started
    rss_lexical = rss_mb()
    if meaning:
        if data_dir == DEFAULT_DATA_DIR:
            engine.attach_meaning("lazy", SEED_CACHE)
            engine.meaning()
        else:
            attach_seed_vectors(engine)
    queries = []
    for path in QUERY_SETS:
        with path.open("rb") as fh:
            queries += [q["q"] for q in tomllib.load(fh)["query"]]
    embedded = [0]
    index = engine.meaning()
    if index is not None:
        inner = index.embed

        def counting(text: str):
            embedded[0] += 1
            return inner(text)

        index.embed = counting
    for q in queries[:20]:  # warm-up
        engine.search(q, 3)
    times, lexical_times, meaning_times = [], [], []
    by_words: set[int] = set()  # queries the engine answered without the embedder
    for _ in range(repeats):
        for i, q in enumerate(queries):
            before = embedded[0]
            t = time.perf_counter()
            engine.search(q, 3)
            ms = (time.perf_counter() - t) * 1000
            times.append(ms)
            if embedded[0] > before:
                meaning_times.append(ms)
            else:
                lexical_times.append(ms)
                by_words.add(i)
    # The engine's memory, before the baselines add theirs.
    rss_engine = rss_mb()
    peak_engine = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    bm25 = bm25_baseline(engine, queries, repeats, by_words)
    texts = engine.table.texts
    base_times = []
    for q in queries[:baseline_queries]:
        t = time.perf_counter()
        process.extract(q, texts, scorer=fuzz.WRatio, limit=3)
        base_times.append((time.perf_counter() - t) * 1000)
    return {
        "passages": len(texts),
        "load_s": round(load_s, 3),
        "rss_mb": round(rss_engine, 1),
        "peak_rss_mb": round(peak_engine, 1),
        "meaning": meaning,
        "rss_before_load_mb": round(rss_before, 1),
        "rss_lexical_mb": round(rss_lexical, 1),
        **p50_p99("engine", times),
        **p50_p99("answered_by_words", lexical_times),
        "reached_embedder": len(meaning_times),
        **p50_p99("reached_embedder", meaning_times),
        **p50_p99("baseline", base_times),
        **bm25,
        "queries_timed": len(times),
        "baseline_queries": len(base_times),
    }


def bm25_baseline(engine, queries: list[str], repeats: int, by_words: set[int]) -> dict:
    """bm25s over the engine's passages, tokenised by the engine's own segmenter.

    Passages and queries go through the same steps as in the engine: fold
    (normalise, aliases), then `segmenter.terms` (jieba words without stopwords,
    plus Han bigrams). A query is timed as tokenise + retrieve the top 3, every
    query `repeats` times as the engine's are; `bm25s_by_words` is the same
    timing over only the queries the engine answered by words in this run.
    """
    import bm25s

    def tokens(text: str) -> list[str]:
        words, bigrams = engine.segmenter.terms(engine.fold(text))
        return words + bigrams

    rss_before = rss_mb()
    started = time.perf_counter()
    retriever = bm25s.BM25()  # defaults: Lucene BM25, k1 = 1.5, b = 0.75
    retriever.index([tokens(t) for t in engine.table.texts], show_progress=False)
    index_s = time.perf_counter() - started
    rss_added = rss_mb() - rss_before

    def query(q: str) -> None:
        retriever.retrieve([tokens(q)], k=3, show_progress=False, n_threads=0)

    for q in queries[:20]:  # warm-up
        query(q)
    times, word_times = [], []
    for _ in range(repeats):
        for i, q in enumerate(queries):
            t = time.perf_counter()
            query(q)
            ms = (time.perf_counter() - t) * 1000
            times.append(ms)
            if i in by_words:
                word_times.append(ms)
    return {
        "bm25s_version": bm25s.__version__,
        "bm25s_index_s": round(index_s, 2),
        "bm25s_rss_added_mb": round(rss_added, 1),
        **p50_p99("bm25s", times),
        **p50_p99("bm25s_by_words", word_times),
    }


def build(data_dir: Path, cache_dir: Path) -> dict:
    """Runs in a fresh process: the first start, which builds the cache."""
    from bot.search.engine import QuoteEngine

    started = time.perf_counter()
    engine = QuoteEngine.load(data_dir, cache_dir, meaning="off")
    return {
        "build_s": round(time.perf_counter() - started, 2),
        "build_peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "passages": len(engine.table),
        "cache_mb": round(
            sum(f.stat().st_size for f in cache_dir.rglob("*") if f.is_file()) / 2**20, 1
        ),
    }


def child(
    mode: str, data_dir: Path, cache_dir: Path, repeats: int, baseline: int, meaning: bool = False
) -> dict:
    cmd = [
        sys.executable,
        __file__,
        f"--{mode}",
        str(data_dir),
        str(cache_dir),
        str(repeats),
        str(baseline),
        *(["--meaning"] if meaning else []),
    ]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def cold_cli(runs: int = 7) -> dict:
    """Wall time of a whole `quotebot search` process on the seed, with the index cached."""
    cache = Path(tempfile.mkdtemp(prefix="qb-cold-"))
    env = {**os.environ, "QUOTEBOT_CACHE_DIR": str(cache)}
    cmd = [sys.executable, "-m", "bot", "search", "人类反馈强化学习"]
    subprocess.run(cmd, capture_output=True, env=env, check=True, cwd=ROOT)  # builds the cache
    walls = []
    for _ in range(runs):
        t = time.perf_counter()
        subprocess.run(cmd, capture_output=True, env=env, check=True, cwd=ROOT)
        walls.append(time.perf_counter() - t)
    # A question words cannot answer loads the model (vectors from the seed cache).
    meaning_cmd = [sys.executable, "-m", "bot", "search", "他们怎么看开源模型的风险"]
    meaning_env = {**os.environ, "QUOTEBOT_CACHE_DIR": str(SEED_CACHE)}
    subprocess.run(meaning_cmd, capture_output=True, env=meaning_env, check=True, cwd=ROOT)
    meaning_walls = []
    for _ in range(runs):
        t = time.perf_counter()
        subprocess.run(meaning_cmd, capture_output=True, env=meaning_env, check=True, cwd=ROOT)
        meaning_walls.append(time.perf_counter() - t)
    t = time.perf_counter()
    subprocess.run(
        [sys.executable, "-c", "import jieba; jieba.initialize()"], capture_output=True, check=True
    )
    jieba_full = time.perf_counter() - t
    shutil.rmtree(cache, ignore_errors=True)
    return {
        "cold_search_median_s": round(statistics.median(walls), 3),
        "cold_search_max_s": round(max(walls), 3),
        "cold_search_with_model_median_s": round(statistics.median(meaning_walls), 3),
        "cold_search_with_model_max_s": round(max(meaning_walls), 3),
        "python_plus_jieba_full_dict_s": round(jieba_full, 3),
    }


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--scales", default="1,100,500")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--serve", nargs=4, metavar=("DATA", "CACHE", "REPEATS", "BASELINE"))
    parser.add_argument("--build", nargs=4, metavar=("DATA", "CACHE", "REPEATS", "BASELINE"))
    parser.add_argument("--meaning", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        d, c, r, b = args.serve
        print(json.dumps(serve(Path(d), Path(c), int(r), int(b), args.meaning)))
        return 0
    if args.build:
        d, c, _, _ = args.build
        print(json.dumps(build(Path(d), Path(c))))
        return 0
    print(f"machine: {os.cpu_count()} cores, python {sys.version.split()[0]}, {os.uname().machine}")
    rows = []
    for scale in (int(s) for s in args.scales.split(",")):
        work = Path(tempfile.mkdtemp(prefix=f"qb-bench-{scale}x-"))
        data, cache = work / "data", work / "cache"
        data.mkdir()
        if scale == 1:
            data = DEFAULT_DATA_DIR
        else:
            make_catalogue(scale, data)
        built = child("build", data, cache, 0, 0)
        baseline = 200 if scale == 1 else (20 if scale <= 100 else 5)
        repeats = args.repeats if scale == 1 else 2
        for meaning in (False, True):
            served = child("serve", data, cache, repeats, baseline, meaning)
            row = {"scale": f"{scale}x", **built, **served}
            rows.append(row)
            print(json.dumps(row, ensure_ascii=False), flush=True)
        shutil.rmtree(work, ignore_errors=True)
    print(json.dumps(cold_cli()))
    print(summary(rows))
    return 0


def summary(rows: list[dict]) -> str:
    """The latencies side by side, p50 / p99 in ms per query (a Markdown table)."""

    def pair(row: dict, label: str) -> str:
        p50, p99 = row[f"{label}_p50_ms"], row[f"{label}_p99_ms"]
        return "—" if p50 is None else f"{p50:g} / {p99:g}"

    lines = [
        "| | passages | engine, answered by words | bm25s, same queries | bm25s, all queries "
        "| rapidfuzz WRatio (queries) | bm25s index | bm25s memory |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for row in rows:
        mode = "with meaning" if row["meaning"] else "words only"
        lines.append(
            f"| {row['scale']}, {mode} | {row['passages']:,} "
            f"| {pair(row, 'answered_by_words')} | {pair(row, 'bm25s_by_words')} "
            f"| {pair(row, 'bm25s')} | {pair(row, 'baseline')} ({row['baseline_queries']}) "
            f"| {row['bm25s_index_s']} s | +{row['bm25s_rss_added_mb']} MB |"
        )
    return "\n".join(lines)


if __name__ == "__main__":
    raise SystemExit(main())
