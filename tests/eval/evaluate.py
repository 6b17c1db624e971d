"""Relevance of the quote engine on tests/eval/queries.toml, by query kind.

Run `python -m tests.eval.evaluate` for the table (`--set heldout` for
tests/eval/heldout.toml, a second set written later and never used for
tuning); tests/test_relevance.py asserts the floors on the first. A query is right at top-1 when the best passage lies in
one of the turns listed as answers (by the turn header's timestamp); a
no-answer query is right when the engine returns nothing.
"""

from __future__ import annotations

import sys
import tomllib
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

from bot.search.transcript import format_hms

QUERIES = Path(__file__).with_name("queries.toml")
# Kinds a lexical engine is expected to answer; paraphrase and full English
# questions need the semantic layer and are reported separately.
LEXICAL_KINDS = ("verbatim", "keyword", "typo", "traditional", "english_term", "alias")
SEMANTIC_KINDS = ("paraphrase", "english")


@dataclass(frozen=True)
class Query:
    q: str
    kind: str
    answers: frozenset[str]


@dataclass
class KindScore:
    n: int = 0
    top1: int = 0
    top3: int = 0

    def rate(self, hits: int) -> float:
        return hits / self.n if self.n else 0.0


def load_queries(path: Path = QUERIES) -> list[Query]:
    with path.open("rb") as fh:
        data = tomllib.load(fh)
    return [Query(e["q"], e["kind"], frozenset(e["answers"])) for e in data["query"]]


def evaluate(
    engine, queries: list[Query]
) -> tuple[dict[str, KindScore], list[tuple[Query, list[str]]]]:
    """Scores per kind, and the misses (query, timestamps returned) for inspection."""
    scores: dict[str, KindScore] = defaultdict(KindScore)
    misses = []
    for query in queries:
        got = [format_hms(r.passage.turn_start) for r in engine.search(query.q, 3)]
        s = scores[query.kind]
        s.n += 1
        if not query.answers:
            ok = not got
            s.top1 += ok
            s.top3 += ok
        else:
            ok = bool(got) and got[0] in query.answers
            s.top1 += ok
            s.top3 += any(t in query.answers for t in got)
        if not ok:
            misses.append((query, got))
    return dict(scores), misses


def summary(scores: dict[str, KindScore], kinds: tuple[str, ...]) -> KindScore:
    total = KindScore()
    for kind in kinds:
        if kind in scores:
            total.n += scores[kind].n
            total.top1 += scores[kind].top1
            total.top3 += scores[kind].top3
    return total


def main() -> int:
    from bot.search.engine import QuoteEngine

    engine = QuoteEngine.load()
    name = sys.argv[sys.argv.index("--set") + 1] if "--set" in sys.argv else "queries"
    queries = load_queries(QUERIES.with_name(f"{name}.toml"))
    scores, misses = evaluate(engine, queries)
    print(f"{'kind':<14}{'n':>4}{'top-1':>8}{'top-3':>8}")
    for kind in (*LEXICAL_KINDS, *SEMANTIC_KINDS, "none"):
        if kind in scores:
            s = scores[kind]
            print(f"{kind:<14}{s.n:>4}{s.rate(s.top1):>8.2f}{s.rate(s.top3):>8.2f}")
    for label, kinds in (
        ("lexical kinds", LEXICAL_KINDS),
        ("all answerable", LEXICAL_KINDS + SEMANTIC_KINDS),
    ):
        t = summary(scores, kinds)
        print(f"{label:<14}{t.n:>4}{t.rate(t.top1):>8.2f}{t.rate(t.top3):>8.2f}")
    if "-v" in sys.argv:
        for query, got in misses:
            print(f"MISS [{query.kind}] {query.q!r} want {sorted(query.answers)} got {got}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
