"""A synthetic catalogue with a varied vocabulary, for the scale benchmarks.

Reshuffling the seed's turns into many conversations (what `search_bench.py`
does) keeps the vocabulary of one conversation: the index's term lists stay
short and every posting list grows evenly, which flatters both the build and
the queries. Real catalogues talk about different things. Here each
conversation gets its own topic vocabulary (a few hundred words drawn from
jieba's 349k-word dictionary, so across 500 conversations the vocabulary is
about 150k words and millions of character bigrams), written in sentences of
common words and topic words with the seed's turn lengths, and a share of
the seed's own turns mixed in so the seed's queries still find real text.

    python bench/catalogue.py 500 /tmp/catalogue   # writes c00000.txt/.toml ...

Deterministic: the same count gives the same files.
"""

from __future__ import annotations

import random
import sys
from pathlib import Path

import jieba

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.data import DATA_DIR as DEFAULT_DATA_DIR  # noqa: E402

from bot.search.transcripts.conversation import format_hms, load_conversation  # noqa: E402

SEED = DEFAULT_DATA_DIR / "000_c2cd4d18928321da.txt"
TOPIC_WORDS = 300  # per conversation
SEED_SHARE = 0.15  # of turns copied from the seed
CHARS_PER_SECOND = 4.0


def _dictionary() -> tuple[list[str], list[str]]:
    """(common words, topic-word pool) from jieba's dictionary."""
    path = Path(jieba.__file__).parent / "dict.txt"
    entries = []
    for line in path.read_text(encoding="utf-8").splitlines():
        parts = line.split()
        if len(parts) < 2 or not parts[1].isdigit():
            continue
        word = parts[0]
        if 1 <= len(word) <= 4 and all("\u4e00" <= ch <= "\u9fff" for ch in word):
            entries.append((word, int(parts[1]), parts[2] if len(parts) > 2 else ""))
    entries.sort(key=lambda e: -e[1])
    common = [w for w, _, _ in entries[:1500]]
    pool = [
        w
        for w, freq, tag in entries[1500:]
        if 2 <= len(w) <= 4 and freq >= 3 and tag[:1] in ("n", "v", "a")
    ]
    return common, pool


def _zipf(n: int) -> list[float]:
    """Cumulative Zipf weights over ranks 1..n: a few words carry a text, most are rare."""
    total, out = 0.0, []
    for rank in range(1, n + 1):
        total += 1 / rank
        out.append(total)
    return out


_TOPIC_WEIGHTS = _zipf(TOPIC_WORDS)
_COMMON_WEIGHTS = _zipf(1500)


def _sentence(rng: random.Random, common: list[str], topic: list[str]) -> str:
    n = rng.randint(6, 18)
    words = rng.choices(common, cum_weights=_COMMON_WEIGHTS, k=n)
    # About 45% topic words; the conversation's first topic words are its main subjects.
    for i in range(n):
        if rng.random() < 0.45:
            words[i] = rng.choices(topic, cum_weights=_TOPIC_WEIGHTS)[0]
    return "".join(words) + rng.choice("。。。？！")


def make_catalogue(count: int, folder: Path) -> None:
    """`count` conversations in the seed's format, written into `folder`."""
    folder.mkdir(parents=True, exist_ok=True)
    seed = load_conversation(SEED)
    lengths = [len(t.text) for t in seed.turns]
    common, pool = _dictionary()
    for k in range(count):
        rng = random.Random(k)
        topic = rng.sample(pool, TOPIC_WORDS)
        clock, lines = 0, []
        for n, length in enumerate(rng.sample(lengths, len(lengths))):
            speaker = 1 + n % 2
            if rng.random() < SEED_SHARE:
                text = rng.choice(seed.turns).text
            else:
                text = ""
                while len(text) < length:
                    text += _sentence(rng, common, topic)
            lines += [f"发言人{speaker} {format_hms(clock)}", text, ""]
            clock += max(2, round(len(text) / CHARS_PER_SECOND))
        stem = f"c{k:05d}"
        (folder / f"{stem}.txt").write_text("\n".join(lines), encoding="utf-8")
        (folder / f"{stem}.toml").write_text(
            f'id = "c{k}"\ntitle = "Synthetic conversation {k}: {topic[0]}"\n'
            f'title_zh = "合成对话 {k}：{topic[0]}"\nlanguage = "zh-Hans"\n'
            f'video_url = "https://example.org/watch?v=c{k}"\n\n'
            '[speakers.1]\nname = "Guest"\nname_zh = "嘉宾"\n\n'
            '[speakers.2]\nname = "Host"\nname_zh = "主持人"\n',
            encoding="utf-8",
        )


if __name__ == "__main__":
    make_catalogue(int(sys.argv[1]), Path(sys.argv[2]))
