"""Offers in conversations, and the citizen's data (MyData): the gateway's side of issue 5.

``OfferDesk`` takes a new offer from the back office, delivers it to the citizen's linked
conversations (only with consent for ``proactive_offers``), takes the citizen's answer (buttons,
or free text the bot understood as affirm / deny / request_change), applies the silent default
when ``respond_by`` passes, and tells the calling system of every change. It also answers the
MyData requests (what the city holds and why, offers on/off, delete, unlink) and serves the
export and erasure calls of the back-office API. Texts come from ``knowledge/offers.yml`` and
``knowledge/mydata.yml``; the bot (Rasa) never sees personal details: it only says that the
citizen answered or asked, and the desk fills in the rest.
"""

from __future__ import annotations

import logging
import time
from datetime import datetime
from typing import Any

from redis.asyncio import Redis

from bot.callbacks import Callbacks
from bot.consent import Consents
from bot.conversations import PREFIX, as_text
from bot.delivery import Delivery, DeliveryError
from bot.envelope import Button, Outbound
from bot.identity import Links
from bot.offer_texts import OfferTexts, format_date
from bot.offers import OPEN, Offer, Offers
from bot.scheduler import Scheduler
from bot.transcript import Entry, Transcripts

logger = logging.getLogger(__name__)
EXPIRY_JOB = "offer_expiry"
WHY_PAYLOAD = "/offer_why"
DELETE_YES = "/mydata_delete_yes"
DELETE_NO = "/mydata_delete_no"
UNLINK_PAYLOAD = "/mydata_unlink"
SILENCE_OUTCOME = {"accept": "accepted", "decline": "declined", "none": "expired"}


class OfferDesk:
    """Offers from delivery to decision, and MyData requests."""

    def __init__(
        self,
        redis: Redis,
        offers: Offers,
        links: Links,
        consents: Consents,
        transcripts: Transcripts,
        delivery: Delivery,
        scheduler: Scheduler,
        callbacks: Callbacks,
        texts: OfferTexts,
        retention_days: int = 30,
    ) -> None:
        self._redis = redis
        self.offers = offers
        self.links = links
        self.consents = consents
        self._transcripts = transcripts
        self._delivery = delivery
        self._scheduler = scheduler
        self._callbacks = callbacks
        self.texts = texts
        self._retention_days = retention_days
        scheduler.register(EXPIRY_JOB, self.expire)

    # -- from the back office -----------------------------------------------------------------------

    async def create(self, offer: Offer) -> tuple[Offer, bool]:
        """Store the offer; a new one is delivered (or found undeliverable) at once."""
        stored, created = await self.offers.create(offer)
        if not created:
            return stored, False
        await self._scheduler.schedule(EXPIRY_JOB, offer.offer_id, offer.respond_by.timestamp())
        await self._deliver(stored)
        return (await self.offers.get(offer.offer_id)) or stored, True

    async def _deliver(self, offer: Offer) -> None:
        conversations = await self.links.conversations_of(offer.citizen_id)
        if not conversations:
            await self._move(offer, "undeliverable", "no linked chat channel")
            return
        if not await self.consents.is_granted(offer.citizen_id, "proactive_offers"):
            await self._move(offer, "undeliverable", "no consent to proactive offers")
            return
        sent = []
        for conversation in conversations:
            if await self._redis.hget(f"{PREFIX}conv:{conversation}", "stopped"):
                continue
            language = await self._language(conversation)
            reply = self._offer_message(offer, language)
            try:
                await self._delivery.send(conversation, [reply])
            except DeliveryError as error:
                logger.warning("offer not sent to a %s chat: %s", conversation.split(":")[0], error)
                continue
            await self._transcripts.append(conversation, [Entry("bot", reply.text, language=language)])
            await self._redis.hset(f"{PREFIX}conv:{conversation}", "open_offer", offer.offer_id)
            sent.append(conversation.split(":")[0])
        if sent:
            await self._move(offer, "delivered", f"sent to {', '.join(sorted(set(sent)))}")
        else:
            await self._move(offer, "undeliverable", "the citizen's chats were stopped or unreachable")

    def _offer_message(self, offer: Offer, language: str) -> Outbound:
        details = self._details(offer, language)
        text = self.texts.kind(offer.kind, "message", language, **details)
        respond_by = format_date(offer.respond_by, language)
        text += " " + self.texts.say(f"silence_{offer.on_silence}", language, respond_by=respond_by)
        buttons = (
            Button(self.texts.say("button_accept", language), "/affirm"),
            Button(self.texts.say("button_change", language), "/request_change"),
            Button(self.texts.say("button_human", language), "/request_human"),
            Button(self.texts.say("button_why", language), WHY_PAYLOAD),
        )
        return Outbound(text=text, buttons=buttons, language=language)

    def _details(self, offer: Offer, language: str) -> dict[str, str]:
        values = dict(offer.details)
        for key in ("start_date", "appointment_time"):
            if key in values:
                values[key] = format_date(values[key], language)
        return values

    async def expire(self, offer_id: str) -> None:
        """``respond_by`` passed: apply ``on_silence`` to an offer still open (scheduler job)."""
        offer = await self.offers.get(offer_id)
        if offer is None or offer.status not in OPEN:
            return
        if offer.respond_by.timestamp() > time.time() + 1:  # moved by a re-creation: not yet
            await self._scheduler.schedule(EXPIRY_JOB, offer_id, offer.respond_by.timestamp())
            return
        outcome = SILENCE_OUTCOME[offer.on_silence] if offer.status == "delivered" else "expired"
        await self._move(offer, outcome, f"no answer by respond_by (on_silence={offer.on_silence})")
        await self._close_in_conversations(offer)

    async def _move(self, offer: Offer, status: str, cause: str) -> bool:
        if not await self.offers.move(offer.offer_id, status, cause):
            return False
        current = await self.offers.get(offer.offer_id)
        payload: dict[str, Any] = {
            "offer_id": offer.offer_id,
            "citizen_id": offer.citizen_id,
            "status": status,
            "cause": cause,
            "at": datetime.now().astimezone().isoformat(timespec="seconds"),
        }
        if current and current.change_request:
            payload["change_request"] = current.change_request
        await self._callbacks.notify(offer.system, payload)
        logger.info("offer moved to %s (%s)", status, cause)
        return True

    async def _close_in_conversations(self, offer: Offer) -> None:
        for conversation in await self.links.conversations_of(offer.citizen_id):
            key = f"{PREFIX}conv:{conversation}"
            if as_text(await self._redis.hget(key, "open_offer") or b"") == offer.offer_id:
                await self._redis.hdel(key, "open_offer", "awaiting")

    # -- in the conversation ----------------------------------------------------------------------------

    async def _language(self, conversation: str) -> str:
        value = await self._redis.hget(f"{PREFIX}conv:{conversation}", "language")
        return as_text(value) if value else "fi"

    async def open_offer(self, conversation: str) -> Offer | None:
        """The offer the conversation may answer now: delivered there, still open, still linked."""
        offer_id = await self._redis.hget(f"{PREFIX}conv:{conversation}", "open_offer")
        if not offer_id:
            return None
        offer = await self.offers.get(as_text(offer_id))
        citizen = await self.links.citizen_of(conversation)
        if offer is None or citizen != offer.citizen_id:
            return None
        return offer

    async def awaiting(self, conversation: str) -> str | None:
        """What the next message is taken as: ``change`` (a change request) or ``delete`` (a yes/no)."""
        value = await self._redis.hget(f"{PREFIX}conv:{conversation}", "awaiting")
        return as_text(value) if value else None

    async def _await(self, conversation: str, what: str | None) -> None:
        key = f"{PREFIX}conv:{conversation}"
        if what:
            await self._redis.hset(key, "awaiting", what)
        else:
            await self._redis.hdel(key, "awaiting")

    def _reply(self, text: str, language: str, buttons: tuple[Button, ...] = ()) -> Outbound:
        return Outbound(text=text, buttons=buttons, language=language)

    async def answer(self, conversation: str, answer: str, language: str) -> list[Outbound]:
        """The citizen accepted, declined or asked to change (``accept``/``decline``/``change``)."""
        offer = await self.open_offer(conversation)
        if offer is None:
            return [self._reply(self.texts.say("no_open_offer", language), language)]
        if offer.status != "delivered":
            status = self.texts.say(f"status_{offer.status}", language)
            return [self._reply(self.texts.say("already_answered", language, status=status), language)]
        details = self._details(offer, language)
        if answer == "change":
            await self._await(conversation, "change")
            return [self._reply(self.texts.kind(offer.kind, "change_question", language), language)]
        status = "accepted" if answer == "accept" else "declined"
        if not await self._move(offer, status, f"the citizen answered in the chat ({conversation.split(':')[0]})"):
            now = await self.offers.get(offer.offer_id)
            word = self.texts.say(f"status_{now.status if now else status}", language)
            return [self._reply(self.texts.say("already_answered", language, status=word), language)]
        await self._close_in_conversations(offer)
        return [self._reply(self.texts.kind(offer.kind, status, language, **details), language)]

    async def change_request(self, conversation: str, text: str, language: str) -> list[Outbound]:
        """The citizen's words after "what would you like instead?"."""
        await self._await(conversation, None)
        offer = await self.open_offer(conversation)
        if offer is None or offer.status != "delivered":
            return [self._reply(self.texts.say("no_open_offer", language), language)]
        await self.offers.set_change_request(offer.offer_id, text)
        await self._move(
            offer, "change_requested", f"the citizen asked for a change in the chat ({conversation.split(':')[0]})"
        )
        await self._close_in_conversations(offer)
        return [self._reply(self.texts.kind(offer.kind, "change_recorded", language, request=text), language)]

    async def why(self, conversation: str, language: str) -> list[Outbound]:
        """Which data was used for the offer, and on what basis."""
        offer_id = await self._redis.hget(f"{PREFIX}conv:{conversation}", "open_offer")
        offer = await self.offers.get(as_text(offer_id)) if offer_id else None
        citizen = await self.links.citizen_of(conversation)
        if offer is None or citizen != offer.citizen_id:
            return await self.my_data(conversation, language)
        consent = await self.consents.current(citizen, "proactive_offers")
        date = format_date(datetime.fromtimestamp(consent.at).date(), language) if consent else "-"
        channel = self.texts.say(f"channel_{consent.channel}", language) if consent else "-"
        text = self.texts.kind(offer.kind, "why", language, consent_date=date, consent_channel=channel)
        return [self._reply(text, language)]

    async def my_data(self, conversation: str, language: str) -> list[Outbound]:
        """What the city holds and uses about the citizen of this conversation."""
        citizen = await self.links.citizen_of(conversation)
        if citizen is None:
            text = self.texts.data("anonymous_my_data", language, retention_days=self._retention_days)
            return [self._reply(text, language)]
        consent = await self.consents.current(citizen, "proactive_offers")
        if consent is None:
            consent_text = self.texts.data("consent_off", language)
        else:
            when = format_date(datetime.fromtimestamp(consent.at).date(), language)
            via = self.texts.say(f"channel_{consent.channel}", language)
            key = "consent_on" if consent.granted else "consent_withdrawn"
            consent_text = self.texts.data(key, language, date=when, channel=via)
        offers = await self.offers.of_citizen(citizen)
        summary = "; ".join(
            f"{self.texts.kind(o.kind, 'title', language)} ({self.texts.say(f'status_{o.status}', language)})"
            if o.status not in ("pending", "delivered", "undeliverable")
            else self.texts.kind(o.kind, "title", language)
            for o in offers
        ) or self.texts.data("no_offers", language)
        channels = ", ".join(
            sorted(
                {
                    self.texts.say(f"channel_{c.split(':')[0]}", language)
                    for c in await self.links.conversations_of(citizen)
                }
            )
        )
        text = self.texts.data(
            "my_data",
            language,
            consent=consent_text,
            offers=summary,
            channels=channels,
            retention_days=self._retention_days,
        )
        toggle = (
            ("button_opt_out", "/opt_out_offers")
            if consent and consent.granted
            else ("button_opt_in", "/opt_in_offers")
        )
        buttons = (
            Button(self.texts.data(toggle[0], language), toggle[1]),
            Button(self.texts.data("button_unlink", language), UNLINK_PAYLOAD),
        )
        return [self._reply(text, language, buttons)]

    async def set_offers(self, conversation: str, allowed: bool, language: str) -> list[Outbound]:
        """Opt in or out of proactive offers from the chat."""
        citizen = await self.links.citizen_of(conversation)
        if citizen is None:
            key = "anonymous_opt_in" if allowed else "anonymous_opt_out"
            return [self._reply(self.texts.data(key, language), language)]
        changed = await self.consents.set(citizen, "proactive_offers", allowed, conversation.split(":")[0])
        key = ("opted_in" if allowed else "opted_out") if changed else ("already_in" if allowed else "already_out")
        return [self._reply(self.texts.data(key, language), language)]

    async def ask_delete(self, conversation: str, language: str) -> list[Outbound]:
        """Ask before deleting: what goes, and what stays."""
        await self._await(conversation, "delete")
        key = "delete_question" if await self.links.citizen_of(conversation) else "anonymous_delete"
        buttons = (
            Button(self.texts.data("button_delete_yes", language), DELETE_YES),
            Button(self.texts.data("button_delete_no", language), DELETE_NO),
        )
        return [self._reply(self.texts.data(key, language), language, buttons)]

    async def confirm_delete(self, conversation: str, yes: bool, language: str) -> list[Outbound]:
        """Delete this conversation's history and link (offers stay, as city records), or not."""
        await self._await(conversation, None)
        if not yes:
            return [self._reply(self.texts.data("delete_cancelled", language), language)]
        citizen = await self.links.citizen_of(conversation)
        await self.forget_conversation(conversation)
        key = "deleted" if citizen else "deleted_anonymous"
        return [self._reply(self.texts.data(key, language), language)]

    async def unlink(self, conversation: str, language: str) -> list[Outbound]:
        """Stop linking this chat to the citizen's account."""
        await self.links.unlink(conversation)
        await self._redis.hdel(f"{PREFIX}conv:{conversation}", "open_offer", "awaiting")
        return [self._reply(self.texts.data("unlinked", language), language)]

    async def forget_conversation(self, conversation: str) -> None:
        """Delete a conversation's chat history (Rasa's tracker, transcript, outbox) and its link."""
        await self.links.unlink(conversation)
        channel, _, user = conversation.partition(":")
        await self._redis.delete(
            f"{PREFIX}tracker:{conversation}",
            f"{PREFIX}log:{conversation}",
            f"{PREFIX}conv:{conversation}",
            f"{PREFIX}outbox:{channel}:{user}",
            f"{PREFIX}case:{conversation}",
        )

    # -- back-office calls about a citizen ------------------------------------------------------------

    async def export(self, citizen: str) -> dict[str, Any]:
        """Everything held about a citizen (GDPR art. 15), as JSON for the back office."""
        conversations = []
        for conversation in await self.links.conversations_of(citizen):
            record = {
                as_text(k): as_text(v) for k, v in (await self._redis.hgetall(f"{PREFIX}conv:{conversation}")).items()
            }
            conversations.append(
                {
                    "conversation": conversation,
                    "channel": conversation.split(":")[0],
                    "record": record,
                    "transcript": await self._transcripts.read(conversation),
                }
            )
        return {
            "citizen_id": citizen,
            "exported_at": datetime.now().astimezone().isoformat(timespec="seconds"),
            "consent": {
                "current": {
                    purpose: vars(state)
                    for purpose in ("proactive_offers",)
                    if (state := await self.consents.current(citizen, purpose)) is not None
                },
                "history": await self.consents.history(citizen),
            },
            "offers": [
                {**o.public(), "history": await self.offers.history(o.offer_id)}
                for o in await self.offers.of_citizen(citizen)
            ],
            "conversations": conversations,
        }

    async def erase(self, citizen: str) -> dict[str, Any]:
        """Erase what is held about a citizen (GDPR art. 17), except the city's records.

        Chat histories and links go; offers and their decisions are records of the city's
        decisions and stay, and so does the consent history (the proof of consent, art. 7(1)).
        """
        conversations = await self.links.conversations_of(citizen)
        for conversation in conversations:
            await self.forget_conversation(conversation)
        await self._redis.delete(f"{PREFIX}links:{citizen}")
        return {
            "citizen_id": citizen,
            "deleted_conversations": len(conversations),
            "kept": ["offers", "consent_history"],
        }
