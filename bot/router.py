"""Who answers a conversation: the bot, or a human agent (see docs/handoff.md).

Every message is de-duplicated, written to the conversation's transcript (with what the bot
understood of it), and then:

- with the bot: sent to Rasa; a ``handoff`` control item in the bot's replies starts a handoff;
- queued for an agent: kept for the agent, unless the citizen cancels;
- waiting for a message to leave (outside service hours): the message is kept and queued;
- with an agent: kept for the agent; the bot says nothing;
- just back from an agent: a 1-5 rating is recorded, anything else goes to the bot.
"""

from __future__ import annotations

import asyncio
import logging
import re
from typing import Mapping

from bot import clock
from bot.conversations import Conversations
from bot.envelope import Button, Inbound, Outbound
from bot.handoff import Availability, Case, Handoff
from bot.i18n import pick
from bot.knowledge import load_calendar
from bot.offer_desk import DELETE_NO, DELETE_YES, UNLINK_PAYLOAD, WHY_PAYLOAD, OfferDesk
from bot.rasa_client import BotUnavailableError, RasaClient
from bot.time_words import day_phrase, format_time
from bot.transcript import Entry, Transcripts

logger = logging.getLogger(__name__)
CANCEL_PAYLOAD = "/handoff_cancel"
RATING_PAYLOAD = "/handoff_rating_"
# Free text that cancels a wait for an agent: "never mind", "ei sittenkään", "strunt i det".
CANCEL_INTENTS = frozenset({"deny", "goodbye"})
CANCEL_MIN_CONFIDENCE = 0.6
_RATING_TEXT = re.compile(r"^\s*([1-5])\s*(?:/\s*5)?\s*[.!]?\s*$")


def rating_of(text: str) -> int | None:
    """1-5 from a rating button (``/handoff_rating_4``) or a bare digit ("4", "4/5"), else None."""
    if text.startswith(RATING_PAYLOAD):
        tail = text[len(RATING_PAYLOAD) :]
        return int(tail) if tail in {"1", "2", "3", "4", "5"} else None
    match = _RATING_TEXT.match(text)
    return int(match.group(1)) if match else None


class HandoffTexts:
    """What the service says about a handoff, in the citizen's language."""

    def __init__(self, texts: Mapping[str, Mapping[str, str]]) -> None:
        self._texts = texts

    def say(self, key: str, language: str | None, **values: object) -> str:
        """The text ``key`` in ``language`` with its ``{placeholders}`` filled."""
        return pick(self._texts[key], language).format(**values)

    def reply(
        self,
        key: str,
        language: str | None,
        buttons: tuple[Button, ...] = (),
        control: str | None = None,
        **values: object,
    ) -> Outbound:
        """The text as a reply from the service."""
        return Outbound(text=self.say(key, language, **values), buttons=buttons, language=language, control=control)

    def cancel_button(self, language: str | None) -> tuple[Button, ...]:
        """The button that takes a waiting citizen back to the bot."""
        return (Button(self.say("cancel_button", language), CANCEL_PAYLOAD),)

    def rating_buttons(self) -> tuple[Button, ...]:
        """Buttons 1-5 for the satisfaction question."""
        return tuple(Button(str(n), f"{RATING_PAYLOAD}{n}") for n in range(1, 6))

    def opening(self, availability: Availability, language: str | None) -> str:
        """ "maanantaina klo 8.00", "på måndag kl. 9.00", "on Monday at 9:00"."""
        assert availability.opens_at is not None
        calendar = load_calendar()
        lang = language or "fi"
        day = day_phrase(availability.opens_at.date(), clock.now().date(), lang, calendar)
        return self.say("opens_at", language, day=day, time=format_time(availability.opens_at, lang, calendar))


class Router:
    """De-duplicates, sends to whoever holds the conversation, records the activity."""

    def __init__(
        self,
        conversations: Conversations,
        bot: RasaClient,
        handoff: Handoff,
        transcripts: Transcripts,
        desk: OfferDesk | None = None,
    ) -> None:
        self._conversations = conversations
        self._bot = bot
        self._handoff = handoff
        self._transcripts = transcripts
        self._desk = desk
        self.texts = HandoffTexts(handoff.config.texts)

    async def handle(self, message: Inbound) -> list[Outbound]:
        """The replies to ``message``; none for a repeated delivery of the same message."""
        conversation = message.conversation_id
        first, case_fields, awaiting = await self._conversations.arrival(conversation, message.message_id)
        if not first:
            logger.info("duplicate delivery of %s message %s ignored", message.channel, message.message_id)
            return []
        case = Case.from_hash(conversation, case_fields) if case_fields else Case(conversation, "bot")
        language = case.language or None
        if case.mode == "agent":
            await self._log_citizen(message, language)
            await self._conversations.touch(conversation, message.channel, language)
            return []
        if case.mode in ("queued", "message"):
            await self._log_citizen(message, language)
            if await self._cancels(message.text):
                await self._handoff.to_bot(conversation, "cancelled")
                return await self._say(conversation, [self.texts.reply("cancelled", language)])
            if case.mode == "message":
                await self._handoff.enqueue(conversation, message.channel, case.language, case.reason, kind="message")
                return await self._say(conversation, [self.texts.reply("message_saved", language)])
            position = await self._handoff.position(conversation, case.queue)
            if case.kind == "message" or position is None:
                return await self._say(conversation, [self.texts.reply("message_saved", language)])
            reply = self.texts.reply(
                "still_queued", language, self.texts.cancel_button(language), position=position.position
            )
            return await self._say(conversation, [reply])
        if case.mode == "rating":
            score = rating_of(message.text)
            if score is not None:
                await self._log_citizen(message, language)
                await self._handoff.rate(conversation, score)
                return await self._say(conversation, [self.texts.reply("rating_thanks", language)])
            await self._handoff.to_bot(conversation, "rating_skipped")
        return await self._with_bot(message, awaiting)

    async def _with_bot(self, message: Inbound, awaiting: str | None) -> list[Outbound]:
        conversation = message.conversation_id
        if self._desk is not None:
            direct = await self._desk_first(message, awaiting)
            if direct is not None:
                return direct
        turn = await self._bot.send(message)
        language = turn.language or "fi"
        citizen = Entry("citizen", message.text, language=turn.language, intent=turn.intent, confidence=turn.confidence)
        if not any(reply.control for reply in turn.replies):  # the usual turn: both writes at once
            await asyncio.gather(
                self._transcripts.append(conversation, [citizen, *[_bot_entry(r) for r in turn.replies]]),
                self._conversations.touch(conversation, message.channel, turn.language),
            )
            return list(turn.replies)
        await self._transcripts.append(conversation, [citizen])
        replies: list[Outbound] = []
        for reply in turn.replies:
            if reply.control == "handoff":
                replies += await self._start_handoff(message, turn.language, reply.details.get("reason", "requested"))
            elif reply.control in ("offer", "mydata") and self._desk is not None:
                replies += await self._say(conversation, await self._desk_control(conversation, reply, language))
            else:
                replies.append(reply)
                await self._log_bot(conversation, reply)
        await self._conversations.touch(conversation, message.channel, turn.language)
        return replies

    async def _desk_first(self, message: Inbound, awaiting: str | None) -> list[Outbound] | None:
        """Offer and MyData steps that do not need the bot: buttons, and a change request's words."""
        assert self._desk is not None
        conversation, text = message.conversation_id, message.text
        desk_payload = text in (WHY_PAYLOAD, DELETE_YES, DELETE_NO, UNLINK_PAYLOAD)
        change = not text.startswith("/") and awaiting == "change"
        if not desk_payload and not change:
            return None
        language = await self._conversations.language(conversation) or "fi"
        if desk_payload:
            await self._log_citizen(message, language)
            if text == WHY_PAYLOAD:
                replies = await self._desk.why(conversation, language)
            elif text == UNLINK_PAYLOAD:
                replies = await self._desk.unlink(conversation, language)
            else:
                replies = await self._desk.confirm_delete(conversation, text == DELETE_YES, language)
                if text == DELETE_YES:
                    return replies  # the transcript was just deleted: nothing more is written
            return await self._say(conversation, replies)
        await self._log_citizen(message, language)
        return await self._say(conversation, await self._desk.change_request(conversation, text, language))

    async def _desk_control(self, conversation: str, reply: Outbound, language: str) -> list[Outbound]:
        assert self._desk is not None
        awaiting = await self._desk.awaiting(conversation)
        if reply.control == "offer":
            answer = reply.details.get("answer", "accept")
            if awaiting == "delete" and answer in ("accept", "decline"):  # "yes" / "no" to deleting
                return await self._desk.confirm_delete(conversation, answer == "accept", language)
            return await self._desk.answer(conversation, answer, language)
        request = reply.details.get("request", "show")
        if request == "delete":
            return await self._desk.ask_delete(conversation, language)
        if request in ("opt_in", "opt_out"):
            return await self._desk.set_offers(conversation, request == "opt_in", language)
        return await self._desk.my_data(conversation, language)

    async def _start_handoff(self, message: Inbound, language: str | None, reason: str) -> list[Outbound]:
        """Queue the conversation, or offer to leave a message; say which, in the citizen's language."""
        conversation, lang = message.conversation_id, language or "fi"
        lead_key = f"lead_{reason}" if f"lead_{reason}" in self._handoff.config.texts else "lead_requested"
        queue = self._handoff.config.queue_for(lang)
        availability = await self._handoff.availability(queue)
        cancel = self.texts.cancel_button(lang)
        if availability.open:
            await self._handoff.enqueue(conversation, message.channel, lang, reason)
            position = await self._handoff.position(conversation, queue)
            place, minutes = (position.position, position.wait_minutes) if position else (1, 1)
            status = self.texts.reply("queued", lang, cancel, position=place, minutes=minutes)
        else:
            await self._handoff.await_message(conversation, message.channel, lang, reason)
            if availability.nobody_online:
                status = self.texts.reply("nobody_online", lang, cancel)
            elif availability.opens_at is not None:
                status = self.texts.reply("closed", lang, cancel, opens=self.texts.opening(availability, lang))
            else:
                status = self.texts.reply("closed_no_opening", lang, cancel)
        logger.info(
            "handoff (%s) of a %s conversation: %s",
            reason,
            message.channel,
            "queued" if availability.open else "closed",
        )
        return await self._say(conversation, [self.texts.reply(lead_key, lang), status])

    async def _cancels(self, text: str) -> bool:
        if text == CANCEL_PAYLOAD:
            return True
        if text.startswith("/"):
            return False
        try:
            intent, confidence = await self._bot.parse(text)
        except BotUnavailableError:
            return False  # keep waiting: the message is with the agents anyway
        return intent in CANCEL_INTENTS and confidence >= CANCEL_MIN_CONFIDENCE

    async def _say(self, conversation: str, replies: list[Outbound]) -> list[Outbound]:
        await self._transcripts.append(conversation, [_bot_entry(reply) for reply in replies])
        return replies

    async def _log_citizen(
        self, message: Inbound, language: str | None, intent: str | None = None, confidence: float | None = None
    ) -> None:
        entry = Entry("citizen", message.text, language=language, intent=intent, confidence=confidence)
        await self._transcripts.append(message.conversation_id, [entry])

    async def _log_bot(self, conversation: str, reply: Outbound) -> None:
        await self._transcripts.append(conversation, [_bot_entry(reply)])


def _bot_entry(reply: Outbound) -> Entry:
    return Entry("bot", reply.text, language=reply.language, buttons=[b.title for b in reply.buttons])
