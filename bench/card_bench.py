"""Quote card render time, uncached, with a naive baseline measured in the same run.

    python bench/card_bench.py [--repeats 5]

Renders the cards of the bundled transcript's 20 longest passages in both
styles, `--repeats` times each (the disk cache is not used: every call lays
out, draws and encodes a PNG), and the longest passage alone 200 times per
style. The baseline draws the same text with Pillow as one unwrapped line in
the card's font and size on a 1080 x 1350 RGB canvas and saves it as PNG with
Pillow's defaults: the cost of the plainest card, before any line breaking.
"""

from __future__ import annotations

import argparse
import io
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.data import DATA_DIR  # noqa: E402
from PIL import Image, ImageDraw  # noqa: E402

from bot.cards import card_text, render_card  # noqa: E402
from bot.cards.render import font  # noqa: E402
from bot.search.transcripts.conversation import load_directory  # noqa: E402
from bot.search.transcripts.passages import cut_passages  # noqa: E402

BOT = "QuoteBot367"


def baseline(text: str) -> bytes:
    image = Image.new("RGB", (1080, 1350), (250, 247, 240))
    ImageDraw.Draw(image).text((96, 600), text, font=font("regular", 56), fill=(34, 34, 38))
    buf = io.BytesIO()
    image.save(buf, "PNG")
    return buf.getvalue()


def percentile(ms: list[float], q: float) -> float:
    ms = sorted(ms)
    return ms[min(len(ms) - 1, round(q * (len(ms) - 1)))]


def line(name: str, ms: list[float]) -> str:
    return (
        f"{name:<34} n={len(ms):>4}  p50 {statistics.median(ms):6.1f} ms  "
        f"p99 {percentile(ms, 0.99):6.1f} ms  max {max(ms):6.1f} ms"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()

    passages = [(p, c) for c in load_directory(DATA_DIR) for p in cut_passages(c)]
    top = sorted(passages, key=lambda pc: -len(pc[0].text))[:20]
    texts = [card_text(p, c) for p, c in top]
    # Warm up: open the fonts at every size once (a running bot does this once).
    for t in texts:
        render_card(t.passage_text, t.speaker, t.time_hms, t.title, BOT, "light")
        baseline(t.passage_text)

    card_ms: list[float] = []
    base_ms: list[float] = []
    sizes: list[int] = []
    for _ in range(args.repeats):
        for style in ("light", "dark"):
            for t in texts:
                start = time.perf_counter()
                png = render_card(t.passage_text, t.speaker, t.time_hms, t.title, BOT, style)
                card_ms.append((time.perf_counter() - start) * 1000)
                sizes.append(len(png))
                start = time.perf_counter()
                baseline(t.passage_text)
                base_ms.append((time.perf_counter() - start) * 1000)

    longest = texts[0]
    long_ms: dict[str, list[float]] = {"light": [], "dark": []}
    for style in ("light", "dark"):
        for _ in range(200):
            start = time.perf_counter()
            render_card(
                longest.passage_text, longest.speaker, longest.time_hms, longest.title, BOT, style
            )
            long_ms[style].append((time.perf_counter() - start) * 1000)

    print(f"20 longest passages ({len(top[-1][0].text)}-{len(longest.passage_text)} characters)")
    print(line("card (layout + draw + PNG)", card_ms))
    print(line("baseline (one line, plain PNG)", base_ms))
    for style, ms in long_ms.items():
        print(line(f"longest passage, {style}", ms))
    print(
        f"PNG size: median {statistics.median(sizes) / 1000:.0f} kB, max {max(sizes) / 1000:.0f} kB"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
