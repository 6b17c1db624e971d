"""The HTML views: a quote, a browsable result, a topic page, suggestions, a miss, the daily quote."""

from __future__ import annotations

from bot.app import buttons
from bot.app.i18n import Lang, gettext_for
from bot.app.replies import MAX_CAPTION, Button, CardReply, Links, Reply, esc, fit_lines
from bot.search import Conversation, Passage, QuoteEngine, Result, format_hms, question_line

TOPIC_PAGE = 3  # passages per /topic page


def card_button(passage: Passage, lang: Lang) -> Button:
    """On every quote: send its card as a photo."""
    _ = gettext_for(lang)
    return Button("🖼 " + _("Card"), data=buttons.send_card(passage.id, "light"))


def read_button(passage: Passage, lang: Lang, links: Links) -> Button | None:
    """On every quote when there are web pages: the conversation around it, as a Mini App
    (private chats) or a t.me startapp link (elsewhere)."""
    target = links.read(passage.conversation, passage.id)
    if target is None:
        return None
    _ = gettext_for(lang)
    page, link = target
    return Button("📜 " + _("Read around it"), url=link, web_app=page)


def several(engine: QuoteEngine) -> bool:
    """Whether quotes must name their conversation (with one, it goes without saying)."""
    return len(engine.conversations) > 1


def conversation_title(conv: Conversation, lang: Lang) -> str:
    """A conversation's title in the reader's language."""
    return (conv.title if lang == "en" else conv.title_zh) or conv.title or conv.id


def question_lines(question: Passage | None, conv: Conversation, lang: Lang) -> list[str]:
    """The line above an answer, when the engine knows its question: who asked, and
    the question ("Lex 问：……？"); no line otherwise."""
    if question is None:
        return []
    _ = gettext_for(lang)
    host = (
        conv.speakers[question.speaker].display(lang) if question.speaker in conv.speakers else ""
    )
    text = _("{host} asked: {question}").format(host=host, question=question_line(question.text))
    return [f"<i>{esc(text)}</i>"]


def quote_block(
    passage: Passage,
    conv: Conversation,
    lang: Lang,
    links: Links,
    named: bool = False,
    question: Passage | None = None,
) -> list[str]:
    """A passage as it appears in every answer: the question it answers (when the
    engine knows it), the words, who said them, when, where to watch; `named`: and in
    which conversation (when there are several)."""
    _ = gettext_for(lang)
    speaker = conv.speakers[passage.speaker].display(lang)
    when = format_hms(passage.at)
    video = conv.video_link(passage.at)
    stamp = f'<a href="{esc(video)}">{when}</a>' if video else when
    lines = question_lines(question, conv, lang)
    lines += [
        f"<blockquote>{esc(passage.text)}</blockquote>",
        f"— <b>{esc(speaker)}</b> · {stamp}" if speaker else f"— {stamp}",  # unnamed: no label
    ]
    if named:
        lines.append(f"<i>{esc(conversation_title(conv, lang))}</i>")
    share = links.share(passage.id)
    if share:
        label = _("Share this quote")
        lines.append(f'<a href="{esc(share)}">{esc(label)}</a>')
    return lines


def context_buttons(
    passage: Passage, lang: Lang, has_prev: bool, has_next: bool
) -> tuple[Button, ...]:
    _ = gettext_for(lang)
    row = []
    if has_prev:
        row.append(Button("⬆ " + _("Before"), data=buttons.neighbour(passage.id, -1)))
    if has_next:
        row.append(Button(_("After") + " ⬇", data=buttons.neighbour(passage.id, 1)))
    row.append(card_button(passage, lang))
    return tuple(row)


def passage_view(engine: QuoteEngine, passage: Passage, lang: Lang, links: Links) -> Reply:
    """One passage with buttons to the passages before and after it."""
    conv = engine.conversation(passage)
    row = context_buttons(
        passage, lang, engine.has_neighbour(passage.id, -1), engine.has_neighbour(passage.id, 1)
    )
    question = engine.question_for(passage)
    read = read_button(passage, lang, links)
    return Reply(
        fit_lines(quote_block(passage, conv, lang, links, several(engine), question)),
        ((row,) if row else ()) + (((read,),) if read else ()),
        passage_id=passage.id,
    )


def result_view(
    engine: QuoteEngine, results: list[Result], rank: int, key: str, lang: Lang, links: Links
) -> Reply:
    """The result at `rank`, with buttons to the better and the next match."""
    _ = gettext_for(lang)
    base = passage_view(engine, results[rank].passage, lang, links)
    nav = []
    if rank > 0:
        nav.append(Button("◀ " + _("Better match"), data=buttons.result_at(key, rank - 1)))
    if rank + 1 < len(results):
        nav.append(
            Button(
                _("Next match") + f" ({rank + 2}/{len(results)}) ▶",
                data=buttons.result_at(key, rank + 1),
            )
        )
    return Reply(
        base.html,
        (*base.buttons, tuple(nav)) if nav else base.buttons,
        passage_id=base.passage_id,
    )


def topic_page_view(
    engine: QuoteEngine,
    keyword: str,
    results: list[Result],
    page: int,
    key: str,
    lang: Lang,
    links: Links,
) -> Reply:
    """One page of a /topic search, with paging buttons."""
    _ = gettext_for(lang)
    pages = (len(results) + TOPIC_PAGE - 1) // TOPIC_PAGE
    page = max(0, min(page, pages - 1))
    heading = _("Topic: {keyword}").format(keyword=keyword[:100])
    lines = [f"<b>{esc(heading)}</b> ({page + 1}/{pages})", ""]
    named = several(engine)
    for n, r in enumerate(
        results[page * TOPIC_PAGE : (page + 1) * TOPIC_PAGE], page * TOPIC_PAGE + 1
    ):
        conv = engine.conversation(r.passage)
        lines.append(f"<b>{n}.</b>")
        lines.extend(quote_block(r.passage, conv, lang, links, named, r.question))
        lines.append("")
    nav = []
    if page > 0:
        nav.append(Button("◀", data=buttons.topic_page(key, page - 1)))
    if page + 1 < pages:
        nav.append(Button("▶", data=buttons.topic_page(key, page + 1)))
    return Reply(fit_lines(lines), (tuple(nav),) if nav else ())


def topic_list_view(topics: list[str], lang: Lang) -> Reply:
    """/topic alone: a prompt and up to 12 topics as buttons."""
    _ = gettext_for(lang)
    text = esc(_("Which topic? For example: /topic 意识 — or pick one:"))
    row = [Button(t, data=buttons.suggested_topic(i)) for i, t in enumerate(topics[:12])]
    rows = tuple(tuple(row[i : i + 3]) for i in range(0, len(row), 3))
    return Reply(text, rows)


def no_match_view(
    text: str, topics: list[str], close: list[int], lang: Lang, in_all: bool = False
) -> Reply:
    """Say so honestly, then offer what might help: close topics, /random.
    `in_all`: the search covered several conversations, not one."""
    _ = gettext_for(lang)
    if in_all:
        miss = _("I couldn't find anything about “{query}” in these conversations.")
    else:
        miss = _("I couldn't find anything about “{query}” in this conversation.")
    lines = [esc(miss.format(query=text[:100]))]
    if close:
        lines.append(esc(_("Maybe one of these topics?")))
    lines.append(esc(_("Or try /random for a random quote.")))
    row = tuple(Button(topics[i], data=buttons.suggested_topic(i)) for i in close)
    return Reply(fit_lines(lines), (row,) if row else ())


def suggestions_view(engine: QuoteEngine, text: str, results: list[Result], lang: Lang) -> Reply:
    """Passages closest in meaning, labelled as such: the words were not evidence enough
    to say "this is it", so the person chooses; each button opens one passage."""
    _ = gettext_for(lang)
    lines = [
        esc(
            _("No passage says “{query}” in so many words. Closest in meaning:").format(
                query=text[:100]
            )
        ),
        "",
    ]
    row = []
    named = several(engine)
    for n, result in enumerate(results, 1):
        passage = result.passage
        conv = engine.conversation(passage)
        speaker = conv.speakers[passage.speaker].display(lang)
        preview = passage.text if len(passage.text) <= 90 else passage.text[:89] + "…"
        where = f" · <i>{esc(conversation_title(conv, lang))}</i>" if named else ""
        who = f"{esc(speaker)} · " if speaker else ""
        lines.append(f"<b>{n}.</b> {who}{format_hms(passage.at)}{where}")
        lines.append(f"<i>{esc(preview)}</i>")
        row.append(Button(str(n), data=buttons.open_passage(passage.id)))
    lines.append("")
    lines.append(esc(_("Or try /random for a random quote.")))
    return Reply(fit_lines(lines), (tuple(row),) if row else ())


def daily_quote_view(engine: QuoteEngine, passage: Passage, lang: Lang, links: Links) -> Reply:
    """The daily quote: a heading, the passage, and the 🖼 button that sends its card."""
    _ = gettext_for(lang)
    conv = engine.conversation(passage)
    heading = _("Today's quote")
    lines = [f"☀️ <b>{esc(heading)}</b>", *quote_block(passage, conv, lang, links, several(engine))]
    return Reply(fit_lines(lines), ((card_button(passage, lang),),), passage_id=passage.id)


def card_caption_lines(
    passage: Passage,
    conv: Conversation,
    lang: Lang,
    links: Links,
    named: bool = False,
    question: Passage | None = None,
) -> list[str]:
    """A card's caption: the question the passage answers (when known), who and when
    (linked to the video at that second), the conversation when there are several, the
    share link. The words themselves are on the picture."""
    # quote_block without its first line, the blockquote: the words are on the picture.
    return question_lines(question, conv, lang) + quote_block(passage, conv, lang, links, named)[1:]


def card_view(
    engine: QuoteEngine, passage: Passage, lang: Lang, links: Links, style: str = "light"
) -> CardReply:
    """A passage's quote card, sent as a photo; a button offers the other style."""
    _ = gettext_for(lang)
    conv = engine.conversation(passage)
    other = "dark" if style == "light" else "light"
    label = "🌙 " + _("Dark card") if other == "dark" else "☀️ " + _("Light card")
    return CardReply(
        passage.id,
        style,
        fit_lines(
            card_caption_lines(
                passage, conv, lang, links, several(engine), engine.question_for(passage)
            ),
            MAX_CAPTION,
        ),
        ((Button(label, data=buttons.send_card(passage.id, other)),),),
    )


def daily_card_view(
    engine: QuoteEngine, passage: Passage, lang: Lang, links: Links, style: str = "light"
) -> CardReply:
    """The daily quote as a card: the heading and the caption, no buttons."""
    _ = gettext_for(lang)
    conv = engine.conversation(passage)
    heading = _("Today's quote")
    lines = [
        f"☀️ <b>{esc(heading)}</b>",
        *card_caption_lines(
            passage, conv, lang, links, several(engine), engine.question_for(passage)
        ),
    ]
    return CardReply(passage.id, style, fit_lines(lines, MAX_CAPTION))
