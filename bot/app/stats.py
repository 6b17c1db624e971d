"""/stats for the bot's administrators: query counts, the most common queries, the misses."""

from __future__ import annotations

import asyncio
import datetime as dt
import time

from bot.app.i18n import gettext_for
from bot.app.replies import Reply, esc, fit_lines
from bot.app.sender import Sender
from bot.cards import ChartData, render_chart
from bot.storage import Store

PRIVATE_CHATS = ("private", "console")
CHART_DAYS = 30
DAY = 86400


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


async def stats_chart(store: Store, sender: Sender, now: float | None = None) -> bytes | None:
    """A bar chart of queries per day (last 30 days, UTC) and the most frequent misses, as PNG;
    None unless an administrator asks in a private chat."""
    if not sender.is_admin or sender.chat_type not in PRIVATE_CHATS:
        return None
    _ = gettext_for(sender.lang)
    now = time.time() if now is None else now
    today = int(now // DAY)
    first = today - CHART_DAYS + 1
    counts = await store.queries_per_day(first * DAY)
    stats = await store.stats(now, today * DAY)
    days = [
        (dt.datetime.fromtimestamp(day * DAY, dt.UTC).strftime("%m-%d"), counts.get(day, 0))
        for day in range(first, today + 1)
    ]
    # Headings in words the card font has (the chart draws with its subset).
    data = ChartData(
        days,
        stats.misses,
        _("Queries per day (last 30 days)"),
        _("Most frequent queries that found nothing"),
        _("None"),
    )
    return await asyncio.to_thread(render_chart, data)
