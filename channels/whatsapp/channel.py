"""The WhatsApp channel: Meta's webhook in, the Cloud API out, through the common envelope.

- ``GET /whatsapp/webhook``: Meta's verification (``hub.mode=subscribe``, our verify token):
  the challenge is echoed, anything else is 403.
- ``POST /whatsapp/webhook``: the signature (``X-Hub-Signature-256``, HMAC-SHA256 of the raw body
  with the app secret) is checked first; a delivery without it is 403 and nothing is read.
  Messages of one citizen are handled in order, different citizens' at the same time; a message
  Meta delivers again is answered once (the router's claims). Text and button answers go to the
  router; media get a polite "text only"; delivery statuses update the offers they carried.
- The citizen's number is personal data: the conversation id is a pseudonym of it
  (``bot.privacy.addresses``), the number is kept only to send to it and never logged.
- The 24-hour window: free-form messages only within 24 hours of the citizen's last message.
  Outside it an offer goes out as its approved template (``templates.yml``), and anything else
  (an agent's late answer) waits in the conversation's outbox while one "a reply is waiting"
  template goes out; the held messages follow as soon as the citizen writes or presses it.
- Throughput: a rate-limited send is retried with backoff (``cloud_api``); one still refused
  after that is kept in Redis and sent again by a scheduled job (any gateway), never dropped.
- Link codes: the citizen sends ``/start <code>`` (the back office's ``start_command``, or its
  ``wa.me`` link with the text filled in), as in Telegram.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
import re
import secrets
import time
from collections import defaultdict
from pathlib import Path
from typing import Any, Sequence

from aiohttp import web
from redis.asyncio import Redis
from redis.exceptions import RedisError

from bot.conversation.claims import Claims
from bot.conversation.delivery import DeliveryError
from bot.conversation.limits import RateLimits
from bot.conversation.outbox import Outbox
from bot.conversation.rasa_client import BotUnavailableError
from bot.conversation.records import Conversations
from bot.core import metrics
from bot.core.envelope import Inbound, Outbound
from bot.core.i18n import pick
from bot.core.inbound import InboundError, parse_json
from bot.core.settings import Settings
from bot.core.shutdown import shut
from bot.gateway.router import Router
from bot.gateway.typedefs import (
    ADDRESSES,
    CHANNEL_STATES,
    CONVERSATIONS,
    DELIVERY,
    HTTP,
    LIMITS,
    MYDATA,
    OFFERS,
    OUTBOX,
    REDIS,
    ROUTER,
    SCHEDULER,
    SETTINGS,
)
from bot.knowledge.files import load_texts
from bot.mydata.in_chat import MyData
from bot.offers.desk import OfferDesk, offer_payload
from bot.privacy.addresses import Addresses
from bot.privacy.identity import IdentityError
from bot.store import keys
from bot.store.scheduler import Scheduler
from channels.whatsapp.cloud_api import OUTSIDE_WINDOW, CloudApi, CloudApiConfig, CloudApiError
from channels.whatsapp.render import MAX_ID, render
from channels.whatsapp.templates import TemplateConfigError, Templates, load_templates
from channels.whatsapp.webhook import SIGNATURE_HEADER, Incoming, Status, parse_delivery, signed_by

logger = logging.getLogger(__name__)
STRINGS_FILE = Path(__file__).parent / "strings.yml"
CHANNEL = "whatsapp"
WINDOW_SECONDS = 24 * 3600
WINDOW_MARGIN = 600  # a window closing in 10 minutes is treated as closed: the send would fail
SENT_SECONDS = 7 * 24 * 3600  # how long a sent message's offer is known for its statuses
BUTTON_SECONDS = 30 * 24 * 3600
RETRY_JOB = "whatsapp_retry"
RETRY_FIRST = 30.0  # seconds before a kept message is tried again; doubled up to RETRY_MAX
RETRY_MAX = 900.0
RETRY_GIVE_UP = 24 * 3600  # a message still refused a day later is given up (logged, counted)
MAX_BODY_BYTES = 1024 * 1024  # Meta's deliveries can batch many statuses
SHOW_PAYLOAD = "/whatsapp_show"  # "show the reply waiting" on the reply_waiting template
START = re.compile(r"^\s*/start\s+(\S+)\s*$", re.IGNORECASE)
STATUSES = ("sent", "delivered", "read", "failed")
START_RETRY_FIRST = 1.0  # seconds before checking the Cloud API again; doubled up to START_RETRY_MAX
START_RETRY_MAX = 600.0


def channel_strings() -> dict[str, dict[str, str]]:
    """The channel's own texts, each checked to exist in fi, sv and en."""
    return load_texts(STRINGS_FILE)


def language_hint(wa_id: str) -> str | None:
    """A first guess from the number's country (+46 Swedish, +358 none: Finnish or Swedish, other
    countries English); the bot's own detection decides once the citizen writes."""
    if wa_id.startswith("358"):
        return None
    return "sv" if wa_id.startswith("46") else "en"


class WhatsAppChannel:
    """Connects the Cloud API to the router."""

    def __init__(
        self,
        api: CloudApi,
        templates: Templates | None,
        router: Router,
        conversations: Conversations,
        mydata: MyData,
        offers: OfferDesk,
        outbox: Outbox,
        addresses: Addresses,
        limits: RateLimits,
        scheduler: Scheduler,
        redis: Redis,
        settings: Settings,
    ) -> None:
        self.api = api
        self.templates = templates  # None: the templates file is wrong; offers outside the window fail
        self._router = router
        self._conversations = conversations
        self._mydata = mydata
        self._offers = offers
        self._outbox = outbox
        self._addresses = addresses
        self._limits = limits
        self._scheduler = scheduler
        self._redis = redis  # the channel's own keys (``wa:``)
        self._claims = Claims(redis)
        self._settings = settings
        self._strings = channel_strings()
        scheduler.register(RETRY_JOB, self.retry_job)

    # -- the webhook ------------------------------------------------------------------------

    def verify(self, request: web.Request) -> web.Response:
        """Meta's subscription check: echo ``hub.challenge`` for our verify token."""
        query = request.query
        token = query.get("hub.verify_token", "").encode()
        expected = self._settings.whatsapp_verify_token.encode()
        if query.get("hub.mode") == "subscribe" and expected and hmac.compare_digest(token, expected):
            return web.Response(text=query.get("hub.challenge", ""))
        return web.json_response({"error": "wrong verify token"}, status=403)

    async def webhook(self, request: web.Request) -> web.Response:
        """One signed delivery: its messages answered, its statuses applied."""
        chunks, size = [], 0
        async for chunk in request.content.iter_chunked(64 * 1024):
            size += len(chunk)
            if size > MAX_BODY_BYTES:
                return web.json_response({"error": "the delivery is too large"}, status=413)
            chunks.append(chunk)
        body = b"".join(chunks)
        if not signed_by(body, request.headers.get(SIGNATURE_HEADER), self._settings.whatsapp_app_secret):
            return web.json_response({"error": "wrong or missing signature"}, status=403)
        try:
            delivery = parse_delivery(parse_json(body, repair_text=True))
        except (InboundError, ValueError):
            return web.json_response({"error": "body must be a WhatsApp webhook notification"}, status=400)
        ours = self._settings.whatsapp_phone_number_id
        by_citizen: dict[str, list[Incoming]] = defaultdict(list)
        for message in delivery.messages:
            if message.phone_number_id in ("", ours):  # another number of the same app is not ours
                by_citizen[message.wa_id].append(message)

        async def in_order(messages: list[Incoming]) -> None:
            for message in messages:
                await self._on_message(message)

        await asyncio.gather(*(in_order(m) for m in by_citizen.values()))
        for status in delivery.statuses:
            await self._on_status(status)
        return web.json_response({"ok": True})

    # -- incoming ---------------------------------------------------------------------------

    async def _on_message(self, message: Incoming) -> None:
        conversation = self._addresses.conversation(CHANNEL, message.wa_id)
        try:
            await self._addresses.remember(conversation, message.wa_id)
            if message.kind == "ignored":
                return
            await self._open_window(conversation, message)
            await self._release_held(conversation)
            if message.kind == "other":
                await self._refuse(conversation, "not_text", message)
                return
            text = message.text
            if message.kind == "button":
                if text == SHOW_PAYLOAD:
                    return  # the held messages were just sent
                if text.startswith("k:"):
                    stored = await self._redis.get(keys.whatsapp_button(text[2:]))
                    if stored is None:
                        await self._refuse(conversation, "button_expired", message)
                        return
                    text = str(stored)
            elif len(text) > self._settings.max_message_chars:
                await self._refuse(conversation, "too_long", message)
                return
            code = START.match(text) if message.kind == "text" else None
            if code:
                await self._link(conversation, message, code.group(1))
                return
            if not await self._limits.allow(conversation):
                await self._refuse(conversation, "rate_limited", message)
                return
            await self._route(conversation, message, text)
        except (RedisError, OSError, asyncio.TimeoutError) as error:  # the state store did not answer
            metrics.BOT_ERRORS.labels(CHANNEL, "store_unavailable").inc()
            logger.warning("a WhatsApp message could not be handled: %s", error.__class__.__name__)
            await self._say(conversation, "unavailable", message)

    async def _route(self, conversation: str, message: Incoming, text: str) -> None:
        inbound = Inbound(
            channel=CHANNEL,
            user_id=conversation.partition(":")[2],
            message_id=message.message_id,
            text=text,
            language_hint=language_hint(message.wa_id),
            timestamp=message.timestamp or time.time(),
        )
        try:
            replies = await self._router.handle(inbound)
        except BotUnavailableError as error:
            metrics.BOT_ERRORS.labels(CHANNEL, "bot_unavailable").inc()
            logger.warning("bot unavailable for a WhatsApp message: %s", error)
            await self._say(conversation, "unavailable", message)
            return
        await self._send_all(conversation, message.wa_id, replies)

    async def _link(self, conversation: str, message: Incoming, code: str) -> None:
        """``/start <code>``: link this number's conversation to the code's citizen."""
        if not await self._claims.first(conversation, message.message_id):
            return
        language = await self._language(conversation, message)
        try:
            await self._mydata.link_by_code(conversation, code, "whatsapp link code")
        except IdentityError as error:
            logger.info("WhatsApp link code refused: %s", error.code)
            await self._send_all(conversation, message.wa_id, [self._mydata.notice("link_code_invalid", language)])
            return
        await self._conversations.touch(conversation, CHANNEL, language)
        await self._addresses.keep_for(conversation, self._settings.link_days)  # offers must reach it
        await self._send_all(conversation, message.wa_id, [self._mydata.notice("linked", language)])

    async def _language(self, conversation: str, message: Incoming) -> str:
        return await self._conversations.language(conversation) or language_hint(message.wa_id) or "fi"

    async def _refuse(self, conversation: str, key: str, message: Incoming) -> None:
        """Tell the citizen why a message was not taken, once however often Meta delivers it."""
        if await self._claims.first(conversation, message.message_id):
            await self._say(conversation, key, message)

    async def _say(self, conversation: str, key: str, message: Incoming) -> None:
        """One of the channel's own notices, in the conversation's language."""
        try:
            language = await self._language(conversation, message)
        except (RedisError, OSError):
            language = language_hint(message.wa_id) or "fi"
        text = pick(self._strings[key], language)
        try:
            await self.api.send({"to": message.wa_id, "type": "text", "text": {"body": text}})
        except CloudApiError as error:
            logger.warning("WhatsApp did not take a notice: %s", error.code)

    # -- the 24-hour window -----------------------------------------------------------------

    async def _open_window(self, conversation: str, message: Incoming) -> None:
        """The citizen wrote: free-form messages may go to them for 24 hours from then."""
        age = max(0.0, time.time() - message.timestamp) if message.timestamp else 0.0
        left = int(WINDOW_SECONDS - WINDOW_MARGIN - age)
        if left > 0:
            await self._redis.set(keys.whatsapp_window(conversation), message.message_id, ex=left)
        await self._redis.delete(keys.whatsapp_nudged(conversation))

    async def window_open(self, conversation: str) -> bool:
        """True while free-form messages may go to the conversation."""
        return bool(await self._redis.exists(keys.whatsapp_window(conversation)))

    async def _release_held(self, conversation: str) -> None:
        """Send what waited for the window to open (an agent's answer, a handoff notice)."""
        held = await self._outbox.take(conversation)
        if held:
            address = await self._addresses.address_of(conversation)
            if address:
                await self._send_all(conversation, address, held)

    # -- outgoing ---------------------------------------------------------------------------

    async def push(self, user_id: str, replies: Sequence[Outbound]) -> None:
        """Send replies that did not come from a message of the citizen (an agent's answer, a
        handoff notice, an offer): free-form inside the window; outside it an offer as its
        template, anything else held until the citizen answers the "reply waiting" template."""
        conversation = f"{CHANNEL}:{user_id}"
        address = await self._addresses.address_of(conversation)
        if address is None:
            raise DeliveryError("no WhatsApp number is kept for this conversation any more")
        if await self.window_open(conversation):
            if replies and await self._send_all(conversation, address, replies) == len(replies):
                raise DeliveryError("WhatsApp took none of the replies")
            return
        held = [r for r in replies if r.offer_id is None]
        for reply in replies:
            if reply.offer_id is not None:
                await self._send_offer_template(conversation, address, reply)
        if held:
            await self._outbox.keep(conversation, held)
            await self._nudge(conversation, address, held[0].language)

    async def _nudge(self, conversation: str, address: str, language: str | None) -> None:
        """Tell the citizen once per closed window that a reply waits (a template)."""
        if self.templates is None:
            raise DeliveryError("the WhatsApp templates are not configured: the reply waits for the citizen")
        if not await self._redis.set(keys.whatsapp_nudged(conversation), "1", nx=True, ex=WINDOW_SECONDS):
            return  # told already; the replies wait with the first
        template = self.templates.reply_waiting
        message = self.templates.message(address, template, language or "fi", {}, {"show": SHOW_PAYLOAD})
        try:
            await self._send_message(conversation, message, None)
        except CloudApiError as error:
            await self._redis.delete(keys.whatsapp_nudged(conversation))
            raise DeliveryError(f"WhatsApp did not take the reply-waiting template ({error.code})") from error

    async def _send_offer_template(self, conversation: str, address: str, reply: Outbound) -> None:
        if self.templates is None or reply.offer_id is None:
            raise DeliveryError("the WhatsApp templates are not configured: an offer cannot go outside the window")
        offer = await self._offers.offers.get(reply.offer_id)
        if offer is None:
            raise DeliveryError("the offer is gone")
        language = reply.language or "fi"
        template = self.templates.offers[offer.kind]
        payloads = {
            action: "/request_human" if action == "human" else offer_payload(action, offer.offer_id)
            for action in ("accept", "change", "why", "human")
        }
        values = self._offers.template_values(offer, language)
        message = self.templates.message(address, template, language, values, payloads)
        try:
            await self._send_message(conversation, message, offer.offer_id)
        except CloudApiError as error:
            raise DeliveryError(f"WhatsApp did not take the offer's template ({error.code})") from error
        await self._offers.delivery_report(offer.offer_id, conversation, "sent", template=template.name)

    async def _send_all(self, conversation: str, address: str, replies: Sequence[Outbound]) -> int:
        """Send every reply; one failing never drops the rest. Returns how many failed."""
        failed = 0
        for reply in replies:
            try:
                ids = await self._ids(reply)
                messages = render(reply, address, ids.__getitem__, self._strings)
            except (RedisError, OSError, ValueError, KeyError) as error:
                failed += 1
                logger.warning("a WhatsApp reply failed (%s); sending the rest", error.__class__.__name__)
                continue
            refused = False
            for message in messages:
                try:
                    await self._send_message(conversation, message, reply.offer_id)
                except CloudApiError as error:
                    if not error.retryable:  # a retryable one is kept and sent again later
                        refused = True
                        logger.warning("a WhatsApp reply was refused (%s)", error.code)
                except (RedisError, OSError) as error:
                    refused = True
                    logger.warning("a WhatsApp reply failed (%s); sending the rest", error.__class__.__name__)
            failed += refused
        return failed

    async def _ids(self, reply: Outbound) -> dict[str, str]:
        """Each option's id: its payload when short enough, else a stored key (``k:<key>``)."""
        ids: dict[str, str] = {}
        for button in reply.buttons:
            if len(button.payload) <= MAX_ID - 56 and not button.payload.startswith("k:"):
                ids[button.payload] = button.payload
                continue
            key = hashlib.sha256(button.payload.encode()).hexdigest()[:32]
            await self._redis.set(keys.whatsapp_button(key), button.payload, ex=BUTTON_SECONDS)
            ids[button.payload] = f"k:{key}"
        return ids

    async def _send_message(self, conversation: str, message: dict[str, Any], offer_id: str | None) -> str | None:
        """Send one Cloud API message; remember which offer it carried (for its statuses). A
        message refused for now (rate limit, Meta down) is kept and sent again later; the
        CloudApiError is raised all the same, so the caller knows it did not go now."""
        try:
            message_id = await self.api.send(message)
        except CloudApiError as error:
            if error.retryable:
                await self._keep_for_retry(conversation, message, offer_id)
            raise
        if offer_id is not None:
            await self._remember_sent(message_id, conversation, offer_id, message)
        return message_id

    async def _remember_sent(self, message_id: str, conversation: str, offer_id: str, message: dict[str, Any]) -> None:
        key = keys.whatsapp_sent(message_id)
        template = message.get("template", {}).get("name", "") if message.get("type") == "template" else ""
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.hset(key, mapping={"conversation": conversation, "offer_id": offer_id, "template": template})
            pipe.expire(key, SENT_SECONDS)
            await pipe.execute()

    async def typing(self, user_id: str) -> None:
        """Show "typing…" for an agent (marks the citizen's last message read, as WhatsApp does)."""
        conversation = f"{CHANNEL}:{user_id}"
        try:
            last = await self._redis.get(keys.whatsapp_window(conversation))
            if last:
                await self.api.mark_read(str(last), typing=True)
        except (CloudApiError, RedisError) as error:
            logger.info("WhatsApp did not take a typing indicator: %s", error.__class__.__name__)

    # -- kept for later ---------------------------------------------------------------------

    async def _keep_for_retry(self, conversation: str, message: dict[str, Any], offer_id: str | None) -> None:
        job = secrets.token_hex(8)
        record = {"conversation": conversation, "message": message, "offer_id": offer_id, "first": time.time()}
        await self._redis.set(keys.whatsapp_retry(job), json.dumps(record), ex=RETRY_GIVE_UP * 2)
        await self._scheduler.schedule(RETRY_JOB, f"{job}:{RETRY_FIRST:.0f}", time.time() + RETRY_FIRST)
        metrics.CHANNEL_RETRIES.labels(CHANNEL).inc()
        logger.warning("a WhatsApp message was refused for now; it is kept and sent again later")

    async def retry_job(self, job_id: str, now: float) -> None:
        """Scheduled: send a kept message again; still refused → later, up to a day."""
        job, _, delay = job_id.partition(":")
        raw = await self._redis.get(keys.whatsapp_retry(job))
        if raw is None:
            return  # sent already, or erased
        record = json.loads(raw)
        try:
            message_id = await self.api.send(record["message"])
        except CloudApiError as error:
            waited = now - float(record["first"])
            if error.retryable and waited < RETRY_GIVE_UP:
                later = min(float(delay or RETRY_FIRST) * 2, RETRY_MAX)
                await self._scheduler.schedule(RETRY_JOB, f"{job}:{later:.0f}", now + later)
                return
            await self._redis.delete(keys.whatsapp_retry(job))
            metrics.BOT_ERRORS.labels(CHANNEL, "send_given_up").inc()
            logger.error("a kept WhatsApp message was given up (%s after %.0f s)", error.code, waited)
            return
        await self._redis.delete(keys.whatsapp_retry(job))
        if record.get("offer_id"):
            await self._remember_sent(message_id, record["conversation"], record["offer_id"], record["message"])

    # -- statuses ---------------------------------------------------------------------------

    async def _on_status(self, status: Status) -> None:
        if status.status not in STATUSES:
            return
        metrics.DELIVERY_REPORTS.labels(CHANNEL, status.status).inc()
        try:
            sent: dict[str, str] = await self._redis.hgetall(keys.whatsapp_sent(status.message_id))
            if not sent.get("offer_id"):
                if status.status == "failed":
                    logger.warning("a WhatsApp message failed: %s %s", status.error_code, status.error_title)
                return
            conversation, offer_id = sent["conversation"], sent["offer_id"]
            if status.status == "failed" and status.error_code == OUTSIDE_WINDOW and not sent.get("template"):
                # The window closed before the interactive offer got there: send its template.
                await self._redis.delete(keys.whatsapp_window(conversation))
                offer = await self._offers.offers.get(offer_id)
                if offer is not None and offer.status == "delivered":
                    language = await self._conversations.language(conversation) or "fi"
                    await self.push(conversation.partition(":")[2], [self._offers_message(offer_id, language)])
                return
            cause = f"{status.error_code} {status.error_title}".strip() if status.status == "failed" else ""
            await self._offers.delivery_report(offer_id, conversation, status.status, cause)
        except (RedisError, OSError, DeliveryError) as error:
            logger.warning("a WhatsApp status could not be applied: %s", error.__class__.__name__)

    def _offers_message(self, offer_id: str, language: str) -> Outbound:
        return Outbound(text="", language=language, offer_id=offer_id)


WHATSAPP = web.AppKey("whatsapp", WhatsAppChannel)


def _missing_settings(settings: Settings) -> list[str]:
    names = {
        "CITYBOT_WHATSAPP_TOKEN": settings.whatsapp_token,
        "CITYBOT_WHATSAPP_APP_SECRET": settings.whatsapp_app_secret,
        "CITYBOT_WHATSAPP_VERIFY_TOKEN": settings.whatsapp_verify_token,
    }
    return [name for name, value in names.items() if not value]


def setup_whatsapp(app: web.Application) -> None:
    """Add the WhatsApp channel when a phone number id is configured.

    Wrong settings or an unreachable Cloud API never stop the gateway: a missing secret leaves
    the channel off (its webhook answers 503, ``/readyz`` says why), a bad templates file or a
    refused access token leaves it degraded while web chat, Telegram and the console go on.
    """
    settings = app[SETTINGS]
    if not settings.whatsapp_phone_number_id:
        logger.info("WhatsApp channel off: CITYBOT_WHATSAPP_PHONE_NUMBER_ID is not set")
        return
    missing = _missing_settings(settings)
    states = app[CHANNEL_STATES]

    async def refuse(request: web.Request) -> web.Response:
        return web.json_response({"error": "the WhatsApp channel is not configured"}, status=503)

    if missing:
        logger.error("WhatsApp channel off: %s not set", ", ".join(missing))
        states[CHANNEL] = f"off: {', '.join(missing)} not set"
        app.router.add_get("/whatsapp/webhook", refuse)
        app.router.add_post("/whatsapp/webhook", refuse)
        return

    async def whatsapp_ctx(app: web.Application) -> Any:
        config = CloudApiConfig(
            settings.whatsapp_phone_number_id,
            settings.whatsapp_token,
            settings.whatsapp_api_url,
            settings.whatsapp_api_version,
        )
        templates: Templates | None
        problem = ""
        try:
            templates = load_templates(Path(settings.whatsapp_templates) if settings.whatsapp_templates else None)
        except TemplateConfigError as error:
            logger.error("WhatsApp templates not usable: %s", error)
            templates, problem = None, "templates file not usable"
        channel = WhatsAppChannel(
            CloudApi(app[HTTP], config),
            templates,
            app[ROUTER],
            app[CONVERSATIONS],
            app[MYDATA],
            app[OFFERS],
            app[OUTBOX],
            app[ADDRESSES],
            app[LIMITS],
            app[SCHEDULER],
            app[REDIS],
            settings,
        )
        app[WHATSAPP] = channel
        app[DELIVERY].register(CHANNEL, channel.push, channel.typing)
        states[CHANNEL] = f"degraded: {problem or 'checking the Cloud API'}"

        async def check() -> None:
            """Check the number and token until the Cloud API answers (messages are taken
            meanwhile: what cannot be sent is kept and sent later)."""
            delay = START_RETRY_FIRST
            while True:
                try:
                    await channel.api.check()
                    break
                except CloudApiError as error:
                    states[CHANNEL] = f"degraded: Cloud API check failed ({error.code})"
                    logger.warning("WhatsApp Cloud API check failed (%s); retrying in %.0f s", error.code, delay)
                    await asyncio.sleep(delay)
                    delay = min(delay * 2, START_RETRY_MAX)
            states[CHANNEL] = f"degraded: {problem}" if problem else "ok"
            logger.info("WhatsApp channel ready")

        checking = asyncio.create_task(check())
        yield
        checking.cancel()
        await shut(checking, "whatsapp check")

    async def verify(request: web.Request) -> web.Response:
        return request.app[WHATSAPP].verify(request)

    async def webhook(request: web.Request) -> web.Response:
        return await request.app[WHATSAPP].webhook(request)

    app.cleanup_ctx.append(whatsapp_ctx)
    app.router.add_get("/whatsapp/webhook", verify)
    app.router.add_post("/whatsapp/webhook", webhook)
