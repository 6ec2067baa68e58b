"""Who answers a conversation: the bot, an agent, or an open question (see docs/handoff.md).

Every message is de-duplicated and checked for an emergency or a crisis first, in every state
(``bot.safety``): one is answered with 112 (and the crisis lines) in the language it was written
in, marked for the agent if one holds the conversation, and never sent to the bot. Then:

- while a person is involved (queued, leaving a message, with an agent, rating), the handoff desk
  answers it (``bot.handoff.HandoffDesk.on_message``), or hands it back to the bot;
- a data button (why, unlink, yes/no to deleting) is answered by ``bot.mydata``;
- free text while the bot awaits what the citizen would like instead of an offer is that wish;
- anything else goes to the bot (Rasa); its requests (a person, an offer answer, a data request)
  are carried out here, and everything is written to the transcript.

An open question is consumed by the next message: it is an answer to it or it closes it, so a
"yes" never answers a question asked earlier and ignored.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging

from bot.conversation.claims import Claims
from bot.conversation.questions import Question, QuestionKind, Questions
from bot.conversation.rasa_client import BotClient, BotUnavailableError
from bot.conversation.records import Conversations
from bot.conversation.stats import Stats
from bot.conversation.transcripts import Transcripts, citizen_entry
from bot.core import metrics
from bot.core.envelope import Inbound, Outbound
from bot.core.protocol import DataRequest, HandoffRequest, OfferAnswer, OfferReply
from bot.handoff.cases import Case, CaseMode
from bot.handoff.service import HandoffDesk, bot_entry
from bot.knowledge.vocabulary import known_share
from bot.mydata.in_chat import DELETE_YES, UNLINK_PAYLOAD, UNLINK_YES, MyData, confirmation
from bot.offers.desk import WHY_PAYLOAD, OfferDesk, parse_offer_payload
from bot.privacy.vault import Vault
from bot.safety.detector import Danger, Finding, SafetyRules, load_safety

logger = logging.getLogger(__name__)
DATA_PAYLOADS = (WHY_PAYLOAD, UNLINK_PAYLOAD)
NOT_UNDERSTOOD = "/nlu_fallback"  # what the bot is told for a message it cannot understand
# After "what would you like to change?": intents that are another matter, not the wish, when
# the model is this sure; service topics only when asked as a question, and never the offers' own.
OTHER_MATTERS = frozenset(
    {"request_human", "my_data", "delete_my_data", "opt_out_offers", "opt_in_offers", "help", "bot_challenge"}
)
OFFER_TOPICS = frozenset(
    {"school_enrolment", "preschool", "afternoon_activities", "daycare_application", "daycare_fees", "health_station"}
)
OTHER_MATTER_CONFIDENCE = 0.6
MIN_KNOWN_SHARE = 0.34  # measured: catches 80-93 % of gibberish, flags no service question (docs/safety.md)


class Router:
    """De-duplicates, sends to whoever holds the conversation, records the activity."""

    def __init__(
        self,
        conversations: Conversations,
        questions: Questions,
        transcripts: Transcripts,
        bot: BotClient,
        handoff: HandoffDesk,
        offers: OfferDesk,
        mydata: MyData,
        claims: Claims,
        vault: Vault,
        safety: SafetyRules | None = None,
        repeat_wait: float = 20.0,
        stats: Stats | None = None,
    ) -> None:
        self._stats = stats
        self._safety = safety or load_safety()
        self._claims = claims
        self._vault = vault
        self._repeat_wait = repeat_wait  # how long a repeat waits for the answer to its first delivery
        self._conversations = conversations
        self._questions = questions
        self._transcripts = transcripts
        self._bot = bot
        self._handoff = handoff
        self._offers = offers
        self._mydata = mydata

    async def handle(self, message: Inbound) -> list[Outbound]:
        """The replies to ``message``; for a repeated delivery of it, its answer again (``replay``)
        or none."""
        with metrics.timed_turn(message.channel) as language:
            replies = await self._handle(message)
            language.extend(reply.language for reply in replies)
        for reply in replies:
            metrics.REPLIES_OUT.labels(message.channel, reply.language or "unknown", reply.sender).inc()
        return replies

    async def _handle(self, message: Inbound) -> list[Outbound]:
        """Answer the message once, whichever gateway gets it and however often (bot/conversation/claims.py)."""
        conversation, message_id = message.conversation_id, message.message_id
        for _attempt in range(3):
            if await self._claims.claim(conversation, message_id):
                break
            try:
                earlier = await self._claims.earlier_answer(conversation, message_id, self._repeat_wait)
            except TimeoutError:
                raise BotUnavailableError("an earlier delivery of the message is still being answered") from None
            if earlier is not None:
                logger.info("repeated delivery of %s message %s", message.channel, message_id)
                return earlier if message.replay else []
        else:
            raise BotUnavailableError("the message could not be claimed")
        async with self._claims.answering(conversation, message_id):
            replies = await self._answer(message)
        await self._claims.answered(conversation, message_id, replies)
        return replies

    async def _masked(self, message: Inbound) -> Inbound:
        """The message with its personal data masked (bot/privacy/masking.py), before the bot,
        the transcript, the safety check or any log sees it. Button payloads are ours: kept."""
        if message.text.startswith("/"):
            return message
        found = self._vault.find(message.text)
        if not found:
            return message
        language = (
            message.language_choice
            or await self._conversations.language(message.conversation_id)
            or message.language_hint
            or "fi"
        )
        text = await self._vault.mask(message.conversation_id, message.message_id, message.text, language, found)
        logger.info("masked %s in a %s message", ", ".join(sorted({f.kind.value for f in found})), message.channel)
        return dataclasses.replace(message, text=text, masked=True)

    async def _answer(self, message: Inbound) -> list[Outbound]:
        message = await self._masked(message)
        conversation = message.conversation_id
        case = await self._handoff.case(conversation)
        question = await self._questions.open(conversation)
        if question is not None:  # answered by this message, or closed by it, whichever path it takes
            await self._questions.close(conversation)
        finding = self._safety.assess(message.text) if not message.text.startswith("/") else None
        if finding is not None and finding.by_model and await self._conversations.in_danger(conversation):
            # A citizen told to call 112 minutes ago writes again ("the ambulance came, thanks;
            # how do I renew loans?"): what only the model flags gets the 112 line first and
            # then its answer, not the whole alarm again instead of it (measured on the
            # scenarios: such follow-ups were most of its false alarms). What a rule names
            # ("he stopped breathing", "I want to die") is a new alarm.
            # While a person is involved, the message goes to them as any other (the citizen has
            # had the 112 answer, the agent sees it marked in the transcript).
            replies = await self._route(message, case, question)
            if case.mode is not CaseMode.BOT or (
                replies and replies[0].text == self._safety.say("repeat_112", replies[0].language)
            ):
                return replies
            return await self._repeat_112(conversation, replies, replies[0].language if replies else finding.language)
        if finding is not None:
            return await self._in_danger(message, finding, case)
        return await self._route(message, case, question)

    async def _route(self, message: Inbound, case: Case, question: Question | None) -> list[Outbound]:
        """To the person involved (queue, message, agent), else to the bot."""
        replies = await self._handoff.on_message(message, case)
        if replies is not None:
            return replies
        return await self._with_bot(message, question)

    async def _in_danger(self, message: Inbound, finding: Finding, case: Case) -> list[Outbound]:
        """112 first, in the language the citizen wrote in. With the bot, that is the whole answer;
        while a person is involved, the message also goes on to them, marked (the agent's console
        flags it), and the citizen's place in the queue or left message is kept."""
        conversation = message.conversation_id
        language = finding.language
        answers = [Outbound(text=self._safety.say(finding.danger.value, language), language=language)]
        if finding.crisis_too:  # 112 first, then the crisis lines
            answers.append(Outbound(text=self._safety.say(Danger.CRISIS.value, language), language=language))
        await self._conversations.mark_danger(conversation, finding.danger.value)
        metrics.SAFETY_ALARMS.labels(finding.danger.value, language).inc()
        logger.warning("a %s message on %s was answered as %s", message.channel, language, finding.danger.value)
        if case.mode is not CaseMode.BOT:
            handled = await self._handoff.on_message(message, case, safety=finding.danger.value)
            if handled is not None:
                await self._transcripts.append(conversation, [bot_entry(a) for a in answers])
                return [*answers, *handled]
        citizen = citizen_entry(message, language, safety=finding.danger.value)
        await self._transcripts.append(conversation, [citizen, *[bot_entry(a) for a in answers]])
        await self._conversations.touch(conversation, message.channel, case.language or None)
        return answers

    async def _repeat_112(self, conversation: str, replies: list[Outbound], language: str | None) -> list[Outbound]:
        """After an emergency, a reply that ends the citizen's path repeats the 112 line, first."""
        if not await self._conversations.in_danger(conversation):
            return replies
        line = Outbound(text=self._safety.say("repeat_112", language), language=language)
        await self._transcripts.append(conversation, [bot_entry(line)])
        return [line, *replies]  # first: the emergency may still be going on

    async def _with_bot(self, message: Inbound, question: Question | None) -> list[Outbound]:
        conversation, text = message.conversation_id, message.text
        if (
            text in DATA_PAYLOADS
            or parse_offer_payload(text)
            or confirmation(text)
            or (
                question is not None
                and question.kind is QuestionKind.CHANGE_WISH
                and not text.startswith("/")
                and not await self._another_matter(text)
            )
        ):
            return await self._without_bot(message, question)
        if known_share(text) < MIN_KNOWN_SHARE:
            # Mostly words nobody ever wrote to the bot: not understood, whatever a model would
            # guess, and not a reason to change the conversation's language.
            turn = await self._bot.send(dataclasses.replace(message, text=NOT_UNDERSTOOD))
        else:
            turn = await self._bot.send(message)
        language = turn.language or "fi"
        if self._stats is not None:
            await self._stats.turn(conversation, message.channel, language, turn.intent != "nlu_fallback", text)
        citizen = citizen_entry(message, turn.language, intent=turn.intent, confidence=turn.confidence)
        if not any(reply.request for reply in turn.replies):  # the usual turn: both writes at once
            await asyncio.gather(
                self._transcripts.append(conversation, [citizen, *[bot_entry(r) for r in turn.replies]]),
                self._conversations.touch(conversation, message.channel, turn.language),
            )
            if turn.intent == "nlu_fallback":  # not understood: the path may end here
                metrics.NOT_UNDERSTOOD.labels(language).inc()
                return await self._repeat_112(conversation, list(turn.replies), turn.language)
            return list(turn.replies)
        await self._transcripts.append(conversation, [citizen])
        replies: list[Outbound] = []
        for reply in turn.replies:
            request = reply.request
            if isinstance(request, HandoffRequest):
                replies += await self._handoff.request(message, turn.language, request.reason)
                if self._stats is not None:
                    await self._stats.asked(conversation, message.channel, language)
                if (await self._handoff.case(conversation)).mode is not CaseMode.QUEUED:  # closed: leave a message
                    replies = await self._repeat_112(conversation, replies, turn.language)
            elif isinstance(request, OfferReply):
                replies += await self._say(
                    conversation, await self._offer_reply(conversation, request, question, language, text)
                )
            elif isinstance(request, DataRequest):
                replies += await self._say(
                    conversation, await self._mydata.request(conversation, request.request, language)
                )
            else:
                replies.append(reply)
                await self._transcripts.append(conversation, [bot_entry(reply)])
        await self._conversations.touch(conversation, message.channel, turn.language)
        return replies

    async def _another_matter(self, text: str) -> bool:
        """After "what would you like to change?", is this message about something else (a new
        question, a person, my data) rather than the wish? Only a confident reading says so:
        a wish is the default, and one about the offer's own service (schools for a school place)
        stays a wish."""
        intent, confidence = await self._bot.parse(text)
        if intent in OTHER_MATTERS:
            return confidence >= OTHER_MATTER_CONFIDENCE
        topic = (intent or "").removeprefix("faq_")
        asks = "?" in text
        return bool(
            asks
            and intent
            and intent.startswith("faq_")
            and topic not in OFFER_TOPICS
            and confidence >= OTHER_MATTER_CONFIDENCE
        )

    async def _offer_reply(
        self, conversation: str, reply: OfferReply, question: Question | None, language: str, text: str = ""
    ) -> list[Outbound]:
        """A yes or no answers the open "delete?" question, if there is one; else it is about the offer."""
        if (
            question is not None
            and question.kind is QuestionKind.DELETE_CONFIRMATION
            and reply.answer in (OfferAnswer.ACCEPT, OfferAnswer.DECLINE)
        ):
            return await self._mydata.confirm_delete(
                conversation, reply.answer is OfferAnswer.ACCEPT, language, question
            )
        return await self._offers.answer(conversation, reply.answer, language, said=text)

    async def _without_bot(self, message: Inbound, question: Question | None) -> list[Outbound]:
        """Data buttons, and the words of a change wish: answered without the bot."""
        conversation, text = message.conversation_id, message.text
        language = await self._conversations.language(conversation) or "fi"
        await self._transcripts.append(conversation, [citizen_entry(message, language)])
        bound = parse_offer_payload(text)
        if bound is not None:  # a button of one offer: it acts on that offer only
            action, offer_id = bound
            if action == "why":
                replies = await self._mydata.why(conversation, language, offer_id)
            else:
                replies = await self._offers.answer(conversation, OfferAnswer(action), language, offer_id)
        elif text == WHY_PAYLOAD:
            replies = await self._mydata.why(conversation, language)
        elif text == UNLINK_PAYLOAD:
            replies = await self._mydata.ask_unlink(conversation, language)
        elif (answer := confirmation(text)) is not None:
            payload, nonce = answer
            if payload.startswith("/mydata_unlink"):
                replies = await self._mydata.confirm_unlink(
                    conversation, payload == UNLINK_YES, language, question, nonce
                )
            else:
                yes = payload == DELETE_YES
                replies = await self._mydata.confirm_delete(conversation, yes, language, question, nonce or "stale")
                deleted = question is not None and question.kind is QuestionKind.DELETE_CONFIRMATION
                if yes and deleted and question is not None and nonce == question.subject:
                    return replies  # the transcript was just deleted: nothing more is written
        else:
            assert question is not None
            replies = await self._offers.change_request(conversation, question.subject, text, language)
        return await self._say(conversation, replies)

    async def _say(self, conversation: str, replies: list[Outbound]) -> list[Outbound]:
        await self._transcripts.append(conversation, [bot_entry(reply) for reply in replies])
        return replies
