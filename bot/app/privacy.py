"""/forget and /privacy: a person's right to be forgotten, and what the bot keeps.

/forget deletes what the database holds about the person asking (their logged
queries, the saved searches behind them, their private chat's subscription and
chosen conversation; bot.storage.privacy has the details) and confirms with the
counts. A button puts it all back within `UNDO_SECONDS`: until then the deleted
rows are held in this process's memory only, and dropped when the minute is up
(or the process ends). Groups keep what their administrators set.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import secrets
from collections.abc import Callable
from dataclasses import dataclass

from bot.app import buttons
from bot.app.i18n import Lang, gettext_for
from bot.app.replies import Button, Reply, esc, fit_lines
from bot.app.sender import Sender
from bot.storage import Forgotten, Store

UNDO_SECONDS = 60
PRIVATE_CHATS = ("private", "console")


@dataclass(frozen=True)
class _Undo:
    deadline: dt.datetime
    forgotten: Forgotten


class Forgetting:
    """The /forget dialogue, with the undo tokens of the last minute."""

    def __init__(
        self,
        store: Store,
        clock: Callable[[], dt.datetime],
        on_subscription_change: Callable[[], None] | None = None,
    ) -> None:
        self.store = store
        self.clock = clock
        self.on_subscription_change = on_subscription_change
        self._undo: dict[str, _Undo] = {}

    async def forget(self, sender: Sender) -> Reply:
        _ = gettext_for(sender.lang)
        if sender.chat_type not in PRIVATE_CHATS or sender.user_id is None:
            return Reply(
                esc(
                    _(
                        "Send /forget to me in a private chat: I delete what I keep about you there, and groups keep what their administrators set."
                    )
                )
            )
        forgotten = await self.store.forget(sender.user_id)
        if forgotten.subscriptions and self.on_subscription_change is not None:
            self.on_subscription_change()
        if forgotten.count == 0:
            return Reply(esc(_("I keep nothing about you: there was nothing to delete.")))
        token = secrets.token_urlsafe(12)
        self._undo[token] = _Undo(self.clock() + dt.timedelta(seconds=UNDO_SECONDS), forgotten)
        # The rows leave memory when the minute is up, pressed or not.
        asyncio.get_running_loop().call_later(UNDO_SECONDS + 1, self._undo.pop, token, None)
        lines = [
            esc(_("Done: I deleted {count} records about you.").format(count=forgotten.count)),
            esc(
                _(
                    "Logged queries: {queries}; saved searches: {searches}; daily-quote subscription: {subscriptions}; chosen conversation: {chats}."
                ).format(
                    queries=len(forgotten.queries),
                    searches=len(forgotten.searches),
                    subscriptions=len(forgotten.subscriptions),
                    chats=len(forgotten.chats),
                )
            ),
            esc(_("Pressed by mistake? The button puts it all back within a minute.")),
        ]
        undo = Button("↩ " + _("Undo"), data=buttons.undo_forget(token))
        return Reply(fit_lines(lines), ((undo,),))

    async def undo(self, sender: Sender, token: str) -> Reply:
        """The undo button: the rows go back if the minute is not up and it is the same person."""
        _ = gettext_for(sender.lang)
        held = self._undo.get(token)
        if held is None or held.forgotten.user_id != sender.user_id:
            return Reply(esc(_("Too late to undo: what was deleted is gone for good.")))
        del self._undo[token]
        if self.clock() > held.deadline:
            return Reply(esc(_("Too late to undo: what was deleted is gone for good.")))
        await self.store.restore(held.forgotten)
        if held.forgotten.subscriptions and self.on_subscription_change is not None:
            self.on_subscription_change()
        return Reply(esc(_("Undone: {count} records are back.").format(count=held.forgotten.count)))


def privacy_view(lang: Lang, log_days: int) -> Reply:
    """/privacy: what is kept, for how long, and why."""
    _ = gettext_for(lang)
    heading = _("What I keep, and why")
    lines = [
        f"<b>{esc(heading)}</b>",
        "",
        esc(
            _(
                "Each search: its time, the chat, a salted hash of your user id (not the id), the command, your words, the passage found and how long it took. Kept {days} days, then only the number of searches per day remains. Why: to see what people look for and what finds nothing, and to improve the answers."
            ).format(days=log_days)
        ),
        esc(_("The words behind result buttons, so that the buttons work later: kept 90 days.")),
        esc(
            _(
                "Your daily-quote subscription (time, time zone, language) and the conversation a chat chose: kept until you change them, /unsubscribe or /forget."
            )
        ),
        "",
        esc(
            _(
                "/forget deletes all of it about you at once (a button undoes it within a minute). In groups, what the administrators set is the group's and stays."
            )
        ),
    ]
    return Reply(fit_lines(lines))
