"""Small helpers the benchmarks share: percentiles and resident memory.

Kept free of imports from the project (and of sys.path changes), so a
benchmark can time another checkout's code with them.
"""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
QUERY_SETS = [ROOT / "tests" / "eval" / "queries.toml", ROOT / "tests" / "eval" / "questions.toml"]


def eval_queries() -> list[str]:
    """The queries of the tuning sets (queries, questions, asked), in order."""
    import tomllib

    out: list[str] = []
    for path in [*QUERY_SETS, ROOT / "tests" / "eval" / "asked.toml"]:
        with path.open("rb") as fh:
            out += [q["q"] for q in tomllib.load(fh)["query"]]
    return out


def percentile(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, round(q * (len(values) - 1)))]


def p50_p99(label: str, times_ms: list[float]) -> dict[str, float | None]:
    """Median and 99th percentile of a list of milliseconds (None when empty)."""
    if not times_ms:
        return {f"{label}_p50_ms": None, f"{label}_p99_ms": None}
    return {
        f"{label}_p50_ms": round(percentile(times_ms, 0.5), 2),
        f"{label}_p99_ms": round(percentile(times_ms, 0.99), 2),
    }


def rss_mb() -> float:
    """Current resident set size (Linux), in MiB."""
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")
