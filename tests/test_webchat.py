"""The web chat's socket.io server against the real bot: protocol, resume, bad input, health."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import socket
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from bot.cli.supervisor import Stack, free_port
from bot.conversation.rasa_client import BotUnavailableError, RasaClient
from bot.core.envelope import Inbound
from bot.core.settings import RedisAddress
from bot.gateway.app import create_app
from channels.webchat import setup_webchat
from tests.clients import Citizen

pytestmark = pytest.mark.integration
ServerFactory = Callable[..., Awaitable[TestServer]]


@pytest.fixture
async def gateway(stack: Stack, aiohttp_server: ServerFactory) -> AsyncIterator[str]:
    settings = dataclasses.replace(stack.settings, max_messages_per_minute=6, max_message_chars=200)
    server = await aiohttp_server(create_app(settings, [setup_webchat]))
    yield f"http://127.0.0.1:{server.port}"


@pytest.fixture
async def citizen() -> AsyncIterator[Citizen]:
    person = Citizen()
    yield person
    if person.client.connected:
        await person.client.disconnect()


async def fake_bot(
    aiohttp_server: ServerFactory, webhook: Callable[[web.Request], Awaitable[web.StreamResponse]]
) -> str:
    """A stand-in for Rasa's channel on loopback, whose ``webhook`` answers messages; its base URL."""

    async def health(_: web.Request) -> web.Response:
        return web.json_response({"status": "ok"})

    app = web.Application()
    app.router.add_post("/webhooks/citybot/webhook", webhook)
    app.router.add_get("/webhooks/citybot/", health)
    server = await aiohttp_server(app)
    return f"http://127.0.0.1:{server.port}"


HEI = Inbound(channel="webchat", user_id="u", message_id="m", text="hei")


@contextlib.asynccontextmanager
async def bot_client(
    aiohttp_server: ServerFactory, webhook: Callable[[web.Request], Awaitable[web.StreamResponse]], timeout: float = 5
) -> AsyncIterator[RasaClient]:
    """The gateway's client for a fake Rasa channel whose ``webhook`` answers."""
    base = await fake_bot(aiohttp_server, webhook)
    async with aiohttp.ClientSession() as session:
        yield RasaClient(session, base, "token", timeout=timeout)


async def test_session_and_message_round_trip(gateway: str, citizen: Citizen) -> None:
    session_id = await citizen.start(gateway)
    assert len(session_id) == 32
    await citizen.client.emit(
        "user_uttered", {"message": "hej", "session_id": session_id, "customData": {"language": "sv"}}
    )
    name, reply = await citizen.next()
    assert name == "bot_uttered"
    assert reply["text"].startswith("Hej! Jag är") and reply["lang"] == "sv"


async def test_buttons_are_quick_replies_and_links_are_listed(gateway: str, citizen: Citizen) -> None:
    session_id = await citizen.start(gateway)
    await citizen.client.emit("user_uttered", {"message": "what can you do?", "session_id": session_id})
    _, reply = await citizen.next()
    assert reply["quick_replies"][0] == {"content_type": "text", "title": "Library card", "payload": "/faq_library"}
    await citizen.client.emit("user_uttered", {"message": "/faq_library", "session_id": session_id})
    _, answer = await citizen.next()
    # Issue 16: the link is titled and not a raw line in the text.
    assert answer["links"] == [{"title": "Helmet online library", "url": "https://helmet.finna.fi/?lng=en-gb"}]
    assert "https://" not in answer["text"]


async def test_plain_rasa_clients_get_exactly_rasas_reply_shape(gateway: str, citizen: Citizen) -> None:
    session_id = await citizen.start(gateway, protocol=None)
    await citizen.client.emit("user_uttered", {"message": "what can you do?", "session_id": session_id})
    _, with_buttons = await citizen.next()
    assert set(with_buttons) == {"text", "quick_replies"}
    await citizen.client.emit("user_uttered", {"message": "thanks", "session_id": session_id})
    _, plain = await citizen.next()
    assert set(plain) == {"text"}


async def test_a_reload_resumes_the_same_conversation(gateway: str) -> None:
    first = Citizen()
    session_id = await first.start(gateway)
    await first.client.emit("user_uttered", {"message": "in English please", "session_id": session_id})
    await first.next()
    await first.client.disconnect()
    second = Citizen()
    try:
        assert await second.start(gateway, session_id, secret=first.secret) == session_id
        await second.client.emit("user_uttered", {"message": "moi", "session_id": session_id})
        _, reply = await second.next()
        assert reply["lang"] == "en"  # the explicit choice made before the reload still holds
    finally:
        await second.client.disconnect()


@pytest.mark.parametrize(
    ("payload", "code"),
    [
        ("just a string", "malformed"),
        ({"message": ""}, "empty"),
        ({"message": "x" * 201}, "too_long"),
        ({"message": "hei", "customData": "nope"}, "malformed"),
        ({"message": "hei", "session_id": "someone-elses-session"}, "no_session"),
    ],
)
async def test_bad_input_gets_a_clear_error_and_the_chat_goes_on(
    gateway: str, citizen: Citizen, payload: Any, code: str
) -> None:
    session_id = await citizen.start(gateway)
    await citizen.client.emit("user_uttered", payload)
    name, error = await citizen.next()
    assert (name, error["code"]) == ("chat_error", code)
    await citizen.client.emit("user_uttered", {"message": "hello", "session_id": session_id})
    name, reply = await citizen.next()
    assert name == "bot_uttered" and reply["text"]


async def test_message_before_session_is_refused(gateway: str, citizen: Citizen) -> None:
    await citizen.client.connect(gateway, transports=["websocket"])
    await citizen.client.emit("user_uttered", {"message": "hei"})
    name, error = await citizen.next()
    assert (name, error["code"]) == ("chat_error", "no_session")


async def test_flood_is_limited(gateway: str, citizen: Citizen) -> None:
    session_id = await citizen.start(gateway)
    for _ in range(7):
        await citizen.client.emit("user_uttered", {"message": "hello", "session_id": session_id})
    events = [await citizen.next() for _ in range(7)]
    assert [name for name, _ in events].count("chat_error") == 1
    assert [data["code"] for name, data in events if name == "chat_error"] == ["rate_limited"]
    other = Citizen()  # another conversation is unaffected
    try:
        other_id = await other.start(gateway)
        await other.client.emit("user_uttered", {"message": "hello", "session_id": other_id})
        assert (await other.next())[0] == "bot_uttered"
    finally:
        await other.client.disconnect()


async def test_repeated_message_id_is_answered_once(gateway: str, citizen: Citizen) -> None:
    session_id = await citizen.start(gateway)
    message = {"message": "hello", "session_id": session_id, "message_id": "m-1", "customData": {"language": "en"}}
    await citizen.client.emit("user_uttered", message)
    await citizen.client.emit("user_uttered", message)
    await citizen.client.emit("user_uttered", {**message, "message_id": "m-2", "message": "thanks"})
    replies = [r for _, r in [await citizen.next() for _ in range(3)]]
    # The repeat gets the same answer again, marked as the same reply, so the widget shows it
    # once (issue 13: a message resent after a dropped connection is answered once).
    assert [(r["text"][:5], r["reply_to"], r["index"]) for r in replies] == [
        ("Hi! I", "m-1", 0),
        ("Hi! I", "m-1", 0),
        ("You'r", "m-2", 0),
    ]
    with pytest.raises(asyncio.TimeoutError):
        await citizen.next(timeout=1)


async def test_same_message_id_in_two_conversations_is_answered_in_both(gateway: str) -> None:
    people = [Citizen(), Citizen()]
    try:
        for person in people:
            session_id = await person.start(gateway)
            message = {"message": "hello", "session_id": session_id, "message_id": "shared-1"}
            await person.client.emit("user_uttered", message)
        for person in people:
            name, _ = await person.next()
            assert name == "bot_uttered"
    finally:
        for person in people:
            await person.client.disconnect()


async def test_healthz_is_liveness_and_readyz_checks_every_dependency(gateway: str) -> None:
    async with aiohttp.ClientSession() as session:
        async with session.get(f"{gateway}/healthz") as response:
            assert response.status == 200
            alive = await response.json()
        async with session.get(f"{gateway}/readyz") as response:
            assert response.status == 200
            ready = await response.json()
    assert alive["status"] == "alive"
    assert set(alive["runtime"]) == {"python", "aiohttp", "redis-py", "python-socketio", "python-telegram-bot"}
    assert ready == {"status": "ok", "checks": {"redis": "ok", "bot": "ok", "actions": "ok"}, "channels": {}}


async def test_readyz_503_when_redis_is_down_while_healthz_stays_alive(
    stack: Stack, aiohttp_server: ServerFactory
) -> None:
    """Issue 13: /healthz was readiness, so an orchestrator would have restarted a gateway whose
    Redis was down (which a restart cannot fix)."""
    settings = dataclasses.replace(stack.settings, redis=RedisAddress("127.0.0.1", free_port()))
    server = await aiohttp_server(create_app(settings, [setup_webchat]))
    base = f"http://127.0.0.1:{server.port}"
    async with aiohttp.ClientSession() as session:
        async with session.get(f"{base}/readyz") as response:
            assert response.status == 503
            body = await response.json()
        async with session.get(f"{base}/healthz") as response:
            assert response.status == 200
    assert body["status"] == "degraded" and body["checks"]["redis"].startswith("down")
    assert body["checks"]["bot"] == "ok" and body["checks"]["actions"] == "ok"


def test_app_factory_connects_nothing_at_creation(stack: Stack) -> None:
    settings = dataclasses.replace(stack.settings, redis=RedisAddress("127.0.0.1", free_port()))
    app = create_app(settings, [setup_webchat])
    assert isinstance(app, web.Application)  # no Redis is listening there, and nothing failed


async def test_bot_timeout_is_reported_not_raised(aiohttp_server: ServerFactory) -> None:
    async def slow(request: web.Request) -> web.Response:
        await asyncio.sleep(2)
        return web.json_response({"replies": [], "language": "fi"})

    async with bot_client(aiohttp_server, slow, timeout=0.2) as client:
        with pytest.raises(BotUnavailableError, match="TimeoutError"):
            await client.send(HEI)


async def test_f1_a_session_id_without_its_secret_gets_a_new_conversation(gateway: str) -> None:
    """Before: any session id was accepted (also one the client made up), and whoever sent it took
    over that conversation."""
    owner = Citizen()
    try:
        session_id = await owner.start(gateway)
        assert len(session_id) >= 32 and owner.secret and len(owner.secret) >= 32  # at least 128 random bits
        await owner.client.emit("user_uttered", {"message": "in English please", "session_id": session_id})
        await owner.next()
        for attempt in ({"session_id": session_id}, {"session_id": session_id, "secret": "x" * 40}):
            intruder = Citizen()
            try:
                other = await intruder.start(gateway, **attempt)
                assert other != session_id
                await intruder.client.emit("user_uttered", {"message": "hei", "session_id": session_id})
                name, error = await intruder.next()  # it cannot even write into the owner's conversation
                assert (name, error["code"]) == ("chat_error", "no_session")
            finally:
                await intruder.client.disconnect()
        made_up = Citizen()
        try:
            assert await made_up.start(gateway, session_id="aaaaaaaaaaaaaaaaaaaaaaaa") != "aaaaaaaaaaaaaaaaaaaaaaaa"
        finally:
            await made_up.client.disconnect()
        # The owner still resumes with the secret.
        again = Citizen()
        try:
            assert await again.start(gateway, session_id=session_id, secret=owner.secret) == session_id
        finally:
            await again.client.disconnect()
    finally:
        await owner.client.disconnect()


async def test_f1_plain_rasa_protocol_clients_chat_anonymously(gateway: str, citizen: Citizen) -> None:
    session_id = await citizen.start(gateway, protocol=None)
    assert citizen.secret is None  # rasa-webchat's session_confirm is the id alone, as Rasa sends it
    await citizen.client.emit("user_uttered", {"message": "what can you do?", "session_id": session_id})
    _, reply = await citizen.next()
    assert reply["text"]


async def test_f5_the_limit_is_per_conversation_and_nothing_vanishes(gateway: str) -> None:
    """Security finding 5. Before: reconnecting or opening more sockets on one session multiplied
    the per-minute limit, and messages over it could vanish without an error."""
    first = Citizen()
    sockets = [first]
    try:
        session_id = await first.start(gateway)
        for _ in range(2):  # two more tabs of the same conversation
            tab = Citizen()
            sockets.append(tab)
            assert await tab.start(gateway, session_id=session_id, secret=first.secret) == session_id
        sent = 0
        for _ in range(5):
            for tab in sockets:
                await tab.client.emit(
                    "user_uttered", {"message": "hello", "session_id": session_id, "message_id": f"f5-{sent}"}
                )
                sent += 1
        answered = refused = 0
        for tab in sockets:  # each of its 5 messages gets a reply or a clear error, nothing vanishes
            for _ in range(5):
                name, data = await tab.next()
                if name == "chat_error":
                    assert data["code"] == "rate_limited"
                    refused += 1
                else:
                    assert name == "bot_uttered"
                    answered += 1
            assert await tab.silent(0.5)
        assert answered == 6  # the conversation's limit (6 a minute), not 6 per socket
        assert answered + refused == sent == 15
    finally:
        for tab in sockets:
            await tab.client.disconnect()


async def test_gibberish_is_not_understood_and_keeps_the_language(gateway: str, citizen: Citizen) -> None:
    """Issue 12, through the real bot. Before: "blorf snark" got the street-fault answer, in
    Swedish, in an English conversation (0.77)."""
    session_id = await citizen.start(gateway)
    await citizen.say("hello, what can you do?", session_id, language="en")
    [hello] = await citizen.replies(1)
    assert hello["lang"] == "en"
    for text in ("blorf snark", "purple monkey dishwasher"):
        await citizen.say(text, session_id, language="en")
        replies = await citizen.replies(1)  # "can't answer", then the second miss brings a person
        assert replies[0]["lang"] == "en"
        assert replies[0]["text"].startswith(("Sorry, I can't answer", "Sorry, I didn't understand"))


async def test_a_frozen_redis_gets_a_clear_error_and_the_chat_goes_on_after(
    stack: Stack, aiohttp_server: ServerFactory, tmp_path: Any
) -> None:
    """Issue 13: with Redis frozen (SIGSTOP), in-flight messages vanished without an error (a
    TimeoutError from the conversation record was not caught)."""
    import os
    import signal
    import subprocess

    from bot.cli.supervisor import redis_server_binary

    port = free_port()
    server = subprocess.Popen(
        [redis_server_binary(), "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL,
        cwd=tmp_path,
    )
    try:
        settings = dataclasses.replace(stack.settings, redis=RedisAddress("127.0.0.1", port))
        for _ in range(50):  # until it listens
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.2):
                break
            await asyncio.sleep(0.1)
        app = await aiohttp_server(create_app(settings, [setup_webchat]))
        citizen = Citizen()
        try:
            sid = await citizen.start(f"http://127.0.0.1:{app.port}")
            os.kill(server.pid, signal.SIGSTOP)
            ack = await citizen.client.call(
                "user_uttered", {"message": "milloin Oodi on auki?", "session_id": sid}, timeout=30
            )
            assert ack == {"ok": False, "code": "unavailable"}
            name, error = await citizen.next()
            assert name == "chat_error" and error["code"] == "unavailable"
            os.kill(server.pid, signal.SIGCONT)
            await citizen.say("milloin Oodi on auki?", sid, language="fi")
            [reply] = await citizen.replies(1)
            assert "Oodi" in reply["text"]
        finally:
            await citizen.client.disconnect()
    finally:
        os.kill(server.pid, signal.SIGCONT)
        server.terminate()
        server.wait()


async def test_a_stalled_bot_answers_every_message_with_an_error_and_the_socket_stays(
    stack: Stack, aiohttp_server: ServerFactory
) -> None:
    """Issue 13: with the bot not answering, of four messages one got "unavailable" after 30.8 s,
    the socket dropped (a waiting handler kept its heartbeat from being read), three vanished."""
    import time

    async def stalled(request: web.Request) -> web.Response:
        await asyncio.sleep(60)
        return web.json_response({})

    bot = await fake_bot(aiohttp_server, stalled)
    settings = dataclasses.replace(stack.settings, rasa_urls=(bot,), bot_timeout_seconds=1)
    app = await aiohttp_server(create_app(settings, [setup_webchat]))
    citizen = Citizen()
    try:
        sid = await citizen.start(f"http://127.0.0.1:{app.port}")
        started = time.monotonic()
        texts = ["milloin Oodi on auki?", "entä kirjasto?", "haloo?", "onko ketään?"]
        for text in texts:
            await citizen.say(text, sid)
        errors = []
        while len(errors) < len(texts):
            name, data = await citizen.next(timeout=15)
            assert name == "chat_error", (name, data)
            errors.append(data["code"])
        assert errors == ["unavailable"] * 4
        assert time.monotonic() - started < 10  # about a second each, one after another
        assert citizen.client.connected
    finally:
        await citizen.client.disconnect()


async def test_metrics_count_messages_and_replies_and_name_no_one(gateway: str, citizen: Citizen) -> None:
    """Issue 13, item 7: /metrics in Prometheus' format, never a citizen's data in a label."""

    async def scrape() -> str:
        async with aiohttp.ClientSession() as session, session.get(f"{gateway}/metrics") as response:
            assert response.status == 200 and response.headers["Content-Type"].startswith("text/plain")
            return await response.text()

    def value(text: str, line_start: str) -> float:
        return sum(float(line.rsplit(" ", 1)[1]) for line in text.splitlines() if line.startswith(line_start))

    before = await scrape()
    sid = await citizen.start(gateway)
    await citizen.say("soita minulle 0401234567, tunnukseni on 131052-308T", sid, language="fi")
    await citizen.replies(1)
    after = await scrape()
    assert (
        value(after, 'citybot_messages_in_total{channel="webchat",language="fi"}')
        == value(before, 'citybot_messages_in_total{channel="webchat",language="fi"}') + 1
    )
    assert value(after, 'citybot_reply_seconds_count{channel="webchat"}') > value(
        before, 'citybot_reply_seconds_count{channel="webchat"}'
    )
    assert value(after, "citybot_replies_out_total{") > value(before, "citybot_replies_out_total{")
    for queue in ("fi", "sv", "en"):
        assert f'citybot_handoff_queue_length{{queue="{queue}"}}' in after
    for personal in (sid, "0401234567", "131052-308T", "soita"):
        assert personal not in after


async def test_several_rasa_processes_share_the_messages_and_a_stopped_one_is_skipped(
    aiohttp_server: ServerFactory,
) -> None:
    """Issue 13 (scale-out): the gateway's client sends round-robin to several Rasa processes and
    skips one that refuses the connection; none answering is a clear error."""

    def answering(name: str) -> Callable[[web.Request], Awaitable[web.Response]]:
        async def webhook(request: web.Request) -> web.Response:
            return web.json_response({"replies": [{"text": name}], "language": "fi"})

        return webhook

    first, second = (
        await fake_bot(aiohttp_server, answering("first")),
        await fake_bot(aiohttp_server, answering("second")),
    )
    dead = f"http://127.0.0.1:{free_port()}"
    bases = [first, dead, second]
    message = HEI
    async with aiohttp.ClientSession() as session:
        client = RasaClient(session, bases, "token", timeout=5)
        answered = [(await client.send(message)).replies[0].text for _ in range(6)]
        assert answered == ["first", "second", "second", "first", "second", "second"]
        assert await client.healthy()
        nobody = RasaClient(session, [dead], "token", timeout=5)
        with pytest.raises(BotUnavailableError, match="ClientConnectorError"):
            await nobody.send(message)
        assert not await nobody.healthy()


async def test_a_turn_the_bot_answers_with_nothing_is_a_clear_error(aiohttp_server: ServerFactory) -> None:
    """Issue 13: with its action server down, Rasa answers 200 with no replies, and the citizen
    heard nothing; now it is "try again"."""

    async def empty(request: web.Request) -> web.Response:
        return web.json_response({"replies": [], "language": "fi"})

    async with bot_client(aiohttp_server, empty) as client:
        with pytest.raises(BotUnavailableError, match="no reply"):
            await client.send(HEI)


async def test_a_turn_interrupted_by_a_dying_process_is_tried_once_more(aiohttp_server: ServerFactory) -> None:
    """Issue 13, scale-out: the action server replica died under a turn (Rasa answers nothing) or
    the Rasa process died mid-turn (the connection closes): the turn is tried once more, on the
    next process, and the citizen gets the answer."""
    calls: list[str] = []

    async def flaky(request: web.Request) -> web.StreamResponse:
        calls.append(request.path)
        if len(calls) == 1:
            return web.json_response({"replies": [], "language": "fi"})  # its action server died
        if len(calls) == 3:
            assert request.transport is not None
            request.transport.close()  # the Rasa process died mid-turn
            return web.Response()
        return web.json_response({"replies": [{"text": "Oodi on auki."}], "language": "fi"})

    async with bot_client(aiohttp_server, flaky) as client:
        for count, message_id in ((2, "m1"), (4, "m2")):
            turn = await client.send(dataclasses.replace(HEI, message_id=message_id))
            assert [r.text for r in turn.replies] == ["Oodi on auki."] and len(calls) == count
