"""Relevance of the quote engine on the evaluation sets, by query kind.

`python -m tests.eval.evaluate` prints the tables for the tuning sets
(queries.toml, questions.toml, asked.toml); `--set heldout-all` the held-out
ones (or one by name: `--set heldout_asked`), written without seeing the
engine and never used for tuning. `--without frames,speakers,meaning,gate,asks,english,exchanges,second,calibration`
switches parts off, to
measure what each brings; `-v` lists the misses; `--markdown` prints the
README's tables (tuning sets merged beside held-out sets merged, then the
sets written the way people ask: asked beside heldout_asked).

A query is right at top-1 when the first thing shown (a confident answer or
the first closest-in-meaning suggestion) lies in one of the turns listed as
answers, by the turn header's timestamp; at top-3 when any of the first three
does; near when the first lies within one turn of a right one. *conf.* is
the share answered confidently, *right* how often a confident answer is
right. For queries the conversation cannot answer (kinds `none` and
`negative_entity`) two shares are reported: no confident answer, and nothing
at all (not even a suggestion).
"""

from __future__ import annotations

import sys
import tomllib
from collections import defaultdict
from dataclasses import dataclass, replace
from pathlib import Path

from bot.search.engine import QuoteEngine, SearchOptions
from bot.search.transcripts.conversation import format_hms

HERE = Path(__file__).parent
TUNING_SETS = ("queries", "questions", "asked")
HELDOUT_SETS = ("heldout", "heldout_questions", "heldout_asked")
# Kinds the lexical engine answered before the meaning layer.
LEXICAL_KINDS = ("verbatim", "keyword", "typo", "traditional", "english_term", "alias")
MEANING_KINDS = ("question", "paraphrase", "english")
NEGATIVE_KINDS = ("none", "negative_entity")


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
    confident: int = 0  # answered confidently (answerable: and right at top-1)
    answered_confidently: int = 0  # any confident answer, right or wrong
    nothing: int = 0  # no result at all
    near: int = 0  # the first result within one turn of a right one

    def rate(self, hits: int) -> float:
        return hits / self.n if self.n else 0.0

    @property
    def precision(self) -> float | None:
        """How often a confident answer is right (None: nothing was answered confidently).
        For a kind that cannot be answered every confident answer is wrong."""
        if not self.answered_confidently:
            return None
        return self.confident / self.answered_confidently

    def add(self, other: KindScore) -> None:
        for name in ("n", "top1", "top3", "confident", "answered_confidently", "nothing", "near"):
            setattr(self, name, getattr(self, name) + getattr(other, name))


def load_queries(name: str) -> list[Query]:
    with (HERE / f"{name}.toml").open("rb") as fh:
        data = tomllib.load(fh)
    return [Query(e["q"], e["kind"], frozenset(e["answers"])) for e in data["query"]]


def turn_numbers(engine: QuoteEngine) -> dict[str, set[int]]:
    """Turn numbers by header timestamp (one timestamp can head two turns)."""
    out: dict[str, set[int]] = defaultdict(set)
    for row in range(len(engine.table)):
        passage = engine.table[row]
        out[format_hms(passage.turn_start)].add(passage.turn)
    return out


def evaluate(
    engine: QuoteEngine, queries: list[Query]
) -> tuple[dict[str, KindScore], list[tuple[Query, list[str], bool]]]:
    """Scores per kind, and the misses (query, timestamps returned, confident) to inspect."""
    scores: dict[str, KindScore] = defaultdict(KindScore)
    turns = turn_numbers(engine)
    misses = []
    for query in queries:
        results = engine.search(query.q, 3)
        got = [format_hms(r.passage.turn_start) for r in results]
        confident = bool(results) and results[0].confident
        s = scores[query.kind]
        s.n += 1
        s.nothing += not results
        s.answered_confidently += confident
        if not query.answers:
            ok = not confident
            s.top1 += ok
            s.top3 += ok
        else:
            ok = bool(got) and got[0] in query.answers
            wanted = {t for a in query.answers for t in turns.get(a, ())}
            s.near += bool(results) and any(abs(results[0].passage.turn - t) <= 1 for t in wanted)
            s.top1 += ok
            s.top3 += any(t in query.answers for t in got)
            s.confident += ok and confident
        if not ok:
            misses.append((query, got, confident))
    return dict(scores), misses


def total(scores: dict[str, KindScore], kinds: tuple[str, ...]) -> KindScore:
    """The scores of several kinds added up."""
    out = KindScore()
    for kind in kinds:
        if kind in scores:
            out.add(scores[kind])
    return out


def table(scores: dict[str, KindScore]) -> list[str]:
    lines = [
        f"{'kind':<16}{'n':>4}{'top-1':>7}{'top-3':>7}{'near':>7}{'conf.':>7}{'right':>7}"
        f"{'no conf.':>9}{'nothing':>9}"
    ]

    def row(label: str, s: KindScore, negative: bool) -> str:
        if negative:
            return (
                f"{label:<16}{s.n:>4}{'':>7}{'':>7}{'':>7}{s.rate(s.answered_confidently):>7.2f}"
                f"{'':>7}{s.rate(s.n - s.answered_confidently):>9.2f}{s.rate(s.nothing):>9.2f}"
            )
        right = "-" if s.precision is None else f"{s.precision:.2f}"
        return (
            f"{label:<16}{s.n:>4}{s.rate(s.top1):>7.2f}{s.rate(s.top3):>7.2f}"
            f"{s.rate(s.near):>7.2f}{s.rate(s.answered_confidently):>7.2f}{right:>7}"
        )

    for kind in (*LEXICAL_KINDS, *MEANING_KINDS, *NEGATIVE_KINDS):
        if kind in scores:
            lines.append(row(kind, scores[kind], kind in NEGATIVE_KINDS))
    for label, kinds in (("lexical kinds", LEXICAL_KINDS), ("in own words", MEANING_KINDS)):
        summed = total(scores, kinds)
        if summed.n:
            lines.append(row(label, summed, False))
    everything = total(scores, (*LEXICAL_KINDS, *MEANING_KINDS, *NEGATIVE_KINDS))
    if everything.precision is not None:
        lines.append(
            f"confident answers right: {everything.precision:.2f} "
            f"({everything.confident} of {everything.answered_confidently}, negatives included)"
        )
    return lines


PARTS = (
    "frames",
    "speakers",
    "meaning",
    "gate",
    "asks",
    "english",
    "exchanges",
    "second",
    "calibration",
)


def switched_off(options: SearchOptions, without: set[str]) -> SearchOptions:
    """The search options with the named parts (PARTS) switched off."""
    return replace(
        options,
        questions="frames" not in without,
        speakers="speakers" not in without,
        meaning="meaning" not in without,
        gate="gate" not in without,
        asks="asks" not in without,
        english="english" not in without,
        exchanges="exchanges" not in without,
        second_model="second" not in without,
        calibrated="calibration" not in without,
    )


def merged(engine: QuoteEngine, names: tuple[str, ...] | list[str]) -> dict[str, KindScore]:
    """Scores by kind over several sets."""
    out: dict[str, KindScore] = {}
    for name in names:
        for kind, score in evaluate(engine, load_queries(name))[0].items():
            out.setdefault(kind, KindScore()).add(score)
    return out


def markdown(left: dict[str, KindScore], right: dict[str, KindScore]) -> list[str]:
    """Two sides (tuning, held-out) by kind as Markdown rows."""

    def cells(s: KindScore | None, negative: bool) -> str:
        if s is None or not s.n:
            return "| | | | | |"
        if negative:
            conf = s.rate(s.answered_confidently)
            return f"| {s.n} | | | {conf:.2f} | {s.rate(s.nothing):.2f} nothing |"
        right = "-" if s.precision is None else f"{s.precision:.2f}"
        return (
            f"| {s.n} | {s.rate(s.top1):.2f} / {s.rate(s.top3):.2f} | {s.rate(s.near):.2f} "
            f"| {s.rate(s.answered_confidently):.2f} | {right} |"
        )

    lines = [
        "| kind | n | top-1 / top-3 | near | conf. | right | n | top-1 / top-3 | near | conf. | right |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    rows = [(k, (k,)) for k in (*LEXICAL_KINDS, *MEANING_KINDS)]
    rows += [("words (six kinds)", LEXICAL_KINDS), ("in own words (three)", MEANING_KINDS)]
    rows += [(k, (k,)) for k in NEGATIVE_KINDS]
    for label, kinds in rows:
        negative = kinds[0] in NEGATIVE_KINDS
        a, b = total(left, kinds), total(right, kinds)
        if not a.n and not b.n:
            continue
        lines.append(f"| {label} |" + cells(a, negative)[1:] + cells(b, negative)[1:])
    return lines


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if "--set" in argv:
        chosen = argv[argv.index("--set") + 1]
        names = list(HELDOUT_SETS) if chosen == "heldout-all" else chosen.split(",")
    else:
        names = list(TUNING_SETS)
    without = set(argv[argv.index("--without") + 1].split(",")) if "--without" in argv else set()
    engine = QuoteEngine.load()
    engine.options = switched_off(engine.options, without)
    engine.meaning()  # load before timing anything
    if "--markdown" in argv:
        for left, right in ((TUNING_SETS, HELDOUT_SETS), (("asked",), ("heldout_asked",))):
            print(f"{' + '.join(left)} || {' + '.join(right)}")
            print("\n".join(markdown(merged(engine, left), merged(engine, right))))
            print()
        return 0
    for name in names:
        scores, misses = evaluate(engine, load_queries(name))
        print(f"== {name}" + (f" (without {', '.join(sorted(without))})" if without else ""))
        print("\n".join(table(scores)))
        if "-v" in argv:
            for query, got, confident in misses:
                tag = "confident" if confident else "suggested"
                print(f"MISS [{query.kind}] {query.q!r} want {sorted(query.answers)} {tag} {got}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
