"""Deciding whether the best passage is *the* answer, or only the closest in meaning.

A confident wrong answer is the worst thing the bot can do: the person
believes it and goes away. Hand-set thresholds on one score were right only
about four times in ten for questions asked in one's own words. Here the
decision is a small logistic model over the evidence the engine has at query
time (`Evidence`), fitted on the tuning query sets by `tools/fit_decision.py`
and stored as plain numbers in `data/decision/calibration.toml` (never a
pickle: whoever can edit the data must not run code in the bot). Its output is
the probability that the first passage is right; the operating point
(`threshold`) was chosen out of fold for precision, so "confident" means right
about as often as the fit says (README, Relevance).
"""

from __future__ import annotations

import math
import tomllib
from dataclasses import astuple, dataclass, fields
from pathlib import Path

from bot.data import DATA_DIR
from bot.search.transcripts.conversation import TranscriptError

CALIBRATION_FILE = DATA_DIR / "decision" / "calibration.toml"


@dataclass(frozen=True, slots=True)
class Evidence:
    """What is known about a query's best passage when the decision is made."""

    lexical: float  # the best passage's share of the query's words (0..1)
    lexical_best: float  # the best share any passage has
    closeness: float  # the best passage's fused meaning score, in standard deviations
    lead: float  # its lead over the best passage of another turn, in standard deviations
    off_topic_margin: float  # best similarity minus the nearest everyday off-topic sentence
    question: float  # 1: asked in one's own words (a question frame, or an English sentence)
    english: float  # 1: an English sentence
    agree: float  # 1: words and meaning pick the same turn
    guest: float  # 1: the passage is a guest's (an interview's answers are the guest's)

    def values(self) -> tuple[float, ...]:
        return astuple(self)


FEATURES = tuple(f.name for f in fields(Evidence))


@dataclass(frozen=True)
class Calibration:
    """A logistic model: P(right) = sigmoid(bias + sum(weight * standardised feature))."""

    bias: float
    weights: tuple[float, ...]
    means: tuple[float, ...]
    scales: tuple[float, ...]
    threshold: float  # confident at or above this probability

    def probability(self, evidence: Evidence) -> float:
        z = self.bias
        for x, w, m, s in zip(
            evidence.values(), self.weights, self.means, self.scales, strict=True
        ):
            z += w * (x - m) / s
        return 1.0 / (1.0 + math.exp(-max(-40.0, min(40.0, z))))

    def confident(self, evidence: Evidence) -> bool:
        return self.probability(evidence) >= self.threshold

    def to_toml(self, comment: str = "") -> str:
        lines = [f"# {line}" if line else "#" for line in comment.splitlines()]
        lines += [f"threshold = {float(self.threshold)!r}", f"bias = {float(self.bias)!r}", ""]
        for name, w, m, s in zip(FEATURES, self.weights, self.means, self.scales, strict=True):
            lines.append(f"[features.{name}]")
            lines.append(f"weight = {float(w)!r}")
            lines.append(f"mean = {float(m)!r}")
            lines.append(f"scale = {float(s)!r}")
            lines.append("")
        return "\n".join(lines)


class CalibrationError(TranscriptError):
    """The calibration file is missing a feature, or holds something that is not a number.
    A data file that cannot be loaded, like a broken transcript: every entry point
    reports it in one line naming the file."""


def load_calibration(path: Path = CALIBRATION_FILE) -> Calibration:
    """The decision's coefficients; CalibrationError names the file and what is wrong."""
    try:
        with path.open("rb") as fh:
            data = tomllib.load(fh)
        features = data["features"]
        rows = [features[name] for name in FEATURES]
        weights = tuple(float(r["weight"]) for r in rows)
        means = tuple(float(r["mean"]) for r in rows)
        scales = tuple(float(r["scale"]) for r in rows)
        calibration = Calibration(
            float(data["bias"]), weights, means, scales, float(data["threshold"])
        )
    except (OSError, tomllib.TOMLDecodeError, KeyError, TypeError, ValueError) as exc:
        raise CalibrationError(path, None, f"{type(exc).__name__}: {exc}") from None
    if any(s <= 0 or not math.isfinite(s) for s in scales) or not 0 < calibration.threshold < 1:
        raise CalibrationError(path, None, "scales must be positive and 0 < threshold < 1")
    return calibration


__all__ = [
    "CALIBRATION_FILE",
    "FEATURES",
    "Calibration",
    "CalibrationError",
    "Evidence",
    "load_calibration",
]
