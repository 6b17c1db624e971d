"""The `quotebot` command line: search, card, console, index, web, run; add, conversations,
remove; backup, restore, doctor.

`run` is the one place that reaches into `handlers/` (and so Telegram); every
other command uses only the core, which keeps `quotebot search` fast to start.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from bot.search import format_hms, question_line

if TYPE_CHECKING:  # loaded only by the commands that use them (a fast start for the others)
    from bot.config import Settings
    from bot.search import QuoteEngine

PROG = "quotebot"


class _Parser(argparse.ArgumentParser):
    """argparse with a one-line error and exit code 2 (its usual code) on bad arguments."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(2, f"{self.prog}: error: {message}\n")


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if not 1 <= value <= 50:
        raise argparse.ArgumentTypeError(f"must be between 1 and 50, got {value}")
    return value


def _port(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if not 0 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"must be between 0 and 65535, got {value}")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog=PROG,
        description=(
            "Quote the Lex Fridman #367 conversation with Sam Altman (Chinese transcript) "
            "back to people: search it, chat with the bot locally, or run it on Telegram."
        ),
        epilog="Configuration comes from the environment and an optional .env file; "
        "see .env.example.",
    )
    parser.add_argument(
        "--data-dir", type=Path, default=None, help="folder of transcripts (default: bundled data/)"
    )
    parser.add_argument(
        "--library-dir",
        type=Path,
        default=None,
        help="the user library that `add` writes to and every command loads beside the "
        "bundled data (default: QUOTEBOT_LIBRARY_DIR, else ~/.local/share/quotebot/library)",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    search = sub.add_parser(
        "search",
        help="find the passages a query means",
        description=(
            "Print the best passages for QUERY: speaker, timestamp, the quote. "
            "With no QUERY, read one query per line from standard input (the index "
            "is loaded once) and print one result per line."
        ),
    )
    search.add_argument("query", nargs="?", help="what to look for (Chinese, English or mixed)")
    search.add_argument(
        "--json",
        action="store_true",
        help='print JSON: {"query", "results": [{"timestamp", "at", "speaker", "quote", '
        '"score", "conversation"}]}; one object per line when reading standard input',
    )
    search.add_argument(
        "--limit",
        type=_positive,
        default=3,
        metavar="N",
        help="at most N results (1-50, default 3)",
    )
    search.add_argument(
        "--conversation",
        metavar="ID",
        help="search this conversation only (its id, as `quotebot conversations` lists it)",
    )

    card = sub.add_parser(
        "card",
        help="draw a passage as a quote card (PNG)",
        description=(
            "Draw the card of the best match for QUERY (or of the passage --id names) "
            "as a 1080 px wide PNG: the passage, speaker, time, episode title and the "
            "bot's @name. Prints the file's path."
        ),
        epilog='example: quotebot card --style dark --out card.png "人类反馈强化学习"',
    )
    card.add_argument("query", nargs="?", help="what to look for; the best match is drawn")
    card.add_argument(
        "--id",
        dest="passage_id",
        metavar="PASSAGE_ID",
        help="draw this passage instead of searching (ids as in share links, e.g. l367-12-0)",
    )
    card.add_argument(
        "--style", choices=["light", "dark"], default="light", help="colours (default light)"
    )
    card.add_argument(
        "--out", required=True, type=Path, metavar="FILE", help="where to write the PNG"
    )
    card.add_argument(
        "--bot",
        default="",
        metavar="USERNAME",
        help="the bot's Telegram username to print on the card (default: none)",
    )

    sub.add_parser(
        "index",
        help="build the search index and meaning vectors ahead of time",
        description="Build (or verify) the on-disk index cache for the data folder, and embed the passages for the meaning layer (with a progress bar; tens of seconds once).",
    )
    console = sub.add_parser(
        "console",
        help="talk to the bot in this terminal, no Telegram token needed",
        description="Hold the bot's conversation in the terminal: type a query or a command "
        "(/help lists them); buttons appear as numbered choices. Ctrl-D quits.",
    )
    console.add_argument("--lang", choices=["zh", "en"], default="zh", help="reply language")
    add = sub.add_parser(
        "add",
        help="import subtitles or a transcript into the library",
        description=(
            "Import FILE into the user library as a conversation the bot quotes. Accepted: "
            "WebVTT (.vtt; voice tags <v Name> become speakers, styling tags are dropped), "
            "SRT (.srt; 'Name:' at the start of a cue becomes its speaker), JSON "
            '({"segments": [{"start", "end", "text", "speaker"?}]}, times in seconds, as '
            "Whisper-style tools export) and the seed's own format (.txt with headers "
            "'发言人N HH:MM:SS', its .toml beside it if there is one). Encoded as UTF-8 (with or "
            "without a BOM) or UTF-16 with a BOM. Consecutive cues of one speaker become one "
            "turn (a new turn at a speaker change or a pause over 3 s), and every cue keeps "
            "its time. YouTube's rolling automatic captions are stored once, each word at its "
            "second; overlapping cues are accepted; repeated lines are kept once; a Chinese "
            "line with an English one in each cue becomes parallel text; speech without "
            "punctuation is cut at pauses. One line per file says what was done. A file that "
            "cannot be imported (not subtitles, empty, backwards times, another encoding) is "
            "one line naming the file and the line or cue, and nothing is written for it; "
            "the exit code is 2 if any file failed. A URL (http:// or https://) is a video "
            "page whose subtitles are fetched with yt-dlp."
        ),
        epilog="example: quotebot add my-show.vtt --title 'My Show #12' "
        "--video-url https://www.youtube.com/watch?v=XXXXXXXXXXX --speaker 1=Ann",
    )
    add.add_argument(
        "sources",
        nargs="+",
        metavar="FILE",
        help="the .vtt, .srt, .json or .txt file; several files, or a folder (its files of "
        "those kinds, a season at once); or a video page's URL (its subtitles are fetched "
        "with yt-dlp)",
    )
    add.add_argument(
        "--lang",
        metavar="LANGS",
        help="for a URL: the subtitle languages to prefer, comma-separated, e.g. zh-Hans,en "
        "(default: --language if given, then zh, then en); uploaded subtitles come first, "
        "automatic captions are the fallback",
    )
    add.add_argument("--title", help="the conversation's title (default: the file's name)")
    add.add_argument(
        "--video-url",
        metavar="URL",
        help="the recording's URL; quotes link to it at their second (YouTube's t=)",
    )
    add.add_argument(
        "--speaker",
        action="append",
        default=[],
        metavar="LABEL=NAME",
        help="name a speaker: LABEL is the name in the file (voice tag, 'Name:' prefix, "
        "SPEAKER_00) or its number in order of appearance (1, 2, …); repeatable",
    )
    add.add_argument(
        "--language",
        metavar="LANG",
        help="the transcript's language tag, e.g. zh-Hans or en (default: guessed from the text)",
    )
    add.add_argument(
        "--id",
        dest="conv_id",
        metavar="ID",
        help="1-12 letters or digits, used in share links (default: from the file's name)",
    )
    sub.add_parser(
        "conversations",
        help="list the conversations: bundled and in the library",
        description="List every conversation the bot quotes: id, title, turns, duration and "
        "source (bundled with quotebot, or library: added with `quotebot add`).",
    )
    remove = sub.add_parser(
        "remove",
        help="take a conversation out of the library",
        description="Remove the conversation ID from the user library (its .txt and .toml). "
        "Bundled conversations cannot be removed.",
    )
    remove.add_argument("conv_id", metavar="ID", help="the conversation's id (see `conversations`)")
    web = sub.add_parser(
        "web",
        help="serve the conversations as web pages on 127.0.0.1 (no token needed)",
        description=(
            "Serve the web pages (the catalogue, each conversation, share pages with quote "
            "cards, the search API) on 127.0.0.1 and print the URL. Stop with Ctrl-C."
        ),
    )
    web.add_argument(
        "--port",
        type=_port,
        default=8080,
        help="port on 127.0.0.1 (default 8080; 0 picks a free one)",
    )
    backup = sub.add_parser(
        "backup",
        help="copy the database consistently, even while the bot runs",
        description="Copy QUOTEBOT_DB to FILE with SQLite's online backup API: one "
        "consistent snapshot (everything committed before it started), taken while the bot "
        "keeps running, checked with integrity_check and renamed into place. FILE is "
        "replaced if it exists.",
    )
    backup.add_argument("file", type=Path, metavar="FILE", help="where to write the copy")
    restore = sub.add_parser(
        "restore",
        help="put a backup in place of the database (the bot must be stopped)",
        description="Replace QUOTEBOT_DB with FILE, a backup: refused while a quotebot holds "
        "the database; FILE must pass integrity_check and have a schema this quotebot knows. "
        "The current database is kept as QUOTEBOT_DB.before-restore; the swap is one rename.",
    )
    restore.add_argument("file", type=Path, metavar="FILE", help="the backup to restore")
    sub.add_parser(
        "doctor",
        help="check the set-up: configuration, token, webhook, database, disk, index, fonts, clock",
        description="Check everything `quotebot run` needs, one line each (✔ or ✘, and what "
        "to do): the configuration; the token (getMe); the webhook Telegram has against "
        "QUOTEBOT_WEBHOOK_URL; updates waiting; the database (integrity, schema, size); free "
        "disk; the index cache against the library; the meaning model; the card fonts; the "
        "clock against Telegram's Date header. Exit code 0 when all pass, 1 otherwise.",
    )
    sub.add_parser(
        "run",
        help="run the Telegram bot (long polling, or a webhook if QUOTEBOT_WEBHOOK_URL is set)",
        description="Run the Telegram bot. Needs TELEGRAM_BOT_TOKEN; see .env.example.",
    )
    return parser


def _result_json(engine, query: str, limit: int, conversation: str | None = None) -> dict:
    results = []
    for r in engine.search(query, limit, conversation):
        conv = engine.conversation(r.passage)
        results.append(
            {
                "timestamp": format_hms(r.passage.turn_start),
                "at": format_hms(r.passage.at),
                "speaker": conv.speakers[r.passage.speaker].name,
                "quote": r.passage.text,
                "score": r.score,
                "conversation": conv.id,
                # false: not evidence enough for an answer, but among the closest in meaning
                "confident": r.confident,
                # the host's question this passage answers, when the engine knows it
                "question": None
                if r.question is None
                else {
                    "speaker": conv.speakers[r.question.speaker].name
                    if r.question.speaker in conv.speakers
                    else "",
                    "at": format_hms(r.question.at),
                    "text": question_line(r.question.text),
                },
            }
        )
    return {"query": query, "results": results}


def _print_human(
    engine, query: str, limit: int, out: TextIO, conversation: str | None = None
) -> None:
    results = engine.search(query, limit, conversation)
    several = len(engine.conversations) > 1
    if not results:
        out.write("没有找到相关的段落。(no matching passage)\n")
        return
    if not results[0].confident:
        out.write("≈ 意思最接近的段落 (closest in meaning; no passage says it in so many words)\n")
    for n, r in enumerate(results, 1):
        conv = engine.conversation(r.passage)
        speaker = conv.speakers[r.passage.speaker]
        who = (
            f"{speaker.name_zh} ({speaker.name}) "
            if speaker.name_zh != speaker.name
            else f"{speaker.name} "
            if speaker.name
            else ""  # a transcript without speakers: no made-up label
        )
        out.write(f"{n}. {who}{format_hms(r.passage.at)} [{r.score:.2f}]\n")
        if r.question is not None and r.question.speaker in conv.speakers:
            host = conv.speakers[r.question.speaker]
            out.write(f"   {host.name_zh or host.name} 问：{question_line(r.question.text)}\n")
        text = r.passage.text.replace("\n", "\n   ")
        out.write(f"   {text}\n")
        if several:  # which conversation, when there is more than one
            out.write(f"   #{conv.id} · {conv.title}\n")
        link = conv.video_link(r.passage.at)
        if link:
            out.write(f"   {link}\n")


def cmd_search(args: argparse.Namespace, engine) -> int:
    out = sys.stdout
    only = args.conversation
    if only is not None and only not in engine.conversations:
        ids = sorted(engine.conversations)
        known = ", ".join(ids[:10]) + (
            ", …; `quotebot conversations` lists all" if ids[10:] else ""
        )
        print(f"{PROG}: error: no conversation {only[:40]!r} (there are: {known})", file=sys.stderr)
        return 2
    if args.query is not None:
        if args.json:
            result = _result_json(engine, args.query, args.limit, only)
            out.write(json.dumps(result, ensure_ascii=False))
            out.write("\n")
        else:
            _print_human(engine, args.query, args.limit, out, only)
        return 0
    for line in sys.stdin:
        query = line.rstrip("\n")
        if args.json:
            result = _result_json(engine, query, args.limit, only)
            out.write(json.dumps(result, ensure_ascii=False) + "\n")
        else:
            _print_human(engine, query, args.limit, out, only)
        out.flush()
    return 0


def cmd_card(args: argparse.Namespace, engine) -> int:
    from bot.cards import card_text, render_card

    if args.passage_id is not None:
        passage = engine.get(args.passage_id)
        if passage is None:
            print(f"{PROG}: error: no passage with id {args.passage_id!r}", file=sys.stderr)
            return 2
    else:
        results = engine.search(args.query, 1)
        if not results:
            print(f"{PROG}: error: no passage matches {args.query!r}", file=sys.stderr)
            return 2
        passage = results[0].passage
    text = card_text(passage, engine.conversation(passage))
    png = render_card(
        text.passage_text, text.speaker, text.time_hms, text.title, args.bot, args.style
    )
    try:
        args.out.write_bytes(png)
    except OSError as exc:
        print(f"{PROG}: error: cannot write {args.out}: {exc.strerror or exc}", file=sys.stderr)
        return 2
    print(args.out)
    return 0


def cmd_web(args: argparse.Namespace, engine, settings) -> int:
    """`quotebot web`: the web front alone on 127.0.0.1, with the bundled (and library)
    conversations; the meaning layer is ready before the URL is printed, so every answer
    is the one `quotebot search` gives."""
    import asyncio

    from bot.cards import CardCache
    from bot.web import WebFront, serve

    engine.wait_for_meaning()
    front = WebFront(
        engine=lambda: engine,
        cards=CardCache(settings.cache_dir / "cards"),
        base_url=settings.web_url or "",
    )

    def ready(port: int) -> None:
        print(f"quotebot web: serving on http://127.0.0.1:{port}/ (Ctrl-C stops)", flush=True)

    try:
        asyncio.run(serve(front, "127.0.0.1", args.port, ready))
    except OSError as exc:
        print(f"{PROG}: error: cannot listen on 127.0.0.1:{args.port}: {exc}", file=sys.stderr)
        return 1
    return 0


def _library(args: argparse.Namespace, settings) -> Path:
    return args.library_dir or settings.library_dir


def cmd_add(args: argparse.Namespace, settings) -> int:
    """Import each source; one summary line per file (or one error line naming it).

    Exit 0 when every file was imported, 2 when any failed (the others are still imported).
    """
    from bot.search.library import ImportRefused, transcript_sources

    if (
        args.video_url is not None
        and args.video_url
        and not args.video_url.startswith(("https://", "http://"))
    ):
        print(f"{PROG} add: error: --video-url must be an http(s) URL", file=sys.stderr)
        return 2
    from bot.search.library import is_url

    try:
        paths: list[Path | str] = []
        for source in args.sources:
            paths += [source] if is_url(source) else transcript_sources([Path(source)])
    except ImportRefused as exc:
        print(f"{PROG}: error: {exc}", file=sys.stderr)
        return 2
    several = len(paths) > 1
    if several:
        options = {"--id": args.conv_id, "--title": args.title, "--video-url": args.video_url}
        given = [name for name, value in options.items() if value is not None]
        if given:
            print(
                f"{PROG} add: error: {', '.join(given)} "
                f"{'names' if len(given) == 1 else 'name'} one conversation; with "
                f"{len(paths)} files, add them one at a time",
                file=sys.stderr,
            )
            return 2
    from bot.progress import terminal_progress

    progress = terminal_progress("importing") if several else None
    failed = 0
    for done, path in enumerate(paths, 1):
        started = time.perf_counter()
        line, ok = _add_one(args, settings, path, started)
        failed += not ok
        if progress is not None and sys.stderr.isatty():
            sys.stderr.write("\r\033[K")
        print(line, file=sys.stdout if ok else sys.stderr, flush=True)
        if progress is not None:
            progress(done, len(paths))
    if several:
        print(
            f"{len(paths) - failed} of {len(paths)} imported"
            + (f", {failed} failed" if failed else "")
        )
    return 2 if failed else 0


def _langs(args: argparse.Namespace) -> list[str]:
    from bot.search.library import DEFAULT_LANGS

    if args.lang:
        return [x.strip() for x in args.lang.split(",") if x.strip()]
    asked = [args.language, args.language.split("-")[0]] if args.language else []
    return list(dict.fromkeys([*asked, *DEFAULT_LANGS]))


def _add_one(
    args: argparse.Namespace, settings, source: Path | str, started: float
) -> tuple[str, bool]:
    """Import one file or video page: (its summary line, True) or (its one-line error, False)."""
    from bot.search.library import ImportRefused, LibraryError, add, added_line, read_transcript

    conv_id, title, video_url, fetched = args.conv_id, args.title, args.video_url, None
    try:
        if isinstance(source, str):
            from bot.search.library import fetch

            fetched = fetch(source, _langs(args), args.language)
            draft = fetched.draft
            conv_id = conv_id or fetched.conv_id
            title = title or fetched.title
            video_url = fetched.video_url if video_url is None else video_url
        else:
            draft = read_transcript(source, language=args.language)
        conv = add(
            draft,
            _library(args, settings),
            settings.data_dir,
            conv_id=conv_id,
            title=title,
            video_url=video_url,
            language=args.language,
            speakers=args.speaker,
        )
    except (ImportRefused, LibraryError) as exc:
        return f"{PROG}: error: {exc}", False
    extra = (
        f"; {'automatic captions' if fetched.automatic else 'subtitles'} "
        f"({fetched.language}) of {fetched.video_url}"
        if fetched is not None
        else ""
    )
    return added_line(conv, draft, time.perf_counter() - started, extra), True


def cmd_conversations(args: argparse.Namespace, settings) -> int:
    from bot.search import TranscriptError
    from bot.search.library import entries

    try:
        rows = entries(settings.data_dir, _library(args, settings))
    except (TranscriptError, OSError) as exc:
        print(f"{PROG}: error: {exc}", file=sys.stderr)
        return 2
    width = max([2, *(len(e.conversation.id) for e in rows)])
    print(f"{'ID':<{width}}  {'SOURCE':<7}  {'TURNS':>5}  DURATION  TITLE")
    for e in rows:
        c = e.conversation
        print(
            f"{c.id:<{width}}  {e.source:<7}  {len(c.turns):>5}  {format_hms(c.duration)}  {c.title}"
        )
    print(f"library: {_library(args, settings)}")
    return 0


def cmd_remove(args: argparse.Namespace, settings) -> int:
    from bot.search.library import LibraryError, remove

    try:
        path = remove(args.conv_id, _library(args, settings), settings.data_dir)
    except LibraryError as exc:
        print(f"{PROG} remove: error: {exc}", file=sys.stderr)
        return 2
    print(f"removed {args.conv_id} ({path})")
    return 0


def cmd_backup(args: argparse.Namespace, settings) -> int:
    from bot.storage import StorageError, backup_database

    started = time.perf_counter()
    try:
        summary = backup_database(settings.db_path, args.file)
    except StorageError as exc:
        print(f"{PROG} backup: error: {exc}", file=sys.stderr)
        return 2
    took = time.perf_counter() - started
    print(f"backed up {settings.db_path} to {args.file} in {took:.2f} s: {summary.line()}")
    return 0


def cmd_restore(args: argparse.Namespace, settings) -> int:
    from bot.storage import StorageError, restore_database

    try:
        summary, kept = restore_database(args.file, settings.db_path)
    except StorageError as exc:
        print(f"{PROG} restore: error: {exc}", file=sys.stderr)
        return 2
    print(f"restored {args.file} to {settings.db_path}: {summary.line()}")
    if kept is not None:
        print(f"the previous database is kept as {kept}")
    return 0


def cmd_index(engine: QuoteEngine, started: float) -> int:
    """`quotebot index`: the index and meaning vectors are built (or verified) by loading."""
    meaning = engine.meaning()
    models = f"ready ({', '.join(meaning.model_ids)})" if meaning else "off (lexical search only)"
    print(
        f"index ready: {len(engine.table)} passages in {len(engine.conversations)} "
        f"conversation(s); meaning layer {models}; "
        f"{time.perf_counter() - started:.1f} s"
    )
    return 0


def _settings(args: argparse.Namespace) -> Settings | None:
    """The settings (with --library-dir), logging set up; None once a bad setting is printed."""
    from bot.config import ConfigError, load_settings

    try:
        settings = load_settings(data_dir=args.data_dir)
    except ConfigError as exc:
        if args.command == "doctor":  # the first check, failed: the others need settings
            print(f"✘ configuration: {exc} → fix it in .env (see .env.example)")
        else:
            print(f"{PROG}: error: {exc}", file=sys.stderr)
        return None
    from bot.logs import setup_logging

    setup_logging(settings)
    if args.library_dir is not None:
        from dataclasses import replace

        settings = replace(settings, library_dir=args.library_dir)
    return settings


def _load_engine(args: argparse.Namespace, settings: Settings) -> QuoteEngine | None:
    """The engine for a command that searches; None once a broken transcript is printed.

    search and index load the meaning layer when first needed (a search that words
    answer never loads the model); the console and the web pages build it on a
    thread and answer by words meanwhile, as the bot does.
    """
    from bot.progress import terminal_progress
    from bot.search import QuoteEngine, TranscriptError

    try:
        return QuoteEngine.load(
            settings.data_dir,
            settings.cache_dir,
            meaning="background" if args.command in ("console", "web") else "lazy",
            progress=terminal_progress("embedding passages"),
            library_dir=settings.library_dir,
            index_progress=terminal_progress("indexing conversations"),
        )
    except (TranscriptError, OSError) as exc:
        print(f"{PROG}: error: {exc}", file=sys.stderr)
        return None


def _serve(args: argparse.Namespace, settings: Settings) -> int:
    """`run` and `console`: before anything slow, one bot per database and a database it
    can use (bot.storage.hold); a StorageError then or later is one line naming QUOTEBOT_DB."""
    from bot.storage import StorageError, hold

    try:
        held = hold(settings.db_path)  # noqa: F841 (the lock lives while the bot runs)
        if args.command == "run":
            from handlers.app import run_bot

            return run_bot(settings)
        engine = _load_engine(args, settings)
        if engine is None:
            return 2
        from bot.console import run_console

        return run_console(engine, settings, lang=args.lang)
    except StorageError as exc:
        print(f"{PROG}: error: QUOTEBOT_DB ({settings.db_path}) {exc}", file=sys.stderr)
        return 2


def _search_commands(args: argparse.Namespace, settings: Settings) -> int:
    """search, card, web and index: the engine, and no database."""
    started = time.perf_counter()
    engine = _load_engine(args, settings)
    if engine is None:
        return 2
    if args.command == "search":
        return cmd_search(args, engine)
    if args.command == "card":
        return cmd_card(args, engine)
    if args.command == "web":
        return cmd_web(args, engine, settings)
    if args.command == "index":
        return cmd_index(engine, started)
    return 2


def _doctor(args: argparse.Namespace, settings: Settings) -> int:
    from bot.doctor import run_doctor

    return run_doctor(settings)


# Commands that need the settings only: no engine is loaded for them.
SETTINGS_COMMANDS: dict[str, Callable[[argparse.Namespace, Settings], int]] = {
    "add": cmd_add,
    "conversations": cmd_conversations,
    "remove": cmd_remove,
    "doctor": _doctor,
    "backup": cmd_backup,
    "restore": cmd_restore,
}


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 2
    if args.command == "card" and (args.query is None) == (args.passage_id is None):
        parser.exit(2, f"{PROG} card: error: give either QUERY or --id PASSAGE_ID (one of them)\n")
    settings = _settings(args)
    if settings is None:
        return 1 if args.command == "doctor" else 2
    if args.command in SETTINGS_COMMANDS:
        return SETTINGS_COMMANDS[args.command](args, settings)
    if args.command in ("run", "console"):
        return _serve(args, settings)
    return _search_commands(args, settings)


if __name__ == "__main__":
    raise SystemExit(main())
