"""What each part of the search brings: one row per part switched off.

    python -m tests.eval.ablate

Prints Markdown rows: for the tuning sets (queries + questions + asked) and
then, after `||`, the held-out sets (heldout + heldout_questions +
heldout_asked): top-1 / top-3 for questions, paraphrases and English
questions; for those three together the share answered confidently / how
often a confident answer is right; no confident answer / nothing for
off-topic queries and for those sharing a name; top-1 / top-3 for the six
lexical kinds. Last, the engine over spelling groups emptied (names and
terms). It takes minutes.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

from bot.data import DATA_DIR

from bot.search.engine import QuoteEngine
from tests.eval.evaluate import (
    HELDOUT_SETS,
    LEXICAL_KINDS,
    MEANING_KINDS,
    PARTS,
    TUNING_SETS,
    KindScore,
    evaluate,
    load_queries,
    switched_off,
    total,
)

SETS = (TUNING_SETS, HELDOUT_SETS)


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

    def sure() -> str:
        t = total(scores, MEANING_KINDS)
        right = "-" if t.precision is None else f"{t.precision:.2f}"
        return f"{t.rate(t.answered_confidently):.2f} / {right}"

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
            sure(),
            refused("none"),
            refused("negative_entity"),
            found(*LEXICAL_KINDS),
        ]
    )


def without_aliases() -> QuoteEngine:
    """The engine over a copy of the data folder whose spelling groups are empty."""
    folder = Path(tempfile.mkdtemp(prefix="quotebot-ablate-"))
    shutil.copytree(DATA_DIR, folder, dirs_exist_ok=True)
    (folder / "aliases.toml").write_text("[terms]\n", encoding="utf-8")
    engine = QuoteEngine.load(folder)
    engine.meaning()
    return engine


def main() -> None:
    engine = QuoteEngine.load()
    engine.meaning()
    everything = engine.options
    for part in (None, *PARTS):
        engine.options = switched_off(everything, {part} if part else set())
        row = " || ".join(cells(scores_of(engine, names)) for names in SETS)
        print(f"| {'everything' if part is None else 'without ' + part} | {row} |", flush=True)
    bare = without_aliases()
    row = " || ".join(cells(scores_of(bare, names)) for names in SETS)
    print(f"| without aliases (names, terms) | {row} |", flush=True)


if __name__ == "__main__":
    main()
