"""/stats for the bot's administrators: query counts, the most common queries, the misses."""

from __future__ import annotations

import time

from bot.app.i18n import gettext_for
from bot.app.replies import Reply, esc, fit_lines
from bot.app.sender import Sender
from bot.storage import Store

PRIVATE_CHATS = ("private", "console")


async def stats_reply(store: Store, sender: Sender, now: float | None = None) -> Reply:
    _ = gettext_for(sender.lang)
    if not sender.is_admin:
        return Reply(esc(_("Only the bot's administrators can see statistics.")))
    if sender.chat_type not in PRIVATE_CHATS:
        # Other users' queries are private: never posted where anyone else reads them.
        return Reply(esc(_("Statistics are shown only in a private chat with the bot.")))
    now = time.time() if now is None else now
    stats = await store.stats(now, now - now % 86400)
    counts = _("Queries today: {today}, in total: {total}").format(
        today=stats.today, total=stats.total
    )
    most, misses = _("Most asked"), _("Found nothing")
    lines = [
        esc(counts),
        "",
        f"<b>{esc(most)}</b>",
        *(f"{n}× {esc(q[:60])}" for q, n in stats.top_queries),
        "",
        f"<b>{esc(misses)}</b>",
        *(f"{n}× {esc(q[:60])}" for q, n in stats.misses),
    ]
    return Reply(fit_lines(lines))
