"""/subscribe, /unsubscribe and /conversation: the commands that change a chat's settings
(its daily quote and the conversation it searches). Who may change them is
handlers/permissions.py's to say."""

from __future__ import annotations

from telegram import Update

from handlers.context import Context, quotebot, sender
from handlers.permissions import may_choose, may_manage, may_subscribe
from handlers.replying import send


async def subscribe(update: Update, context: Context) -> None:
    who = sender(update, context)
    args = list(context.args or [])
    manage = await may_subscribe(update, context, who, args)
    await send(update, await quotebot(context).subscribe(who, args, may_manage=manage))


async def unsubscribe(update: Update, context: Context) -> None:
    who = sender(update, context)
    await send(
        update,
        await quotebot(context).unsubscribe(who, may_manage=await may_manage(update, context)),
    )


async def conversation(update: Update, context: Context) -> None:
    """/conversation [#id | all]: like a subscription, a group's choice is its admins' to change."""
    who = sender(update, context)
    arg = " ".join(context.args or [])
    manage = await may_choose(update, context, arg)
    await send(update, await quotebot(context).conversation(who, arg, may_manage=manage))
