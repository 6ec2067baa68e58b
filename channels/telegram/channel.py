"""The Telegram channel: updates in, replies out, through the common envelope.

Webhook mode runs inside the gateway: ``POST /telegram/webhook`` checks the secret token header
(constant-time), parses the update and hands it to a python-telegram-bot ``Application`` built
without an updater. Polling mode (``python -m channels.telegram``) is for development.

- Quick replies become inline keyboards; Telegram allows 64 bytes of callback data, so the
  payload is kept in Redis under a short key and the press is answered (``answerCallbackQuery``).
- The citizen's ``language_code`` is the language hint.
- Commands: ``/start [code]``, ``/help``, ``/language``, ``/human``, ``/stop``.
- An update delivered twice (same ``update_id``) is processed once (the router de-duplicates).
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import html
import logging
from pathlib import Path
from typing import Any, Sequence

from aiohttp import web
from redis.asyncio import Redis
from redis.exceptions import RedisError
from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.constants import ChatAction, ChatType, ParseMode
from telegram.error import TelegramError
from telegram.ext import Application, CallbackQueryHandler, CommandHandler, ContextTypes, MessageHandler, filters

from bot.conversation.claims import Claims
from bot.conversation.delivery import DeliveryError
from bot.conversation.limits import RateLimits
from bot.conversation.rasa_client import BotUnavailableError
from bot.conversation.records import Conversations
from bot.core import metrics
from bot.core.envelope import Inbound, Outbound
from bot.core.i18n import normalise_language, pick
from bot.core.inbound import InboundError, parse_json
from bot.core.settings import Settings
from bot.core.shutdown import shut
from bot.gateway.router import Router
from bot.gateway.typedefs import CHANNEL_STATES, CONVERSATIONS, DELIVERY, LIMITS, MYDATA, REDIS, ROUTER, SETTINGS
from bot.knowledge.files import load_texts
from bot.mydata.in_chat import MyData
from bot.privacy.identity import IdentityError
from bot.store import keys

logger = logging.getLogger(__name__)
STRINGS_FILE = Path(__file__).parent / "strings.yml"
BUTTON_SECONDS = 7 * 24 * 3600
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
START_RETRY_FIRST = 1.0  # seconds before checking the Bot API again; doubled up to START_RETRY_MAX
START_RETRY_MAX = 60.0
WEBHOOK_WAIT_SECONDS = 5.0
COMMAND_PAYLOADS = {
    "start": "/greet",
    "help": "/help",
    "language": "/change_language",
    "human": "/request_human",
    "stop": "/goodbye",
}


def channel_strings() -> dict[str, dict[str, str]]:
    """The channel's own texts, each checked to exist in fi, sv and en."""
    return load_texts(STRINGS_FILE)


class TelegramChannel:
    """Connects a python-telegram-bot Application to the router."""

    def __init__(
        self,
        application: Application,
        router: Router,
        conversations: Conversations,
        mydata: MyData,
        limits: RateLimits,
        redis: Redis,
        settings: Settings,
    ) -> None:
        self.application = application
        self.ready = asyncio.Event()  # set once the Bot API answered; until then updates get 503
        self._router = router
        self._limits = limits
        self._conversations = conversations
        self._mydata = mydata
        self._redis = redis  # the button payloads (``tgbutton:``), which this channel owns
        self._claims = Claims(redis)  # a link code's update is handled once
        self._settings = settings
        self._strings = channel_strings()
        application.add_handler(CommandHandler(list(COMMAND_PAYLOADS), self._on_command))
        application.add_handler(CallbackQueryHandler(self._on_button))
        application.add_handler(MessageHandler(filters.TEXT & ~filters.COMMAND, self._on_text))
        application.add_handler(MessageHandler(~filters.TEXT & ~filters.COMMAND, self._on_other))

    # -- incoming ---------------------------------------------------------------------------

    async def _on_text(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        message = update.effective_message
        if message is None or message.text is None:
            return
        if len(message.text) > self._settings.max_message_chars:
            await self._say(update, "too_long")
            return
        await self._route(update, message.text)

    async def _on_command(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        message = update.effective_message
        command = (message.text or "").split()[0].lstrip("/").split("@")[0].lower() if message else ""
        payload = COMMAND_PAYLOADS.get(command)
        parts = (message.text or "").split() if message else []
        if command == "start" and len(parts) > 1 and update.effective_chat:
            await self._link(update, parts[1])  # a deep link from the city's e-services
            return
        if payload:
            # /stop: the citizen does not want to continue; proactive messages check this flag.
            if command == "stop" and update.effective_chat:
                await self._conversations.mark_stopped(f"telegram:{update.effective_chat.id}")
            await self._route(update, payload)

    async def _link(self, update: Update, code: str) -> None:
        """``/start <code>``: link this chat to the citizen the one-time code was issued for.

        Only a private chat can be linked: personal messages (offers, MyData) must never reach a
        group. The code is not used up by a group's attempt, so the citizen can still use it.
        """
        chat, user = update.effective_chat, update.effective_user
        assert chat is not None
        language = normalise_language(user.language_code if user else None) or "fi"
        conversation = f"telegram:{chat.id}"
        if not await self._claims.first(conversation, str(update.update_id)):
            return
        if chat.type != ChatType.PRIVATE:
            logger.info("Telegram link code refused: a %s chat", chat.type)
            await self._say(update, "link_private_only")
            return
        try:
            await self._mydata.link_by_code(conversation, code, "telegram link code")
        except IdentityError as error:
            logger.info("Telegram link code refused: %s", error.code)
            await self._send(chat.id, self._mydata.notice("link_code_invalid", language))
            return
        await self._conversations.touch(conversation, "telegram", language)
        await self._send(chat.id, self._mydata.notice("linked", language))

    async def _on_button(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        query = update.callback_query
        if query is None:
            return
        await query.answer()
        stored = await self._redis.get(keys.telegram_button(query.data)) if query.data else None
        if stored is None:
            await self._say(update, "button_expired")
            return
        await self._route(update, str(stored))

    async def _on_other(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        if update.effective_message is not None:
            await self._say(update, "not_text")

    async def _route(self, update: Update, text: str) -> None:
        chat, user = update.effective_chat, update.effective_user
        if chat is None:
            return
        if not await self._limits.allow(f"telegram:{chat.id}"):
            await self._say(update, "rate_limited")
            return
        inbound = Inbound(
            channel="telegram",
            user_id=str(chat.id),
            message_id=str(update.update_id),
            text=text,
            language_hint=normalise_language(user.language_code if user else None),
        )
        try:
            replies = await self._router.handle(inbound)
        except BotUnavailableError as error:
            metrics.BOT_ERRORS.labels("telegram", "bot_unavailable").inc()
            logger.warning("bot unavailable for a Telegram update: %s", error)
            await self._say(update, "unavailable")
            return
        except (RedisError, OSError, asyncio.TimeoutError) as error:  # the state store did not answer
            metrics.BOT_ERRORS.labels("telegram", "store_unavailable").inc()
            logger.warning("a Telegram update could not be handled: %s", error.__class__.__name__)
            await self._say(update, "unavailable")
            return
        await self._send_all(chat.id, replies)

    async def _send_all(self, chat_id: int, replies: Sequence[Outbound]) -> int:
        """Send every reply; one failing (for whatever reason) never drops the rest. Returns how
        many failed."""
        failed = 0
        for reply in replies:
            try:
                await self._send(chat_id, reply)
            except Exception as error:  # noqa: BLE001 - a remote API and Redis; the rest must still go
                failed += 1
                logger.warning("a Telegram reply failed (%s); sending the rest", error.__class__.__name__)
        return failed

    # -- outgoing ---------------------------------------------------------------------------

    async def _button(self, payload: str) -> str:
        key = hashlib.sha256(payload.encode()).hexdigest()[:24]
        await self._redis.set(keys.telegram_button(key), payload, ex=BUTTON_SECONDS)
        return key

    async def _send(self, chat_id: int, reply: Outbound) -> None:
        markup = None
        if reply.buttons:
            rows = [[InlineKeyboardButton(b.title, callback_data=await self._button(b.payload))] for b in reply.buttons]
            markup = InlineKeyboardMarkup(rows)
        if reply.links:  # titled links: the title is the link, as on a web page
            anchors = [
                f'<a href="{html.escape(link.url)}">{html.escape(link.title, quote=False)}</a>' for link in reply.links
            ]
            text = "\n\n".join([html.escape(reply.text, quote=False), "\n".join(anchors)]).strip()
            await self.application.bot.send_message(chat_id, text, reply_markup=markup, parse_mode=ParseMode.HTML)
            return
        await self.application.bot.send_message(chat_id, reply.text or "…", reply_markup=markup)

    async def push(self, user_id: str, replies: Sequence[Outbound]) -> None:
        """Send replies that did not come from an update (an agent's message, a handoff notice, an
        offer). Never to a group, channel or supergroup (their chat ids are negative): whatever
        is pushed may be personal."""
        if int(user_id) < 0:
            raise DeliveryError("personal messages go to private Telegram chats only")
        if replies and await self._send_all(int(user_id), replies) == len(replies):
            raise DeliveryError("Telegram took none of the replies")

    async def typing(self, user_id: str) -> None:
        """Show "typing..." in the citizen's chat (Telegram shows it for about 5 s)."""
        try:
            await self.application.bot.send_chat_action(int(user_id), ChatAction.TYPING)
        except TelegramError as error:
            logger.info("Telegram did not take a chat action: %s", error.__class__.__name__)

    async def _say(self, update: Update, key: str) -> None:
        user, chat = update.effective_user, update.effective_chat
        if chat is None:
            return
        language = normalise_language(user.language_code if user else None)
        try:
            await self.application.bot.send_message(chat.id, pick(self._strings[key], language))
        except TelegramError as error:
            logger.warning("Telegram did not take a notice: %s", error.__class__.__name__)

    # -- webhook ----------------------------------------------------------------------------

    async def webhook(self, request: web.Request) -> web.Response:
        """``POST /telegram/webhook``: check the secret, then process the update."""
        given = request.headers.get(SECRET_HEADER, "").encode()
        if not hmac.compare_digest(given, self._settings.telegram_secret.encode()):
            return web.json_response({"error": "wrong or missing secret token"}, status=403)
        try:
            # Text that is not valid Unicode is repaired, not refused: Telegram would only send the
            # update again, and the citizen gets an answer instead of silence.
            data: Any = parse_json(await request.read(), repair_text=True)
        except InboundError:
            return web.json_response({"error": "body must be a JSON Telegram update"}, status=400)
        if not isinstance(data, dict) or not isinstance(data.get("update_id"), int):
            return web.json_response({"error": "body must be a JSON Telegram update"}, status=400)
        try:
            update = Update.de_json(data, self.application.bot)
        except (KeyError, TypeError, ValueError):
            return web.json_response({"error": "malformed Telegram update"}, status=400)
        await self.application.process_update(update)
        return web.json_response({"ok": True})


TELEGRAM = web.AppKey("telegram", TelegramChannel)


def build_application(settings: Settings, *, polling: bool = False) -> Application:
    """A python-telegram-bot Application talking to ``settings.telegram_api_url``."""
    builder = Application.builder().token(settings.telegram_token)
    builder = builder.base_url(f"{settings.telegram_api_url}/bot").base_file_url(
        f"{settings.telegram_api_url}/file/bot"
    )
    if not polling:
        builder = builder.updater(None)
    return builder.build()


def setup_telegram(app: web.Application, *, polling: bool = False) -> None:
    """Add the Telegram channel when a token is configured: the webhook route, or (``polling``,
    for development without a public address) a poller that runs while the application does."""
    settings = app[SETTINGS]
    if not settings.telegram_token:
        logger.info("Telegram channel off: CITYBOT_TELEGRAM_TOKEN is not set")
        return
    if not polling and not settings.telegram_secret:
        raise ValueError("CITYBOT_TELEGRAM_SECRET must be set when the Telegram channel is on")

    async def telegram_ctx(app: web.Application) -> Any:
        application = build_application(settings, polling=polling)
        channel = TelegramChannel(
            application, app[ROUTER], app[CONVERSATIONS], app[MYDATA], app[LIMITS], app[REDIS], settings
        )
        app[TELEGRAM] = channel
        states = app[CHANNEL_STATES]
        states["telegram"] = "degraded: starting"

        async def start() -> None:
            """Check the Bot API until it answers, then serve. Telegram being unreachable (or
            answering oddly) never stops the gateway: web chat and the console go on."""
            delay = START_RETRY_FIRST
            while True:
                try:
                    await application.initialize()
                    break
                except Exception as error:  # noqa: BLE001 - any failure of a remote API we do not run
                    states["telegram"] = f"degraded: {error.__class__.__name__}"
                    logger.warning(
                        "Telegram API check failed (%s); retrying in %.0f s", error.__class__.__name__, delay
                    )
                    await asyncio.sleep(delay)
                    delay = min(delay * 2, START_RETRY_MAX)
            app[DELIVERY].register("telegram", channel.push, channel.typing)
            if polling:
                assert application.updater is not None
                await application.start()
                await application.updater.start_polling()
            channel.ready.set()
            states["telegram"] = "ok"
            logger.info("Telegram channel ready")

        starting = asyncio.create_task(start())
        yield
        starting.cancel()
        await shut(starting, "telegram start")
        if channel.ready.is_set():
            if polling and application.updater is not None:
                await shut(application.updater.stop(), "telegram poller")
                await shut(application.stop(), "telegram application")
            await shut(application.shutdown(), "telegram application")

    async def webhook(request: web.Request) -> web.Response:
        channel = request.app[TELEGRAM]
        try:  # an update that arrives while the channel starts waits a moment for it
            await asyncio.wait_for(channel.ready.wait(), WEBHOOK_WAIT_SECONDS)
        except asyncio.TimeoutError:  # Telegram delivers the update again later: nothing is lost
            return web.json_response({"error": "the Telegram channel is starting"}, status=503)
        return await channel.webhook(request)

    app.cleanup_ctx.append(telegram_ctx)
    if not polling:
        app.router.add_post("/telegram/webhook", webhook)
