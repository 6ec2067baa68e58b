"""The handoff's use cases, whatever transport asks: a citizen's side and an agent's side.

The router hands a citizen's message here while a case is open (queued, leaving a message, with
an agent, rating); the console's socket calls the agents' side (claim, reply, note, transfer,
end); the gateway's sweeper calls ``requeue_abandoned``. Each use case changes the case, writes
the transcript and tells the citizen, so no transport repeats that logic.
"""

from __future__ import annotations

import logging
import secrets
from datetime import date
from typing import Any

from bot.conversation.delivery import Delivery, DeliveryError
from bot.conversation.rasa_client import BotClient, BotUnavailableError
from bot.conversation.records import Conversations
from bot.conversation.transcripts import Entry, Transcripts, citizen_entry
from bot.core.envelope import Inbound, Outbound
from bot.core.protocol import HandoffReason, Notice
from bot.handoff.agents import Agent
from bot.handoff.cases import Case, CaseKind, CaseMode, Handoff, HandoffError
from bot.handoff.history import ClosedCase
from bot.handoff.texts import CANCEL_PAYLOAD, HandoffTexts, rating_of
from bot.privacy.identity import Links
from bot.privacy.vault import Vault

logger = logging.getLogger(__name__)
PREVIEW_CHARS = 120  # the citizen's last message in the queue and the history, shortened
# Free text that cancels a wait for an agent: "never mind", "ei sittenkään", "strunt i det".
CANCEL_INTENTS = frozenset({"deny", "goodbye"})
CANCEL_MIN_CONFIDENCE = 0.6


def serves(agent: Agent, queue: str) -> bool:
    """True when the agent may see and take conversations of ``queue`` (a supervisor: every queue)."""
    return agent.admin or queue in agent.queues


def bot_entry(reply: Outbound) -> Entry:
    """The transcript entry of a reply from the bot or the service."""
    return Entry("bot", reply.text, language=reply.language, buttons=[b.title for b in reply.buttons])


class HandoffDesk:
    """Starts handoffs, answers citizens while a person is involved, and serves the agents."""

    def __init__(
        self,
        handoff: Handoff,
        transcripts: Transcripts,
        delivery: Delivery,
        conversations: Conversations,
        bot: BotClient,
        vault: Vault,
        links: Links | None = None,
    ) -> None:
        self._vault = vault
        self._links = links
        self._cases = handoff
        self._agents = handoff.agents
        self.texts = HandoffTexts(handoff.config.texts)
        self._transcripts = transcripts
        self._delivery = delivery
        self._conversations = conversations
        self._bot = bot

    # -- reading, for the router and the consoles ------------------------------------------------------

    async def case(self, conversation: str) -> Case:
        """Who answers the conversation now."""
        return await self._cases.case(conversation)

    def queues(self) -> list[dict[str, Any]]:
        """The queues with their names in fi, sv and en."""
        config = self._cases.config
        return [{"id": queue, "name": config.queue_names[queue]} for queue in config.queues]

    async def waiting(self, agent: Agent) -> list[dict[str, Any]]:
        """The queued cases of the queues the agent serves (all for a supervisor), with their
        waiting times and the citizen's last message (``preview``, masked as the transcript
        keeps it), the longest waiting first."""
        items = [c for c in await self._cases.waiting() if serves(agent, c["queue"])]
        for item in items:
            item["preview"] = await self.preview(item["conversation"])
        return items

    async def preview(self, conversation: str) -> str:
        """The citizen's last message as the transcript keeps it (masked), shortened."""
        text = await self._transcripts.last_text(conversation, "citizen")
        if len(text) <= PREVIEW_CHARS:
            return text
        return text[: PREVIEW_CHARS - 1].rsplit(" ", 1)[0] + "…"

    async def closed(self, agent: Agent, query: str = "", limit: int = 50) -> list[dict[str, Any]]:
        """The agent's ended cases, newest first, with the citizen's rating; with ``query``, those
        whose transcript, reason, channel or language holds every word of it (case-insensitive)."""
        cases = await self._cases.history.by_agent(agent.username, 200 if query else limit)
        words = query.casefold().split()
        found = []
        for case in cases:
            if words:
                entries = await self._entries_of(case)
                text = " ".join([case.reason, case.channel, case.language, case.preview, *(e["text"] for e in entries)])
                if not all(word in text.casefold() for word in words):
                    continue
            found.append(case.public())
            if len(found) >= limit:
                break
        return found

    async def closed_transcript(self, record_id: str, agent: Agent) -> tuple[dict[str, Any], list[dict[str, Any]]]:
        """An ended case of the agent's and its transcript, to read; HandoffError otherwise."""
        case = await self._cases.history.get(record_id)
        if case is None or case.agent != agent.username:
            raise HandoffError("not_yours", "this is not one of your ended conversations")
        return case.public(), await self._entries_of(case)

    async def _entries_of(self, case: ClosedCase) -> list[dict[str, Any]]:
        """The transcript as it stood when the case ended (what the agent saw, and the end's
        notice): what the citizen wrote to the bot afterwards is not the agent's to read."""
        if case.last_entry:
            return await self._transcripts.read(case.conversation, until=case.last_entry)
        return [e for e in await self._transcripts.read(case.conversation) if e["at"] <= case.ended_at]

    async def dashboard(self, first: date, last: date) -> dict[str, Any]:
        """The supervisors' figures for the days ``first`` to ``last`` (bot/conversation/stats.py)."""
        return await self._cases.stats.report(first, last)

    @property
    def stats_days(self) -> int:
        """How many days back the figures are kept."""
        return self._cases.stats.retention_days

    async def context(self, conversation: str) -> dict[str, Any]:
        """What the console's context panel shows of a conversation: its channel and language,
        whether a citizen is linked to it (never who), and its earlier ended cases."""
        record = await self._conversations.record(conversation)
        linked = bool(self._links and await self._links.citizen_of(conversation))
        earlier = await self._cases.history.of_conversation(conversation, 10)
        return {
            "conversation": conversation,
            "channel": record.get("channel", ""),
            "language": record.get("language", ""),
            "linked": linked,
            "first_seen": float(record.get("first_seen") or 0),
            "earlier": [case.public() for case in earlier],
        }

    async def queue_state(self) -> dict[str, tuple[int, int]]:
        """Per queue: how many wait for a person now, and the longest wait in seconds (metrics)."""
        state = {queue: (0, 0) for queue in self._cases.config.queues}
        for item in await self._cases.waiting():
            count, longest = state.get(item["queue"], (0, 0))
            state[item["queue"]] = (count + 1, max(longest, int(item["waiting_seconds"])))
        return state

    async def held_by(self, agent: Agent) -> list[Case]:
        """The cases the agent holds now."""
        return await self._cases.held_by(agent.username)

    async def held(self, conversation: str, agent: Agent) -> Case:
        """The case, if the agent holds it; HandoffError ``not_yours`` otherwise."""
        return await self._cases.held(conversation, agent.username)

    async def latest_event_id(self) -> str:
        """Where a console starts following the handoff events."""
        return await self._cases.latest_event_id()

    @property
    def events_stream(self) -> str:
        """The stream of case changes (a console follows it with the transcripts it shows)."""
        return self._cases.events_stream

    @property
    def typing_channel(self) -> str:
        """The pub/sub channel of citizens' typing signals."""
        return self._cases.typing_channel

    # -- the citizen's side ---------------------------------------------------------------------------

    async def request(self, message: Inbound, language: str | None, reason: HandoffReason) -> list[Outbound]:
        """Queue the conversation, or offer to leave a message; say which, in the citizen's language."""
        conversation, lang = message.conversation_id, language or "fi"
        lead_key = f"lead_{reason.value}" if self.texts.has(f"lead_{reason.value}") else "lead_requested"
        queue = self._cases.config.queue_for(lang)
        availability = await self._cases.availability(queue)
        cancel = self.texts.cancel_button(lang)
        if availability.open:
            await self._cases.enqueue(conversation, message.channel, lang, reason.value)
            position = await self._cases.position(conversation, queue)
            place, minutes = (position.position, position.wait_minutes) if position else (1, 1)
            status = self.texts.reply("queued", lang, cancel, position=place, minutes=minutes)
        else:
            await self._cases.await_message(conversation, message.channel, lang, reason.value)
            if availability.nobody_online:
                status = self.texts.reply("nobody_online", lang, cancel)
            elif availability.opens_at is not None:
                status = self.texts.reply("closed", lang, cancel, opens=self.texts.opening(availability, lang))
            else:
                status = self.texts.reply("closed_no_opening", lang, cancel)
        logger.info(
            "handoff (%s) of a %s conversation: %s",
            reason.value,
            message.channel,
            "queued" if availability.open else "closed",
        )
        return await self._say(conversation, [self.texts.reply(lead_key, lang), status])

    async def on_message(self, message: Inbound, case: Case, safety: str | None = None) -> list[Outbound] | None:
        """The answer to a citizen's message while a case is open; None when the bot answers it.
        ``safety``: the message was an emergency or a crisis (the agents see it marked)."""
        conversation = message.conversation_id
        language = case.language or None
        if case.mode is CaseMode.AGENT:
            await self._log_citizen(message, language, safety)
            await self._conversations.touch(conversation, message.channel, language)
            return []
        if case.mode in (CaseMode.QUEUED, CaseMode.MESSAGE):
            await self._log_citizen(message, language, safety)
            if await self._cancels(message.text):
                await self._cases.to_bot(conversation, "cancelled")
                return await self._say(conversation, [self.texts.reply("cancelled", language)])
            if case.mode is CaseMode.MESSAGE:
                await self._cases.enqueue(
                    conversation, message.channel, case.language, case.reason, kind=CaseKind.MESSAGE
                )
                return await self._say(conversation, [self.texts.reply("message_saved", language)])
            position = await self._cases.position(conversation, case.queue)
            if case.kind is CaseKind.MESSAGE or position is None:
                return await self._say(conversation, [self.texts.reply("message_saved", language)])
            reply = self.texts.reply(
                "still_queued", language, self.texts.cancel_button(language), position=position.position
            )
            return await self._say(conversation, [reply])
        if case.mode is CaseMode.RATING:
            score = rating_of(message.text)
            if score is not None:
                await self._log_citizen(message, language)
                await self._cases.rate(conversation, score)
                return await self._say(conversation, [self.texts.reply("rating_thanks", language)])
            await self._cases.to_bot(conversation, "rating_skipped")
        return None

    async def citizen_typing(self, conversation: str) -> None:
        """The citizen types: the agent holding the conversation sees it."""
        await self._cases.citizen_typing(conversation)

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

    # -- the agents' side ------------------------------------------------------------------------------

    async def claim(self, conversation: str, agent: Agent) -> tuple[Case, Outbound]:
        """Take a queued conversation. Returns the case and the notice for the citizen, which is
        already in the transcript: deliver it with ``announce`` once the agent has the transcript,
        so that what the citizen writes next arrives after the agent's snapshot."""
        current = await self._cases.case(conversation)
        if current.mode is CaseMode.QUEUED and not serves(agent, current.queue):
            logger.info("agent %s refused a conversation of queue %s", agent.username, current.queue)
            raise HandoffError("not_your_queue", "this conversation is in a queue you do not serve")
        case = await self._cases.claim(conversation, agent.username)
        joined = self.texts.reply("agent_joined", case.language, notice=Notice.AGENT_JOINED, agent=agent.name)
        await self._transcripts.append(conversation, [Entry("bot", joined.text, language=case.language)])
        return case, joined

    async def announce(self, conversation: str, replies: list[Outbound]) -> None:
        """Deliver replies to the citizen (DeliveryError when no channel here can)."""
        await self._delivery.send(conversation, replies)

    async def transcript(self, conversation: str, agent: Agent, after: str = "0") -> tuple[Case, list[dict[str, Any]]]:
        """The case and its transcript entries after ``after``, for the agent who holds it."""
        case = await self._cases.held(conversation, agent.username)
        return case, await self._transcripts.read(conversation, after)

    async def _masked(self, conversation: str, text: str, language: str | None) -> tuple[str, str | None]:
        """What an agent wrote as the transcript keeps it: personal data masked as in citizens'
        messages, the values in the vault (revealable with a reason); the citizen gets it whole."""
        found = self._vault.find(text)
        if not found:
            return text, None
        reference = f"staff-{secrets.token_hex(6)}"
        return await self._vault.mask(conversation, reference, text, language or "fi", found), reference

    async def reply(self, conversation: str, agent: Agent, text: str) -> None:
        """The agent writes to the citizen."""
        case = await self._cases.held(conversation, agent.username)
        kept, vault = await self._masked(conversation, text, case.language)
        entry = Entry("agent", kept, language=case.language, agent=agent.name, vault=vault)
        await self._transcripts.append(conversation, [entry])
        await self.announce(
            conversation, [Outbound(text=text, language=case.language or None, sender="agent", agent_name=agent.name)]
        )

    async def note(self, conversation: str, agent: Agent, text: str) -> None:
        """A private note of the agent in the transcript (never sent to the citizen)."""
        case = await self._cases.held(conversation, agent.username)
        kept, vault = await self._masked(conversation, text, case.language)
        await self._transcripts.append(conversation, [Entry("note", kept, agent=agent.name, vault=vault)])

    async def agent_typing(self, conversation: str, agent: Agent) -> None:
        """Show the citizen that the agent is typing, where the channel can."""
        await self._cases.held(conversation, agent.username)
        await self._delivery.typing(conversation)

    async def transfer(self, conversation: str, agent: Agent, *, queue: str = "", to_agent: str = "") -> Case:
        """Hand the conversation to a colleague or to the head of a queue, and tell the citizen."""
        case = await self._cases.held(conversation, agent.username)
        if to_agent:
            colleague = await self._agents.get(to_agent)
            if colleague is None or not serves(colleague, case.queue):
                raise HandoffError("not_their_queue", "that agent does not serve this conversation's queue")
            await self._cases.transfer(conversation, agent.username, to_agent=to_agent)
            name = colleague.name
            notice = self.texts.reply("agent_joined", case.language, notice=Notice.AGENT_JOINED, agent=name)
        elif queue:
            await self._cases.transfer(conversation, agent.username, queue=queue)
            notice = self.texts.reply("transferred", case.language, notice=Notice.REQUEUED)
        else:
            raise HandoffError("malformed", "transfer needs a queue or an agent")
        await self._transcripts.append(conversation, [Entry("bot", notice.text, language=case.language)])
        await self.announce(conversation, [notice])
        return case

    async def end(self, conversation: str, agent: Agent) -> Case:
        """The agent is done: the bot answers again, and the citizen is asked for a rating."""
        case = await self._cases.end(conversation, agent.username, await self.preview(conversation))
        replies = [
            self.texts.reply("ended", case.language, notice=Notice.HANDOFF_ENDED),
            self.texts.reply("rating_question", case.language, self.texts.rating_buttons()),
        ]
        notices = [Entry("bot", r.text, language=case.language) for r in replies]
        ids = await self._transcripts.append(conversation, notices)
        closed = await self._cases.closed_record(conversation)
        if closed and ids:
            await self._cases.history.mark_last_entry(closed, ids[-1])
        await self.announce(conversation, replies)
        return case

    async def requeue_abandoned(self, now: float | None = None) -> list[str]:
        """Put back conversations whose agent went away, and tell each citizen (once)."""
        moved = await self._cases.requeue_abandoned(now)
        for conversation in moved:
            case = await self._cases.case(conversation)
            reply = self.texts.reply(
                "requeued", case.language, self.texts.cancel_button(case.language), notice=Notice.REQUEUED
            )
            await self._transcripts.append(conversation, [Entry("bot", reply.text, language=case.language)])
            try:
                await self.announce(conversation, [reply])
            except DeliveryError as error:  # the case moved anyway
                logger.warning("could not tell a citizen their conversation was requeued: %s", error)
        return moved

    # -- transcript helpers -----------------------------------------------------------------------------

    async def _say(self, conversation: str, replies: list[Outbound]) -> list[Outbound]:
        await self._transcripts.append(conversation, [bot_entry(reply) for reply in replies])
        return replies

    async def _log_citizen(self, message: Inbound, language: str | None, safety: str | None = None) -> None:
        entry = citizen_entry(message, language, safety=safety)
        await self._transcripts.append(message.conversation_id, [entry])
