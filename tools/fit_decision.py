"""Fit the confident-or-not decision (bot.search.ranking.calibration) on the tuning query sets.

    python tools/fit_decision.py            # print the out-of-fold curve
    python tools/fit_decision.py --write    # and write data/decision/calibration.toml

Every tuning query (tests/eval: queries, questions, asked; never the held-out
sets) that reaches the decision gives one example: its evidence, and whether
the engine's first passage is right (a query the conversation cannot answer is
never right). A logistic model with a small L2 penalty is fitted on
standardised evidence. Precision against coverage is measured out of fold (5
folds, each query scored by a model that never saw it), and the threshold is
the lowest probability at which out-of-fold precision is at or above
--precision: "confident" is chosen for being right, not for being often.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot.search.engine import QuoteEngine
from bot.search.ranking.calibration import CALIBRATION_FILE, FEATURES, Calibration
from bot.search.transcripts.conversation import format_hms
from tests.eval.evaluate import TUNING_SETS, load_queries

L2 = 1.0
FOLDS = 5


def examples(engine: QuoteEngine) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """(evidence rows, right or not, kinds) of the tuning queries that reach the decision."""
    rows, labels, kinds = [], [], []
    for name in TUNING_SETS:
        for query in load_queries(name):
            _, assessed = engine.explain(query.q, 3)
            if assessed is None:
                continue  # decided by the words alone (or no model)
            top = engine.table[assessed.picks[0][0]]
            rows.append(assessed.evidence.values())
            labels.append(format_hms(top.turn_start) in query.answers)
            kinds.append(query.kind)
    return np.array(rows, dtype=np.float64), np.array(labels, dtype=np.float64), kinds


def fit(x: np.ndarray, y: np.ndarray) -> Calibration:
    """Logistic regression by Newton's method on standardised features."""
    means = x.mean(axis=0)
    scales = x.std(axis=0)
    scales[scales == 0] = 1.0
    z = np.hstack([np.ones((len(x), 1)), (x - means) / scales])
    w = np.zeros(z.shape[1])
    penalty = np.eye(z.shape[1]) * L2
    penalty[0, 0] = 0.0  # the bias is not shrunk
    for _ in range(50):
        p = 1 / (1 + np.exp(-z @ w))
        gradient = z.T @ (p - y) + penalty @ w
        hessian = z.T @ (z * (p * (1 - p))[:, None]) + penalty
        step = np.linalg.solve(hessian, gradient)
        w -= step
        if np.abs(step).max() < 1e-8:
            break
    return Calibration(float(w[0]), tuple(w[1:]), tuple(means), tuple(scales), 0.5)


def out_of_fold(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Each example's probability from a model fitted without it (folds by position)."""
    fold = np.arange(len(x)) % FOLDS
    out = np.zeros(len(x))
    for k in range(FOLDS):
        model = fit(x[fold != k], y[fold != k])
        z = model.bias + ((x[fold == k] - model.means) / model.scales) @ np.array(model.weights)
        out[fold == k] = 1 / (1 + np.exp(-z))
    return out


def curve(p: np.ndarray, y: np.ndarray) -> list[tuple[float, float, float]]:
    """(threshold, coverage, precision) at each distinct probability, high to low."""
    order = np.argsort(-p)
    out = []
    for i in range(1, len(p) + 1):
        chosen = order[:i]
        out.append((float(p[order[i - 1]]), i / len(p), float(y[chosen].mean())))
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--precision", type=float, default=0.85, help="out-of-fold target")
    parser.add_argument("--write", action="store_true", help=f"write {CALIBRATION_FILE}")
    args = parser.parse_args()
    engine = QuoteEngine.load()
    engine.meaning()
    x, y, kinds = examples(engine)
    p = out_of_fold(x, y)
    points = curve(p, y)
    # The lowest threshold (the most queries answered) whose out-of-fold precision
    # is at or above the target; the first few points, a handful of queries, are noise.
    threshold, chosen = 0.99, None
    for t, coverage, precision in points[10:]:
        if precision >= args.precision:
            threshold, chosen = t, (coverage, precision)
    print(f"{len(y)} examples, {int(y.sum())} right at top-1 ({y.mean():.2f})")
    print("threshold  coverage  precision (out of fold)")
    for t, coverage, precision in points[:: max(1, len(points) // 25)]:
        print(f"{t:9.3f}  {coverage:8.2f}  {precision:9.2f}")
    model = fit(x, y)
    print("weights (standardised):")
    for name, w in zip(FEATURES, model.weights, strict=True):
        print(f"  {name:<18}{w:+.3f}")
    if chosen is None:
        print(f"no threshold reaches precision {args.precision}")
        return 1
    print(
        f"chosen threshold {threshold:.3f}: coverage {chosen[0]:.2f}, "
        f"precision {chosen[1]:.2f} out of fold"
    )
    for kind in sorted(set(kinds)):
        of_kind = np.array([k == kind for k in kinds])
        taken = of_kind & (p >= threshold)
        right = f"{y[taken].mean():.2f}" if taken.any() else "-"
        print(
            f"  {kind:<16}n {of_kind.sum():>3}  confident {taken.sum() / of_kind.sum():.2f}  right {right}"
        )
    if args.write:
        model = Calibration(model.bias, model.weights, model.means, model.scales, threshold)
        comment = (
            "Written by tools/fit_decision.py on the tuning sets (queries, questions, asked);\n"
            f"{len(y)} examples; threshold for out-of-fold precision >= {args.precision}:\n"
            f"coverage {chosen[0]:.2f}, precision {chosen[1]:.2f}. Do not edit by hand."
        )
        CALIBRATION_FILE.write_text(model.to_toml(comment) + "\n", encoding="utf-8")
        print(f"wrote {CALIBRATION_FILE}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
