"""The citizen's rights over their data: forget a conversation, export (art. 15), erase (art. 17).

Forgetting a conversation asks each owner of its state to forget its part: the link, Rasa's
tracker, the transcript, the record, the outbox, the open question and the handoff case with its
queue entry (a forgotten conversation must not keep a place in a queue).
"""

from __future__ import annotations

import time
from typing import Any

from redis.asyncio import Redis

from bot.conversation.outbox import Outbox
from bot.conversation.questions import Questions
from bot.conversation.records import Conversations
from bot.conversation.trackers import Trackers
from bot.conversation.transcripts import Transcripts
from bot.core.clock import iso
from bot.handoff.cases import Handoff
from bot.offers.store import Offers
from bot.privacy.addresses import Addresses
from bot.privacy.audit import Action, Actor, AuditLog
from bot.privacy.consent import PURPOSES, Consents
from bot.privacy.identity import Links
from bot.privacy.sessions import WebSessions
from bot.privacy.vault import Vault
from bot.store.aof import rewrite_append_only_file

# Times kept as Unix times in Redis, given as ISO 8601 with the city's offset in an export.
RECORD_TIMES = ("first_seen", "last_seen", "danger_at")
LINK_TIMES = ("linked_at", "expires_at")


def _times(data: dict[str, Any], names: tuple[str, ...]) -> dict[str, Any]:
    """``data`` with its Unix times under ``names`` as ISO 8601 in the city's time zone."""
    return {key: iso(value) if key in names and value not in (None, "") else value for key, value in data.items()}


class DataRights:
    """Forget, export and erase what is held about a conversation or a citizen."""

    def __init__(
        self,
        links: Links,
        consents: Consents,
        offers: Offers,
        conversations: Conversations,
        transcripts: Transcripts,
        outbox: Outbox,
        questions: Questions,
        trackers: Trackers,
        handoff: Handoff,
        web_sessions: WebSessions,
        redis: Redis,
        audit: AuditLog,
        vault: Vault,
        addresses: Addresses,
        retention_days: dict[str, int] | None = None,
    ) -> None:
        self._redis = redis
        self.audit = audit
        self._vault = vault
        self._addresses = addresses
        self._retention_days = retention_days or {}
        self._links = links
        self._consents = consents
        self._offers = offers
        self._conversations = conversations
        self._transcripts = transcripts
        self._outbox = outbox
        self._questions = questions
        self._trackers = trackers
        self._handoff = handoff
        self._web_sessions = web_sessions

    async def forget_conversation(self, conversation: str, rewrite: bool = True) -> None:
        """Delete a conversation's chat history and state, and its link to a citizen (and ask Redis
        to rewrite its append-only file, unless the caller does once for several)."""
        await self._links.unlink(conversation)
        await self._handoff.forget(conversation)
        await self._trackers.forget(conversation)
        await self._transcripts.forget(conversation)
        await self._conversations.forget(conversation)
        await self._outbox.forget(conversation)
        await self._questions.forget(conversation)
        await self._vault.forget(conversation)
        await self._addresses.forget(conversation)  # a WhatsApp number
        channel, _, user = conversation.partition(":")
        if channel == "webchat":  # its browser can no longer resume it
            await self._web_sessions.forget(user)
        if rewrite:
            await rewrite_append_only_file(self._redis)

    async def record_access(
        self,
        actor: Actor,
        who: str,
        action: Action,
        *,
        conversation: str | None = None,
        citizen: str | None = None,
        why: str = "",
    ) -> None:
        """Record an access in the audit log; the citizen is found from the conversation's link."""
        if citizen is None and conversation is not None:
            citizen = await self._links.citizen_of(conversation)
        await self.audit.record(actor, who, action, citizen=citizen, conversation=conversation, why=why)

    async def reveal(self, conversation: str, message_id: str, agent: str, why: str) -> list[dict[str, Any]] | None:
        """The values masked in one message, for an agent who gave a reason; recorded in the
        audit log (by their kinds, never the values). None when none are kept any more."""
        values = await self._vault.values(conversation, message_id)
        if values is None:
            return None
        kinds = ", ".join(sorted({v["kind"] for v in values}))
        await self.record_access(
            Actor.AGENT, agent, Action.VALUE_REVEALED, conversation=conversation, why=f"{why} ({kinds})"
        )
        return values

    async def export(self, citizen: str, requested_by: str) -> dict[str, Any]:
        """Everything held about a citizen (GDPR art. 15), as JSON for the back office: what each
        kind of data is, how long it is kept, and who has seen it (the audit log)."""
        await self.record_access(Actor.SYSTEM, requested_by, Action.EXPORTED, citizen=citizen)
        conversations = []
        for conversation in await self._links.known_conversations(citizen):
            address = await self._addresses.address_of(conversation)
            conversations.append(
                {
                    "conversation": conversation,
                    **({"address": address} if address else {}),  # a WhatsApp number
                    "channel": conversation.split(":")[0],
                    "record": _times(await self._conversations.record(conversation), RECORD_TIMES),
                    "link": _times(await self._links.record(conversation), LINK_TIMES),
                    "transcript": [_times(entry, ("at",)) for entry in await self._transcripts.read(conversation)],
                    "masked_values": await self._vault.all_values(conversation),
                }
            )
        return {
            "citizen_id": citizen,
            "exported_at": iso(time.time()),
            "consent": {
                "current": {
                    purpose: _times(vars(state), ("at",))
                    for purpose in PURPOSES
                    if (state := await self._consents.current(citizen, purpose)) is not None
                },
                "history": [_times(change, ("at",)) for change in await self._consents.history(citizen)],
            },
            "offers": [
                {**o.public(), "history": await self._offers.history(o.offer_id)}
                for o in await self._offers.of_citizen(citizen)
            ],
            "conversations": conversations,
            "accesses": await self.audit.of_citizen(citizen),
            "retention_days": dict(self._retention_days),
        }

    async def erase(self, citizen: str, requested_by: str) -> dict[str, Any]:
        """Erase what is held about a citizen (GDPR art. 17), except the city's records.

        Chat histories and links go; offers and their decisions are records of the city's
        decisions and stay, and so do the consent history (the proof of consent, art. 7(1)) and
        the audit log of who accessed the data (each until its own retention ends).
        """
        conversations = await self._links.known_conversations(citizen)
        for conversation in conversations:
            await self.forget_conversation(conversation, rewrite=False)
        await self._links.forget_citizen(citizen)
        await rewrite_append_only_file(self._redis)  # no copy left in Redis's append-only file
        await self.record_access(Actor.SYSTEM, requested_by, Action.ERASED, citizen=citizen)
        return {
            "citizen_id": citizen,
            "deleted_conversations": len(conversations),
            "kept": ["offers", "consent_history", "audit_log"],
        }
