"""What each part of the search brings: one row per part switched off.

    python -m tests.eval.ablate

Prints Markdown rows: for the tuning sets (queries + questions) and then,
after `||`, the held-out sets (heldout + heldout_questions): top-1 / top-3
for questions, paraphrases and English questions; no confident answer /
nothing for off-topic queries and for those sharing a name; top-1 / top-3 for
the six lexical kinds. The engine is loaded once; it takes minutes.
"""

from __future__ import annotations

from bot.search.engine import QuoteEngine
from tests.eval.evaluate import (
    LEXICAL_KINDS,
    PARTS,
    KindScore,
    evaluate,
    load_queries,
    switched_off,
    total,
)

SETS = (("queries", "questions"), ("heldout", "heldout_questions"))


def scores_of(engine: QuoteEngine, names: tuple[str, ...]) -> dict[str, KindScore]:
    """Scores by kind over several query sets."""
    out: dict[str, KindScore] = {}
    for name in names:
        scores, _ = evaluate(engine, load_queries(name))
        for kind, score in scores.items():
            out.setdefault(kind, KindScore()).add(score)
    return out


def cells(scores: dict[str, KindScore]) -> str:
    def found(*kinds: str) -> str:
        t = total(scores, kinds)
        return f"{t.rate(t.top1):.2f} / {t.rate(t.top3):.2f}"

    def refused(kind: str) -> str:
        t = scores.get(kind)
        if t is None:
            return "-"
        return f"{1 - t.rate(t.answered_confidently):.2f} / {t.rate(t.nothing):.2f}"

    return " | ".join(
        [
            found("question"),
            found("paraphrase"),
            found("english"),
            refused("none"),
            refused("negative_entity"),
            found(*LEXICAL_KINDS),
        ]
    )


def main() -> None:
    engine = QuoteEngine.load()
    engine.meaning()
    everything = engine.options
    for part in (None, *PARTS):
        engine.options = switched_off(everything, {part} if part else set())
        row = " || ".join(cells(scores_of(engine, names)) for names in SETS)
        print(f"| {'everything' if part is None else 'without ' + part} | {row} |", flush=True)


if __name__ == "__main__":
    main()
