"""The citizen's data in the chat: what the city holds and why, offers on or off, delete, unlink.

Texts come from ``knowledge/mydata.yml`` (and offer titles and statuses from
``knowledge/offers.yml``). Deleting needs a confirmation bound to the request: the question is
open for minutes (``bot.conversation.questions``) and the "yes" must answer it.
"""

from __future__ import annotations

import re
import secrets
from datetime import datetime

from bot.conversation.questions import Question, QuestionKind, Questions
from bot.conversation.records import Conversations
from bot.core.envelope import Button, Outbound
from bot.core.protocol import DataRequestKind
from bot.mydata.rights import DataRights
from bot.offers.store import Offers
from bot.offers.texts import OfferTexts, format_date
from bot.privacy.audit import Action, Actor
from bot.privacy.consent import Consents
from bot.privacy.identity import Links

DELETE_YES = "/mydata_delete_yes"  # + ":<nonce>": bound to the question it answers
DELETE_NO = "/mydata_delete_no"
UNLINK_PAYLOAD = "/mydata_unlink"
UNLINK_YES = "/mydata_unlink_yes"
UNLINK_NO = "/mydata_unlink_no"
CONFIRMATION = re.compile(r"^(/mydata_(?:delete|unlink)_(?:yes|no))(?::([A-Za-z0-9_-]{4,32}))?$")


def confirmation(text: str) -> tuple[str, str | None] | None:
    """``(payload, nonce)`` of a yes/no button to deleting or unlinking, else None; a button sent
    before buttons carried their question's nonce has none (and confirms nothing)."""
    match = CONFIRMATION.match(text)
    return (match.group(1), match.group(2)) if match else None


class MyData:
    """Answers the citizen's questions about their data, in their language."""

    def __init__(
        self,
        links: Links,
        consents: Consents,
        offers: Offers,
        conversations: Conversations,
        questions: Questions,
        rights: DataRights,
        texts: OfferTexts,
        retention_days: int = 30,
    ) -> None:
        self._links = links
        self._consents = consents
        self._offers = offers
        self._conversations = conversations
        self._questions = questions
        self._rights = rights
        self.texts = texts
        self._retention_days = retention_days

    def notice(self, key: str, language: str) -> Outbound:
        """A MyData text as a reply of its own (``linked``, ``link_code_invalid``...)."""
        return self._reply(self.texts.data(key, language), language)

    def _reply(self, text: str, language: str, buttons: tuple[Button, ...] = ()) -> Outbound:
        return Outbound(text=text, buttons=buttons, language=language)

    async def request(self, conversation: str, request: DataRequestKind, language: str) -> list[Outbound]:
        """Answer one request of the bot's ``DataRequest``."""
        if request is DataRequestKind.DELETE:
            return await self.ask_delete(conversation, language)
        if request in (DataRequestKind.OPT_IN, DataRequestKind.OPT_OUT):
            return await self.set_offers(conversation, request is DataRequestKind.OPT_IN, language)
        overview = await self.my_data(conversation, language)
        offer_id = await self._conversations.open_offer(conversation)
        offer = await self._offers.get(offer_id) if offer_id else None
        if offer is not None and offer.citizen_id == await self._links.citizen_of(conversation):
            # "Why did I get this?" typed while an offer is in view: that offer's reasons first.
            return [*await self.why(conversation, language, offer_id), *overview]
        return overview

    async def why(self, conversation: str, language: str, offer_id: str | None = None) -> list[Outbound]:
        """Which data was used for an offer (``offer_id``, or the latest open one), and on what basis."""
        offer_id = offer_id or await self._conversations.open_offer(conversation)
        offer = await self._offers.get(offer_id) if offer_id else None
        citizen = await self._links.citizen_of(conversation)
        if offer is None or citizen != offer.citizen_id:
            return await self.my_data(conversation, language)
        consent = await self._consents.current(citizen, "proactive_offers")
        date = format_date(datetime.fromtimestamp(consent.at).date(), language) if consent else "-"
        channel = self.texts.say(f"channel_{consent.channel}", language) if consent else "-"
        text = self.texts.kind(offer.kind, "why", language, consent_date=date, consent_channel=channel)
        return [self._reply(text, language)]

    async def my_data(self, conversation: str, language: str) -> list[Outbound]:
        """What the city holds and uses about the citizen of this conversation."""
        citizen = await self._links.citizen_of(conversation)
        if citizen is None:
            text = self.texts.data("anonymous_my_data", language, retention_days=self._retention_days)
            return [self._reply(text, language)]
        consent = await self._consents.current(citizen, "proactive_offers")
        if consent is None:
            consent_text = self.texts.data("consent_off", language)
        else:
            when = format_date(datetime.fromtimestamp(consent.at).date(), language)
            via = self.texts.say(f"channel_{consent.channel}", language)
            key = "consent_on" if consent.granted else "consent_withdrawn"
            consent_text = self.texts.data(key, language, date=when, channel=via)
        offers = await self._offers.of_citizen(citizen)
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
                    for c in await self._links.conversations_of(citizen)
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
        citizen = await self._links.citizen_of(conversation)
        if citizen is None:
            key = "anonymous_opt_in" if allowed else "anonymous_opt_out"
            return [self._reply(self.texts.data(key, language), language)]
        changed = await self._consents.set(citizen, "proactive_offers", allowed, conversation.split(":")[0])
        if changed:
            why = "proactive_offers " + ("granted" if allowed else "withdrawn")
            await self._rights.record_access(
                Actor.CITIZEN, "citizen", Action.CONSENT_CHANGED, conversation=conversation, citizen=citizen, why=why
            )
        key = ("opted_in" if allowed else "opted_out") if changed else ("already_in" if allowed else "already_out")
        return [self._reply(self.texts.data(key, language), language)]

    async def ask_delete(self, conversation: str, language: str) -> list[Outbound]:
        """Ask before deleting: what goes, and what stays. The buttons carry this question's nonce."""
        nonce = secrets.token_urlsafe(8)
        await self._questions.ask(conversation, QuestionKind.DELETE_CONFIRMATION, nonce)
        key = "delete_question" if await self._links.citizen_of(conversation) else "anonymous_delete"
        buttons = (
            Button(self.texts.data("button_delete_yes", language), f"{DELETE_YES}:{nonce}"),
            Button(self.texts.data("button_delete_no", language), f"{DELETE_NO}:{nonce}"),
        )
        return [self._reply(self.texts.data(key, language), language, buttons)]

    async def confirm_delete(
        self, conversation: str, yes: bool, language: str, question: Question | None, nonce: str | None = None
    ) -> list[Outbound]:
        """The answer to "delete?": deletes only while that very question is open (a button's
        ``nonce`` must be the question's; a typed yes answers the open question)."""
        if (
            question is None
            or question.kind is not QuestionKind.DELETE_CONFIRMATION
            or (nonce is not None and nonce != question.subject)
        ):
            if not yes:
                return [self._reply(self.texts.data("delete_cancelled", language), language)]
            # A yes to an old question deletes nothing; the question is asked afresh (new buttons).
            expired = self._reply(self.texts.data("delete_expired", language), language)
            return [expired, *await self.ask_delete(conversation, language)]
        await self._questions.close(conversation)
        if not yes:
            return [self._reply(self.texts.data("delete_cancelled", language), language)]
        citizen = await self._links.citizen_of(conversation)
        await self._rights.forget_conversation(conversation)
        key = "deleted" if citizen else "deleted_anonymous"
        return [self._reply(self.texts.data(key, language), language)]

    async def ask_unlink(self, conversation: str, language: str) -> list[Outbound]:
        """Ask before unlinking this chat from the citizen's account (buttons bound by a nonce)."""
        if await self._links.citizen_of(conversation) is None:
            return [self._reply(self.texts.data("unlinked", language), language)]
        nonce = secrets.token_urlsafe(8)
        await self._questions.ask(conversation, QuestionKind.UNLINK_CONFIRMATION, nonce)
        buttons = (
            Button(self.texts.data("button_unlink_yes", language), f"{UNLINK_YES}:{nonce}"),
            Button(self.texts.data("button_unlink_no", language), f"{UNLINK_NO}:{nonce}"),
        )
        return [self._reply(self.texts.data("unlink_question", language), language, buttons)]

    async def confirm_unlink(
        self, conversation: str, yes: bool, language: str, question: Question | None, nonce: str | None
    ) -> list[Outbound]:
        """The answer to "unlink?": only while that very question is open."""
        if question is None or question.kind is not QuestionKind.UNLINK_CONFIRMATION or nonce != question.subject:
            if not yes:
                return [self._reply(self.texts.data("unlink_cancelled", language), language)]
            expired = self._reply(self.texts.data("unlink_expired", language), language)
            return [expired, *await self.ask_unlink(conversation, language)]
        await self._questions.close(conversation)
        if not yes:
            return [self._reply(self.texts.data("unlink_cancelled", language), language)]
        return await self.unlink(conversation, language)

    async def unlink(self, conversation: str, language: str) -> list[Outbound]:
        """Stop linking this chat to the citizen's account."""
        await self._links.unlink(conversation)
        await self._conversations.close_offer(conversation)
        await self._questions.close(conversation)
        return [self._reply(self.texts.data("unlinked", language), language)]

    async def link_by_code(self, conversation: str, code: str, via: str) -> str:
        """Link the conversation to the citizen of a one-time code (IdentityError when refused)."""
        citizen = await self._links.redeem(code)
        await self._links.link(conversation, citizen, via)
        return citizen

    async def link_by_token(self, conversation: str, citizen: str, expires_at: float) -> bool:
        """Link the conversation to a citizen whose token was verified, until the token expires;
        False when it was linked to them already (the expiry is renewed)."""
        already = await self._links.citizen_of(conversation) == citizen
        await self._links.link(conversation, citizen, "webchat token", expires_at=expires_at)
        return not already

    async def issue_link_code(self, citizen: str) -> str:
        """A one-time code that links the chat it is sent from to ``citizen``."""
        return await self._links.issue_code(citizen)
