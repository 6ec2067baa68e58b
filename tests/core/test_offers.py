"""Offers and the citizen's data in the chat, on a real Redis with a fake bot: delivery with
consent, answers bound to the offer, the silent default on a driven clock, and "delete my data?"
that an ignored question can no longer trigger (a defect of the old structure)."""

from __future__ import annotations

import time
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from bot.conversation.questions import QuestionKind
from bot.mydata.in_chat import DELETE_YES, UNLINK_PAYLOAD
from bot.offers.store import Offer, parse_offer
from bot.store import keys
from tests.core.conftest import Core

CITIZEN = "citizen-42"
CHAT = "webchat:elsa-parent"


def school_offer(offer_id: str = "school-1", hours: float = 24, on_silence: str = "accept") -> Offer:
    body: dict[str, Any] = {
        "offer_id": offer_id,
        "citizen_id": CITIZEN,
        "kind": "school_placement",
        "details": {
            "child_name": "Elsa",
            "school_name": "Lauttasaaren ala-asteen koulu",
            "school_address": "Isokaari 1",
            "start_date": "2027-08-05",
        },
        "respond_by": (datetime.now(timezone.utc) + timedelta(hours=hours)).isoformat(),
        "on_silence": on_silence,
    }
    return parse_offer(body, "school_office")


async def linked_with_consent(core: Core, conversation: str = CHAT) -> None:
    await core.services.links.link(conversation, CITIZEN, "test")
    await core.services.consents.set(CITIZEN, "proactive_offers", True, "backoffice")
    await core.services.conversations.touch(conversation, "webchat", "fi")


async def status(core: Core, offer_id: str = "school-1") -> str:
    offer = await core.services.offers.offers.get(offer_id)
    assert offer is not None
    return offer.status


async def test_an_offer_is_delivered_only_to_a_linked_chat_with_consent(core: Core) -> None:
    await core.services.links.link(CHAT, CITIZEN, "test")
    stored, created = await core.services.offers.create(school_offer())
    assert created and stored.status == "undeliverable" and core.delivered.to(CHAT) == []
    await core.services.consents.set(CITIZEN, "proactive_offers", True, "backoffice")
    stored, _ = await core.services.offers.create(school_offer("school-2"))
    assert stored.status == "delivered"
    [message] = core.delivered.to(CHAT)
    assert "Elsa" in message.text and [b.payload for b in message.buttons][0] == "/offer:accept:school-2"


async def test_accept_by_button_and_the_offer_stays_answered(core: Core) -> None:
    await linked_with_consent(core)
    await core.services.offers.create(school_offer())
    [accepted] = await core.say(CHAT, "/affirm")
    assert await status(core) == "accepted" and "Lauttasaaren" in accepted.text
    [again] = await core.say(CHAT, "/affirm")
    assert await status(core) == "accepted" and again.text != accepted.text


async def test_a_change_wish_is_recorded_for_the_offer_asked_about(core: Core) -> None:
    await linked_with_consent(core)
    await core.services.offers.create(school_offer())
    await core.say(CHAT, "/request_change")
    question = await core.services.questions.open(CHAT)
    assert question is not None and question.kind is QuestionKind.CHANGE_WISH and question.subject == "school-1"
    await core.say(CHAT, "Voisiko koulu olla Vattuniemessä?")
    offer = await core.services.offers.offers.get("school-1")
    assert offer is not None and offer.status == "change_requested" and "Vattuniemessä" in offer.change_request
    assert await core.services.questions.open(CHAT) is None


async def test_an_unrelated_question_after_the_change_question_is_answered_not_recorded(core: Core) -> None:
    """Before: after "could we change the date?", the next, unrelated message was recorded as the
    change wish and confirmed."""
    await linked_with_consent(core)
    await core.services.offers.create(school_offer())
    await core.say(CHAT, "/request_change")
    [answer] = await core.say(CHAT, "milloin uimahalli on auki?")
    assert answer.text == "vastaus: milloin uimahalli on auki?"  # the bot answered it
    offer = await core.services.offers.offers.get("school-1")
    assert offer is not None and offer.status == "delivered" and not offer.change_request
    assert await core.services.questions.open(CHAT) is None  # the question is closed: ask again


async def test_a_button_pressed_instead_of_a_change_wish_closes_the_question(core: Core) -> None:
    await linked_with_consent(core)
    await core.services.offers.create(school_offer())
    await core.say(CHAT, "/request_change")
    await core.say(CHAT, "/request_human")  # not an answer to "what would you like instead?"
    assert await core.services.questions.open(CHAT) is None
    await core.say(CHAT, "kuinka kauan kirjasto on auki?")
    assert await status(core) == "delivered"


async def test_respond_by_applies_the_silent_default_on_a_driven_clock(core: Core) -> None:
    await linked_with_consent(core)
    offer = school_offer(hours=1, on_silence="decline")
    await core.services.offers.create(offer)
    scheduler = core.services.scheduler
    await scheduler.run_due(now=time.time())
    assert await status(core) == "delivered"
    await scheduler.run_due(now=offer.respond_by.timestamp() + 1)
    assert await status(core) == "declined"
    assert await core.services.conversations.open_offer(CHAT) is None


async def test_yes_to_delete_my_data_deletes_the_conversation(core: Core) -> None:
    await linked_with_consent(core)
    [question] = await core.say(CHAT, "poista tietoni")
    yes = question.buttons[0].payload
    assert yes.startswith(DELETE_YES + ":")  # bound to this question by its nonce
    await core.say(CHAT, yes)
    assert await core.services.links.citizen_of(CHAT) is None
    assert await core.redis.exists(keys.transcript(CHAT)) == 0


async def test_an_ignored_delete_question_does_not_delete_on_a_later_accept(core: Core) -> None:
    """Before: "delete my data?" left unanswered stayed pending, and pressing Accept on an offer
    later deleted the chat history and unlinked the chat, and left the offer unanswered."""
    await linked_with_consent(core)
    await core.say(CHAT, "poista tietoni")
    await core.say(CHAT, "milloin kirjasto aukeaa?")  # the citizen goes on with something else
    await core.services.offers.create(school_offer())
    [answer] = await core.say(CHAT, "/affirm")
    assert await status(core) == "accepted" and "Lauttasaaren" in answer.text
    assert await core.services.links.citizen_of(CHAT) == CITIZEN
    assert await core.redis.exists(keys.transcript(CHAT)) == 1


async def test_an_offer_arriving_after_a_delete_question_closes_it(core: Core) -> None:
    await linked_with_consent(core)
    await core.say(CHAT, "poista tietoni")
    await core.services.offers.create(school_offer())  # a new question replaces the older one
    await core.say(CHAT, "kyllä")
    assert await status(core) == "accepted"
    assert await core.services.links.citizen_of(CHAT) == CITIZEN


async def test_a_stale_delete_button_deletes_nothing(core: Core) -> None:
    await linked_with_consent(core)
    [question] = await core.say(CHAT, "poista tietoni")
    await core.services.questions.close(CHAT)  # as when the question expires
    expired, asked = await core.say(CHAT, question.buttons[0].payload)
    assert "ei ole enää voimassa" in expired.text  # says the request is no longer open
    assert await core.services.links.citizen_of(CHAT) == CITIZEN
    # ... and asks afresh (the scenarios' authors, all three, expected that), with new buttons.
    assert asked.buttons and asked.buttons[0].payload != question.buttons[0].payload
    await core.say(CHAT, asked.buttons[0].payload)
    assert await core.services.links.citizen_of(CHAT) is None


def screening_offer(offer_id: str = "screening-1") -> Offer:
    body: dict[str, Any] = {
        "offer_id": offer_id,
        "citizen_id": CITIZEN,
        "kind": "screening_invitation",
        "details": {
            "screening_name": "Rintasyöpäseulonta",
            "place": "Kalasataman terveysasema",
            "appointment_time": "2027-01-20T09:30:00+02:00",
        },
        "respond_by": (datetime.now(timezone.utc) + timedelta(days=10)).isoformat(),
        "on_silence": "none",
    }
    return parse_offer(body, "school_office")


async def test_a_button_acts_on_the_offer_it_was_sent_with(core: Core) -> None:
    """Issue 12. Before: pressing Accept under the school-place offer accepted the screening
    invitation that arrived after it."""
    await linked_with_consent(core)
    await core.services.offers.create(school_offer())
    await core.services.offers.create(screening_offer())
    school_message = core.delivered.to(CHAT)[0]
    accept = school_message.buttons[0].payload
    assert accept == "/offer:accept:school-1"
    [done] = await core.say(CHAT, accept)
    assert await status(core) == "accepted" and await status(core, "screening-1") == "delivered"
    assert "Lauttasaaren" in done.text
    [again] = await core.say(CHAT, accept)  # the same button again: already answered, nothing else moves
    assert await status(core, "screening-1") == "delivered" and again.text != done.text


async def test_typed_answers_with_several_open_offers_ask_which_one(core: Core) -> None:
    """Issue 12. Before: "Request a change" was answered "you have no open offer" while two were open."""
    await linked_with_consent(core)
    await core.services.offers.create(school_offer())
    await core.services.offers.create(screening_offer())
    [which] = await core.say(CHAT, "kyllä")
    assert [b.payload for b in which.buttons] == ["/offer:accept:school-1", "/offer:accept:screening-1"]
    assert await status(core) == "delivered" and await status(core, "screening-1") == "delivered"
    [which_change] = await core.say(CHAT, "/request_change")
    assert [b.payload for b in which_change.buttons] == ["/offer:change:school-1", "/offer:change:screening-1"]
    await core.say(CHAT, "/offer:change:screening-1")
    await core.say(CHAT, "Voisiko ajan siirtää helmikuulle?")
    assert await status(core, "screening-1") == "change_requested"
    [single] = await core.say(CHAT, "kyllä")  # one open offer left: the answer applies to it
    assert await status(core) == "accepted" and not single.buttons


async def test_a_typed_answer_that_names_one_of_several_offers_acts_on_it(core: Core) -> None:
    """Scenario en-offers-why-button-then-yes-naming-offer: "yes we accept the school place for
    Elsa" with two offers open asked which one."""
    await linked_with_consent(core)
    await core.services.offers.create(school_offer())
    await core.services.offers.create(screening_offer())
    [accepted] = await core.say(CHAT, "kyllä, Elsan koulupaikka sopii")
    assert await status(core) == "accepted" and await status(core, "screening-1") == "delivered"
    assert not accepted.buttons
    await core.services.offers.create(school_offer("school-2"))
    [accepted] = await core.say(CHAT, "yes to the screening")  # another language's word, too
    assert await status(core, "screening-1") == "accepted" and await status(core, "school-2") == "delivered"


async def test_a_typed_yes_without_any_offer_is_acknowledged_and_after_offers_says_none_is_open(
    core: Core,
) -> None:
    """Scenario fi-mydata-overview-signed-in: "okei kiitos" (read as yes) got "you have no open
    offer" from a citizen who never had one."""
    texts = core.services.offers.texts
    await linked_with_consent(core)
    [reply] = await core.say(CHAT, "kyllä")
    assert reply.text == texts.say("acknowledged", "fi")
    [change] = await core.say(CHAT, "/request_change")  # a change needs an offer: said so
    assert change.text == texts.say("no_open_offer", "fi")
    await core.services.offers.create(school_offer())
    await core.say(CHAT, "kyllä")
    [after] = await core.say(CHAT, "kyllä")  # the offer was answered: the answer is "already answered"
    assert after.text != texts.say("acknowledged", "fi")


async def test_a_button_of_another_citizens_offer_does_nothing(core: Core) -> None:
    await linked_with_consent(core)
    await core.services.offers.create(school_offer())
    await core.services.links.link("webchat:stranger", "citizen-other", "test")
    [reply] = await core.say("webchat:stranger", "/offer:accept:school-1")
    assert reply.text == core.services.offers.texts.say("no_open_offer", "fi")
    assert await status(core) == "delivered"


async def test_the_season_in_an_offer_is_computed(core: Core, monkeypatch: pytest.MonkeyPatch) -> None:
    """Issue 12. Before: the school offer said "starts school this autumn" for a start on
    5 August 2027, sent in December 2026."""
    await linked_with_consent(core)
    monkeypatch.setenv("CITYBOT_FIXED_NOW", "2026-12-06T12:00:00+02:00")
    await core.services.offers.create(school_offer("school-next-year"))
    assert "aloittaa koulun syksyllä 2027" in core.delivered.to(CHAT)[-1].text
    monkeypatch.setenv("CITYBOT_FIXED_NOW", "2027-08-01T12:00:00+03:00")
    await core.services.offers.create(school_offer("school-this-year"))
    assert "aloittaa koulun tänä syksynä" in core.delivered.to(CHAT)[-1].text


async def test_a_delete_button_of_an_earlier_question_deletes_nothing(core: Core) -> None:
    """Issue 12: a confirmation is bound to its request. The "Yes, delete" of a question asked
    earlier (or sent before buttons carried a nonce) confirms nothing, even while a newer one is open."""
    await linked_with_consent(core)
    [first] = await core.say(CHAT, "poista tietoni")
    await core.say(CHAT, "poista tietoni")  # asked again: a new question, a new nonce
    reply, _ = await core.say(CHAT, first.buttons[0].payload)
    assert await core.services.links.citizen_of(CHAT) == CITIZEN and "ei ole enää voimassa" in reply.text
    await core.say(CHAT, "poista tietoni")
    old_style, _ = await core.say(CHAT, DELETE_YES)  # no nonce at all
    assert await core.services.links.citizen_of(CHAT) == CITIZEN and "ei ole enää voimassa" in old_style.text


async def test_unlinking_asks_first_and_the_answer_is_bound_to_the_question(core: Core) -> None:
    """Issue 12: unlinking was done at the first press of the button."""
    await linked_with_consent(core)
    [question] = await core.say(CHAT, UNLINK_PAYLOAD)
    assert await core.services.links.citizen_of(CHAT) == CITIZEN  # nothing yet
    yes, no = (b.payload for b in question.buttons)
    await core.say(CHAT, no)
    assert await core.services.links.citizen_of(CHAT) == CITIZEN
    _, asked = await core.say(CHAT, yes)  # the question was answered already: stale, asked afresh
    assert await core.services.links.citizen_of(CHAT) == CITIZEN and asked.buttons[0].payload != yes
    [again] = await core.say(CHAT, UNLINK_PAYLOAD)
    await core.say(CHAT, again.buttons[0].payload)
    assert await core.services.links.citizen_of(CHAT) is None


async def test_typed_why_explains_the_offer_in_view(core: Core) -> None:
    """Issue 12. Before: typing "miksi sain tämän?" gave the general my-data overview; only the
    button explained the offer."""
    await linked_with_consent(core)
    await core.services.offers.create(school_offer())
    why, overview = await core.say(CHAT, "miksi sain tämän?")
    texts = core.services.offers.texts
    assert why.text.startswith(texts.kind("school_placement", "why", "fi", consent_date="x", consent_channel="y")[:40])
    assert overview.buttons  # the general overview follows, with its buttons
    [only_overview] = await core.say("webchat:anonymous", "miksi sain tämän?")  # no offer in view
    assert not only_overview.text.startswith(why.text[:40])
