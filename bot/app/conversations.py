"""Several conversations: `#id` narrowing, and what the bot says about the conversations.

A query, /quote, /topic, /card or /random may start with `#id` to search one
conversation only; a chat may choose one for good with /conversation. An id
is matched case-insensitively, or by its digits alone when only one id has
those digits (`#367` finds `l367`), because people remember the episode
number, not our prefix. A `#word` that names no conversation gets a reply
listing the ids rather than a search for "#word": with several conversations
it was almost certainly meant as one. With a single conversation a `#word`
that is not its id stays part of the words, as it always was.

Saved searches (behind result and page buttons) keep the conversation they
were narrowed to beside their words (bot.storage.searches), so a button
replays exactly the search it came from, whatever the chat chooses later.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from bot.app import buttons
from bot.app.i18n import Lang, gettext_for
from bot.app.replies import Button, Reply, esc, fit_lines
from bot.app.views import conversation_title as title
from bot.search import Conversation

_PREFIX = re.compile(r"[#＃]([A-Za-z0-9]{1,32})(?=\s|$)")
MAX_BUTTONS = 24  # /conversation offers a button per conversation up to this many
SHORT_TITLE = 40


@dataclass(frozen=True, slots=True)
class Narrowed:
    """The words to search, and the conversation to search them in (None: all)."""

    conversation: str | None
    text: str


@dataclass(frozen=True, slots=True)
class NoSuchConversation:
    """`#token` names no conversation (`matches` empty) or more than one (`matches`)."""

    token: str
    matches: tuple[str, ...] = ()


def resolve(token: str, ids: Sequence[str]) -> str | tuple[str, ...]:
    """The id `token` names; otherwise the ids it could mean (none, or several)."""
    folded = token.casefold()
    exact = [i for i in ids if i.casefold() == folded]
    if len(exact) == 1:
        return exact[0]
    if token.isdigit():
        by_digits = tuple(i for i in ids if re.sub(r"\D", "", i) == token)
        if len(by_digits) == 1:
            return by_digits[0]
        return by_digits
    return tuple(exact)


def narrow(text: str, ids: Sequence[str]) -> Narrowed | NoSuchConversation:
    """Split a leading `#id` off the text."""
    text = text.strip()
    match = _PREFIX.match(text)
    if match is None:
        return Narrowed(None, text)
    found = resolve(match.group(1), ids)
    if isinstance(found, str):
        return Narrowed(found, text[match.end() :].strip())
    if len(ids) <= 1 and not found:
        return Narrowed(None, text)  # one conversation: a hashtag is just words
    return NoSuchConversation(match.group(1), found)


def choice(arg: str, ids: Sequence[str]) -> str | NoSuchConversation | None:
    """/conversation's argument: an id (with or without `#`), or None for `all`."""
    arg = arg.strip().lstrip("#＃").strip()
    if arg.casefold() in ("all", "*", "全部") and not any(i.casefold() == "all" for i in ids):
        return None
    found = resolve(arg, ids)
    return found if isinstance(found, str) else NoSuchConversation(arg, found)


def short_title(conv: Conversation, lang: Lang, width: int = SHORT_TITLE) -> str:
    full = title(conv, lang)
    return full if len(full) <= width else full[: width - 1] + "…"


def listing(
    conversations: Sequence[Conversation], lang: Lang, limit: int = MAX_BUTTONS
) -> list[str]:
    """One line per conversation: its title and the `#id` that narrows to it.

    A catalogue of hundreds would fill a message and push out what follows
    (the commands, the hint); past `limit` one line says how many more there are.
    """
    _ = gettext_for(lang)
    lines = [f"• <b>{esc(title(c, lang))}</b> · #{esc(c.id)}" for c in conversations[:limit]]
    if len(conversations) > limit:
        more = _("…and {n} more (each has its #id in its quotes)").format(
            n=len(conversations) - limit
        )
        lines.append(esc(more))
    return lines


def no_such_conversation_view(
    wrong: NoSuchConversation, conversations: Sequence[Conversation], lang: Lang
) -> Reply:
    """An unknown or ambiguous `#x`: say so and list what there is."""
    _ = gettext_for(lang)
    if wrong.matches:
        head = _("“#{token}” could be more than one conversation:").format(token=wrong.token[:32])
        shown = [c for c in conversations if c.id in wrong.matches]
    else:
        head = _("No conversation is called “#{token}”. The conversations are:").format(
            token=wrong.token[:32]
        )
        shown = list(conversations)
    example = shown[0].id if shown else "id"
    hint = _("Start with one of these ids, for example: #{id} <words>").format(id=example)
    return Reply(fit_lines([esc(head), *listing(shown, lang), "", esc(hint)]))


def conversation_view(
    conversations: Sequence[Conversation], chosen: str | None, lang: Lang, changed: bool = False
) -> Reply:
    """/conversation: which conversation this chat searches, and buttons to choose."""
    _ = gettext_for(lang)
    by_id = {c.id: c for c in conversations}
    if chosen in by_id:
        now = _("This chat searches only: {title}").format(title=title(by_id[chosen], lang))
    else:
        now = _("This chat searches all conversations.")
    lines = [f"<b>{esc(now)}</b>"] if changed else [esc(now)]
    lines += ["", *listing(conversations, lang), ""]
    lines.append(
        esc(
            _(
                "Choose one below, or send /conversation #id; /conversation all searches all of them again."
            )
        )
    )
    rows: list[tuple[Button, ...]] = []
    for conv in list(conversations)[:MAX_BUTTONS]:
        mark = "✅ " if conv.id == chosen else ""
        label = f"{mark}#{conv.id} · {short_title(conv, lang, 30)}"
        rows.append((Button(label, data=buttons.choose_conversation(conv.id)),))
    everything = ("✅ " if chosen not in by_id else "") + _("All conversations")
    rows.append((Button(everything, data=buttons.choose_conversation(None)),))
    return Reply(fit_lines(lines), tuple(rows))
