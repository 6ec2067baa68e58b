"""End to end through the real stack: embedded Redis, action server, Rasa server on loopback.

The action server runs at a fixed time, Sunday 20 December 2026 12:00 in Helsinki (conftest).
"""

from typing import Any, Callable

import pytest
import redis

from bot.cli.supervisor import Stack
from bot.knowledge.files import load_faq
from bot.store import keys
from tests.conftest import RestChat

pytestmark = pytest.mark.integration
Chat = Callable[..., RestChat]


def texts(replies: list[dict[str, Any]]) -> list[str]:
    return [r.get("text", "") for r in replies]


GREETINGS = {"fi": "Hei! Olen", "sv": "Hej! Jag är", "en": "Hi! I am"}


@pytest.mark.parametrize(("hint", "message"), [("fi", "moi"), ("sv", "hej"), ("en", "hello")])
def test_greeting_in_each_language(chat: Chat, hint: str, message: str) -> None:
    replies = chat().say(message, language_hint=hint)
    assert texts(replies)[0].startswith(GREETINGS[hint])


def answers_of(topic: str, language: str) -> set[str]:
    """What the bot may answer within a topic: its overview or one of its entries."""
    faq = load_faq()[topic]
    return {faq.answer[language], *(e.answer[language] for e in faq.entries)}


@pytest.mark.parametrize(
    ("lang", "question", "topic"),
    [
        ("fi", "Miten haen lapselleni päiväkotipaikkaa?", "daycare_application"),
        ("sv", "Hur förnyar jag mina lån på biblioteket?", "library"),
        ("en", "how can i get a resident parking permit", "resident_parking"),
    ],
)
def test_service_question_answered_from_knowledge(chat: Chat, lang: str, question: str, topic: str) -> None:
    reply, links = chat().say(question)
    assert reply["text"] in answers_of(topic, lang)
    faq = load_faq()[topic]
    assert links["custom"]["links"][0]["url"] in {faq.link[lang], *(e.link[lang] for e in faq.entries if e.link)}


def test_language_follows_the_citizen_and_survives_short_messages(chat: Chat) -> None:
    c = chat()
    assert texts(c.say("hei", language_hint="fi"))[0].startswith(GREETINGS["fi"])
    # A clear Swedish question switches the conversation to Swedish...
    answer, _links = c.say("Var kan jag boka tid till tandläkaren för mitt barn?")
    assert answer["text"] in answers_of("dental_care", "sv")
    # ...and "kiitos"/"ok" do not flip it back.
    assert texts(c.say("kiitos"))[0].startswith("Varsågod")
    assert c.say("ok")  # a "yes" (to an offer, if one were open: the gateway answers that)
    assert c.language == "sv"
    # An explicit request switches and sticks.
    assert texts(c.say("in English please")) == ["OK, let's continue in English."]
    assert c.language == "en"
    assert texts(c.say("moi"))[0].startswith(GREETINGS["en"])


def test_widget_language_choice_is_explicit(chat: Chat) -> None:
    c = chat()
    c.say("hei", language_hint="fi")
    replies = c.say("/greet", language_choice="sv")
    assert texts(replies)[0].startswith(GREETINGS["sv"])


def test_change_language_without_a_language_asks_which(chat: Chat) -> None:
    [reply] = chat().say("could we switch to some other language?", language_hint="en")
    assert [b["title"] for b in reply["buttons"]] == ["Suomi", "Svenska", "English"]


def test_opening_hours_now_and_on_sunday(chat: Chat) -> None:
    [now] = chat().say("is Oodi open now?", language_hint="en")
    assert now["text"] == (
        "Helsinki Central Library Oodi is open now, until 20:00. Address: Töölönlahdenkatu 4, 00100 Helsinki."
    )
    [sunday] = chat().say("när öppnar Itäkeskus simhall på söndag?", language_hint="sv")
    assert sunday["text"] == "Östra centrums simhall har öppet i dag kl. 9.00–19.00."
    [inflected] = chat().say("onks Oodissa auki huomenna", language_hint="fi")
    assert inflected["text"] == "Keskustakirjasto Oodi on auki huomenna klo 8.00–22.00."


def test_emergency_always_answered(chat: Chat) -> None:
    c = chat()
    c.say("asdfgh qwerty zxcv", language_hint="fi")  # mid-clarification
    reply, *_links = c.say("isäni sai sydänkohtauksen, mitä teen")
    assert reply["text"].startswith(load_faq()["emergency"].answer["fi"])
    assert "112" in reply["text"]


def test_fallback_clarifies_then_hands_off_to_a_person(chat: Chat) -> None:
    c = chat()
    [first] = c.say("blorf snark quux", language_hint="en")
    assert first["text"] == "I'm not sure I understood. Did you mean one of these?"
    assert len(first["buttons"]) == 2
    [second] = c.say("zzgrk vlomp")
    assert second["custom"] == {"handoff": {"reason": "not_understood"}}  # the gateway queues it
    # Understanding something resets the count: the next miss clarifies again.
    c.say("thanks")
    [third] = c.say("qwop blarg")
    assert third["text"] == "I'm not sure I understood. Did you mean one of these?"


def test_conversation_is_stored_in_redis(stack: Stack, chat: Chat) -> None:
    c = chat()
    c.say("hello", language_hint="en")
    settings = stack.settings
    client = redis.Redis.from_url(settings.redis.url)
    try:
        assert client.exists(keys.tracker(c.sender)) == 1
    finally:
        client.close()


def _post(stack: Stack, body: bytes, token: str | None) -> tuple[int, Any]:
    import json
    import urllib.error
    import urllib.request

    headers = {"Content-Type": "application/json"}
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    request = urllib.request.Request(f"{stack.settings.rasa_url}/webhooks/citybot/webhook", data=body, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


@pytest.mark.parametrize("token", [None, "wrong-token", ""])
def test_bot_channel_refuses_a_missing_or_wrong_token(stack: Stack, token: str | None) -> None:
    status, body = _post(stack, b'{"sender": "x", "message": "hei"}', token)
    assert status == 401 and body == {"error": "missing or wrong token"}


@pytest.mark.parametrize(
    "body",
    [
        b"not json",
        b"[1, 2]",
        b'{"sender": "x"}',
        b'{"sender": "", "message": "hei"}',
        b'{"sender": "x", "message": "' + b"a" * 5000 + b'"}',
    ],
)
def test_bot_channel_rejects_bad_bodies_clearly(stack: Stack, body: bytes) -> None:
    status, reply = _post(stack, body, stack.settings.rasa_token)
    assert status == 400 and reply["error"]


def test_rasa_http_api_needs_the_token(stack: Stack) -> None:
    import urllib.error
    import urllib.request

    with pytest.raises(urllib.error.HTTPError) as error:
        urllib.request.urlopen(f"{stack.settings.rasa_url}/status", timeout=10)
    assert error.value.code == 401


@pytest.mark.parametrize(
    ("hint", "text", "language"),
    [
        ("en", "vaihdetaanko suomeen, vaimoni ymmärtää sitä paremmin", "fi"),
        ("fi", "kan vi byta till svenska, min fru förstår det bättre", "sv"),
        ("sv", "can we switch to english, my husband reads this", "en"),
    ],
)
def test_a_change_of_language_asked_in_a_sentence_is_a_choice(chat: Chat, hint: str, text: str, language: str) -> None:
    """Issue 12. Before: the Finnish sentence was read as request_change and answered "you have no
    open offer"; the language changed only by detection, not as a choice."""
    c = chat()
    c.say("hei" if hint == "fi" else "hej" if hint == "sv" else "hello", language_hint=hint)
    replies = c.say(text)
    assert c.language == language
    assert not any("custom" in r and r["custom"] for r in replies)  # not taken for an offer answer
    assert c.say("ok") and c.language == language  # a choice sticks


@pytest.mark.parametrize(
    ("hint", "question", "starts"),
    [
        # The stack's clock says Sunday 20 December 2026, so "on Sunday" is today.
        ("en", "which libraries are open on Sunday?", "Open today: "),
        ("fi", "mitkä kirjastot on auki sunnuntaina?", "Auki tänään: "),
        ("sv", "vilka bibliotek är öppna på söndag?", "Öppet i dag: "),
    ],
)
def test_the_places_open_at_a_time_are_listed(chat: Chat, hint: str, question: str, starts: str) -> None:
    """Issue 12: "which libraries are open on Sunday?" lists them with their hours."""
    [reply] = chat().say(question, language_hint=hint)
    assert reply["text"].startswith(starts) and ("Oodi" in reply["text"] or "Ode" in reply["text"])  # Ode: sv
    assert "–" in reply["text"]  # with the hours
