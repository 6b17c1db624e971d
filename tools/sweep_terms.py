"""Find the terms a machine-translated transcript may have mangled.

    PYTHONPATH=. python tools/sweep_terms.py data/000_c2cd4d18928321da.txt
    PYTHONPATH=. python tools/sweep_terms.py data/*.txt --uncovered   # only what no group covers
    PYTHONPATH=. python tools/sweep_terms.py FILE --context 转录         # every occurrence, in context

Prints four sections, each row marked with whether data/aliases.toml already
covers it ("=key" when the spelling folds to a group key, "~key" when the
row only contains a covered spelling, "-" when nothing covers it):

  (a) Latin-script tokens, with their count and the turns (timestamps) they occur in;
  (b) candidate transliterations: runs of >=3 characters that Chinese uses to
      spell foreign sounds (斯, 克, 尔, 特 ...), with counts;
  (c) quoted titles and terms in 《》, “” and 「」;
  (d) a summary of what is not covered yet.

The script only finds candidates. Whether a run is a name, whether a mangled
spelling may be folded, is decided by reading the transcript (see
docs/alias-sweep.md).
"""

from __future__ import annotations

import argparse
import re
import sys
from collections import Counter, defaultdict
from pathlib import Path

from bot.search.language.aliases import Aliases, load_aliases
from bot.search.transcripts.conversation import format_hms, load_conversation
from bot.text import normalize

# Characters used mostly for their sound when Chinese spells a foreign name
# (Xinhua transliteration tables plus the ones machine translation likes).
TRANSLIT_CHARS = set(
    "阿埃艾爱安昂奥澳巴拔芭柏拜班邦保鲍贝本比彼毕宾滨波伯勃博布步采查柴昌彻陈"
    "楚茨达戴丹道德登迪蒂丁杜顿多厄恩尔法范菲费芬丰冯佛弗福伏盖甘冈戈哥格葛"
    "古瓜圭哈海汉豪赫黑亨胡华霍基吉加迦贾杰捷金津卡凯坎康柯科克肯库夸奎昆拉莱"
    "赖兰朗劳勒雷蕾里理丽莉利列林琳隆卢鲁路伦罗洛马玛迈麦曼芒梅门蒙米密缪莫默"
    "姆穆纳娜奈内尼涅宁纽诺努帕潘庞佩彭皮珀普奇齐乔切钦琼丘萨塞桑瑟森沙莎珊尚"
    "舍什施史舒斯松苏索塔泰坦汤唐特提汀图托瓦维威温沃乌伍西希锡夏谢辛休修许亚"
    "扬耶伊因尤约泽扎詹卓兹祖佐森灵黎胥韦蒂迪莎娅夫"
)
_TRANSLIT_RUN = re.compile("[" + "".join(sorted(TRANSLIT_CHARS)) + r"·\-•]{3,}")
_LATIN = re.compile(r"[A-Za-z][A-Za-z0-9]*(?:[-.'’+][A-Za-z0-9]+)*\+?")
# A Latin token with the Han characters glued to it: 聊天GPT, GPT四, 指示GPT.
_GLUED = re.compile(r"([\u4e00-\u9fff]{1,2})?(" + _LATIN.pattern + r")([\u4e00-\u9fff]{1,2})?")
_QUOTED = re.compile(r"《([^》]{1,40})》|“([^”]{1,40})”|「([^」]{1,40})」|\"([^\"]{1,40})\"")


_GROUP_KEYS: set[str] = set()  # every key, also keys whose spellings all normalise to the key


def coverage(aliases: Aliases, text: str) -> str:
    """'=key' if text is a spelling (or key) of a group, '~key,...' if it contains one, '-'."""
    norm = normalize(text)
    if norm in aliases.table:
        return "=" + aliases.table[norm]
    if norm in aliases.keys or norm in _GROUP_KEYS:
        return "=" + norm
    if aliases.pattern is not None:
        found = sorted({aliases.table[m.group(0)] for m in aliases.pattern.finditer(norm)})
        keys_inside = sorted(k for k in aliases.keys if len(k) >= 2 and k in norm)
        hits = sorted(set(found) | set(keys_inside))
        if hits:
            return "~" + ",".join(hits)
    return "-"


def turns_of(paths: list[Path]):
    for path in paths:
        conv = load_conversation(path)
        for turn in conv.turns:
            yield f"{conv.id}@{format_hms(turn.start)}", turn.text


def sweep(paths: list[Path], aliases: Aliases, uncovered_only: bool, min_count: int) -> None:
    latin: dict[str, list[str]] = defaultdict(list)
    translit: Counter[str] = Counter()
    translit_where: dict[str, list[str]] = defaultdict(list)
    quoted: Counter[str] = Counter()
    glued: Counter[str] = Counter()
    for where, text in turns_of(paths):
        for m in _GLUED.finditer(text):
            if m.group(1) or m.group(3):
                glued[m.group(0)] += 1
        for m in _LATIN.finditer(text):
            latin[m.group(0)].append(where)
        for m in _TRANSLIT_RUN.finditer(text):
            run = m.group(0).strip("·-•")
            if len(run) >= 3:
                translit[run] += 1
                translit_where[run].append(where)
        for m in _QUOTED.finditer(text):
            quoted[next(g for g in m.groups() if g)] += 1

    missing: list[str] = []

    def row(label: str, count: int, where: list[str] | None) -> None:
        cov = coverage(aliases, label)
        if cov == "-":
            missing.append(label)
        if uncovered_only and cov != "-":
            return
        if count < min_count:
            return
        places = ""
        if where:
            uniq = sorted(set(where), key=where.index)
            places = " ".join(w.split("@", 1)[1] for w in uniq[:12])
            if len(uniq) > 12:
                places += f" …(+{len(uniq) - 12})"
        print(f"  {count:4d}  {cov:<18} {label:<28} {places}")

    print("(a) Latin-script tokens (count, coverage, token, turns)")
    for tok in sorted(latin, key=lambda t: (-len(latin[t]), t.lower())):
        row(tok, len(latin[tok]), latin[tok])
    print("\n(a2) Latin tokens glued to Han characters (mixed spellings such as 聊天GPT)")
    print("  (only rows no group covers: a covered spelling inside makes a row uninteresting)")
    for g, n in sorted(glued.items(), key=lambda kv: (-kv[1], kv[0])):
        if coverage(aliases, g) == "-":
            print(f"  {n:4d}  {'-':<18} {g}")
    print("\n(b) candidate transliterations (runs of sound characters, length >= 3)")
    for run, n in sorted(translit.items(), key=lambda kv: (-kv[1], kv[0])):
        row(run, n, translit_where[run])
    print("\n(c) quoted titles and terms")
    for q, n in sorted(quoted.items(), key=lambda kv: (-kv[1], kv[0])):
        row(q, n, None)
    print(
        f"\n(d) not covered by any group: {len(missing)} of "
        f"{len(latin) + len(translit) + len(quoted)} candidates of (a), (b) and (c)"
    )
    print("  " + " ".join(sorted(set(missing), key=str.lower)))


def context(paths: list[Path], needle: str, width: int) -> None:
    """Every occurrence of needle with its turn time: the reading step."""
    n = 0
    for where, text in turns_of(paths):
        for m in re.finditer(re.escape(needle), text, flags=re.IGNORECASE):
            lo, hi = max(0, m.start() - width), min(len(text), m.end() + width)
            print(
                f"{where}  …{text[lo : m.start()]}【{m.group(0)}】{text[m.end() : hi]}…".replace(
                    "\n", " "
                )
            )
            n += 1
    print(f"{n} occurrence(s) of {needle!r}")


def check(aliases_path: Path, paths: list[Path]) -> int:
    """Lint the groups: spellings claimed twice, spellings that would cut a key apart,
    and how often each spelling occurs in the transcripts (0 = query-side only)."""
    import tomllib

    groups = tomllib.loads(aliases_path.read_text(encoding="utf-8")).get("terms", {})
    owner: dict[str, str] = {}
    problems = 0
    for key, spellings in groups.items():
        for sp in spellings:
            n = normalize(sp)
            if n == normalize(key):
                continue
            if n in owner and owner[n] != key:
                print(f"CLAIMED TWICE  {sp!r}: {owner[n]!r} wins over {key!r}")
                problems += 1
            owner.setdefault(n, key)
    aliases = load_aliases(aliases_path)
    for key in groups:
        k = normalize(key)
        folded = aliases.fold(k).strip()
        if folded != k:
            print(f"KEY CUT APART  {key!r} folds to {folded!r}: a spelling occurs inside the key")
            problems += 1
    text = normalize("\n".join(t for _, t in turns_of(paths)))
    print("\nspelling occurrences in the transcript(s) (after normalisation; 0 = query side only):")
    for key, spellings in groups.items():
        hits = [
            f"{sp}×{text.count(normalize(sp))}" for sp in spellings if text.count(normalize(sp))
        ]
        key_hits = text.count(normalize(key))
        print(f"  {key}: key×{key_hits} " + " ".join(hits))
    print(f"\n{len(groups)} groups, {problems} problem(s)")
    return 1 if problems else 0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("transcripts", nargs="+", type=Path)
    ap.add_argument("--aliases", type=Path, default=Path("data/aliases.toml"))
    ap.add_argument("--uncovered", action="store_true", help="only rows no group covers")
    ap.add_argument("--min-count", type=int, default=1)
    ap.add_argument("--context", metavar="TEXT", help="print every occurrence of TEXT instead")
    ap.add_argument("--width", type=int, default=30, help="context characters each side")
    ap.add_argument(
        "--check", action="store_true", help="lint data/aliases.toml against the transcripts"
    )
    args = ap.parse_args(argv)
    if args.check:
        return check(args.aliases, args.transcripts)
    if args.context:
        context(args.transcripts, args.context, args.width)
        return 0
    import tomllib

    if args.aliases.exists():
        terms = tomllib.loads(args.aliases.read_text(encoding="utf-8")).get("terms", {})
        _GROUP_KEYS.update(normalize(k) for k in terms)
    sweep(args.transcripts, load_aliases(args.aliases), args.uncovered, args.min_count)
    return 0


if __name__ == "__main__":
    sys.exit(main())
