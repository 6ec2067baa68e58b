"""The WhatsApp channel against a fake Cloud API on loopback, driven by signed webhook deliveries.

In-process gateways (webhook, console, back office) on the test stack's Redis and Rasa; the
fake Cloud API refuses what the real one refuses (tests/fake_whatsapp.py). The last test goes
through the stack's own gateway process.
"""

from __future__ import annotations

import asyncio
import dataclasses
import itertools
import json
import logging
import random
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from redis.asyncio import Redis

from bot.cli.supervisor import Stack, free_port
from bot.gateway.app import create_app
from bot.offers.texts import load_offer_texts
from bot.store import keys
from bot.store.redis import connect
from channels.backoffice import setup_backoffice
from channels.console import setup_console
from channels.webchat import setup_webchat
from channels.whatsapp import channel as whatsapp_channel
from channels.whatsapp import setup_whatsapp
from tests import fake_whatsapp
from tests.clients import Citizen, Console, logs, redis_text
from tests.conftest import BACKOFFICE, reset_handoff
from tests.conversations.runner import OFFER_DETAILS
from tests.fake_whatsapp import FakeCloudApi, Meta, body_of, options
from tests.test_offers import BackOffice, back_office

pytestmark = pytest.mark.integration
ServerFactory = Callable[..., Awaitable[TestServer]]
TEXTS = load_offer_texts()
PASSWORD = "correct horse battery staple"
GREETING = {"fi": "Hei! Olen", "sv": "Hej! Jag är", "en": "Hi! I am"}
HELLO = {"fi": "hei, voitko auttaa?", "sv": "hej, kan du hjälpa mig?", "en": "hello, can you help me?"}
NOT_TEXT = {
    "fi": "Kiitos! En valitettavasti osaa katsoa kuvia",
    "sv": "Tack! Tyvärr kan jag inte se bilder",
    "en": "Thank you! Unfortunately I cannot look at pictures",
}
_numbers = itertools.count(1)
_offers = itertools.count(1)


def number(country: str = "358") -> str:
    """A fresh citizen's WhatsApp id (their number, digits only)."""
    return f"{country}40{random.randint(1000000, 9999999)}{next(_numbers) % 10}"


@dataclasses.dataclass
class City:
    """A gateway with WhatsApp, the console and the back office, and the city's side of it."""

    base: str
    meta: Meta
    fake: FakeCloudApi
    backoffice: BackOffice
    redis: Redis

    async def call(self, method: str, path: str, body: Any = None) -> tuple[int, Any]:
        headers = {"Authorization": f"Bearer {BACKOFFICE.token}"}
        async with (
            aiohttp.ClientSession() as session,
            session.request(method, f"{self.base}{path}", json=body, headers=headers) as response,
        ):
            return response.status, await response.json()

    async def linked(self, who: str, wa_id: str, language: str = "fi") -> None:
        """Link ``wa_id`` to citizen ``who`` with a link code, and give consent to offers."""
        status, code = await self.call("POST", f"/api/v1/citizens/{who}/link-code")
        assert status == 201 and code["whatsapp_link"].endswith(f"?text=%2Fstart%20{code['code']}")
        before = len(self.fake.to(wa_id))
        await self.meta.say(wa_id, HELLO[language])  # the conversation's language
        assert await self.meta.say(wa_id, code["start_command"]) == 200
        sent = await self.fake.wait_for(wa_id, before + 2)
        assert body_of(sent[-1]) == TEXTS.mydata["linked"][language]
        status, _ = await self.call("PUT", f"/api/v1/citizens/{who}/consent/proactive_offers", {"granted": True})
        assert status == 200

    async def offer(self, who: str, kind: str = "school_placement") -> dict[str, Any]:
        body = {
            "offer_id": f"wa-offer-{next(_offers)}-{time.time_ns()}",
            "citizen_id": who,
            "kind": kind,
            "details": OFFER_DETAILS[kind],
            "respond_by": (datetime.now(timezone.utc) + timedelta(days=14)).isoformat(),
            "on_silence": "none",
        }
        status, created = await self.call("POST", "/api/v1/offers", body)
        assert status == 201, created
        return dict(created)

    async def get_offer(self, offer_id: str) -> dict[str, Any]:
        status, offer = await self.call("GET", f"/api/v1/offers/{offer_id}")
        assert status == 200
        return dict(offer)

    async def close_window(self, wa_id: str) -> None:
        """24 hours pass since the citizen's last message (the window's key expires)."""
        conversation = await self.conversation(wa_id)
        await self.redis.delete(keys.whatsapp_window(conversation))
        self.fake.last_inbound[wa_id] = time.time() - 25 * 3600

    async def conversation(self, wa_id: str) -> str:
        """The pseudonymous conversation id of a number (found through the kept address)."""
        async for key in self.redis.scan_iter(match=keys.address("whatsapp:*")):
            if await self.redis.get(key) == wa_id:
                return str(key).removeprefix(keys.address(""))
        raise AssertionError("no conversation keeps this number")


@pytest.fixture
async def city(stack: Stack, cloud_api: FakeCloudApi, aiohttp_server: ServerFactory) -> AsyncIterator[City]:
    settings = dataclasses.replace(stack.settings, callback_base_delay=0.2, max_message_chars=300)
    server = await aiohttp_server(
        create_app(settings, [setup_webchat, setup_whatsapp, setup_console, setup_backoffice])
    )
    base = f"http://127.0.0.1:{server.port}"
    redis = connect(settings.redis)
    async with back_office() as back:
        yield City(base, Meta(f"{base}/whatsapp/webhook", cloud_api), cloud_api, back, redis)
    await redis.aclose()


# -- the webhook ---------------------------------------------------------------------------


async def test_webhook_verification_echoes_the_challenge_only_for_our_token(city: City) -> None:
    async def get(query: dict[str, str]) -> tuple[int, str]:
        async with aiohttp.ClientSession() as session, session.get(city.meta.webhook, params=query) as response:
            return response.status, await response.text()

    right = {"hub.mode": "subscribe", "hub.verify_token": fake_whatsapp.VERIFY_TOKEN, "hub.challenge": "1158201444"}
    assert await get(right) == (200, "1158201444")
    assert (await get({**right, "hub.verify_token": "wrong"}))[0] == 403
    assert (await get({**right, "hub.mode": "unsubscribe"}))[0] == 403
    assert (await get({"hub.challenge": "1"}))[0] == 403


@pytest.mark.parametrize("secret", [None, "wrong-secret", ""])
async def test_a_delivery_without_the_right_signature_is_403_and_nothing_is_processed(
    city: City, secret: str | None
) -> None:
    wa_id = number()
    assert await city.meta.post(city.meta.text(wa_id, "hei"), secret=secret) == 403
    await asyncio.sleep(0.5)
    assert city.fake.to(wa_id) == []
    with pytest.raises(AssertionError, match="no conversation keeps this number"):
        await city.conversation(wa_id)  # nothing stored either


async def test_a_signature_over_other_bytes_is_refused(city: City) -> None:
    """The signature is of the raw body: the same JSON re-serialised does not verify."""
    wa_id = number()
    body = json.dumps(city.meta.delivery(city.meta.text(wa_id, "hei")), indent=2).encode()
    compact = json.dumps(json.loads(body)).encode()
    headers = {"Content-Type": "application/json", "X-Hub-Signature-256": fake_whatsapp.signature(compact)}
    async with aiohttp.ClientSession() as session, session.post(city.meta.webhook, data=body, headers=headers) as r:
        assert r.status == 403
    assert city.fake.to(wa_id) == []


@pytest.mark.parametrize("raw", [b"not json", b"[]", b'{"object": "page", "entry": []}'])
async def test_a_signed_body_that_is_not_a_notification_is_400(city: City, raw: bytes) -> None:
    assert await city.meta.post(raw=raw) == 400


async def test_a_large_batch_is_read_whole_and_an_oversized_one_is_413(city: City) -> None:
    """Meta batches statuses: a delivery larger than the gateway's 64 KB request limit is read
    whole (its signature covers every byte); over 1 MB is refused."""
    wa_id = number()
    statuses = [city.meta.status(f"wamid.UNKNOWN{i}", wa_id, "delivered") for i in range(1500)]
    text = city.meta.text(wa_id, "hei")
    body = json.dumps(city.meta.delivery(*statuses, text)).encode()
    assert len(body) > 256 * 1024
    assert await city.meta.post(raw=body, secret=None, sign_raw=True) == 200
    assert body_of((await city.fake.wait_for(wa_id, 1))[0]).startswith(GREETING["fi"])
    huge = json.dumps(city.meta.delivery(*statuses * 5)).encode()
    assert len(huge) > 1024 * 1024
    assert await city.meta.post(raw=huge, secret=None, sign_raw=True) == 413


# -- messages in, replies out --------------------------------------------------------------


@pytest.mark.parametrize("language", ["fi", "sv", "en"])
async def test_text_in_and_out_in_each_language(city: City, language: str) -> None:
    wa_id = number()
    greet = {"fi": "hei", "sv": "hej", "en": "hi, good morning"}[language]
    assert await city.meta.say(wa_id, greet) == 200
    [greeting] = await city.fake.wait_for(wa_id, 1)
    assert greeting["type"] == "text" and greeting["text"]["body"].startswith(GREETING[language])
    assert city.fake.violations(wa_id) == []


@pytest.mark.parametrize(
    ("language", "question", "titles"),
    [
        ("en", "what can you do?", ["Library card", "Opening hours", "Applying for daycare"]),
        ("fi", "mitä osaat?", ["Kirjastokortti", "Aukioloajat", "Päivähoitohakemus"]),
        ("sv", "vad kan du göra?", ["Lånekort", "Öppettider", "Ansöka om dagvård"]),
    ],
)
async def test_options_become_reply_buttons_and_a_press_is_answered(
    city: City, language: str, question: str, titles: list[str]
) -> None:
    wa_id = number()
    await city.meta.say(wa_id, question)
    [menu] = await city.fake.wait_for(wa_id, 1)
    assert menu["type"] == "interactive" and menu["interactive"]["type"] == "button"
    buttons = options(menu)
    assert [b["title"] for b in buttons] == titles
    assert await city.meta.post(city.meta.pressed(wa_id, buttons[1])) == 200
    answers = await city.fake.wait_for(wa_id, 2)
    assert len(answers) == 2
    hours = {"fi": "aukiolo", "sv": "öppet", "en": "open"}[language]
    assert hours in body_of(answers[1]).lower()


@pytest.mark.parametrize("kind", ["image", "audio", "location", "sticker", "video", "document"])
async def test_media_gets_a_polite_text_only_answer_in_the_citizens_language(city: City, kind: str) -> None:
    language = ["fi", "sv", "en"][hash(kind) % 3]
    wa_id = number()
    await city.meta.say(wa_id, HELLO[language])
    await city.fake.wait_for(wa_id, 1)
    content = {"image": {"mime_type": "image/jpeg", "id": "MEDIA-ID"}} if kind == "image" else {kind: {"id": "X"}}
    assert await city.meta.post(city.meta.message(wa_id, kind, content)) == 200
    sent = await city.fake.wait_for(wa_id, 2)
    assert body_of(sent[-1]).startswith(NOT_TEXT[language])


async def test_a_reaction_is_not_answered(city: City) -> None:
    wa_id = number()
    await city.meta.say(wa_id, "hei")
    await city.fake.wait_for(wa_id, 1)
    await city.meta.post(city.meta.message(wa_id, "reaction", {"reaction": {"message_id": "wamid.X", "emoji": "👍"}}))
    await asyncio.sleep(0.5)
    assert len(city.fake.to(wa_id)) == 1


async def test_the_same_message_delivered_three_times_is_answered_once(city: City) -> None:
    wa_id = number()
    value = city.meta.text(wa_id, "mitä osaat?")
    statuses = await asyncio.gather(*(city.meta.post(value) for _ in range(2)))
    statuses.append(await city.meta.post(value))
    assert statuses == [200, 200, 200]
    await city.fake.wait_for(wa_id, 1)
    await asyncio.sleep(0.5)  # nothing more comes
    assert len(city.fake.to(wa_id)) == 1


async def test_one_delivery_batching_several_citizens_and_entries(city: City) -> None:
    first, second = number(), number("46")
    status = await city.meta.post(
        city.meta.text(first, "hei"), city.meta.text(second, "hej"), city.meta.text(first, "kiitos")
    )
    assert status == 200
    assert body_of((await city.fake.wait_for(second, 1))[0]).startswith(GREETING["sv"])
    answers = await city.fake.wait_for(first, 2)
    assert body_of(answers[0]).startswith(GREETING["fi"]) and len(answers) == 2  # in order


async def test_an_oversized_message_is_refused_kindly(city: City) -> None:
    wa_id = number("44")
    await city.meta.say(wa_id, "a " * 200)
    [sent] = await city.fake.wait_for(wa_id, 1)
    assert body_of(sent) == "The message is too long. Please shorten it and send again."


async def test_a_refused_message_delivered_three_times_is_refused_once(city: City) -> None:
    """Meta delivers again what it thinks was not taken: the notice about it is not repeated."""
    wa_id = number("44")
    too_long, image = city.meta.text(wa_id, "a " * 200), city.meta.message(wa_id, "sticker", {"sticker": {"id": "S"}})
    for value in (too_long, too_long, too_long, image, image):
        assert await city.meta.post(value) == 200
    await city.fake.wait_for(wa_id, 2)
    await asyncio.sleep(0.5)  # nothing more comes
    assert [body_of(m)[:25] for m in city.fake.to(wa_id)] == [
        "The message is too long. ",
        NOT_TEXT["en"][:25],
    ]


async def test_a_rate_limited_send_is_retried_with_backoff_and_not_dropped(city: City) -> None:
    wa_id = number()
    city.fake.refuse_next[wa_id] = [130429, 130429]
    await city.meta.say(wa_id, "hei")
    [greeting] = await city.fake.wait_for(wa_id, 1)
    assert body_of(greeting).startswith(GREETING["fi"])
    assert [r["code"] for r in city.fake.refused if r.get("to") == wa_id] == [130429, 130429]


async def test_a_send_refused_past_the_retries_is_kept_and_sent_by_the_scheduled_job(
    city: City, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(whatsapp_channel, "RETRY_FIRST", 0.5)
    wa_id = number()
    city.fake.refuse_next[wa_id] = [130429] * 4  # one attempt and three retries: all refused
    await city.meta.say(wa_id, "hei")
    [greeting] = await city.fake.wait_for(wa_id, 1, timeout=60)
    assert body_of(greeting).startswith(GREETING["fi"])
    assert len([r for r in city.fake.refused if r.get("to") == wa_id]) == 4


# -- offers --------------------------------------------------------------------------------


@pytest.mark.parametrize("language", ["fi", "sv", "en"])
async def test_an_offer_inside_the_window_is_a_list_and_a_row_accepts_it(city: City, language: str) -> None:
    wa_id, who = number(), f"citizen-wa-{time.time_ns()}"
    await city.linked(who, wa_id, language)
    before = len(city.fake.to(wa_id))
    created = await city.offer(who)
    assert created["status"] == "delivered"
    message = (await city.fake.wait_for(wa_id, before + 1))[-1]
    assert message["type"] == "interactive" and message["interactive"]["type"] == "list"
    rows = options(message)
    assert [r["id"] for r in rows] == [
        f"/offer:accept:{created['offer_id']}",
        f"/offer:change:{created['offer_id']}",
        "/request_human",
        f"/offer:why:{created['offer_id']}",
    ]
    assert [r["title"] for r in rows][0] == TEXTS.say("button_accept", language)
    assert OFFER_DETAILS["school_placement"]["child_name"] in body_of(message)
    await city.meta.post(city.meta.pressed(wa_id, rows[0]))
    done = (await city.fake.wait_for(wa_id, before + 2))[-1]
    assert body_of(done).startswith(TEXTS.kind("school_placement", "accepted", language, **_shown(language))[:30])
    offer = await city.get_offer(created["offer_id"])
    assert offer["status"] == "accepted" and offer["delivery"]["whatsapp"]["state"] == "sent"
    assert await city.backoffice.statuses(created["offer_id"], 2) == ["delivered", "accepted"]
    assert city.fake.violations(wa_id) == []


def _shown(language: str) -> dict[str, str]:
    from tests.test_offers import _shown as shown

    return shown("school_placement", language)


@pytest.mark.parametrize("language", ["fi", "sv", "en"])
async def test_an_offer_outside_the_window_goes_as_its_template_and_the_answer_continues(
    city: City, language: str
) -> None:
    wa_id, who = number(), f"citizen-wa-{time.time_ns()}"
    await city.linked(who, wa_id, language)
    await city.close_window(wa_id)
    before = len(city.fake.to(wa_id))
    created = await city.offer(who, "daycare_placement")
    template = (await city.fake.wait_for(wa_id, before + 1))[-1]
    assert template["type"] == "template", template
    sent = template["template"]
    assert sent["name"] == "citybot_daycare_place_offer" and sent["language"]["code"] == language
    body = next(c for c in sent["components"] if c["type"] == "body")
    details = OFFER_DETAILS["daycare_placement"]
    assert [p["text"] for p in body["parameters"]][:2] == [details["child_name"], details["daycare_name"]]
    buttons = [c for c in sent["components"] if c["type"] == "button"]
    payloads = [b["parameters"][0]["payload"] for b in buttons]
    assert payloads == [
        f"/offer:accept:{created['offer_id']}",
        f"/offer:change:{created['offer_id']}",
        "/request_human",
    ]
    offer = await city.get_offer(created["offer_id"])
    assert offer["delivery"]["whatsapp"]["template"] == "citybot_daycare_place_offer"
    # The citizen presses the template's first button: the window opens and the answer is free-form.
    accept = {"fi": "Hyväksy", "sv": "Godkänn", "en": "Accept"}[language]
    await city.meta.post(city.meta.template_button(wa_id, accept, payloads[0]))
    done = (await city.fake.wait_for(wa_id, before + 2))[-1]
    assert done["type"] == "text"
    assert (await city.get_offer(created["offer_id"]))["status"] == "accepted"
    assert city.fake.violations(wa_id) == []


async def test_an_offer_outside_the_window_answered_in_free_text(city: City) -> None:
    wa_id, who = number(), f"citizen-wa-{time.time_ns()}"
    await city.linked(who, wa_id, "fi")
    await city.close_window(wa_id)
    before = len(city.fake.to(wa_id))
    created = await city.offer(who)
    assert (await city.fake.wait_for(wa_id, before + 1))[-1]["type"] == "template"
    await city.meta.say(wa_id, "kyllä kiitos, sopii")
    await city.fake.wait_for(wa_id, before + 2)  # the confirmation, in the window the answer opened
    assert (await city.get_offer(created["offer_id"]))["status"] == "accepted"
    assert city.fake.violations(wa_id) == []


async def _offer_message(city: City, wa_id: str, who: str) -> tuple[dict[str, Any], str]:
    await city.linked(who, wa_id, "en")
    before = len(city.fake.to(wa_id))
    created = await city.offer(who)
    message = (await city.fake.wait_for(wa_id, before + 1))[-1]
    return created, message["id"]


async def test_a_failed_status_makes_the_offer_undeliverable_with_the_cause(city: City) -> None:
    wa_id, who = number("44"), f"citizen-wa-{time.time_ns()}"
    created, wamid = await _offer_message(city, wa_id, who)
    await city.meta.post(city.meta.status(wamid, wa_id, "sent"))
    assert await city.meta.post(city.meta.status(wamid, wa_id, "failed", code=131026)) == 200
    offer = await city.get_offer(created["offer_id"])
    assert offer["status"] == "undeliverable"
    assert offer["history"][-1]["cause"] == "whatsapp: 131026 Message undeliverable"
    assert offer["delivery"]["whatsapp"]["state"] == "failed"
    assert await city.backoffice.statuses(created["offer_id"], 2) == ["delivered", "undeliverable"]
    # WhatsApp's reports are not in order: a "delivered" after the failure is believed.
    await city.meta.post(city.meta.status(wamid, wa_id, "delivered"))
    assert (await city.get_offer(created["offer_id"]))["status"] == "delivered"


async def test_read_is_recorded_and_a_late_failure_does_not_undo_it(city: City) -> None:
    wa_id, who = number("44"), f"citizen-wa-{time.time_ns()}"
    created, wamid = await _offer_message(city, wa_id, who)
    await city.meta.post(city.meta.status(wamid, wa_id, "read"), city.meta.status(wamid, wa_id, "delivered"))
    offer = await city.get_offer(created["offer_id"])
    assert offer["delivery"]["whatsapp"]["state"] == "read" and offer["status"] == "delivered"
    await city.meta.post(city.meta.status(wamid, wa_id, "failed", code=131026))
    offer = await city.get_offer(created["offer_id"])
    assert offer["status"] == "delivered" and offer["delivery"]["whatsapp"]["state"] == "read"


async def test_a_failure_of_the_whatsapp_copy_keeps_the_offer_delivered_in_the_other_chat(
    city: City, citizens: Any, stack: Stack
) -> None:
    """The offer went to the citizen's signed-in web chat too: a failed WhatsApp copy is recorded,
    and the offer stays delivered (the citizen has it in the other chat)."""
    from bot.privacy.identity import development_token

    wa_id, who = number("44"), f"citizen-wa-{time.time_ns()}"
    await city.linked(who, wa_id, "en")
    person = citizens()
    token = development_token(stack.settings.identity_keys_file, who, stack.settings.identity_audience, 60)
    await person.start(city.base, language="en", identity_token=token)
    await person.replies(1)  # "this chat is now linked"
    before = len(city.fake.to(wa_id))
    created = await city.offer(who)
    [in_web_chat] = await person.replies(1)
    assert f"/offer:accept:{created['offer_id']}" in [q["payload"] for q in in_web_chat["quick_replies"]]
    message = (await city.fake.wait_for(wa_id, before + 1))[-1]
    assert message["type"] == "interactive"
    await city.meta.post(city.meta.status(message["id"], wa_id, "failed", code=131026))
    offer = await city.get_offer(created["offer_id"])
    assert offer["delivery"]["whatsapp"]["state"] == "failed" and offer["delivery"]["webchat"]["state"] == "sent"
    assert offer["status"] == "delivered"


@pytest.mark.parametrize(
    ("language", "ask", "stop", "allow"),
    [
        ("sv", "vilka uppgifter har ni om mig?", "jag vill inte ha fler förslag", "jag vill få förslag från staden"),
        ("fi", "mitä tietoja teillä on minusta?", "en halua enää ehdotuksia", "haluan saada ehdotuksia"),
        ("en", "what data do you have about me?", "stop sending me offers", "I want to receive offers"),
    ],
)
async def test_my_data_and_consent_in_whatsapp(city: City, language: str, ask: str, stop: str, allow: str) -> None:
    """MyData in chat: what is held, consent withdrawn and given, recorded as given in WhatsApp."""
    wa_id, who = number(), f"citizen-wa-{time.time_ns()}"
    await city.linked(who, wa_id, language)
    count = len(city.fake.to(wa_id))

    async def say(text: str) -> str:
        nonlocal count
        await city.meta.say(wa_id, text)
        sent = await city.fake.wait_for(wa_id, count + 1)
        count = len(sent)
        return body_of(sent[-1])

    assert TEXTS.kind("school_placement", "title", language) not in await say(ask)
    assert await say(stop) == TEXTS.mydata["opted_out"][language]
    assert await say(allow) == TEXTS.mydata["opted_in"][language]
    shown = await say(ask)
    assert TEXTS.say("channel_whatsapp", language) in shown
    status, exported = await city.call("GET", f"/api/v1/citizens/{who}/export")
    assert status == 200 and exported["consent"]["current"]["proactive_offers"]["channel"] == "whatsapp"


# -- handoff ---------------------------------------------------------------------------------


async def test_handoff_to_the_console_and_the_agents_answers_back_inside_and_outside_the_window(
    city: City, stack: Stack
) -> None:
    from bot.handoff.agents import Agents

    await reset_handoff(city.redis)
    agent = f"wa-agent-{time.time_ns()}"
    await Agents(city.redis).create(agent, "Aino", PASSWORD, ("fi", "sv", "en"))
    console = Console(city.base)
    try:
        assert await console.sign_in(agent, PASSWORD) == 200
        await console.connect()
        wa_id = number()
        await city.meta.say(wa_id, "haluan puhua ihmiselle")
        await city.fake.wait_for(wa_id, 1)
        conversation = await city.conversation(wa_id)
        assert wa_id not in conversation
        await console.waiting_for(conversation)
        await console.send(type="claim", conversation=conversation)
        await console.expect("claimed")
        await city.meta.say(wa_id, "Tarvitsen apua laskun kanssa")
        assert (await console.entry(conversation, "citizen"))["text"] == "Tarvitsen apua laskun kanssa"
        before = len(city.fake.to(wa_id))
        await console.send(type="send", conversation=conversation, text="Autan mielelläni.")
        reply = (await city.fake.wait_for(wa_id, before + 1))[-1]
        assert body_of(reply) == "*Aino, kaupungin asiakaspalvelu*\nAutan mielelläni."
        await console.send(type="typing", conversation=conversation)
        for _ in range(50):
            if any(r.get("typing_indicator") for r in city.fake.reads):
                break
            await asyncio.sleep(0.1)
        assert any(r.get("typing_indicator") == {"type": "text"} for r in city.fake.reads)
        # A day passes; the agent answers: one "a reply is waiting" template, the answer held.
        await city.close_window(wa_id)
        before = len(city.fake.to(wa_id))
        await console.send(type="send", conversation=conversation, text="Lasku on korjattu.")
        await console.send(type="send", conversation=conversation, text="Hyvää päivänjatkoa!")
        nudge = (await city.fake.wait_for(wa_id, before + 1))[-1]
        await asyncio.sleep(0.5)
        assert len(city.fake.to(wa_id)) == before + 1  # one template for both
        assert nudge["type"] == "template" and nudge["template"]["name"] == "citybot_reply_waiting"
        payload = nudge["template"]["components"][0]["parameters"][0]["payload"]
        await city.meta.post(city.meta.template_button(wa_id, "Näytä", payload))
        held = (await city.fake.wait_for(wa_id, before + 3))[-2:]
        assert [body_of(m).split("\n")[-1] for m in held] == ["Lasku on korjattu.", "Hyvää päivänjatkoa!"]
        assert city.fake.violations(wa_id) == []
    finally:
        await console.close()


# -- identity and privacy -------------------------------------------------------------------


async def test_a_wrong_link_code_is_refused_and_a_used_one_works_once(city: City) -> None:
    wa_id, other = number(), number()
    await city.meta.say(wa_id, "/start not-a-real-code-123")
    [refused] = await city.fake.wait_for(wa_id, 1)
    assert body_of(refused) == TEXTS.mydata["link_code_invalid"]["fi"]
    who = f"citizen-wa-{time.time_ns()}"
    await city.linked(who, wa_id, "fi")
    status, code = await city.call("POST", f"/api/v1/citizens/{who}/link-code")
    await city.meta.say(other, code["start_command"])
    await city.meta.say(other, code["start_command"])
    sent = await city.fake.wait_for(other, 2)
    assert [body_of(m) for m in sent] == [TEXTS.mydata["linked"]["fi"], TEXTS.mydata["link_code_invalid"]["fi"]]


async def test_the_number_is_kept_once_never_logged_and_erased_with_the_citizen(
    city: City, stack: Stack, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    wa_id, who = number(), f"citizen-wa-{time.time_ns()}"
    await city.linked(who, wa_id, "fi")
    before = len(city.fake.to(wa_id))
    await city.meta.say(wa_id, "mitkä ovat kirjaston aukioloajat?")
    await city.fake.wait_for(wa_id, before + 1)
    conversation = await city.conversation(wa_id)
    stored = redis_text(stack)
    assert conversation in stored and stored.count(wa_id) == 1  # only in its address key
    assert wa_id not in caplog.text and wa_id not in logs(stack)
    ttl = await city.redis.ttl(keys.address(conversation))
    assert ttl > 300 * 86400  # linked: kept as long as the link (offers must reach it)
    status, exported = await city.call("GET", f"/api/v1/citizens/{who}/export")
    assert status == 200 and [c["address"] for c in exported["conversations"]] == [wa_id]
    status, _ = await city.call("DELETE", f"/api/v1/citizens/{who}")
    assert status == 200
    assert await city.redis.get(keys.address(conversation)) is None
    assert wa_id not in redis_text(stack)


# -- wrong settings, Meta unreachable --------------------------------------------------------


async def _ready(base: str) -> tuple[int, Any]:
    async with aiohttp.ClientSession() as session, session.get(f"{base}/readyz") as response:
        return response.status, await response.json()


async def test_missing_secrets_leave_the_channel_off_and_the_gateway_up(
    stack: Stack, aiohttp_server: ServerFactory
) -> None:
    settings = dataclasses.replace(stack.settings, whatsapp_app_secret="", whatsapp_verify_token="")
    server = await aiohttp_server(create_app(settings, [setup_webchat, setup_whatsapp]))
    base = f"http://127.0.0.1:{server.port}"
    status, body = await _ready(base)
    assert status == 200
    assert body["channels"]["whatsapp"] == "off: CITYBOT_WHATSAPP_APP_SECRET, CITYBOT_WHATSAPP_VERIFY_TOKEN not set"
    meta = Meta(f"{base}/whatsapp/webhook", FakeCloudApi())
    assert await meta.say(number(), "hei") == 503  # Meta delivers it again once the channel is set up
    citizen = Citizen()
    try:
        sid = await citizen.start(base)
        await citizen.say("hei", sid, language="fi")
        [greeting] = await citizen.replies(1)
        assert greeting["text"].startswith(GREETING["fi"])
    finally:
        await citizen.client.disconnect()


async def test_a_broken_templates_file_degrades_the_channel_only(
    stack: Stack, aiohttp_server: ServerFactory, cloud_api: FakeCloudApi, tmp_path: Path
) -> None:
    broken = tmp_path / "templates.yml"
    broken.write_text("languages: {fi: fi}\noffers: {}\n", encoding="utf-8")
    settings = dataclasses.replace(stack.settings, whatsapp_templates=str(broken))
    server = await aiohttp_server(create_app(settings, [setup_whatsapp]))
    base = f"http://127.0.0.1:{server.port}"
    for _ in range(50):
        status, body = await _ready(base)
        if body["channels"]["whatsapp"] != "degraded: checking the Cloud API":
            break
        await asyncio.sleep(0.1)
    assert status == 200 and body["channels"]["whatsapp"] == "degraded: templates file not usable"
    wa_id = number()
    assert await Meta(f"{base}/whatsapp/webhook", cloud_api).say(wa_id, "hei") == 200  # messages still answered
    assert body_of((await cloud_api.wait_for(wa_id, 1))[0]).startswith(GREETING["fi"])


async def test_an_unreachable_cloud_api_degrades_whatsapp_and_it_recovers(
    stack: Stack, aiohttp_server: ServerFactory, monkeypatch: pytest.MonkeyPatch, cloud_api: FakeCloudApi
) -> None:
    monkeypatch.setattr(whatsapp_channel, "START_RETRY_FIRST", 0.2)
    monkeypatch.setattr(whatsapp_channel, "START_RETRY_MAX", 0.5)
    monkeypatch.setattr(whatsapp_channel, "RETRY_FIRST", 1.0)
    port = free_port()  # nothing listens there yet
    settings = dataclasses.replace(stack.settings, whatsapp_api_url=f"http://127.0.0.1:{port}")
    server = await aiohttp_server(create_app(settings, [setup_webchat, setup_whatsapp]))
    base = f"http://127.0.0.1:{server.port}"
    for _ in range(100):  # the check runs in the background at start
        status, body = await _ready(base)
        if body["channels"]["whatsapp"].startswith("degraded"):
            break
        await asyncio.sleep(0.1)
    assert status == 200 and body["channels"]["whatsapp"].startswith("degraded: Cloud API check failed")
    fake = FakeCloudApi()
    wa_id = number()
    assert await Meta(f"{base}/whatsapp/webhook", fake).say(wa_id, "hei") == 200  # taken, the answer kept
    runner = web.AppRunner(fake.app())  # Meta comes back
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    try:
        for _ in range(150):
            status, body = await _ready(base)
            if body["channels"]["whatsapp"] == "ok":
                break
            await asyncio.sleep(0.1)
        assert body["channels"]["whatsapp"] == "ok"
        # The kept answer is sent by the retry job, which any gateway may run (the stack's own
        # gateway sends to the run's fake Cloud API): once, wherever.
        for _ in range(300):
            answers = fake.to(wa_id) + cloud_api.to(wa_id)
            if answers:
                break
            await asyncio.sleep(0.1)
        [greeting] = answers
        assert body_of(greeting).startswith(GREETING["fi"])
    finally:
        await runner.cleanup()


# -- through the running stack ---------------------------------------------------------------


async def test_end_to_end_through_the_stacks_gateway_process(stack: Stack, cloud_api: FakeCloudApi) -> None:
    """The service as `python -m bot run` starts it, WhatsApp configured from the environment."""
    meta = Meta(f"http://127.0.0.1:{stack.settings.gateway_port}/whatsapp/webhook", cloud_api)
    wa_id = number("46")
    assert await meta.say(wa_id, "hej, när har biblioteket öppet?") == 200
    [answer] = await cloud_api.wait_for(wa_id, 1)
    assert "öppet" in body_of(answer).lower()
    async with aiohttp.ClientSession() as session:
        async with session.get(f"http://127.0.0.1:{stack.settings.gateway_port}/readyz") as response:
            assert (await response.json())["channels"]["whatsapp"] == "ok"
        async with session.get(f"http://127.0.0.1:{stack.settings.gateway_port}/metrics") as response:
            assert 'citybot_messages_in_total{channel="whatsapp",language="sv"}' in await response.text()
