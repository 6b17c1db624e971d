"""The /subscribe and /unsubscribe dialogue: parse, check rights, save, confirm."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from bot.app.i18n import Lang, gettext_for
from bot.app.replies import Reply, esc
from bot.app.sender import Sender
from bot.daily.times import ScheduleError, Zone, parse_subscribe_args, utc_now
from bot.storage import Subscription, SubscriptionStore

# `/subscribe 08:00 card`: the daily quote as a picture (a quote card).
CARD_WORDS = frozenset({"card", "cards", "卡片", "图片", "圖片"})


def split_card_flag(args: list[str]) -> tuple[list[str], bool]:
    """The arguments without the card word, and whether it was there."""
    rest = [a for a in args if a.strip().lower() not in CARD_WORDS]
    return rest, len(rest) < len(args)


class SubscribeDialogue:
    def __init__(
        self,
        subscriptions: SubscriptionStore,
        default_zone: Zone,
        on_change: Callable[[], None] | None = None,
        clock: Callable[[], dt.datetime] = utc_now,
    ) -> None:
        self.subscriptions = subscriptions
        self.default_zone = default_zone
        self.on_change = on_change or (lambda: None)
        self.clock = clock

    async def subscribe(self, sender: Sender, args: list[str], may_manage: bool = True) -> Reply:
        """/subscribe [HH:MM] [zone]; no arguments in a subscribed chat shows the subscription."""
        _ = gettext_for(sender.lang)
        if sender.chat_id is None:
            return Reply(esc(_("Subscriptions need a chat.")))
        current = await self.subscriptions.get(sender.chat_id)
        if not args and current is not None and current.active:
            return subscription_view(current, sender.lang, changed=False)
        if not may_manage:
            return Reply(esc(_("Only the group's administrators can change its daily quote.")))
        args, card = split_card_flag(args)
        try:
            local_time, zone = parse_subscribe_args(args, self.default_zone)
        except ScheduleError as exc:
            return Reply(esc(schedule_error_text(exc, sender.lang)))
        sub = await self.subscriptions.subscribe(
            sender.chat_id,
            sender.chat_type or "private",
            sender.lang,
            local_time,
            zone,
            self.clock(),
            card=card,
        )
        self.on_change()
        return subscription_view(sub, sender.lang, changed=True)

    async def unsubscribe(self, sender: Sender, may_manage: bool = True) -> Reply:
        _ = gettext_for(sender.lang)
        if sender.chat_id is None:
            return Reply(esc(_("Subscriptions need a chat.")))
        if not may_manage:
            return Reply(esc(_("Only the group's administrators can change its daily quote.")))
        if await self.subscriptions.unsubscribe(sender.chat_id):
            self.on_change()
            return Reply(esc(_("Done: no more daily quotes here. /subscribe starts them again.")))
        return Reply(esc(_("This chat has no daily quote. /subscribe starts one.")))


def subscription_view(sub: Subscription, lang: Lang, changed: bool) -> Reply:
    _ = gettext_for(lang)
    when = sub.local_time.strftime("%H:%M")
    nxt = sub.next_at.astimezone(sub.zone.tzinfo).strftime("%Y-%m-%d %H:%M")
    if changed:
        text = _("Subscribed: a quote every day at {time} ({zone}). Next one: {next}.")
    else:
        text = _("This chat gets a quote every day at {time} ({zone}). Next one: {next}.")
    text = text.format(time=when, zone=sub.zone.name, next=nxt)
    hint = _("Change it with /subscribe HH:MM zone, stop it with /unsubscribe.")
    lines = [esc(text)]
    if sub.card:
        lines.append(esc(_("It comes as a picture (a quote card).")))
    lines.append(esc(hint))
    return Reply("\n".join(lines))


def schedule_error_text(exc: ScheduleError, lang: Lang) -> str:
    _ = gettext_for(lang)
    if exc.code == "bad_time":
        text = _(
            "“{value}” is not a time of day. Use HH:MM, for example: /subscribe 08:30 Asia/Shanghai"
        )
    elif exc.code == "bad_zone":
        text = _(
            "“{value}” is not a time zone I know. Use a name like Asia/Shanghai or Europe/Berlin, or an offset like UTC+8. Example: /subscribe 08:30 UTC+8"
        )
    else:
        text = _("Too many arguments (“{value}”). Example: /subscribe 08:30 Asia/Shanghai")
    return text.format(value=exc.value)
