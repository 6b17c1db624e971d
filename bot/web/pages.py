"""The web pages as HTML strings: catalogue, conversation, share page, search results, 404.

Pure functions of the engine's data; the server (server.py) only picks one and
sends it. Every piece of transcript text, title, speaker name and URL comes
from imported subtitles, which are untrusted: all of it goes through `esc`, and
a URL is linked only when it is http(s) (`safe_url`), so a `javascript:` link in
a transcript's metadata is dropped, never rendered as a link. Pages load no
inline script and no inline style (the Content-Security-Policy forbids both):
behaviour is in static/app.js, looks in static/app.css.
"""

from __future__ import annotations

import html
from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import quote, urlsplit

from bot.app import Lang, gettext_for
from bot.search import Conversation, Passage, QuoteEngine, Result, format_hms, question_line


def N_(text: str) -> str:
    """Marks a string for translation (pybabel extracts it); translated where it is used."""
    return text


SPEAKER_COLOURS = 6  # CSS classes s0..s5; speakers beyond share them in turn
# The three outcomes of a search, as the bot words them (app.js gets them as data-l-*).
CLOSEST = N_("No passage says “{query}” in so many words. Closest in meaning:")
NOTHING = N_("Not in this conversation: nothing there says “{query}”.")
# Labels of the pages (pybabel finds them here; f-strings hide `_("…")` from it).
SEARCH_HERE = N_("Search this conversation")
SEARCH = N_("Search")
CONVERSATIONS = N_("Conversations")
WATCH = N_("Watch")
SEND = N_("Send to my chat")
QUOTE_CARD = N_("Quote card")
NOT_FOUND = N_("Not found")
NO_SUCH = N_("There is no “{what}” here. Search instead:")
ANSWERS = N_("Answers")
READ = N_("Read around it")
ASKED = N_("{host} asked: {question}")


def esc(text: str) -> str:
    """HTML-escaped text, quotes included (safe in element content and attributes)."""
    return html.escape(text, quote=True)


def safe_url(url: str) -> str:
    """`url` if it is an absolute http(s) URL, else "" (never a javascript: or data: link)."""
    url = url.strip()
    try:
        parts = urlsplit(url)
    except ValueError:
        return ""
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc:
        return ""
    if any(c in url for c in "\x00\r\n\t<>\"' "):
        return ""
    return url


def video_at(conv: Conversation, seconds: int) -> str:
    """The video at `seconds`, or "" when the conversation has no (safe) video link."""
    return safe_url(conv.video_link(seconds)) if safe_url(conv.video_url) else ""


def title_of(conv: Conversation, lang: Lang) -> str:
    return (conv.title if lang == "en" else conv.title_zh) or conv.title or conv.id


def speaker_name(conv: Conversation, number: int, lang: Lang) -> str:
    speaker = conv.speakers.get(number)
    return speaker.display(lang) if speaker else ""


def passage_path(passage_id: str) -> str:
    """The share page of a passage."""
    return f"/q/{quote(passage_id, safe='')}"


def read_path(conv_id: str, passage_id: str | None = None) -> str:
    """The conversation page, at a passage when given (query for the server, anchor for the
    browser: the page opens there even where the fragment is taken by Telegram)."""
    base = f"/c/{quote(conv_id, safe='')}"
    if passage_id is None:
        return base
    pid = quote(passage_id, safe="")
    return f"{base}?p={pid}#{pid}"


@dataclass(frozen=True)
class Head:
    """What goes into a page's <head>: title, and the Open Graph tags of a share page."""

    title: str
    description: str = ""
    image: str = ""  # absolute URL of og:image
    url: str = ""  # absolute URL of the page


def layout(lang: Lang, head: Head, body: str, asset_version: str = "") -> str:
    """A whole page. Telegram's Mini App script is loaded by app.js only inside Telegram."""
    v = f"?v={esc(asset_version)}" if asset_version else ""
    meta = [
        f'<meta property="og:title" content="{esc(head.title)}">',
        '<meta property="og:type" content="article">',
    ]
    if head.description:
        meta.append(f'<meta name="description" content="{esc(head.description)}">')
        meta.append(f'<meta property="og:description" content="{esc(head.description)}">')
    if head.image:
        meta += [
            f'<meta property="og:image" content="{esc(head.image)}">',
            '<meta property="og:image:type" content="image/png">',
            '<meta name="twitter:card" content="summary_large_image">',
        ]
    if head.url:
        meta.append(f'<meta property="og:url" content="{esc(head.url)}">')
    return (
        "<!doctype html>\n"
        f'<html lang="{"en" if lang == "en" else "zh-Hans"}">\n<head>\n'
        '<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        '<meta name="color-scheme" content="light dark">\n'
        f"<title>{esc(head.title)}</title>\n"
        + "\n".join(meta)
        + f'\n<link rel="stylesheet" href="/static/app.css{v}">\n'
        f'<script src="/static/app.js{v}" defer></script>\n'
        "</head>\n<body>\n" + body + "\n</body>\n</html>\n"
    )


def search_form(lang: Lang, action: str, value: str = "", conversation: str = "") -> str:
    _ = gettext_for(lang)
    hidden = f'<input type="hidden" name="c" value="{esc(conversation)}">' if conversation else ""
    lang_field = '<input type="hidden" name="lang" value="en">' if lang == "en" else ""
    return (
        f'<form class="search" role="search" action="{esc(action)}" method="get"'
        f' data-conversation="{esc(conversation)}" data-lang="{lang}"'
        f' data-l-answers="{esc(_(ANSWERS))}"'
        f' data-l-closest="{esc(_(CLOSEST))}"'
        f' data-l-none="{esc(_(NOTHING))}"'
        f' data-l-asked="{esc(_(ASKED))}">'
        f"{hidden}{lang_field}"
        f'<input type="search" name="q" maxlength="500" value="{esc(value)}"'
        f' placeholder="{esc(_(SEARCH_HERE))}" aria-label="{esc(_(SEARCH))}">'
        f'<button type="submit">{esc(_(SEARCH))}</button>'
        "</form>"
    )


def catalogue_page(engine: QuoteEngine, lang: Lang, asset_version: str = "") -> str:
    """`/`: every conversation, with a search over all of them."""
    _ = gettext_for(lang)
    items = []
    for conv in engine.conversations.values():
        href = read_path(conv.id)
        items.append(
            f'<li><a href="{esc(href)}">{esc(title_of(conv, lang))}</a>'
            f' <span class="meta">#{esc(conv.id)} · {format_hms(conv.duration)}</span></li>'
        )
    body = (
        f'<header class="top"><h1>{esc(_(CONVERSATIONS))}</h1>'
        f"{search_form(lang, '/search')}</header>"
        '<section id="results" class="results" aria-live="polite"></section>'
        f'<main><ul class="catalogue">{"".join(items)}</ul></main>'
    )
    return layout(lang, Head(_(CONVERSATIONS)), body, asset_version)


def _question_html(engine: QuoteEngine, passage: Passage, lang: Lang, link: bool) -> str:
    question = engine.question_for(passage)
    if question is None:
        return ""
    _ = gettext_for(lang)
    conv = engine.conversation(passage)
    text = _(ASKED).format(
        host=speaker_name(conv, question.speaker, lang), question=question_line(question.text)
    )
    inner = f'<a href="#{esc(question.id)}">{esc(text)}</a>' if link else esc(text)
    return f'<p class="asked">{inner}</p>'


def conversation_body(engine: QuoteEngine, conv: Conversation, lang: Lang) -> str:
    """The turns of one conversation: speaker (coloured), time linked to the video, each
    passage anchored by its id; an answer's first passage shows the question it follows.
    Independent of the request, so the server caches it per engine."""
    rows = engine.rows_of(conv.id)
    table = engine.table
    indices: Iterable[int] = (
        (int(i) for i in rows.nonzero()[0]) if rows is not None else range(len(table))
    )
    out: list[str] = []
    turn = None
    for row in indices:
        p = table[row]
        if p.conversation != conv.id:
            continue
        if p.turn != turn:
            if turn is not None:
                out.append("</section>")
            turn = p.turn
            colour = p.speaker % SPEAKER_COLOURS
            who = speaker_name(conv, p.speaker, lang)
            video = video_at(conv, p.turn_start)
            stamp = format_hms(p.turn_start)
            time_html = (
                f'<a class="time" href="{esc(video)}">{stamp}</a>'
                if video
                else f'<span class="time">{stamp}</span>'
            )
            out.append(
                f'<section class="turn s{colour}" id="turn-{p.turn}">'
                f'<h2 class="who"><span class="name">{esc(who)}</span> {time_html}</h2>'
            )
            out.append(_question_html(engine, p, lang, link=True))
        video = video_at(conv, p.at)
        at = f'<a class="at" href="{esc(video)}">{format_hms(p.at)}</a>' if video else ""
        out.append(f'<p class="passage" id="{esc(p.id)}">{esc(p.text)} {at}</p>')
    if turn is not None:
        out.append("</section>")
    return "".join(out)


def conversation_page(
    engine: QuoteEngine,
    conv: Conversation,
    lang: Lang,
    body: str,
    *,
    query: str = "",
    results_html: str = "",
    highlight: str | None = None,
    asset_version: str = "",
) -> str:
    """`/c/<id>`: the title, the search box (with results when asked) and every turn."""
    _ = gettext_for(lang)
    title = title_of(conv, lang)
    video = safe_url(conv.video_url)
    watch = (
        f' <a class="watch" href="{esc(video)}" target="_blank" rel="noopener noreferrer">'
        f"{esc(_(WATCH))}</a>"
        if video
        else ""
    )
    mark = f' data-highlight="{esc(highlight)}"' if highlight else ""
    mark += f' data-send-label="{esc(_(SEND))}"'
    page = (
        f'<header class="top"><p class="crumbs"><a href="/">{esc(_(CONVERSATIONS))}</a></p>'
        f"<h1>{esc(title)}{watch}</h1></header>"
        f"{search_form(lang, read_path(conv.id), query, conv.id)}"
        f'<section id="results" class="results" aria-live="polite">{results_html}</section>'
        f'<main class="transcript"{mark}>{body}</main>'
    )
    return layout(lang, Head(title), page, asset_version)


def results_html(
    engine: QuoteEngine, query: str, results: list[Result], lang: Lang, here: str | None = None
) -> str:
    """Search results as the bot decides them: answers, suggestions marked "closest in
    meaning", or the honest "not in this conversation". Mirrors static/app.js's rendering
    of /api/search. `here`: the conversation on the page (its passages link to anchors)."""
    _ = gettext_for(lang)
    if not query:
        return ""
    if not results:
        return f'<p class="none" data-status="none">{esc(_(NOTHING).format(query=query[:100]))}</p>'
    confident = results[0].confident
    heading = _(ANSWERS) if confident else _(CLOSEST).format(query=query[:100])
    items = []
    for r in results:
        p = r.passage
        conv = engine.conversation(p)
        who = speaker_name(conv, p.speaker, lang)
        cls = "hit" if r.confident else "hit suggestion"
        href = f"#{p.id}" if p.conversation == here else read_path(p.conversation, p.id)
        mark = (
            '<span class="approx" title="closest in meaning">≈</span> ' if not r.confident else ""
        )
        items.append(
            f'<li class="{cls}" data-id="{esc(p.id)}">{mark}'
            f'<a href="{esc(href)}">'
            f'<span class="who">{esc(who)}</span> <span class="t">{format_hms(p.at)}</span></a>'
            f"{_question_html(engine, p, lang, link=False)}"
            f'<span class="text">{esc(p.text)}</span></li>'
        )
    status = "answer" if confident else "suggestions"
    return f'<h2 data-status="{status}">{esc(heading)}</h2><ol class="hits">{"".join(items)}</ol>'


def results_json(engine: QuoteEngine, query: str, results: list[Result], lang: Lang) -> dict:
    """/api/search's answer: the decision (status) and each passage, as the page shows it."""
    status = "none" if not results else "answer" if results[0].confident else "suggestions"
    out = []
    for r in results:
        p = r.passage
        conv = engine.conversation(p)
        q = r.question
        out.append(
            {
                "id": p.id,
                "conversation": conv.id,
                "speaker": speaker_name(conv, p.speaker, lang),
                "at": format_hms(p.at),
                "seconds": p.at,
                "quote": p.text,
                "score": round(float(r.score), 4),
                "confident": r.confident,
                "href": read_path(p.conversation, p.id),
                "video": video_at(conv, p.at),
                "question": None
                if q is None
                else {
                    "id": q.id,
                    "speaker": speaker_name(conv, q.speaker, lang),
                    "text": question_line(q.text),
                },
            }
        )
    return {"query": query, "status": status, "results": out}


def share_page(
    engine: QuoteEngine, passage: Passage, lang: Lang, base_url: str, asset_version: str = ""
) -> str:
    """`/q/<id>`: one quote, who and when, the video link, and Open Graph tags whose image
    is the quote card, so a pasted link previews as the card."""
    _ = gettext_for(lang)
    conv = engine.conversation(passage)
    who = speaker_name(conv, passage.speaker, lang)
    when = format_hms(passage.at)
    title = f"{who} · {when}" if who else when
    video = video_at(conv, passage.at)
    head = Head(
        title=f"{title} — {title_of(conv, lang)}",
        description=passage.text[:200],
        image=f"{base_url}/card/{quote(passage.id, safe='')}.png",
        url=f"{base_url}{passage_path(passage.id)}",
    )
    stamp = (
        f'<a class="time" href="{esc(video)}" target="_blank" rel="noopener noreferrer">{when}</a>'
        if video
        else f'<span class="time">{when}</span>'
    )
    body = (
        f'<header class="top"><p class="crumbs"><a href="/">{esc(_(CONVERSATIONS))}</a></p>'
        f"<h1>{esc(title_of(conv, lang))}</h1></header>"
        f'<main class="share s{passage.speaker % SPEAKER_COLOURS}">'
        f"{_question_html(engine, passage, lang, link=False)}"
        f'<blockquote id="{esc(passage.id)}" class="passage">{esc(passage.text)}</blockquote>'
        f'<p class="who">— <span class="name">{esc(who)}</span> · {stamp}</p>'
        f'<p><a class="read" href="{esc(read_path(conv.id, passage.id))}">'
        f"📜 {esc(_(READ))}</a></p>"
        f'<p><img class="card" src="/card/{esc(quote(passage.id, safe=""))}.png"'
        f' alt="{esc(_(QUOTE_CARD))}" width="540"></p>'
        "</main>"
    )
    return layout(lang, head, body, asset_version)


def not_found_page(lang: Lang, what: str, asset_version: str = "") -> str:
    """404: the passage or conversation is not here (never another one), and a search box."""
    _ = gettext_for(lang)
    body = (
        f'<header class="top"><p class="crumbs"><a href="/">{esc(_(CONVERSATIONS))}</a></p>'
        f"<h1>{esc(_(NOT_FOUND))}</h1></header>"
        f'<main><p class="none">{esc(_(NO_SUCH).format(what=what[:100]))}</p>'
        f"{search_form(lang, '/search')}"
        '<section id="results" class="results" aria-live="polite"></section></main>'
    )
    return layout(lang, Head(_(NOT_FOUND)), body, asset_version)


def search_page(
    engine: QuoteEngine, lang: Lang, query: str, results: str, asset_version: str = ""
) -> str:
    """`/search?q=`: a search over every conversation (the catalogue's and 404's box)."""
    _ = gettext_for(lang)
    body = (
        f'<header class="top"><p class="crumbs"><a href="/">{esc(_(CONVERSATIONS))}</a></p>'
        f"<h1>{esc(_(SEARCH))}</h1>{search_form(lang, '/search', query)}</header>"
        f'<main><section id="results" class="results" aria-live="polite">{results}</section></main>'
    )
    return layout(lang, Head(_(SEARCH)), body, asset_version)
