"""An offer's life in conversations: delivery, the citizen's answer, the silent default.

``OfferDesk`` takes a new offer from the back office, delivers it to the citizen's linked
conversations (only with consent for ``proactive_offers``), takes the citizen's answer (buttons,
or free text the bot understood as affirm / deny / request_change), applies the silent default
when ``respond_by`` passes, and tells the calling system of every change. Texts come from
``knowledge/offers.yml``; the bot (Rasa) never sees personal details: it only says that the
citizen answered, and the desk fills in the rest. The citizen's data requests are
``bot.mydata``'s.
"""

from __future__ import annotations

import logging
import re
import time
from datetime import date
from typing import Any

from bot.conversation.delivery import Delivery, DeliveryError
from bot.conversation.questions import QuestionKind, Questions
from bot.conversation.records import Conversations
from bot.conversation.transcripts import Entry, Transcripts
from bot.core import clock, metrics
from bot.core.envelope import Button, Card, Fact, Outbound
from bot.core.i18n import LANGUAGES
from bot.core.protocol import OfferAnswer
from bot.core.text import fold, words
from bot.offers.store import OPEN, Offer, OfferError, Offers
from bot.offers.texts import OfferTexts, format_date
from bot.privacy.consent import Consents
from bot.privacy.identity import Links
from bot.store.scheduler import Scheduler
from bot.systems.callbacks import Callbacks

logger = logging.getLogger(__name__)
EXPIRY_JOB = "offer_expiry"
WHY_PAYLOAD = "/offer_why"  # the why-button of offers sent before buttons named their offer
OFFER_PAYLOAD = re.compile(r"^/offer:(accept|decline|change|why):([A-Za-z0-9._:-]{1,128})$")


def season_of(day: date) -> tuple[str, int]:
    """The season of a day and its year (January and February belong to the winter before)."""
    if day.month in (12, 1, 2):
        return "winter", day.year if day.month == 12 else day.year - 1
    return {3: "spring", 4: "spring", 5: "spring", 6: "summer", 7: "summer"}.get(day.month, "autumn"), day.year


def offer_payload(action: str, offer_id: str) -> str:
    """A button's payload bound to one offer: ``/offer:<accept|decline|change|why>:<offer id>``."""
    return f"/offer:{action}:{offer_id}"


def parse_offer_payload(text: str) -> tuple[str, str] | None:
    """``(action, offer id)`` of an offer button's payload, or None for any other text."""
    match = OFFER_PAYLOAD.match(text)
    return (match.group(1), match.group(2)) if match else None


SILENCE_OUTCOME = {"accept": "accepted", "decline": "declined", "none": "expired"}


class OfferDesk:
    """Offers from delivery to decision."""

    def __init__(
        self,
        offers: Offers,
        links: Links,
        consents: Consents,
        conversations: Conversations,
        questions: Questions,
        transcripts: Transcripts,
        delivery: Delivery,
        scheduler: Scheduler,
        callbacks: Callbacks,
        texts: OfferTexts,
    ) -> None:
        self.offers = offers
        self._links = links
        self._consents = consents
        self._conversations = conversations
        self._questions = questions
        self._transcripts = transcripts
        self._delivery = delivery
        self._scheduler = scheduler
        self._callbacks = callbacks
        self.texts = texts
        scheduler.register(EXPIRY_JOB, self.expire)

    # -- from the back office -----------------------------------------------------------------------

    async def create(self, offer: Offer) -> tuple[Offer, bool]:
        """Store the offer; a new one is delivered (or found undeliverable) at once.

        Its message is rendered in every language first: an offer that cannot be shown is refused
        (OfferError 400) before anything is stored, never left pending half-done.
        """
        for language in LANGUAGES:
            try:
                self._offer_message(offer, language)
            except (ValueError, OverflowError, KeyError, IndexError) as error:
                raise OfferError(400, "bad_details", "the offer's details cannot be shown to the citizen") from error
        stored, created = await self.offers.create(offer)
        if not created:
            return stored, False
        await self._scheduler.schedule(EXPIRY_JOB, offer.offer_id, offer.respond_by.timestamp())
        await self._deliver(stored)
        return (await self.offers.get(offer.offer_id)) or stored, True

    async def get(self, offer_id: str, system: str) -> tuple[Offer, list[dict[str, Any]]] | None:
        """An offer and its history, for the system that created it only."""
        offer = await self.offers.get(offer_id)
        if offer is None or offer.system != system:
            return None
        return offer, await self.offers.history(offer_id)

    async def of_citizen(self, citizen_id: str) -> list[Offer]:
        """The citizen's offers, oldest first."""
        return await self.offers.of_citizen(citizen_id)

    async def _deliver(self, offer: Offer) -> None:
        conversations = await self._links.conversations_of(offer.citizen_id)
        if not conversations:
            await self._move(offer, "undeliverable", "no linked chat channel")
            return
        if not await self._consents.is_granted(offer.citizen_id, "proactive_offers"):
            await self._move(offer, "undeliverable", "no consent to proactive offers")
            return
        sent = []
        for conversation in conversations:
            if await self._conversations.is_stopped(conversation):
                continue
            language = await self._conversations.language(conversation) or "fi"
            reply = self._offer_message(offer, language)
            try:
                await self._delivery.send(conversation, [reply])
            except DeliveryError as error:
                logger.warning("offer not sent to a %s chat: %s", conversation.split(":")[0], error)
                continue
            await self._transcripts.append(conversation, [Entry("bot", reply.text, language=language)])
            await self._conversations.add_open_offer(conversation, offer.offer_id)
            await self._questions.close(conversation)  # the offer is the question now
            await self.offers.record_delivery(offer.offer_id, conversation.split(":")[0], "sent")
            sent.append(conversation)
        if not sent:
            await self._move(offer, "undeliverable", "the citizen's chats were stopped or unreachable")
            return
        await self._move(offer, "delivered", f"sent to {', '.join(sorted({c.split(':')[0] for c in sent}))}")
        current = await self.offers.get(offer.offer_id)
        if current and current.delivery and all(r["state"] == "failed" for r in current.delivery.values()):
            # Every channel's failure report came back before the offer was marked delivered.
            report = current.delivery[sent[-1].split(":")[0]]
            await self._fail(current, sent[-1], report.get("cause", ""))

    async def delivery_report(
        self, offer_id: str, conversation: str, state: str, cause: str = "", template: str = ""
    ) -> None:
        """A channel's report on the offer's message in ``conversation`` (WhatsApp's statuses):
        kept in the offer's delivery record. ``failed`` makes the offer undeliverable unless
        another channel has it; ``delivered`` or ``read`` after that makes it delivered again."""
        channel = conversation.split(":")[0]
        if not await self.offers.record_delivery(offer_id, channel, state, cause, template):
            return
        offer = await self.offers.get(offer_id)
        if offer is None:
            return
        if state == "failed" and offer.status == "delivered":
            await self._fail(offer, conversation, cause)
        elif (
            state in ("delivered", "read")
            and offer.status == "undeliverable"
            and await self._move(offer, "delivered", f"{channel} reported it {state} after a failure report")
        ):
            await self._conversations.add_open_offer(conversation, offer_id)
            await self._scheduler.schedule(EXPIRY_JOB, offer_id, offer.respond_by.timestamp())

    async def _fail(self, offer: Offer, conversation: str, cause: str) -> None:
        """The offer's message failed in ``conversation``: undeliverable, unless another of the
        citizen's channels has it."""
        channel = conversation.split(":")[0]
        if any(c != channel and r["state"] != "failed" for c, r in offer.delivery.items()):
            return
        await self._move(offer, "undeliverable", f"{channel}: {cause or 'failed'}")
        await self._conversations.close_offer(conversation, offer.offer_id)

    def template_values(self, offer: Offer, language: str) -> dict[str, str]:
        """What a channel's template for the offer may show: its details as in its message
        (dates written out, the start season), its title and the answer date."""
        values = self._details(offer, language)
        values["title"] = self.texts.kind(offer.kind, "title", language)
        values["respond_by"] = format_date(offer.respond_by, language)
        return values

    def _offer_message(self, offer: Offer, language: str) -> Outbound:
        details = self._details(offer, language)
        text = self.texts.kind(offer.kind, "message", language, **details)
        respond_by = format_date(offer.respond_by, language)
        text += " " + self.texts.say(f"silence_{offer.on_silence}", language, respond_by=respond_by)
        buttons = (  # bound to this offer: a button acts on the offer it was sent with, never another
            Button(self.texts.say("button_accept", language), offer_payload(OfferAnswer.ACCEPT.value, offer.offer_id)),
            Button(self.texts.say("button_change", language), offer_payload(OfferAnswer.CHANGE.value, offer.offer_id)),
            Button(self.texts.say("button_human", language), "/request_human"),
            Button(self.texts.say("button_why", language), offer_payload("why", offer.offer_id)),
        )
        facts = [Fact(label, value) for label, value in self.texts.card_facts(offer.kind, language, **details)]
        facts.append(Fact(self.texts.say("fact_respond_by", language), respond_by))
        card = Card(self.texts.kind(offer.kind, "title", language), tuple(facts))
        return Outbound(text=text, buttons=buttons, language=language, offer_id=offer.offer_id, card=card)

    def _details(self, offer: Offer, language: str) -> dict[str, str]:
        values = dict(offer.details)
        if "start_date" in values:
            values["start_season"] = self._season(values["start_date"], language)
        for key in ("start_date", "appointment_time"):
            if key in values:
                values[key] = format_date(values[key], language)
        return values

    def _season(self, start: str, language: str) -> str:
        """ "tänä syksynä" only when the start is in this very season, else "syksyllä 2027"."""
        try:
            day = date.fromisoformat(start[:10])
        except ValueError:
            return format_date(start, language)
        season, year = season_of(day)
        if (season, year) == season_of(clock.now().date()):
            return self.texts.say(f"season_this_{season}", language)
        return self.texts.say(f"season_{season}", language, year=year)

    async def expire(self, offer_id: str, now: float | None = None) -> None:
        """``respond_by`` passed: apply ``on_silence`` to an offer still open (scheduler job)."""
        offer = await self.offers.get(offer_id)
        if offer is None or offer.status not in OPEN:
            return
        moment = time.time() if now is None else now
        if offer.respond_by.timestamp() > moment + 1:  # moved by a re-creation: not yet
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
            "at": clock.iso(time.time()),
        }
        if current and current.change_request:
            payload["change_request"] = current.change_request
        await self._callbacks.notify(offer.system, payload)
        metrics.OFFER_STATUSES.labels(status).inc()
        logger.info("offer moved to %s (%s)", status, cause)
        return True

    async def _close_in_conversations(self, offer: Offer) -> None:
        for conversation in await self._links.conversations_of(offer.citizen_id):
            await self._conversations.close_offer(conversation, offer.offer_id)

    # -- in the conversation ----------------------------------------------------------------------------

    async def open_offer(self, conversation: str) -> Offer | None:
        """The offer the conversation may answer now: delivered there, still open, still linked."""
        offer_id = await self._conversations.open_offer(conversation)
        return await self._offer_of(conversation, offer_id) if offer_id else None

    async def _offer_of(self, conversation: str, offer_id: str) -> Offer | None:
        offer = await self.offers.get(offer_id)
        citizen = await self._links.citizen_of(conversation)
        if offer is None or citizen != offer.citizen_id:
            return None
        return offer

    async def _had_offers(self, conversation: str) -> bool:
        """Has the citizen of this conversation (if linked) ever been sent an offer?"""
        citizen = await self._links.citizen_of(conversation)
        return bool(citizen and await self.offers.of_citizen(citizen))

    def _named_in(self, offer: Offer, said: str) -> bool:
        """Do the citizen's words name this offer: its kind (``mentioned_by`` stems of any
        language in offers.yml) or the child it is for?"""
        said_words = words(said)
        stems = [s for language in LANGUAGES for s in self.texts.kind(offer.kind, "mentioned_by", language).split()]
        child = fold(str(offer.details.get("child_name", "")))
        return any(w.startswith(fold(stem)) for w in said_words for stem in stems) or bool(
            child and any(w.startswith(child) for w in said_words)
        )

    def _reply(self, text: str, language: str) -> Outbound:
        return Outbound(text=text, language=language)

    def _which(self, offers: list[Offer], action: str, language: str) -> Outbound:
        """ "Which one do you mean?" with a button per offer, each bound to it."""
        buttons = tuple(
            Button(self.texts.kind(o.kind, "title", language), offer_payload(action, o.offer_id)) for o in offers
        )
        return Outbound(text=self.texts.say("which_offer", language), buttons=buttons, language=language)

    async def open_offers(self, conversation: str) -> list[Offer]:
        """Every offer the conversation may answer now, the latest last."""
        offers = [await self._offer_of(conversation, o) for o in await self._conversations.open_offers(conversation)]
        return [o for o in offers if o is not None and o.status in OPEN]

    async def answer(
        self, conversation: str, answer: OfferAnswer, language: str, offer_id: str | None = None, said: str = ""
    ) -> list[Outbound]:
        """The citizen accepted, declined or asked to change an offer: the one ``offer_id`` names
        (a button), or the only open one (typed words); with several open, the one the words
        ``said`` name ("yes to Elsa's school place"), else ask which."""
        if offer_id is not None:  # delivered to this conversation's citizen, else "no open offer"
            offer = await self._offer_of(conversation, offer_id)
        else:
            candidates = await self.open_offers(conversation)
            named = [o for o in candidates if self._named_in(o, said)]
            if len(candidates) > 1 and len(named) == 1:
                candidates = named
            if len(candidates) > 1:
                return [self._which(candidates, answer.value, language)]
            offer = candidates[0] if candidates else await self.open_offer(conversation)
        if offer is None:
            if offer_id is None and answer is not OfferAnswer.CHANGE and not await self._had_offers(conversation):
                # A typed "yes" or "ok, thanks" where no offer was ever sent: acknowledged, not
                # "you have no open offer" (it was not about offers at all).
                return [self._reply(self.texts.say("acknowledged", language), language)]
            return [self._reply(self.texts.say("no_open_offer", language), language)]
        if offer.status != "delivered":
            status = self.texts.say(f"status_{offer.status}", language)
            return [self._reply(self.texts.say("already_answered", language, status=status), language)]
        details = self._details(offer, language)
        if answer is OfferAnswer.CHANGE:
            await self._questions.ask(conversation, QuestionKind.CHANGE_WISH, offer.offer_id)
            return [self._reply(self.texts.kind(offer.kind, "change_question", language), language)]
        status = "accepted" if answer is OfferAnswer.ACCEPT else "declined"
        if not await self._move(offer, status, f"the citizen answered in the chat ({conversation.split(':')[0]})"):
            now = await self.offers.get(offer.offer_id)
            word = self.texts.say(f"status_{now.status if now else status}", language)
            return [self._reply(self.texts.say("already_answered", language, status=word), language)]
        await self._close_in_conversations(offer)
        return [self._reply(self.texts.kind(offer.kind, status, language, **details), language)]

    async def change_request(self, conversation: str, offer_id: str, text: str, language: str) -> list[Outbound]:
        """The citizen's words after "what would you like instead?" about the offer ``offer_id``."""
        offer = await self._offer_of(conversation, offer_id)
        if offer is None or offer.status != "delivered":
            return [self._reply(self.texts.say("no_open_offer", language), language)]
        await self.offers.set_change_request(offer.offer_id, text)
        await self._move(
            offer, "change_requested", f"the citizen asked for a change in the chat ({conversation.split(':')[0]})"
        )
        await self._close_in_conversations(offer)
        return [self._reply(self.texts.kind(offer.kind, "change_recorded", language, request=text), language)]
