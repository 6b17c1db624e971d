"""A catalogue of many conversations: build, add one, restart, answer.

    python bench/catalogue_bench.py                       # 500 conversations
    python bench/catalogue_bench.py --count 100           # quicker
    python bench/catalogue_bench.py --baseline-rev c74deec  # also time that commit's full build

The catalogue is `bench/catalogue.py`'s (a varied vocabulary, not reshuffles
of the seed), imported as the user library beside the bundled conversation.
Each step runs in a fresh process:

1. first build with an empty cache (every conversation segmented, on every core);
2. one more conversation added: the rebuild segments that one only;
3. restart from the cache: process start to first answer, several times;
4. queries: the seed's query sets plus phrases drawn from the synthetic
   conversations, p50/p99, by words only (the meaning layer needs the passages
   embedded: hours for a catalogue on two cores), and resident memory;
   baseline: rapidfuzz `process.extract` over all passages, in the same run.

With `--baseline-rev`, that git revision's code builds the same catalogue
from an empty cache too (the "today's full rebuild" to beat).
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
# The code under test: this checkout, or (for the baseline) an older one.
CODE = Path(os.environ.get("QUOTEBOT_BENCH_CODE", ROOT))
sys.path.insert(0, str(CODE))
sys.path.insert(0, str(ROOT / "bench"))

from figures import QUERY_SETS, p50_p99, rss_mb  # noqa: E402


def _engine(library: Path, cache: Path):
    from bot.data import DATA_DIR

    from bot.search.engine import QuoteEngine

    return QuoteEngine.load(DATA_DIR, cache, meaning="off", library_dir=library)


def child_build(library: Path, cache: Path) -> dict:
    import logging

    logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stderr)
    import bot

    started = time.perf_counter()
    engine = _engine(library, cache)
    return {
        "code": str(Path(bot.__file__).parent.parent),
        "seconds": round(time.perf_counter() - started, 2),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "conversations": len(engine.conversations),
        "passages": len(engine.table),
        "terms": len(engine.index.vocabulary),
        "postings": int(engine.index.docs.size),
    }


def child_restart(library: Path, cache: Path, started: float) -> dict:
    """`started` is the wall clock just before the parent started this process."""
    engine = _engine(library, cache)
    loaded = time.time()
    results = engine.search("人类反馈强化学习", 3)
    answered = time.time()
    return {
        "to_loaded_s": round(loaded - started, 3),
        "to_first_answer_s": round(answered - started, 3),
        "answer": results[0].passage.id if results else None,
    }


def child_serve(library: Path, cache: Path, repeats: int) -> dict:
    from rapidfuzz import fuzz, process

    engine = _engine(library, cache)
    rss = rss_mb()
    seed_queries = []
    for path in QUERY_SETS:
        with path.open("rb") as fh:
            seed_queries += [q["q"] for q in tomllib.load(fh)["query"]]
    # Phrases from the catalogue itself: 6-14 characters cut from random passages.
    rng = random.Random(7)
    catalogue_queries = []
    while len(catalogue_queries) < 200:
        text = engine.table.texts[rng.randrange(len(engine.table))]
        if len(text) >= 20:
            start = rng.randrange(len(text) - 14)
            catalogue_queries.append(text[start : start + rng.randint(6, 14)])
    for q in seed_queries[:20]:  # warm-up
        engine.search(q, 3)
    timings: dict[str, list[float]] = {"seed_queries": [], "catalogue_queries": []}
    for _ in range(repeats):
        for label, queries in (
            ("seed_queries", seed_queries),
            ("catalogue_queries", catalogue_queries),
        ):
            for q in queries:
                t = time.perf_counter()
                engine.search(q, 3)
                timings[label].append((time.perf_counter() - t) * 1000)
    everything = timings["seed_queries"] + timings["catalogue_queries"]
    texts = list(engine.table.texts)
    base = []
    for q in seed_queries[:5]:
        t = time.perf_counter()
        process.extract(q, texts, scorer=fuzz.WRatio, limit=3)
        base.append((time.perf_counter() - t) * 1000)
    return {
        "rss_after_load_mb": round(rss, 1),
        "rss_after_queries_mb": round(rss_mb(), 1),
        **p50_p99("all", everything),
        **p50_p99("seed_queries", timings["seed_queries"]),
        **p50_p99("catalogue_queries", timings["catalogue_queries"]),
        "queries_timed": len(everything),
        **p50_p99("baseline_rapidfuzz_extract", base),
    }


def run_child(*args: str, code: Path = ROOT) -> dict:
    env = {**os.environ, "QUOTEBOT_BENCH_CODE": str(code), "QUOTEBOT_SEMANTIC": "off"}
    cmd = [sys.executable, __file__, "--child", *args]
    out = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=code)
    if out.returncode != 0:
        raise SystemExit(out.stderr)
    return json.loads(out.stdout.strip().splitlines()[-1])


def checkout(rev: str, into: Path) -> Path:
    subprocess.run(
        ["git", "-C", str(ROOT), "worktree", "add", "--detach", str(into), rev],
        check=True,
        capture_output=True,
    )
    return into


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--count", type=int, default=500, help="conversations in the catalogue")
    parser.add_argument("--repeats", type=int, default=3, help="passes over the query sets")
    parser.add_argument("--restarts", type=int, default=5)
    parser.add_argument("--baseline-rev", help="also time this git revision's full build")
    parser.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        mode, library, cache, *rest = args.child
        if mode == "build":
            result = child_build(Path(library), Path(cache))
        elif mode == "restart":
            result = child_restart(Path(library), Path(cache), float(rest[0]))
        else:
            result = child_serve(Path(library), Path(cache), int(rest[0]))
        print(json.dumps(result, ensure_ascii=False))
        return 0

    from catalogue import make_catalogue  # puts this checkout on sys.path: the parent only

    cores = len(os.sched_getaffinity(0))
    print(f"machine: {cores} cores, load {os.getloadavg()[0]:.1f}, python {sys.version.split()[0]}")
    work = Path(tempfile.mkdtemp(prefix="qb-catalogue-"))
    try:
        library, cache = work / "library", work / "cache"
        t = time.perf_counter()
        make_catalogue(args.count + 1, work / "made")
        library.mkdir()
        made = sorted((work / "made").glob("*.txt"))
        for txt in made[:-1]:
            for path in (txt, txt.with_suffix(".toml")):
                shutil.move(path, library / path.name)
        print(
            json.dumps({"generated": args.count + 1, "seconds": round(time.perf_counter() - t, 1)})
        )

        print(json.dumps({"step": "first build", **run_child("build", str(library), str(cache))}))
        for path in (made[-1], made[-1].with_suffix(".toml")):
            shutil.move(path, library / path.name)
        print(json.dumps({"step": "add one", **run_child("build", str(library), str(cache))}))
        restarts = []
        for _ in range(args.restarts):
            restarts.append(run_child("restart", str(library), str(cache), str(time.time())))
        walls = [r["to_first_answer_s"] for r in restarts]
        print(
            json.dumps(
                {
                    "step": "restart (process start to first answer)",
                    "median_s": round(statistics.median(walls), 3),
                    "max_s": round(max(walls), 3),
                    "loaded_median_s": round(
                        statistics.median(r["to_loaded_s"] for r in restarts), 3
                    ),
                    "answer": restarts[0]["answer"],
                }
            )
        )
        served = run_child("serve", str(library), str(cache), str(args.repeats))
        print(json.dumps({"step": "queries (words only)", **served}))
        if args.baseline_rev:
            old = checkout(args.baseline_rev, work / "baseline-code")
            try:
                result = run_child("build", str(library), str(work / "baseline-cache"), code=old)
                print(json.dumps({"step": f"baseline: {args.baseline_rev} full build", **result}))
            finally:
                subprocess.run(
                    ["git", "-C", str(ROOT), "worktree", "remove", "--force", str(old)],
                    capture_output=True,
                )
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
