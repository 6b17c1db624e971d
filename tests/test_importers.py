"""Importing subtitles and transcripts (issue 12): the readers, bad files, the library.

Every fixture is written by the test itself, small; the seed re-cut into
~15-character subtitle cues checks that an imported conversation is found
at the right second and speaker.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from bot.data import DATA_DIR

from bot.search.index.table import table_from_conversations
from bot.search.library import ImportRefused, read_transcript
from bot.search.library.catalog import LibraryError, add, entries, remove
from bot.search.library.cues import hms, join
from bot.search.transcripts.conversation import load_conversation
from bot.search.transcripts.passages import Quality, cut_passages

SEED = DATA_DIR / "000_c2cd4d18928321da.txt"

VTT = """WEBVTT
Kind: captions

NOTE written by the test

1
00:00:01.000 --> 00:00:03.500 align:start position:0%
<v Ann Lee><i>Hello</i> and <b>welcome</b> to the

2
00:00:03.500 --> 00:00:05.000
<v Ann Lee>show &amp; tell. <c.yellow>Today</c>

00:00:05.000 --> 00:00:07.000
<v.loud Bob>我们聊聊

00:00:07.000 --> 00:00:09.000
<v Bob>人工智能。</v>

00:00:15.000 --> 00:00:17.000
<v Bob>After a pause.
"""

SRT = """1
00:00:01,000 --> 00:00:02,000
Ann: Hello there, this

2
00:00:02,000 --> 00:00:03,000
is the show.

3
00:00:03,500 --> 00:00:05,000
- BOB: 你好，

4
00:00:05,000 --> 00:00:06,000
世界。
"""

SEGMENTS = {
    "language": "en",
    "segments": [
        {"start": 0.0, "end": 2.5, "text": " So the question is", "speaker": "SPEAKER_00"},
        {"start": 2.5, "end": 4.0, "text": " whether it works.", "speaker": "SPEAKER_00"},
        {"start": 4.2, "end": 6.0, "text": " It does.", "speaker": "SPEAKER_01"},
        {"start": 6.0, "end": 8.0, "text": " Mostly."},
    ],
}


def write(tmp_path: Path, name: str, content: str | bytes) -> Path:
    path = tmp_path / name
    if isinstance(content, str):
        path.write_text(content, encoding="utf-8")
    else:
        path.write_bytes(content)
    return path


# -- readers ----------------------------------------------------------------------------


def test_vtt_voice_tags_styling_and_turns(tmp_path: Path) -> None:
    draft = read_transcript(write(tmp_path, "show.vtt", VTT))
    assert draft.format == "WebVTT"
    assert draft.speakers == ["Ann Lee", "Bob"]
    texts = [(t.speaker, t.start, t.text) for t in draft.turns]
    assert texts == [
        ("Ann Lee", 1.0, "Hello and welcome to the show & tell. Today"),
        ("Bob", 5.0, "我们聊聊人工智能。"),
        ("Bob", 15.0, "After a pause."),  # a pause over 3 s starts a new turn
    ]
    assert draft.turns[0].cues == [(0, 1.0), (25, 3.5)]
    assert draft.turns[0].text[25:].startswith("show")
    assert draft.turns[1].cues == [(0, 5.0), (4, 7.0)]
    assert draft.end == 17.0


def test_srt_name_prefixes(tmp_path: Path) -> None:
    draft = read_transcript(write(tmp_path, "show.srt", SRT))
    assert draft.format == "SRT"
    assert draft.speakers == ["Ann", "BOB"]
    assert [(t.speaker, t.text) for t in draft.turns] == [
        ("Ann", "Hello there, this is the show."),
        ("BOB", "你好，世界。"),
    ]
    assert draft.turns[1].cues == [(0, 3.5), (3, 5.0)]


def test_json_segments(tmp_path: Path) -> None:
    draft = read_transcript(write(tmp_path, "show.json", json.dumps(SEGMENTS)))
    assert draft.format == "JSON"
    assert [(t.speaker, t.start, t.text) for t in draft.turns] == [
        ("SPEAKER_00", 0.0, "So the question is whether it works."),
        ("SPEAKER_01", 4.2, "It does. Mostly."),  # no speaker: the previous one goes on
    ]


def test_joining_latin_and_cjk() -> None:
    assert join("the", "show") == "the show"
    assert join("GPT-4", "模型") == "GPT-4模型"
    assert join("我们用", "ChatGPT") == "我们用ChatGPT"
    assert join("你好，", "world") == "你好，world"


@pytest.mark.parametrize(
    "encoding,bom",
    [
        ("utf-8", b""),
        ("utf-8", b"\xef\xbb\xbf"),
        ("utf-16-le", b"\xff\xfe"),
        ("utf-16-be", b"\xfe\xff"),
    ],
)
def test_boms_and_utf16(tmp_path: Path, encoding: str, bom: bytes) -> None:
    path = write(tmp_path, "show.vtt", bom + VTT.encode(encoding))
    draft = read_transcript(path)
    assert draft.turns[1].text == "我们聊聊人工智能。"


def test_seed_format_round_trip(tmp_path: Path) -> None:
    draft = read_transcript(SEED)
    conv = add(draft, tmp_path / "lib", tmp_path / "nodata", conv_id="seedcopy")
    seed = load_conversation(SEED)
    assert [(t.speaker, t.start, t.text) for t in conv.turns] == [
        (t.speaker, t.start, t.text) for t in seed.turns
    ]
    assert conv.speakers == seed.speakers and conv.intro_end == seed.intro_end
    assert [p.at for p in cut_passages(conv)] == [p.at for p in cut_passages(seed)]


def test_passage_time_follows_cues(tmp_path: Path) -> None:
    # One turn of two cues far apart in time: the second passage starts at the second cue.
    first = "这是第一句话，" + "内容" * 20 + "。"
    second = "这是第二句话，" + "很长" * 20 + "。"
    vtt = (
        f"WEBVTT\n\n00:00:10.000 --> 00:00:11.000\n<v A>{first}\n\n"
        f"00:00:12.000 --> 00:01:40.000\n<v A>{second}\n"
    )
    draft = read_transcript(write(tmp_path, "t.vtt", vtt))
    conv = add(draft, tmp_path / "lib", tmp_path / "nodata", conv_id="t")
    # Interpolated across the whole turn instead, the second would be at about 55 s.
    assert [p.at for p in cut_passages(conv)] == [10, 12]


# -- bad files: one line naming the file and where, exit 2, nothing written ---------------

LATIN1 = "WEBVTT\n\n00:00:01.000 --> 00:00:02.000\nCafé crème\n".encode("latin-1")
BAD = {
    "garbage.vtt": ("WEBVT\nhello\n", "not a WebVTT file", ":1"),
    "garbage.srt": ("just some words\nand more\n", "not a subtitle file", ":1"),
    "binary.srt": (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00", "not a subtitle file", None),
    "empty.vtt": ("", "empty file", None),
    "blank.srt": ("\n\n  \n", "empty file", None),
    "headeronly.vtt": ("WEBVTT\n\n", "no cues", None),
    "latin1.vtt": (LATIN1, "wrong encoding", ":4"),
    "utf16nobom.vtt": (VTT.encode("utf-16-le"), "wrong encoding", None),
    "wordtimes.vtt": (  # overlapping cues are allowed; word times going back are not
        "WEBVTT\n\n00:00:01.000 --> 00:00:05.000\na\n\n00:00:04.000 --> 00:00:06.000\n"
        "b<00:00:05.500><c> c</c><00:00:04.500><c> d</c>\n",
        "backwards times: the word timestamp <00:00:04.500> goes back before 00:00:05.500",
        ":6: cue 2",
    ),
    "backwards.srt": (
        "1\n00:00:05,000 --> 00:00:06,000\na\n\n2\n00:00:02,000 --> 00:00:03,000\nb\n",
        "backwards times",
        ":6: cue 2",
    ),
    "reversed.vtt": (
        "WEBVTT\n\n00:00:05.000 --> 00:00:04.000\na\n",
        "backwards times",
        ":3: cue 1",
    ),
    "badtiming.vtt": ("WEBVTT\n\n00:00:01.000 --> soon\na\n", "malformed cue timing", ":3: cue 1"),
    "backwards.json": (
        json.dumps(
            {"segments": [{"start": 3, "end": 4, "text": "a"}, {"start": 1, "end": 2, "text": "b"}]}
        ),
        "backwards times",
        ": segment 2",
    ),
    "badnumber.srt": (
        "1\n00:00:01,000 --> 00:00:02,000\nhi\n\n3x\n00:00:02,500 --> 00:00:03,000\nok\n",
        "this cue could not be read",
        ":6: cue 2",
    ),
    "notsegments.json": ('{"text": "hello"}', "expected an object with", None),
    "broken.json": ('{"segments": [\n{"start": 1,,}]}', "not JSON", ":2"),
}


@pytest.mark.parametrize("name", sorted(BAD))
def test_bad_files_are_refused_by_name(tmp_path: Path, name: str) -> None:
    content, message, where = BAD[name]
    path = write(tmp_path, name, content)
    with pytest.raises(ImportRefused) as info:
        read_transcript(path)
    text = str(info.value)
    assert text.startswith(str(path)) and message in text and "\n" not in text
    if where is not None:
        assert text.startswith(f"{path}{where}"), text


def run(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        capture_output=True,
        text=True,
        env={**os.environ, **env},
        timeout=120,
    )


@pytest.mark.parametrize(
    "name", ["garbage.srt", "empty.vtt", "latin1.vtt", "wordtimes.vtt", "backwards.srt"]
)
def test_cli_bad_file_exit_2_nothing_written(tmp_path: Path, name: str) -> None:
    content, message, _ = BAD[name]
    path = write(tmp_path, name, content)
    library = tmp_path / "library"
    proc = run(["add", str(path)], {"QUOTEBOT_LIBRARY_DIR": str(library)})
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and name in lines[0] and message in lines[0], proc.stderr
    assert not library.exists() or not any(library.iterdir())


# -- the library ------------------------------------------------------------------------


def test_library_rules(tmp_path: Path) -> None:
    lib = tmp_path / "lib"
    draft = read_transcript(write(tmp_path, "show.vtt", VTT))
    conv = add(draft, lib, DATA_DIR, title="Show", speakers=["Ann Lee=Ann", "2=鲍勃"])
    assert conv.id == "show" and conv.title == "Show"
    assert [s.name for s in conv.speakers.values()] == ["Ann", "鲍勃"]
    assert sorted(p.name for p in lib.iterdir()) == ["show.toml", "show.txt"]  # no temp left
    with pytest.raises(LibraryError, match="already in the library"):
        add(draft, lib, DATA_DIR)
    with pytest.raises(LibraryError, match="bundled"):
        add(draft, lib, DATA_DIR, conv_id="l367")
    with pytest.raises(LibraryError, match="no such speaker"):
        add(draft, lib, DATA_DIR, conv_id="x", speakers=["Carol=C"])
    assert [(e.conversation.id, e.source) for e in entries(DATA_DIR, lib)] == [
        ("l367", "bundled"),
        ("show", "library"),
    ]
    with pytest.raises(LibraryError, match="bundled"):
        remove("l367", lib, DATA_DIR)
    remove("show", lib, DATA_DIR)
    assert list(lib.iterdir()) == []


def test_cache_key_covers_the_library(tmp_path: Path) -> None:
    from bot.search.index.build import data_key

    lib = tmp_path / "lib"
    before = data_key(DATA_DIR, lib)
    add(read_transcript(write(tmp_path, "show.vtt", VTT)), lib, DATA_DIR)
    after = data_key(DATA_DIR, lib)
    assert after != before
    (lib / "show.txt").write_text((lib / "show.txt").read_text() + "\n", encoding="utf-8")
    assert data_key(DATA_DIR, lib) != after


def test_add_list_remove_round_trip(tmp_path: Path) -> None:
    env = {"QUOTEBOT_LIBRARY_DIR": str(tmp_path / "library")}
    path = write(tmp_path, "my-show.srt", SRT)
    proc = run(
        [
            "add",
            str(path),
            "--title",
            "My Show",
            "--video-url",
            "https://example.com/v",
            "--id",
            "ms1",
        ],
        env,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("added ms1: My Show (SRT, 2 turns, 00:00:06")
    assert ": 4 cues, " in proc.stdout and len(proc.stdout.splitlines()) == 1
    listing = run(["conversations"], env)
    assert listing.returncode == 0, listing.stderr
    rows = [line.split() for line in listing.stdout.splitlines()[1:-1]]
    assert [r[:4] for r in rows] == [
        ["l367", "bundled", "383", "02:27:16"],
        ["ms1", "library", "2", "00:00:06"],
    ]
    refused = run(["remove", "l367"], env)
    assert refused.returncode == 2 and len(refused.stderr.strip().splitlines()) == 1
    assert "bundled" in refused.stderr
    again = run(["add", str(path), "--id", "ms1"], env)
    assert again.returncode == 2 and "already in the library" in again.stderr
    gone = run(["remove", "ms1"], env)
    assert gone.returncode == 0, gone.stderr
    assert "ms1" not in run(["conversations"], env).stdout
    assert run(["remove", "ms1"], env).returncode == 2
    for command in ("add", "conversations", "remove"):
        help_ = run([command, "--help"], env)
        assert help_.returncode == 0 and "usage: quotebot" in help_.stdout


# -- the seed re-cut into subtitle cues -------------------------------------------------


def seed_as_vtt(path: Path, width: int = 15) -> None:
    """The seed's turns cut into ~`width`-character cues (never inside a Latin word),
    with times interpolated between turn starts, and voice tags for the speakers."""
    conv = load_conversation(SEED)
    out = ["WEBVTT", ""]
    for i, turn in enumerate(conv.turns):
        end = conv.turns[i + 1].start if i + 1 < len(conv.turns) else turn.start + 30
        text = turn.text.replace("\n", "")
        pieces, start = [], 0
        while start < len(text):
            cut = min(len(text), start + width)
            while (
                cut < len(text)
                and text[cut - 1].isascii()
                and text[cut].isascii()
                and text[cut].isalnum()
            ):
                cut += 1
            pieces.append((start, text[start:cut]))
            start = cut
        for k, (offset, piece) in enumerate(pieces):
            nxt = pieces[k + 1][0] if k + 1 < len(pieces) else len(text)
            a = turn.start + (end - turn.start) * offset / len(text)
            b = turn.start + (end - turn.start) * nxt / len(text)
            name = conv.speakers[turn.speaker].name
            out += [f"{hms(a)} --> {hms(b)}", f"<v {name}>{piece}", ""]
    path.write_text("\n".join(out), encoding="utf-8")


def expected_second(phrase: str) -> tuple[int, str]:
    """Where `phrase` is said in the seed (interpolated the way the VTT above was cut), and who."""
    conv = load_conversation(SEED)
    phrase = phrase.replace(" ", "")
    for i, turn in enumerate(conv.turns):
        text = turn.text.replace("\n", "").replace(" ", "")
        offset = text.find(phrase)
        if offset >= 0:
            end = conv.turns[i + 1].start if i + 1 < len(conv.turns) else turn.start + 30
            second = turn.start + (end - turn.start) * offset / len(text)
            return round(second), conv.speakers[turn.speaker].name
    raise AssertionError(phrase)


def verbatim_phrases(n: int = 8) -> list[str]:
    """Twelve characters from the middle of n whole-thought passages spread over the seed."""
    seed = load_conversation(SEED)
    good = [p for p in cut_passages(seed) if p.quality == Quality.GOOD and p.at > seed.intro_end]
    return [good[i * len(good) // n].text[6:18] for i in range(n)]


def test_seed_recut_as_vtt_is_found_at_its_second(tmp_path: Path, shared_cache) -> None:
    vtt = tmp_path / "seed.vtt"
    seed_as_vtt(vtt)
    data = tmp_path / "data"  # the bundled support files, without the bundled transcript
    data.mkdir()
    for name in ("aliases.toml", "stopwords.txt", "userdict.txt", "topics.toml"):
        (data / name).write_bytes((DATA_DIR / name).read_bytes())
    env = {
        "QUOTEBOT_LIBRARY_DIR": str(tmp_path / "library"),
        "QUOTEBOT_DATA_DIR": str(data),
        "QUOTEBOT_CACHE_DIR": str(tmp_path / "cache"),
        "QUOTEBOT_SEMANTIC": "off",
    }
    added = run(["add", str(vtt), "--id", "recut", "--title", "Seed re-cut"], env)
    phrases = verbatim_phrases()
    assert added.returncode == 0, added.stderr
    proc = subprocess.run(
        [sys.executable, "-m", "bot", "search", "--json", "--limit", "5"],
        input="\n".join(phrases) + "\n",
        capture_output=True,
        text=True,
        env={**os.environ, **env},
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    for phrase, line in zip(phrases, proc.stdout.splitlines(), strict=True):
        results = json.loads(line)["results"]
        hits = [r for r in results if phrase.replace(" ", "") in r["quote"].replace(" ", "")]
        assert hits, (phrase, results)
        best = hits[0]
        assert best in results[:3] and best["conversation"] == "recut"
        # The passage starts before the phrase; where the phrase is, the passage's own
        # time plus the share of the passage before it must agree within 2 s.
        second, speaker = expected_second(best["quote"][:12])
        h, m, s = (int(x) for x in best["at"].split(":"))
        assert abs(h * 3600 + m * 60 + s - second) <= 2, (phrase, best, second)
        assert best["speaker"] == speaker


def test_index_cache_keeps_the_times_cues_gave(tmp_path: Path) -> None:
    """The cache keeps a conversation's metadata and its passages' seconds (cut with the
    cue times), not the turns themselves: a running engine never needs them."""
    from bot.search.index.build import load_or_build

    lib = tmp_path / "lib"
    conv = add(read_transcript(write(tmp_path, "show.vtt", VTT)), lib, DATA_DIR)
    assert conv.turns[0].cues == ((25, 3),)
    built = load_or_build(DATA_DIR, tmp_path / "cache", lib)
    cached = load_or_build(DATA_DIR, tmp_path / "cache", lib)  # read back from disk
    assert [c.id for c in cached.conversations] == ["l367", "show"]
    assert cached.conversations == built.conversations
    assert cached.conversations[1].end == 17 and cached.conversations[1].turns == []
    rows = cached.table.conversation == 1
    assert cached.table.at[rows].tolist() == table_from_conversations([conv]).at.tolist()
    assert cached.table.at.tolist() == built.table.at.tolist()


def test_english_transcript_is_cut_at_full_stops(tmp_path: Path) -> None:
    sentences = [f"Sentence {n} says one thing." for n in range(8)]  # 26 characters each
    segments = [
        {"start": 2.0 * n, "end": 2.0 * n + 2, "text": s, "speaker": "Host"}
        for n, s in enumerate(sentences)
    ]
    path = write(tmp_path, "en.json", json.dumps({"segments": segments}))
    conv = add(read_transcript(path), tmp_path / "lib", tmp_path / "nodata")
    assert conv.language == "en" and len(conv.turns) == 1
    passages = cut_passages(conv)
    # Two sentences a passage (at least 40 characters), joined with a space, each at its cue.
    assert [p.text for p in passages][:2] == [
        "Sentence 0 says one thing. Sentence 1 says one thing.",
        "Sentence 2 says one thing. Sentence 3 says one thing.",
    ]
    assert [p.at for p in passages] == [0, 4, 8, 12]
