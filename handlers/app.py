"""The composition root: the one place the Telegram Application is built and run.

`quotebot run` calls `run_bot`; tests call `build_application` and drive it
against a local Bot API emulator. What the bot answers comes from
bot.app.quotebot.QuoteBot, and its commands (handlers, menu) from the command
table, bot.app.commands; this module opens the bot's parts once connected
(bot.assembly: store, cards, daily scheduler, QuoteBot) and wires them to the
handlers, with start-up, shutdown and the error handler (which also reports
unexpected errors to QUOTEBOT_ERROR_CHAT_ID and tells the user something went
wrong).
"""

from __future__ import annotations

import asyncio
import html
import logging
import sys
import time
import traceback
from collections.abc import Awaitable, Callable
from urllib.parse import urlparse

from telegram import BotCommand, Update
from telegram.constants import MessageLimit, ParseMode
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter, TelegramError, TimedOut
from telegram.ext import (
    Application,
    ApplicationBuilder,
    CallbackQueryHandler,
    CommandHandler,
    InlineQueryHandler,
    MessageHandler,
    TypeHandler,
    filters,
)

from bot import metrics
from bot.app import (
    COMMANDS,
    EVERYWHERE,
    Lang,
    Links,
    Scope,
    gettext_for,
    lang_for,
    menu_commands,
    several,
)
from bot.assembly import BotParts, open_parts
from bot.config import ConfigError, Settings
from bot.daily.throttle_sends import Pacer
from bot.logs import redact
from bot.progress import terminal_progress
from bot.search import LibraryWatch, QuoteEngine, TranscriptError, stop_watch
from bot.web import web_routes
from handlers import buttons, cards, chat_settings, commands, delivery, inline, messages, web
from handlers.context import CONTEXT_TYPES, BotData, Context
from handlers.guard import duplicate_filter, flood_guard
from handlers.health import Health, PollWatchRequest, routes, serve_metrics, watch_engine
from handlers.render import DEFAULTS
from handlers.startup import wait_for_bot_api
from handlers.throttle_api import PacedRateLimiter
from handlers.webhook import serve_webhook

log = logging.getLogger(__name__)

PRIVATE_MESSAGES = filters.ChatType.PRIVATE & (
    filters.UpdateType.MESSAGE | filters.UpdateType.EDITED_MESSAGE
)
# The callback answering each command of bot.app.commands.COMMANDS (a test checks they match).
COMMAND_CALLBACKS: dict[str, Callable[[Update, Context], Awaitable[None]]] = {
    "start": commands.start,
    "quote": commands.quote,
    "topic": commands.topic,
    "random": commands.random_quote,
    "card": cards.card,
    "subscribe": chat_settings.subscribe,
    "unsubscribe": chat_settings.unsubscribe,
    "conversation": chat_settings.conversation,
    "privacy": commands.privacy,
    "forget": commands.forget,
    "help": commands.help_command,
    "stats": commands.stats,
}
_CHATS = {"private": filters.ChatType.PRIVATE, "groups": filters.ChatType.GROUPS}

DESCRIPTION_ZH = "我从 Lex Fridman 与 Sam Altman 的对话（#367）中为你找到原话：谁说的、在第几分钟。"
DESCRIPTION_EN = "I find the passage you mean in Lex Fridman's conversation #367 with Sam Altman."
DESCRIPTION_LIMIT = 512  # Telegram's limit on a bot's description
LAST_GROUP = 1_000_000  # after every other handler group (extensions use small numbers)


def commands_for(engine: QuoteEngine, lang: Lang) -> list[BotCommand]:
    """The command menu in one language, from the command table: /conversation only when
    there is more than one conversation to choose from.

    The menu is set for every chat at once (Telegram's default scope), which is right
    while every command in it is answered everywhere (a test checks that they are).
    """
    return [BotCommand(name, menu.text(lang)) for name, menu in menu_commands(several(engine))]


def descriptions(engine: QuoteEngine) -> tuple[str, str]:
    """(zh, en) descriptions: the bundled one, or the list of conversations when there are several."""
    conversations = list(engine.conversations.values())
    if len(conversations) < 2:
        return DESCRIPTION_ZH, DESCRIPTION_EN
    zh = "我从这些对话中为你找到原话：谁说的、在第几分钟。\n" + "\n".join(
        f"#{c.id} {c.title_zh or c.title}" for c in conversations
    )
    en = "I find the passage you mean in these conversations:\n" + "\n".join(
        f"#{c.id} {c.title}" for c in conversations
    )
    return zh[:DESCRIPTION_LIMIT], en[:DESCRIPTION_LIMIT]


Extension = Callable[[Application], None]


def build_application(
    settings: Settings,
    engine: QuoteEngine,
    *,
    extensions: list[Extension] | None = None,
    builder: ApplicationBuilder | None = None,
) -> Application:
    """The bot's Application: handlers, rate limiter, start-up and shutdown hooks."""
    token = settings.require_token()
    builder = builder or ApplicationBuilder()
    if not settings.webhook_url:  # polling: getUpdates answers tell /healthz updates come in
        builder = builder.get_updates_request(PollWatchRequest(connection_pool_size=1))
    pacer = Pacer(settings.send_rate_per_second)
    application = (
        builder.token(token)
        .base_url(settings.api_url)
        .base_file_url(settings.api_url.replace("/bot", "/file/bot"))
        .rate_limiter(PacedRateLimiter(pacer, max_retries=3))
        .defaults(DEFAULTS)
        .context_types(CONTEXT_TYPES)
        .concurrent_updates(True)
        .post_init(_post_init(settings, engine))
        .post_stop(_post_stop)
        .post_shutdown(_post_shutdown)
        .build()
    )
    data: BotData = application.bot_data
    data.admins = settings.admin_ids
    data.error_chat_id = settings.error_chat_id
    data.secrets = tuple(s for s in (token, settings.webhook_secret) if s)
    data.health = Health(application, settings.db_path, polling=not settings.webhook_url)
    add_handlers(application)
    for extend in extensions or []:
        extend(application)
    application.add_error_handler(on_error)
    return application


def chat_filter(scopes: frozenset[Scope]) -> filters.BaseFilter | None:
    """A command's chats as a CommandHandler filter; None (CommandHandler's default:
    messages in any chat) for a command answered everywhere."""
    if scopes == EVERYWHERE:
        return None
    [scope] = scopes
    return filters.UpdateType.MESSAGES & _CHATS[scope]


def add_handlers(application: Application) -> None:
    """Every handler of the bot, in its group: the guards first, one CommandHandler per
    entry of the command table, then buttons, inline queries and private messages."""
    # Group -3 notes when an update is taken, the last group when its handlers are done
    # (the answer latency metric).
    application.add_handler(TypeHandler(Update, _taken), group=-3)
    application.add_handler(TypeHandler(Update, _answered), group=LAST_GROUP)
    # Group -2 runs first: an update id seen before (a replayed delivery) stops there.
    application.add_handler(TypeHandler(Update, duplicate_filter()), group=-2)
    # Group -1 next: a flooding user's update stops there (ApplicationHandlerStop).
    application.add_handler(TypeHandler(Update, flood_guard), group=-1)
    for command in COMMANDS:
        callback = COMMAND_CALLBACKS[command.name]
        application.add_handler(CommandHandler(command.name, callback, chat_filter(command.scopes)))
    application.add_handler(CallbackQueryHandler(buttons.press))
    application.add_handler(InlineQueryHandler(inline.inline_handler()))
    application.add_handler(
        MessageHandler(PRIVATE_MESSAGES & filters.TEXT & ~filters.COMMAND, messages.text)
    )
    application.add_handler(MessageHandler(PRIVATE_MESSAGES & filters.COMMAND, commands.unknown))
    application.add_handler(
        MessageHandler(PRIVATE_MESSAGES & filters.Document.ALL, messages.document)
    )
    application.add_handler(MessageHandler(PRIVATE_MESSAGES & ~filters.TEXT, messages.not_text))
    # Everything else (channel posts, group chatter, member updates) is seen and let go.
    application.add_handler(TypeHandler(Update, _ignored), group=1)


async def _ignored(update: Update, context: Context) -> None:
    log.debug("update %s needs no answer", update.update_id)


def _surface(update: Update) -> str:
    """Where an update came from, as a metrics label (a fixed set: never its text)."""
    if update.inline_query is not None:
        return "inline"
    if update.callback_query is not None:
        return "button"
    message = update.effective_message
    if message is None:
        return "other"
    if message.text and message.text.startswith("/"):
        return "command"
    return "message"


async def _taken(update: Update, context: Context) -> None:
    context.taken_at = time.perf_counter()


async def _answered(update: Update, context: Context) -> None:
    taken = context.taken_at
    if taken is not None:
        metrics.ANSWER_SECONDS.labels(_surface(update)).observe(time.perf_counter() - taken)


def _post_init(settings: Settings, engine: QuoteEngine) -> Callable[[Application], Awaitable[None]]:
    async def post_init(application: Application) -> None:
        bot = application.bot
        parts = await open_parts(
            settings,
            engine,
            links=Links(bot.username, settings.web_url),
            send=delivery.telegram_sender(bot),  # paced by the bot's rate limiter
            card_sender=lambda shop: delivery.telegram_card_sender(bot, shop),
        )
        data: BotData = application.bot_data
        data.daily = parts.daily
        data.quotebot = parts.quotebot
        if web.wanted(settings):
            data.web = web.web_front(application, settings)
            if settings.web_listen and not settings.webhook_url:
                data.web_server = web.start_own_server(data.web, *settings.web_listen)
        await _nice_to_have(application, engine)
        if settings.metrics_listen is not None and not settings.webhook_url:
            assert data.health is not None  # set by build_application
            host, port = settings.metrics_listen
            data.metrics_server = serve_metrics(data.health, host, port)
        parts.store.start_retention(settings.log_days)  # now, then daily: QUOTEBOT_LOG_DAYS
        parts.daily.start()
        if settings.library_poll > 0:
            data.library_watch = asyncio.create_task(
                _library_watch(application, settings, parts).run(), name="library-watch"
            )

    return post_init


def _library_watch(application: Application, settings: Settings, parts: BotParts) -> LibraryWatch:
    """Conversations added to or removed from the library are served without a restart;
    the command menus and descriptions follow (/conversation once there are several)."""
    menus: set[asyncio.Task] = set()

    def menus_for(engine: QuoteEngine) -> None:
        task = asyncio.get_running_loop().create_task(_nice_to_have(application, engine))
        menus.add(task)  # held until done (the loop keeps only a weak reference)
        task.add_done_callback(menus.discard)

    return parts.library_watch(settings, then=menus_for)


async def _nice_to_have(application: Application, engine: QuoteEngine) -> None:
    """Command menus and descriptions: useful, but no failure may stop the bot.

    Each call is tried on its own, so one refused call costs only itself.
    """
    bot = application.bot
    description_zh, description_en = descriptions(engine)
    calls = [
        ("command menu (zh)", bot.set_my_commands(commands_for(engine, "zh"))),
        (
            "command menu (en)",
            bot.set_my_commands(commands_for(engine, "en"), language_code="en"),
        ),
        ("description (zh)", bot.set_my_description(description_zh)),
        ("description (en)", bot.set_my_description(description_en, language_code="en")),
    ]
    for what, call in calls:
        try:
            await call
        except TelegramError as exc:
            log.warning("could not set the %s: %s", what, redact(str(exc)))


async def _post_stop(application: Application) -> None:
    """PTB's order on stop: updater, handlers, post_stop, then shutdown closes the bot's
    HTTP client. The scheduler stops here, while sends in flight can still finish and be
    recorded (after shutdown they would fail and be retried against a closed client)."""
    data: BotData = application.bot_data
    await stop_watch(data.library_watch)
    await web.stop_own_server(data)
    if data.daily is not None:
        await data.daily.stop()


async def _post_shutdown(application: Application) -> None:
    data: BotData = application.bot_data
    await stop_watch(data.library_watch)
    await web.stop_own_server(data)
    if data.metrics_server is not None:
        data.metrics_server.stop()
        data.metrics_server = None
    if data.daily is not None:
        await data.daily.stop()  # already stopped in post_stop unless the start failed midway
    if data.quotebot is not None:
        await data.quotebot.store.close()


async def on_error(update: object, context: Context) -> None:
    """Log every failure (token-free), report unexpected ones to the operator chat,
    and tell the user something went wrong when we can."""
    error = context.error
    if isinstance(error, Forbidden):
        log.info("cannot write to a chat (blocked or removed): %s", error)
        return
    if isinstance(error, BadRequest):
        # PTB's BadRequest subclasses NetworkError, but Telegram answered: it refused what
        # the bot sent (too long, bad HTML, too old). A bug to look at, not an outage.
        log.error("Telegram refused a request (BadRequest): %s", redact(str(error)), exc_info=error)
        await report_error(update, context)
    elif isinstance(error, RetryAfter | TimedOut | NetworkError):
        log.warning("Telegram unavailable or flood-limited: %s", redact(str(error)))
    else:
        log.error("update failed: %s", redact(repr(error)), exc_info=error)
        await report_error(update, context)
    if not isinstance(update, Update) or update.effective_chat is None:
        return
    user = update.effective_user
    _ = gettext_for(lang_for(user.language_code if user else None))
    try:
        if update.callback_query is not None:
            await update.callback_query.answer(_("Something went wrong. Please try again."))
        elif update.effective_chat.type == "private":
            await context.bot.send_message(
                update.effective_chat.id, _("Something went wrong. Please try again.")
            )
    except TelegramError as exc:
        log.warning("could not report the error to the user: %s", redact(str(exc)))


def error_report(update: object, error: BaseException, secrets: tuple[str, ...] = ()) -> str:
    """The operator's message: token-free, HTML-escaped, within Telegram's length limit.

    The error itself (cut to 500 characters) comes first; of the traceback the
    end (where it failed) is kept when it must be cut.
    """
    where = f"update {update.update_id}" if isinstance(update, Update) else "outside an update"
    if isinstance(update, Update) and update.effective_chat is not None:
        where += f", chat {update.effective_chat.id} ({update.effective_chat.type})"
    summary = redact(f"{type(error).__name__}: {error}", secrets)[:500]
    head = f"<b>quotebot: unexpected error</b> ({html.escape(where)})\n{html.escape(summary)}\n"
    body = redact("".join(traceback.format_exception(error)).strip(), secrets)
    room = MessageLimit.MAX_TEXT_LENGTH - len(head) - len("<pre></pre>")
    escaped = html.escape(body, quote=False)
    while len(escaped) > room:  # cut the start, in raw text, so no entity is split
        body = "…" + body[len(escaped) - room + 1 :]
        escaped = html.escape(body, quote=False)
    return f"{head}<pre>{escaped}</pre>"


async def report_error(update: object, context: Context) -> None:
    """Send the error report to QUOTEBOT_ERROR_CHAT_ID, if set; never raises."""
    data = context.bot_data
    if data.error_chat_id is None or context.error is None:
        return
    try:
        await context.bot.send_message(
            data.error_chat_id,
            error_report(update, context.error, data.secrets),
            parse_mode=ParseMode.HTML,
        )
    except Exception as exc:  # a report must never raise from the error handler
        log.warning("could not report the error to the operator chat: %s", redact(str(exc)))


def _webhook_path(url: str) -> str:
    return urlparse(url).path.lstrip("/")


def run_bot(settings: Settings, extensions: list[Extension] | None = None) -> int:
    """`quotebot run`: long polling, or a webhook server when QUOTEBOT_WEBHOOK_URL is set."""
    try:
        settings.require_token()
    except ConfigError as exc:
        print(f"quotebot: error: {exc}", file=sys.stderr)
        return 2
    started = time.perf_counter()
    try:
        # The meaning layer is built on a thread: the bot answers by words meanwhile.
        engine = QuoteEngine.load(
            settings.data_dir,
            settings.cache_dir,
            meaning="background",
            library_dir=settings.library_dir,
            index_progress=terminal_progress("indexing conversations"),
        )
    except (TranscriptError, OSError) as exc:
        print(f"quotebot: error: {exc}", file=sys.stderr)
        return 2
    watch_engine(engine, time.perf_counter() - started)
    # A webhook is served by handlers/webhook.py (secret and size checked before a body is
    # read), not by PTB's Updater, which reads whole bodies first.
    builder = ApplicationBuilder().updater(None) if settings.webhook_url else None
    application = build_application(settings, engine, extensions=extensions, builder=builder)
    health = application.bot_data.health
    assert health is not None  # build_application sets it
    allowed = Update.ALL_TYPES
    data: BotData = application.bot_data
    secrets = tuple(s for s in (settings.token, settings.webhook_secret) if s)
    try:
        token = settings.require_token()
        if not asyncio.run(wait_for_bot_api(token, settings.api_url, secrets)):
            return 0  # stopped by a signal before Telegram was reachable
        if settings.webhook_url:
            assert settings.webhook_secret is not None  # the config requires one with a URL
            asyncio.run(
                serve_webhook(
                    application,
                    listen=settings.webhook_listen,
                    port=settings.webhook_port,
                    url=settings.webhook_url,
                    path=_webhook_path(settings.webhook_url),
                    secret=settings.webhook_secret,
                    allowed_updates=allowed,
                    extra_routes=routes(health),
                    routes=lambda: web_routes(data.web) if data.web is not None else [],
                )
            )
        else:
            application.run_polling(allowed_updates=allowed)
    except TelegramError as exc:
        # Telegram refused start-up (a revoked token, a webhook URL it will not call).
        # PTB's InvalidToken message quotes the token, and an uncaught traceback bypasses
        # the logging filter: one redacted line instead.
        print(
            f"quotebot: error: Telegram refused to start: {redact(str(exc), secrets)}",
            file=sys.stderr,
        )
        return 1
    except OSError as exc:  # the webhook port is taken, or the address cannot be bound
        print(f"quotebot: error: cannot listen for the webhook: {exc}", file=sys.stderr)
        return 1
    return 0
