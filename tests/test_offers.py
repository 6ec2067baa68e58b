"""Proactive offers, identity and consent against the real bot (docs/offers.md).

A fake back office (an aiohttp server on loopback) receives the callbacks; citizens are web chat
socket.io clients with identity tokens signed by the development key, or Telegram chats on the
fake Bot API linked with link codes.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import hashlib
import hmac
import itertools
import json
import logging
import os
import re
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import aiohttp
import jwt
import pytest
import yaml
from aiohttp import web
from aiohttp.test_utils import TestServer
from redis.asyncio import Redis

from bot.cli.supervisor import Stack
from bot.core.settings import Settings
from bot.gateway.app import create_app
from bot.offers.texts import load_offer_texts
from bot.privacy.identity import development_token
from bot.store import keys
from bot.store.aof import rewrite_in_progress
from bot.store.redis import connect
from bot.systems.registry import add_system
from channels.backoffice import setup_backoffice
from channels.telegram import setup_telegram
from channels.webchat import setup_webchat
from tests.clients import Citizen
from tests.conftest import BACKOFFICE
from tests.conversations.runner import OFFER_DETAILS
from tests.fake_telegram import FakeTelegram, callback_update, message_update

BACKOFFICE_FILE = Path(os.environ["CITYBOT_BACKOFFICE_FILE"])

pytestmark = pytest.mark.integration
ServerFactory = Callable[..., Awaitable[TestServer]]
TOKEN = "123456:OFFERS-TEST"
SECRET = "offers-webhook-secret"
_ids = itertools.count(1)
TEXTS = load_offer_texts()

DETAILS = OFFER_DETAILS  # the offers the conversation scenarios use too


@dataclass
class BackOffice:
    """The city's fake system: the callbacks it got, and whether it is up."""

    secret: str = ""
    down_for: int = 0  # answer 503 to this many callbacks first
    calls: list[dict[str, Any]] = field(default_factory=list)
    refused: int = 0

    async def handle(self, request: web.Request) -> web.Response:
        body = await request.read()
        expected = hmac.new(
            self.secret.encode(),
            f"{request.headers['X-Citybot-Timestamp']}.{request.headers['X-Citybot-Delivery']}.".encode() + body,
            hashlib.sha256,
        ).hexdigest()
        assert request.headers["X-Citybot-Signature"] == f"sha256={expected}"
        if self.down_for > 0:
            self.down_for -= 1
            self.refused += 1
            return web.Response(status=503)
        self.calls.append({**json.loads(body), "delivery": request.headers["X-Citybot-Delivery"]})
        return web.Response(status=204)

    async def statuses(self, offer_id: str, count: int, timeout: float = 15) -> list[str]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            got = [c["status"] for c in self.calls if c["offer_id"] == offer_id]
            if len(got) >= count:
                return got
            await asyncio.sleep(0.1)
        return [c["status"] for c in self.calls if c["offer_id"] == offer_id]


@dataclass
class City:
    """A gateway with web chat, Telegram and the back-office API, and the city's side of it."""

    base: str
    api_token: str
    backoffice: BackOffice
    telegram: FakeTelegram
    settings: Settings
    redis: Redis

    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.api_token}"}

    async def call(self, method: str, path: str, body: Any = None, token: str | None = None) -> tuple[int, Any]:
        headers = {"Authorization": f"Bearer {token or self.api_token}"}
        async with (
            aiohttp.ClientSession() as session,
            session.request(method, f"{self.base}{path}", json=body, headers=headers) as response,
        ):
            return response.status, await response.json()

    async def consent(self, citizen: str, granted: bool = True) -> None:
        status, _ = await self.call("PUT", f"/api/v1/citizens/{citizen}/consent/proactive_offers", {"granted": granted})
        assert status == 200

    def token(self, citizen: str, minutes: int = 60) -> str:
        return development_token(self.settings.identity_keys_file, citizen, self.settings.identity_audience, minutes)

    async def offer(
        self, citizen: str, kind: str = "school_placement", token: str | None = None, **overrides: Any
    ) -> tuple[int, Any]:
        body = {
            "offer_id": f"offer-{next(_ids)}-{time.time_ns()}",
            "citizen_id": citizen,
            "kind": kind,
            "details": DETAILS.get(kind, {"child_name": "Elsa"}),
            "respond_by": (datetime.now(timezone.utc) + timedelta(days=14)).isoformat(),
            "on_silence": "accept",
        }
        body.update(overrides)
        return await self.call("POST", "/api/v1/offers", body, token=token)

    async def telegram_update(self, update: dict[str, Any]) -> None:
        headers = {"X-Telegram-Bot-Api-Secret-Token": SECRET}
        async with (
            aiohttp.ClientSession() as session,
            session.post(f"{self.base}/telegram/webhook", json=update, headers=headers) as response,
        ):
            assert response.status == 200


@contextlib.asynccontextmanager
async def back_office() -> AsyncIterator[BackOffice]:
    """The city's fake system, taking callbacks on the port every gateway of the run knows."""
    back = BackOffice(secret=BACKOFFICE.secret)
    receiver = web.Application()
    receiver.router.add_post("/callbacks", back.handle)
    runner = web.AppRunner(receiver)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", BACKOFFICE.callback_port).start()
    try:
        yield back
    finally:
        await runner.cleanup()


@pytest.fixture
async def city(stack: Stack, aiohttp_server: ServerFactory) -> AsyncIterator[City]:
    async with back_office() as back:
        async for made in _city(stack, aiohttp_server, back):
            yield made


async def _city(stack: Stack, aiohttp_server: ServerFactory, back: BackOffice) -> AsyncIterator[City]:
    token = BACKOFFICE.token
    fake = FakeTelegram(TOKEN)
    api = await aiohttp_server(fake.app())
    settings = dataclasses.replace(
        stack.settings,
        telegram_token=TOKEN,
        telegram_secret=SECRET,
        telegram_api_url=f"http://127.0.0.1:{api.port}",
        callback_base_delay=0.2,
    )
    server = await aiohttp_server(create_app(settings, [setup_webchat, setup_telegram, setup_backoffice]))
    redis = connect(settings.redis)
    yield City(f"http://127.0.0.1:{server.port}", token, back, fake, settings, redis)
    await redis.aclose()


async def signed_in(
    city: City, citizens: Callable[[], Citizen], citizen_id: str, language: str = "fi"
) -> tuple[Citizen, str]:
    """A web chat citizen whose page passed a valid identity token; returns (client, session id)."""
    person = citizens()
    await person.client.connect(city.base, transports=["websocket"], socketio_path="socket.io")
    await person.client.emit(
        "session_request",
        {"session_id": None, "protocol": "citybot", "language": language, "identity_token": city.token(citizen_id)},
    )
    name, confirmed = await person.next()
    assert name == "session_confirm"
    sid, person.secret = confirmed["session_id"], confirmed["resume_secret"]
    [linked] = await person.replies(1)
    assert linked["text"] == TEXTS.mydata["linked"][language]
    await person.say("hei" if language == "fi" else "hej" if language == "sv" else "hello", str(sid), language=language)
    await person.replies(1)  # the conversation's language is now known
    return person, str(sid)


def citizen_id() -> str:
    return f"citizen-{next(_ids)}-{time.time_ns()}"


# -- the whole lifecycle in the chat -------------------------------------------------------------


@pytest.mark.parametrize("kind", ["school_placement", "daycare_placement", "screening_invitation"])
@pytest.mark.parametrize("language", ["fi", "sv", "en"])
async def test_offer_accepted_in_web_chat(city: City, citizens: Any, kind: str, language: str) -> None:
    who = citizen_id()
    person, sid = await signed_in(city, citizens, who, language)
    await city.consent(who)
    status, created = await city.offer(who, kind)
    assert status == 201 and created["status"] == "delivered"
    [message] = await person.replies(1)
    assert message["lang"] == language
    first_detail = next(iter(DETAILS[kind].values()))
    assert first_detail in message["text"] or kind == "screening_invitation"
    offer_id = created["offer_id"]
    assert [q["payload"] for q in message["quick_replies"]] == [
        f"/offer:accept:{offer_id}",
        f"/offer:change:{offer_id}",
        "/request_human",
        f"/offer:why:{offer_id}",
    ]
    await person.say(f"/offer:accept:{offer_id}", sid)
    [done] = await person.replies(1)
    assert done["text"] == TEXTS.kind(kind, "accepted", language, **_shown(kind, language))
    status, offer = await city.call("GET", f"/api/v1/offers/{created['offer_id']}")
    assert offer["status"] == "accepted"
    assert [h["status"] for h in offer["history"]] == ["pending", "delivered", "accepted"]
    assert await city.backoffice.statuses(created["offer_id"], 2) == ["delivered", "accepted"]


def _shown(kind: str, language: str) -> dict[str, str]:
    from bot.offers.texts import format_date

    values = dict(DETAILS[kind])
    # The test stack's clock says 20 December 2026: a school start in August 2027 is not "this
    # autumn" but next year's (issue 12: "starts school this autumn" was sent in December).
    seasons = {
        "2027-08-05": {"fi": "syksyllä 2027", "sv": "hösten 2027", "en": "in autumn 2027"},
        "2027-01-11": {"fi": "tänä talvena", "sv": "i vinter", "en": "this winter"},
    }
    if "start_date" in values:
        values["start_season"] = seasons[values["start_date"]][language]
    for key in ("start_date", "appointment_time"):
        if key in values:
            values[key] = format_date(values[key], language)
    return values


@pytest.mark.parametrize(
    ("language", "yes", "no"),
    [
        ("fi", "kyllä, sopii hyvin", "ei kiitos"),
        ("sv", "ja, det passar bra", "nej tack"),
        ("en", "yes, that works", "no thanks"),
    ],
)
async def test_free_text_answers_accept_and_decline(
    city: City, citizens: Any, language: str, yes: str, no: str
) -> None:
    who = citizen_id()
    person, sid = await signed_in(city, citizens, who, language)
    await city.consent(who)
    _, first = await city.offer(who, "daycare_placement")
    await person.replies(1)
    await person.say(yes, sid)
    [accepted] = await person.replies(1)
    assert accepted["text"] == TEXTS.kind(
        "daycare_placement", "accepted", language, **_shown("daycare_placement", language)
    )
    _, second = await city.offer(who, "screening_invitation")
    await person.replies(1)
    await person.say(no, sid)
    [declined] = await person.replies(1)
    assert declined["text"] == TEXTS.kind(
        "screening_invitation", "declined", language, **_shown("screening_invitation", language)
    )
    assert (await city.call("GET", f"/api/v1/offers/{second['offer_id']}"))[1]["status"] == "declined"


async def test_asking_to_change_collects_the_wish_and_confirms_it(city: City, citizens: Any) -> None:
    who = citizen_id()
    person, sid = await signed_in(city, citizens, who, "fi")
    await city.consent(who)
    _, created = await city.offer(who)
    await person.replies(1)
    await person.say("voisiko paikan vaihtaa", sid)  # request_change in free text
    [question] = await person.replies(1)
    assert question["text"] == TEXTS.kind("school_placement", "change_question", "fi")
    await person.say("Haluaisin Ressun peruskouluun, aloitus 12.8.", sid)
    [confirmed] = await person.replies(1)
    assert "Haluaisin Ressun peruskouluun, aloitus 12.8." in confirmed["text"]
    _, offer = await city.call("GET", f"/api/v1/offers/{created['offer_id']}")
    assert offer["status"] == "change_requested"
    assert offer["change_request"] == "Haluaisin Ressun peruskouluun, aloitus 12.8."
    calls = [c for c in city.backoffice.calls if c["offer_id"] == created["offer_id"]]
    await city.backoffice.statuses(created["offer_id"], 2)
    calls = [c for c in city.backoffice.calls if c["offer_id"] == created["offer_id"]]
    assert calls[-1]["status"] == "change_requested" and calls[-1]["change_request"].startswith("Haluaisin")


async def test_why_did_i_get_this_explains_the_data_and_the_basis(city: City, citizens: Any) -> None:
    who = citizen_id()
    person, sid = await signed_in(city, citizens, who, "en")
    await city.consent(who)
    await city.offer(who, "screening_invitation")
    await person.replies(1)
    await person.say("/offer_why", sid)
    [why] = await person.replies(1)
    today = datetime.now().date()
    assert why["text"] == TEXTS.kind(
        "screening_invitation",
        "why",
        "en",
        consent_date=f"{today.day}.{today.month}.{today.year}",
        consent_channel=TEXTS.say("channel_backoffice", "en"),
    )


# -- Telegram -----------------------------------------------------------------------------------------


async def telegram_citizen(city: City, who: str, language: str) -> int:
    """A Telegram chat linked to ``who`` with a link code from the back office; returns the chat id."""
    status, code = await city.call("POST", f"/api/v1/citizens/{who}/link-code")
    assert status == 201 and code["start_command"].startswith("/start ")
    chat = 880000 + next(_ids)
    await city.telegram_update(message_update(next(_ids) + 50000, chat, code["start_command"], language=language))
    assert city.telegram.sent()[-1]["text"] == TEXTS.mydata["linked"][language]
    await city.telegram_update(message_update(next(_ids) + 50000, chat, code["start_command"], language=language))
    assert city.telegram.sent()[-1]["text"] == TEXTS.mydata["link_code_invalid"][language]  # one use only
    return chat


@pytest.mark.parametrize(
    ("kind", "language", "answer"),
    [
        ("school_placement", "fi", "accept"),
        ("school_placement", "sv", "change"),
        ("school_placement", "en", "decline"),
        ("daycare_placement", "fi", "decline"),
        ("daycare_placement", "sv", "accept"),
        ("daycare_placement", "en", "change"),
        ("screening_invitation", "fi", "change"),
        ("screening_invitation", "sv", "decline"),
        ("screening_invitation", "en", "accept"),
    ],
)
async def test_offer_through_telegram_with_a_link_code(city: City, kind: str, language: str, answer: str) -> None:
    who = citizen_id()
    chat = await telegram_citizen(city, who, language)
    await city.consent(who)
    status, created = await city.offer(who, kind)
    assert created["status"] == "delivered"
    sent = city.telegram.sent()[-1]
    assert int(sent["chat_id"]) == chat
    assert sent["text"].startswith(TEXTS.kind(kind, "message", language, **_shown(kind, language)))
    buttons = [row[0]["callback_data"] for row in sent["reply_markup"]["inline_keyboard"]]
    press = {"accept": buttons[0], "change": buttons[1]}.get(answer)
    if press:
        await city.telegram_update(callback_update(next(_ids) + 50000, chat, press, language=language))
    else:
        no = {"fi": "ei kiitos", "sv": "nej tack", "en": "no thanks"}[language]
        await city.telegram_update(message_update(next(_ids) + 50000, chat, no, language=language))
    if answer == "change":
        assert city.telegram.sent()[-1]["text"] == TEXTS.kind(kind, "change_question", language)
        await city.telegram_update(message_update(next(_ids) + 50000, chat, "next week please", language=language))
        assert "next week please" in city.telegram.sent()[-1]["text"]
    expected = {"accept": "accepted", "decline": "declined", "change": "change_requested"}[answer]
    if answer != "change":
        assert city.telegram.sent()[-1]["text"] == TEXTS.kind(kind, expected, language, **_shown(kind, language))
    assert (await city.call("GET", f"/api/v1/offers/{created['offer_id']}"))[1]["status"] == expected


async def test_silent_default_through_telegram(city: City) -> None:
    who = citizen_id()
    chat = await telegram_citizen(city, who, "en")
    await city.consent(who)
    soon = (datetime.now(timezone.utc) + timedelta(seconds=2)).isoformat()
    _, created = await city.offer(who, "daycare_placement", respond_by=soon, on_silence="accept")
    assert int(city.telegram.sent()[-1]["chat_id"]) == chat
    assert await city.backoffice.statuses(created["offer_id"], 2) == ["delivered", "accepted"]
    await city.telegram_update(message_update(next(_ids) + 50000, chat, "yes", language="en"))
    assert city.telegram.sent()[-1]["text"] == TEXTS.say("no_open_offer", "en")  # decided: nothing open


# -- silence, idempotence, restarts -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("on_silence", "outcome"), [("accept", "accepted"), ("decline", "declined"), ("none", "expired")]
)
async def test_silence_after_respond_by_applies_the_default(
    city: City, citizens: Any, on_silence: str, outcome: str
) -> None:
    who = citizen_id()
    person, _ = await signed_in(city, citizens, who, "fi")
    await city.consent(who)
    soon = (datetime.now(timezone.utc) + timedelta(seconds=2)).isoformat()
    _, created = await city.offer(who, respond_by=soon, on_silence=on_silence)
    assert await city.backoffice.statuses(created["offer_id"], 2) == ["delivered", outcome]
    _, offer = await city.call("GET", f"/api/v1/offers/{created['offer_id']}")
    assert offer["history"][-1]["cause"] == f"no answer by respond_by (on_silence={on_silence})"


async def test_creating_the_same_offer_twice_is_safe(city: City, citizens: Any) -> None:
    who = citizen_id()
    person, _ = await signed_in(city, citizens, who, "fi")
    await city.consent(who)
    body_id = f"same-{time.time_ns()}"
    respond_by = (datetime.now(timezone.utc) + timedelta(days=10)).isoformat()
    first_status, first = await city.offer(who, offer_id=body_id, respond_by=respond_by)
    again_status, again = await city.offer(who, offer_id=body_id, respond_by=respond_by)
    assert (first_status, again_status) == (201, 200) and again["status"] == first["status"] == "delivered"
    await person.replies(1)
    assert await person.silent(1.0), "the citizen gets the offer once"
    conflict_status, conflict = await city.offer(who, offer_id=body_id, respond_by=respond_by, on_silence="none")
    assert conflict_status == 409 and conflict["error"]["code"] == "conflict"


# -- who gets what -------------------------------------------------------------------------------------


async def test_unlinked_or_opted_out_citizen_is_undeliverable_and_gets_nothing(city: City, citizens: Any) -> None:
    nobody = citizen_id()
    _, offer = await city.offer(nobody)
    assert offer["status"] == "undeliverable"
    assert offer["history"][-1]["cause"] == "no linked chat channel"

    who = citizen_id()
    person, sid = await signed_in(city, citizens, who, "fi")
    _, offer = await city.offer(who)  # linked, but never consented
    assert offer["status"] == "undeliverable" and offer["history"][-1]["cause"] == "no consent to proactive offers"
    assert await person.silent(1.0), "nothing personal is sent without consent"

    await person.say("haluan saada ehdotuksia", sid)  # opt in from the chat
    [opted_in] = await person.replies(1)
    assert opted_in["text"] == TEXTS.mydata["opted_in"]["fi"]
    _, offer = await city.offer(who)
    assert offer["status"] == "delivered"
    await person.replies(1)
    await person.say("en halua enää ehdotuksia", sid)  # and out again
    [opted_out] = await person.replies(1)
    assert opted_out["text"] == TEXTS.mydata["opted_out"]["fi"]
    _, offer = await city.offer(who)
    assert offer["status"] == "undeliverable"
    assert await person.silent(1.0)
    _, export = await city.call("GET", f"/api/v1/citizens/{who}/export")
    assert [(h["granted"], h["channel"]) for h in export["consent"]["history"]] == [
        (True, "webchat"),
        (False, "webchat"),
    ]


async def test_forged_or_expired_identity_tokens_are_refused(city: City, citizens: Any) -> None:
    who = citizen_id()
    forged = jwt.encode(
        {"sub": who, "aud": city.settings.identity_audience, "exp": int(time.time()) + 600},
        "not-the-city-key-not-the-city-key-not-the-city-key",
        algorithm="HS256",
        headers={"kid": "dev"},
    )
    expired = city.token(who, minutes=-5)
    for token in (forged, expired, "garbage"):
        person = citizens()
        await person.client.connect(city.base, transports=["websocket"], socketio_path="socket.io")
        await person.client.emit("session_request", {"protocol": "citybot", "identity_token": token})
        name, confirmed = await person.next()
        assert name == "session_confirm"
        sid = confirmed["session_id"]
        name, refused = await person.next()
        assert name == "chat_error" and refused["code"] == "identity_rejected"
        await person.say("mitä tietoja teillä on minusta", str(sid), language="fi")
        [anonymous] = await person.replies(1)
        assert anonymous["text"] == TEXTS.data("anonymous_my_data", "fi", retention_days=city.settings.transcript_days)
    await city.consent(who)
    _, offer = await city.offer(who)
    assert offer["status"] == "undeliverable"


async def test_delete_my_data_removes_the_chat_history_but_keeps_offers(city: City, citizens: Any) -> None:
    who = citizen_id()
    person, sid = await signed_in(city, citizens, who, "fi")
    await city.consent(who)
    _, created = await city.offer(who)
    await person.replies(1)
    conversation = f"webchat:{sid}"
    assert await city.redis.exists(keys.tracker(conversation), keys.transcript(conversation)) == 2
    await person.say("poista tietoni", sid)
    [question] = await person.replies(1)
    assert question["text"] == TEXTS.mydata["delete_question"]["fi"]
    await person.say(question["quick_replies"][0]["payload"], sid)  # "Kyllä, poista", bound to this question
    [deleted] = await person.replies(1)
    assert deleted["text"] == TEXTS.mydata["deleted"]["fi"]
    assert await city.redis.exists(keys.tracker(conversation), keys.transcript(conversation)) == 0
    status, offer = await city.call("GET", f"/api/v1/offers/{created['offer_id']}")
    assert status == 200 and offer["status"] == "delivered"  # a city record: kept
    _, export = await city.call("GET", f"/api/v1/citizens/{who}/export")
    assert export["conversations"] == [] and len(export["offers"]) == 1


async def test_callbacks_are_retried_until_the_back_office_answers(city: City, citizens: Any) -> None:
    city.backoffice.down_for = 3
    who = citizen_id()
    await signed_in(city, citizens, who, "fi")
    await city.consent(who)
    _, created = await city.offer(who)
    assert await city.backoffice.statuses(created["offer_id"], 1, timeout=20) == ["delivered"]
    assert city.backoffice.refused == 3


def documented(schema: str, body: Any) -> None:
    """``body`` is valid against ``schema`` of the back-office API's OpenAPI document."""
    import jsonschema

    document = yaml.safe_load((Path(__file__).parents[1] / "channels/backoffice/openapi.yml").read_text("utf-8"))
    validator = jsonschema.Draft202012Validator(
        {"$ref": f"#/components/schemas/{schema}", "components": document["components"]},
        format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER,
    )
    validator.validate(body)


async def test_export_and_erasure_through_the_api(city: City, citizens: Any) -> None:
    who = citizen_id()
    person, sid = await signed_in(city, citizens, who, "sv")
    marker = f"zebra{uuid.uuid4().hex[:8]}"  # what the citizen wrote, to look for in the AOF
    await person.say("min e-post är kim.export@example.fi", sid)
    await person.replies(1)
    await city.redis.set(keys.AOF_REWRITTEN, "1", ex=600)  # no daily rewrite during this test
    await person.say(f"{marker} var finns biblioteket?", sid)
    await person.replies(1)
    await city.consent(who)
    await city.offer(who)
    await person.replies(1)
    status, export = await city.call("GET", f"/api/v1/citizens/{who}/export")
    assert status == 200 and export["citizen_id"] == who
    assert export["conversations"][0]["conversation"] == f"webchat:{sid}"
    assert any("Elsa" in e["text"] for e in export["conversations"][0]["transcript"])
    # Issue 14: every time in one form, ISO 8601 with Helsinki's offset (consents were Unix
    # floats, offers in the server's zone).
    times = [export["exported_at"], *(h["at"] for h in export["consent"]["history"])]
    times += [state["at"] for state in export["consent"]["current"].values()]
    for offer in export["offers"]:
        times += [offer["respond_by"], offer["created_at"], offer["updated_at"], *(h["at"] for h in offer["history"])]
    conversation = export["conversations"][0]
    times += [conversation["record"]["first_seen"], conversation["record"]["last_seen"]]
    times += [conversation["link"]["linked_at"], *(e["at"] for e in conversation["transcript"])]
    # Issue 14: the values masked in the chat are the citizen's data too: in the export.
    [masked] = export["conversations"][0]["masked_values"].values()
    assert masked == [{"kind": "email", "value": "kim.export@example.fi"}]
    # Who has seen or changed the data (the audit log), and how long each kind is kept.
    actions = [(a["actor"], a["action"]) for a in export["accesses"]]
    assert ("system", "consent_changed") in actions and actions[-1] == ("system", "exported")
    assert export["retention_days"] == {
        "chat": 30,
        "links": 365,
        "offers": 730,
        "consents": 1095,
        "audit_log": 730,
        "masked_values": 7,
    }
    times += [a["at"] for a in export["accesses"]]
    assert len(times) >= 10
    for value in times:
        assert isinstance(value, str) and re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+0[23]:00", value), value
    documented("Export", export)  # as the OpenAPI document says
    status, erased = await city.call("DELETE", f"/api/v1/citizens/{who}")
    documented("Erasure", erased)
    assert status == 200 and erased["deleted_conversations"] == 1
    assert await city.redis.exists(keys.transcript(f"webchat:{sid}")) == 0
    _, after = await city.call("GET", f"/api/v1/citizens/{who}/export")
    assert after["conversations"] == [] and len(after["offers"]) == 1 and after["consent"]["history"]
    assert [a["action"] for a in after["accesses"]][-2:] == ["erased", "exported"]  # the record stays
    # Issue 14: erased means gone from Redis's append-only file too (it kept every write until
    # Redis rewrote it, which it does when the file has doubled): the erasure asks for a rewrite.
    aof = city.settings.data_dir / "redis" / "appendonly.aof"
    for _ in range(100):
        if not await rewrite_in_progress(city.redis) and marker.encode() not in aof.read_bytes():
            break
        await asyncio.sleep(0.1)
    assert marker.encode() not in aof.read_bytes() and oct(aof.stat().st_mode & 0o777) == "0o600"


# -- bad input to the API -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("change", "status", "code"),
    [
        ({"kind": "parking_permit"}, 400, "unknown_kind"),
        ({"details": {"child_name": "Elsa"}}, 400, "bad_details"),
        ({"respond_by": "next week"}, 400, "bad_respond_by"),
        ({"respond_by": "2027-05-31T16:00:00"}, 400, "bad_respond_by"),
        ({"respond_by": "2020-05-31T16:00:00+03:00"}, 400, "bad_respond_by"),
        ({"on_silence": "maybe"}, 400, "bad_on_silence"),
        ({"offer_id": "bad id with spaces"}, 400, "bad_offer_id"),
        ({"citizen_id": None}, 400, "bad_citizen_id"),
    ],
)
async def test_bad_offers_are_refused_and_change_nothing(
    city: City, change: dict[str, Any], status: int, code: str
) -> None:
    who = citizen_id()
    got, body = await city.offer(who, **change)
    assert (got, body["error"]["code"]) == (status, code)
    _, offers = await city.call("GET", f"/api/v1/citizens/{who}/offers")
    assert offers == {"offers": []}


async def test_missing_field_wrong_token_oversized_and_malformed_bodies(city: City) -> None:
    async with aiohttp.ClientSession() as session:
        url = f"{city.base}/api/v1/offers"
        async with session.post(url, json={"offer_id": "x"}, headers=city.headers()) as r:
            assert r.status == 400 and (await r.json())["error"]["code"] == "missing_field"
        async with session.post(url, json={}, headers={"Authorization": "Bearer wrong"}) as r:
            assert r.status == 401
        async with session.post(url, json={}) as r:
            assert r.status == 401
        async with session.post(
            url, data=b"{not json", headers={**city.headers(), "Content-Type": "application/json"}
        ) as r:
            assert r.status == 400 and (await r.json())["error"]["code"] == "malformed"
        big = {"offer_id": "big", "details": {"x": "y" * 100_000}}
        async with session.post(url, json=big, headers=city.headers()) as r:
            assert r.status == 413
        async with session.get(f"{city.base}/api/v1/offers/nope", headers=city.headers()) as r:
            assert r.status == 404
        async with session.get(f"{city.base}/api/v1/openapi.json") as r:
            document = await r.json()
            assert r.status == 200 and "/api/v1/offers" in document["paths"]


async def test_my_data_shows_consent_and_offers_and_unlinking_stops_personal_messages(
    city: City, citizens: Any
) -> None:
    who = citizen_id()
    person, sid = await signed_in(city, citizens, who, "en")
    await city.consent(who)
    await city.offer(who, "school_placement")
    await person.replies(1)
    await person.say("what data do you have about me?", sid)
    why, shown = await person.replies(2)  # the offer in view is explained first, then everything
    assert why["text"].startswith("Under the Basic Education Act")
    assert TEXTS.kind("school_placement", "title", "en") in shown["text"]
    today = datetime.now().date()
    consent = TEXTS.data(
        "consent_on",
        "en",
        date=f"{today.day}.{today.month}.{today.year}",
        channel=TEXTS.say("channel_backoffice", "en"),
    )
    assert consent in shown["text"]
    assert [q["payload"] for q in shown["quick_replies"]] == ["/opt_out_offers", "/mydata_unlink"]
    await person.say("/mydata_unlink", sid)
    [sure] = await person.replies(1)
    assert sure["text"] == TEXTS.mydata["unlink_question"]["en"]
    await person.say(sure["quick_replies"][0]["payload"], sid)
    [unlinked] = await person.replies(1)
    assert unlinked["text"] == TEXTS.mydata["unlinked"]["en"]
    _, offer = await city.offer(who, "daycare_placement")
    assert offer["status"] == "undeliverable" and offer["history"][-1]["cause"] == "no linked chat channel"
    assert await person.silent(1.0)


async def test_a_stopped_telegram_chat_gets_no_offers(city: City) -> None:
    who = citizen_id()
    chat = await telegram_citizen(city, who, "fi")
    await city.consent(who)
    await city.telegram_update(message_update(next(_ids) + 50000, chat, "/stop", language="fi"))
    sent_before = len(city.telegram.sent())
    _, offer = await city.offer(who)
    assert offer["status"] == "undeliverable"
    assert len(city.telegram.sent()) == sent_before


@pytest.mark.parametrize(
    ("language", "ask", "stop", "allow"),
    [
        ("sv", "vilka uppgifter har ni om mig?", "jag vill inte ha fler förslag", "jag vill få förslag från staden"),
        ("fi", "mitä tietoja teillä on minusta?", "en halua enää ehdotuksia", "haluan saada ehdotuksia"),
        ("en", "what data do you have about me?", "stop sending me offers", "I want to receive offers"),
    ],
)
async def test_my_data_requests_in_every_language(
    city: City, citizens: Any, language: str, ask: str, stop: str, allow: str
) -> None:
    who = citizen_id()
    person, sid = await signed_in(city, citizens, who, language)
    await person.say(ask, sid)
    [shown] = await person.replies(1)
    assert TEXTS.data("consent_off", language) in shown["text"] and shown["lang"] == language
    await person.say(allow, sid)
    assert (await person.replies(1))[0]["text"] == TEXTS.mydata["opted_in"][language]
    await person.say(stop, sid)
    assert (await person.replies(1))[0]["text"] == TEXTS.mydata["opted_out"][language]
    await person.say(stop, sid)
    assert (await person.replies(1))[0]["text"] == TEXTS.mydata["already_out"][language]


# -- security, finding 1: a conversation belongs to its citizen ------------------------------------


async def test_f1_a_signed_in_session_is_resumed_only_with_its_sign_in(city: City, citizens: Any) -> None:
    """Before: a session id alone resumed a signed-in conversation, so the next person on the same
    browser (a library computer) or anyone who had the id got the citizen's offers and data."""
    who = citizen_id()
    owner, sid = await signed_in(city, citizens, who)
    secret = owner.secret
    await city.consent(who)
    await owner.client.disconnect()  # the citizen leaves; the browser keeps the id and the secret
    _, created = await city.offer(who)
    assert created["status"] == "delivered"  # kept for the citizen's page, which is closed

    for attempt in ({"secret": secret}, {"secret": None}, {"secret": "wrong-secret-wrong-secret-wrong"}):
        stranger = citizens()  # the same browser without the sign-in, or someone who knows the id
        other_sid = await stranger.start(city.base, session_id=sid, **attempt)
        assert other_sid != sid
        assert await stranger.silent(1.0)  # the kept offer is not delivered to them
        await stranger.say("mitä tietoja teillä on minusta", other_sid, language="fi")
        [anonymous] = await stranger.replies(1)
        assert anonymous["text"] == TEXTS.data("anonymous_my_data", "fi", retention_days=city.settings.transcript_days)
        await stranger.say("/affirm", other_sid)
        [no_offer] = await stranger.replies(1)
        assert no_offer["text"] == TEXTS.say("acknowledged", "fi")  # they were never sent an offer
    status, offer = await city.call("GET", f"/api/v1/offers/{created['offer_id']}")
    assert offer["status"] == "delivered"  # nobody else could answer it

    back = citizens()  # the citizen, signed in again
    assert await back.start(city.base, session_id=sid, secret=secret, identity_token=city.token(who)) == sid
    [kept] = await back.replies(1)
    assert DETAILS["school_placement"]["child_name"] in kept["text"]


async def test_f1_a_signed_in_session_without_a_token_starts_anonymous(city: City, citizens: Any) -> None:
    who = citizen_id()
    owner, sid = await signed_in(city, citizens, who)
    await owner.client.disconnect()
    other = citizens()
    new_sid = await other.start(
        city.base, session_id=sid, secret=owner.secret, identity_token=city.token("someone-else")
    )
    assert new_sid != sid  # another citizen's token does not open this citizen's conversation


# -- security, finding 8: personal messages only in private Telegram chats --------------------------


async def test_f8_a_group_chat_cannot_be_linked_and_gets_no_offer(city: City) -> None:
    """Before: ``/start <code>`` in a group linked the group, and an invitation was posted there."""
    who = citizen_id()
    status, code = await city.call("POST", f"/api/v1/citizens/{who}/link-code")
    group = -(990000 + next(_ids))
    update = message_update(next(_ids) + 50000, group, code["start_command"], language="en", chat_type="group")
    await city.telegram_update(update)
    assert city.telegram.sent()[-1]["text"].startswith("Your account can only be linked to a private chat")
    await city.consent(who)
    _, offer = await city.offer(who, "screening_invitation")
    assert offer["status"] == "undeliverable"
    assert all(int(m["chat_id"]) != group or "linked to a private chat" in m["text"] for m in city.telegram.sent())
    # The code was not used up by the group: the citizen can still link their own private chat.
    private = 880000 + next(_ids)
    await city.telegram_update(message_update(next(_ids) + 50000, private, code["start_command"], language="en"))
    assert city.telegram.sent()[-1]["text"] == TEXTS.mydata["linked"]["en"]


# -- security, finding 6: bad input is refused at the edge, and nothing is stored half-done ----------


async def raw_post(city: City, path: str, body: bytes, headers: dict[str, str]) -> tuple[int, Any]:
    async with aiohttp.ClientSession() as session, session.post(f"{city.base}{path}", data=body, headers=headers) as r:
        return r.status, await r.json()


@pytest.mark.parametrize(
    "body",
    [
        b"[" * 5000 + b"]" * 5000,  # nested deeper than any parser should follow
        b'{"offer_id": "x", "n": ' + b"9" * 5000 + b"}",  # a number too long to convert
        b'{"offer_id": "bad-\\ud800-text"}',  # a lone surrogate
    ],
)
async def test_f6_hostile_json_is_400_on_the_api_and_the_webhook(city: City, body: bytes) -> None:
    """Before: deeply nested JSON and a 5,000-digit integer gave 500 on both."""
    api = {"Authorization": f"Bearer {city.api_token}", "Content-Type": "application/json"}
    status, answer = await raw_post(city, "/api/v1/offers", body, api)
    assert status == 400 and answer["error"]["code"] in ("malformed", "bad_text")
    telegram = {"X-Telegram-Bot-Api-Secret-Token": SECRET, "Content-Type": "application/json"}
    status, answer = await raw_post(city, "/telegram/webhook", body, telegram)
    assert status == 400


async def test_f6_a_respond_by_in_year_9999_is_refused_and_nothing_is_stored(city: City) -> None:
    """Before: 500 after the offer was stored, which then stayed pending for good."""
    who = citizen_id()
    status, answer = await city.offer(who, respond_by="9999-12-31T23:59:59+00:00", offer_id="far-future-offer")
    assert status == 400 and answer["error"]["code"] == "bad_respond_by"
    status, _ = await city.call("GET", "/api/v1/offers/far-future-offer")
    assert status == 404
    status, listed = await city.call("GET", f"/api/v1/citizens/{who}/offers")
    assert listed["offers"] == []


async def test_f6_a_lone_surrogate_gets_a_clear_error_in_web_chat_and_an_answer_on_telegram(
    city: City, citizens: Any
) -> None:
    """Before: the Redis write failed, so the reply was dropped in web chat and Telegram answered
    200 with nothing."""
    person = citizens()
    sid = await person.start(city.base)
    await person.say("hei \ud800", sid)
    name, error = await person.next()
    assert (name, error["code"]) == ("chat_error", "bad_text")
    await person.say("hei", sid)  # the conversation goes on
    [greeting] = await person.replies(1)
    assert greeting["text"]
    chat = 880000 + next(_ids)
    before = len(city.telegram.sent())
    await city.telegram_update(message_update(next(_ids) + 50000, chat, "moi \ud800"))  # 200
    assert [m for m in city.telegram.sent()[before:] if int(m["chat_id"]) == chat]  # answered


# -- security, finding 2: a calling system sees only its own citizens, within its scopes ------------


async def test_f2_a_system_is_confined_to_its_scopes_and_its_own_citizens(
    city: City, caplog: pytest.LogCaptureFixture
) -> None:
    """Before: with system B's token, reading offers, export, erasure, consent and link codes all
    worked on citizens of system A's offers; B could then link a chat and receive A's next offer."""
    suffix = next(_ids)
    plain_token, _ = add_system(  # offers only, of one kind, for its own citizens
        BACKOFFICE_FILE, f"daycare_office_{suffix}", offer_kinds=("daycare_placement",)
    )
    broad_token, _ = add_system(  # consent and link codes too, but still its own citizens only
        BACKOFFICE_FILE,
        f"clinic_{suffix}",
        scopes=("offers:create", "offers:read", "consent:write", "link_codes:create"),
    )
    theirs = citizen_id()  # a citizen of school_office's offers
    await city.consent(theirs)
    _, offer = await city.offer(theirs)
    paths = [
        ("GET", f"/api/v1/citizens/{theirs}/offers", None),
        ("GET", f"/api/v1/citizens/{theirs}/export", None),
        ("DELETE", f"/api/v1/citizens/{theirs}", None),
        ("PUT", f"/api/v1/citizens/{theirs}/consent/proactive_offers", {"granted": False}),
        ("POST", f"/api/v1/citizens/{theirs}/link-code", None),
    ]
    caplog.set_level(logging.WARNING, logger="channels.backoffice.server")
    for token in (plain_token, broad_token):
        for method, path, body in paths:
            status, answer = await city.call(method, path, body, token=token)
            assert status == 403, (method, path)
            assert answer["error"]["code"] in ("forbidden_scope", "not_your_citizen")
        status, _ = await city.call("GET", f"/api/v1/offers/{offer['offer_id']}", token=token)
        assert status == 404
    assert (await city.call("GET", f"/api/v1/offers/{offer['offer_id']}"))[1]["status"] == offer["status"]
    status, answer = await city.offer(theirs, "screening_invitation", token=plain_token)
    assert status == 403 and answer["error"]["code"] == "kind_not_allowed"
    refusals = [r.getMessage() for r in caplog.records if "refused" in r.getMessage()]
    assert refusals and all(theirs not in line for line in refusals)  # logged without the citizen

    own = citizen_id()  # the daycare office's own citizen: it may read its own offers
    status, _ = await city.offer(own, "daycare_placement", token=plain_token)
    assert status == 201
    status, listed = await city.call("GET", f"/api/v1/citizens/{own}/offers", token=plain_token)
    assert status == 200 and [o["kind"] for o in listed["offers"]] == ["daycare_placement"]


# Keys without an expiry by design: configuration and counters of the service itself, bounded
# streams and sets of ids whose members are removed when done (docs/privacy.md).
PERMANENT = {"citybot:agents", "citybot:agent", "citybot:queue", "citybot:jobs", "citybot:handoff", "citybot:process"}
PERMANENT |= {"citybot:audit"}  # the whole audit log's stream, trimmed by time on every append


async def test_every_key_a_conversation_leaves_expires(city: City, citizens: Any) -> None:
    """Issue 14, item 2: retention that deletes. Before: Rasa's trackers (every message) had no
    expiry, nor the conversation records, links, consents or offers."""
    who = citizen_id()
    person, sid = await signed_in(city, citizens, who, "fi")
    await city.consent(who)
    _, created = await city.offer(who)
    await person.replies(1)
    await person.say("kyllä kiitos", sid)
    await person.replies(1)
    await person.say("haluan puhua ihmiselle", sid)
    await person.replies(2)
    lasting: dict[str, list[str]] = {}
    days = {"conv": 30, "log": 30, "tracker": 30, "case": 30, "offer": 730, "citizen": 730, "consent": 1095}
    days |= {"link": 365, "links": 365}
    checked = set()
    async for key in city.redis.scan_iter(count=1000):
        ttl = await city.redis.ttl(key)
        family = key.split(":")[1]
        if ttl == -1:
            lasting.setdefault(f"citybot:{family}", []).append(key)
        elif family in days and any(mine in key for mine in (who, sid, created["offer_id"])):
            assert days[family] * 86400 - 3600 < ttl <= days[family] * 86400, (key, ttl)  # the configured retention
            checked.add(family)
    assert not set(lasting) - PERMANENT, {f: lasting[f][:2] for f in set(lasting) - PERMANENT}
    assert checked >= {"conv", "log", "tracker", "case", "offer", "citizen", "consent", "link", "links"}
