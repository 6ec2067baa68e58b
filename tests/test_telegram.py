"""The Telegram channel in webhook mode against a fake Bot API server on 127.0.0.1."""

from __future__ import annotations

import asyncio
import dataclasses
import functools
import itertools
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from bot.cli.supervisor import Stack
from bot.gateway.app import create_app
from bot.knowledge.files import load_faq
from bot.store import keys
from channels.telegram import setup_telegram
from tests.clients import logs, redis_text
from tests.fake_telegram import FakeTelegram, callback_update, message_update

pytestmark = pytest.mark.integration
ServerFactory = Callable[[web.Application], Awaitable[TestServer]]
TOKEN = "123456:TEST-TOKEN"
SECRET = "webhook-secret-for-tests"
_ids = itertools.count(1000)
_chats = itertools.count(5000)


@pytest.fixture
async def fake() -> FakeTelegram:
    return FakeTelegram(TOKEN)


@pytest.fixture
async def webhook(stack: Stack, fake: FakeTelegram, aiohttp_server: ServerFactory) -> AsyncIterator[str]:
    api = await aiohttp_server(fake.app())
    settings = dataclasses.replace(
        stack.settings,
        telegram_token=TOKEN,
        telegram_secret=SECRET,
        telegram_api_url=f"http://127.0.0.1:{api.port}",
        max_message_chars=300,
    )
    gateway = await aiohttp_server(create_app(settings, [setup_telegram]))
    yield f"http://127.0.0.1:{gateway.port}/telegram/webhook"


async def post(url: str, update: Any, secret: str | None = SECRET, raw: bytes | None = None) -> tuple[int, Any]:
    headers = {"Content-Type": "application/json"}
    if secret is not None:
        headers["X-Telegram-Bot-Api-Secret-Token"] = secret
    async with aiohttp.ClientSession() as session:
        kwargs: dict[str, Any] = {"data": raw} if raw is not None else {"json": update}
        async with session.post(url, headers=headers, **kwargs) as response:
            return response.status, await response.json()


async def test_text_message_is_answered_in_the_users_language(webhook: str, fake: FakeTelegram) -> None:
    chat = next(_chats)
    status, _ = await post(webhook, message_update(next(_ids), chat, "hej", language="sv"))
    assert status == 200
    [sent] = fake.sent()
    assert int(sent["chat_id"]) == chat and sent["text"].startswith("Hej! Jag är")


async def test_buttons_become_inline_keyboards_and_presses_are_answered(webhook: str, fake: FakeTelegram) -> None:
    chat = next(_chats)
    await post(webhook, message_update(next(_ids), chat, "what can you do?", language="en"))
    [menu] = fake.sent()
    keyboard = menu["reply_markup"]["inline_keyboard"]
    assert [row[0]["text"] for row in keyboard] == ["Library card", "Opening hours", "Applying for daycare"]
    assert all(len(row[0]["callback_data"].encode()) <= 64 for row in keyboard)
    status, _ = await post(webhook, callback_update(next(_ids), chat, keyboard[1][0]["callback_data"], language="en"))
    assert status == 200
    assert [c.method for c in fake.calls][-2:] == ["answerCallbackQuery", "sendMessage"]
    answer = fake.sent()[-1]
    assert answer["text"].startswith(load_faq()["opening_hours"].answer["en"])
    # Issue 16: the link is titled (an anchor), not a raw address line.
    assert answer["parse_mode"] == "HTML"
    assert answer["text"].endswith('<a href="https://servicemap.hel.fi/en">Service map</a>')


async def test_unknown_button_is_explained(webhook: str, fake: FakeTelegram) -> None:
    await post(webhook, callback_update(next(_ids), next(_chats), "no-such-button", language="en"))
    assert fake.sent()[-1]["text"] == "This button has expired. Please type your question again."


@pytest.mark.parametrize(
    ("command", "starts"),
    [
        ("/start", "Hei! Olen"),
        ("/start abc123", "Yhdistämiskoodi on väärä"),  # a deep link with a wrong code
        ("/help", "Vastaan kysymyksiin"),
        ("/language", "Millä kielellä"),
        ("/human", "Selvä, pyydän asiakaspalvelijan"),
        ("/stop", "Kiitos keskustelusta"),
    ],
)
async def test_commands(webhook: str, fake: FakeTelegram, command: str, starts: str) -> None:
    await post(webhook, message_update(next(_ids), next(_chats), command, language="fi"))
    assert fake.sent()[0]["text"].startswith(starts)


async def test_duplicate_update_is_processed_once(webhook: str, fake: FakeTelegram) -> None:
    update = message_update(next(_ids), next(_chats), "moi")
    assert (await post(webhook, update))[0] == 200
    assert (await post(webhook, update))[0] == 200
    assert len(fake.sent()) == 1


@pytest.mark.parametrize("secret", [None, "wrong", ""])
async def test_wrong_or_missing_secret_is_403(webhook: str, fake: FakeTelegram, secret: str | None) -> None:
    status, body = await post(webhook, message_update(next(_ids), next(_chats), "moi"), secret=secret)
    assert status == 403 and body == {"error": "wrong or missing secret token"}
    assert fake.sent() == []


@pytest.mark.parametrize("raw", [b"not json", b"[]", b'{"message": {}}'])
async def test_malformed_update_is_400(webhook: str, fake: FakeTelegram, raw: bytes) -> None:
    status, body = await post(webhook, None, raw=raw)
    assert status == 400 and "update" in body["error"]


async def test_oversized_message_is_refused_kindly(webhook: str, fake: FakeTelegram) -> None:
    await post(webhook, message_update(next(_ids), next(_chats), "a " * 200, language="en"))
    assert fake.sent()[-1]["text"] == "The message is too long. Please shorten it and send again."


async def test_oversized_request_body_is_413(webhook: str, fake: FakeTelegram) -> None:
    headers = {"Content-Type": "application/json", "X-Telegram-Bot-Api-Secret-Token": SECRET}
    async with aiohttp.ClientSession() as session:
        body = b'{"update_id": 1, "message": {"text": "' + b"a" * 100_000 + b'"}}'
        async with session.post(webhook, data=body, headers=headers) as response:
            assert response.status == 413
    assert fake.sent() == []


async def test_stop_is_recorded_on_the_conversation(webhook: str, fake: FakeTelegram, stack: Stack) -> None:
    import redis

    chat = next(_chats)
    await post(webhook, message_update(next(_ids), chat, "/stop"))
    client = redis.Redis.from_url(stack.settings.redis.url)
    try:
        assert client.hget(keys.conversation(f"telegram:{chat}"), "stopped") == b"1"
    finally:
        client.close()


async def test_polling_mode_runs_the_same_app_factory_without_a_webhook(
    stack: Stack, fake: FakeTelegram, aiohttp_server: ServerFactory
) -> None:
    """``python -m channels.telegram``: the one gateway app, the Telegram channel polling."""
    api = await aiohttp_server(fake.app())
    settings = dataclasses.replace(
        stack.settings, telegram_token=TOKEN, telegram_secret="", telegram_api_url=f"http://127.0.0.1:{api.port}"
    )
    app = create_app(settings, [functools.partial(setup_telegram, polling=True)])
    assert not any(getattr(r, "path", "") == "/telegram/webhook" for r in app.router.routes())
    runner = web.AppRunner(app)
    await runner.setup()  # no port of its own: the services, the sweepers and the poller run
    try:
        chat = next(_chats)
        fake.queue_update(message_update(next(_ids), chat, "mitä osaat?", language="fi"))
        for _ in range(100):
            if any(int(m["chat_id"]) == chat for m in fake.sent()):
                break
            await asyncio.sleep(0.1)
        [answer] = [m for m in fake.sent() if int(m["chat_id"]) == chat]
        assert answer["text"].startswith("Vastaan kysymyksiin")
    finally:
        await runner.cleanup()
    assert any(c.method == "getUpdates" for c in fake.calls)


async def test_an_unreachable_bot_api_at_start_degrades_telegram_only(
    stack: Stack, fake: FakeTelegram, aiohttp_server: ServerFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue 13: with the Telegram API unreachable at start, the gateway exited, and with it web
    chat and the console. Now it serves, reports Telegram degraded, and retries until it answers."""
    from bot.cli.supervisor import free_port
    from channels.telegram import channel as telegram_channel
    from channels.webchat import setup_webchat
    from tests.clients import Citizen

    monkeypatch.setattr(telegram_channel, "START_RETRY_FIRST", 0.2)
    monkeypatch.setattr(telegram_channel, "START_RETRY_MAX", 0.5)
    monkeypatch.setattr(telegram_channel, "WEBHOOK_WAIT_SECONDS", 0.5)
    api_port = free_port()  # nothing listens there yet
    settings = dataclasses.replace(
        stack.settings, telegram_token=TOKEN, telegram_secret=SECRET, telegram_api_url=f"http://127.0.0.1:{api_port}"
    )
    gateway = await aiohttp_server(create_app(settings, [setup_webchat, setup_telegram]))
    base = f"http://127.0.0.1:{gateway.port}"

    async def ready() -> tuple[int, Any]:
        async with aiohttp.ClientSession() as session, session.get(f"{base}/readyz") as response:
            return response.status, await response.json()

    for _ in range(100):  # the check runs in the background at start
        status, body = await ready()
        if body["channels"]["telegram"].startswith("degraded"):
            break
        await asyncio.sleep(0.1)
    assert status == 200 and body["status"] == "degraded" and body["channels"]["telegram"].startswith("degraded")
    citizen = Citizen()  # web chat works meanwhile
    try:
        sid = await citizen.start(base)
        await citizen.say("hei", sid, language="fi")
        [greeting] = await citizen.replies(1)
        assert greeting["text"]
    finally:
        await citizen.client.disconnect()
    chat = next(_chats)
    refused, _ = await post(f"{base}/telegram/webhook", message_update(next(_ids), chat, "hei"))
    assert refused == 503  # Telegram will deliver it again

    runner = web.AppRunner(fake.app())  # the Bot API comes back
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", api_port).start()
    try:
        for _ in range(50):
            status, body = await ready()
            if body["channels"]["telegram"] == "ok":
                break
            await asyncio.sleep(0.1)
        assert body == {
            "status": "ok",
            "checks": {"redis": "ok", "bot": "ok", "actions": "ok"},
            "channels": {"telegram": "ok"},
        }
        delivered, _ = await post(f"{base}/telegram/webhook", message_update(next(_ids), chat, "hei"))
        assert delivered == 200 and int(fake.sent()[-1]["chat_id"]) == chat
    finally:
        await runner.cleanup()


async def test_one_reply_failing_does_not_drop_the_rest(
    webhook: str, fake: FakeTelegram, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue 13: a non-Telegram exception while sending one reply dropped the rest of the answer."""
    from channels.telegram.channel import TelegramChannel

    original = TelegramChannel._send
    calls = {"n": 0}

    async def first_fails(self: TelegramChannel, chat_id: int, reply: Any) -> None:
        calls["n"] += 1
        if calls["n"] == 1:
            raise ConnectionResetError("the connection broke")
        await original(self, chat_id, reply)

    monkeypatch.setattr(TelegramChannel, "_send", first_fails)
    chat = next(_chats)
    status, _ = await post(webhook, message_update(next(_ids), chat, "haluan puhua ihmiselle"))
    assert status == 200
    assert calls["n"] >= 2 and len(fake.sent()) == calls["n"] - 1  # every reply but the failed one


async def test_personal_data_written_in_telegram_is_stored_and_logged_masked(
    webhook: str, fake: FakeTelegram, stack: Stack, caplog: pytest.LogCaptureFixture
) -> None:
    """Issue 14, item 4: the Telegram entry point. The bot and the transcript get the masked
    message; nothing raw in Redis, the gateway's log or any process's log."""
    raw = ["150822E0425", "+358 40 111 2233", "tg.user@example.fi", "FI21 1234 5600 0007 85"]
    caplog.set_level(logging.DEBUG)
    chat = next(_chats)
    text = f"hetu {raw[0]}, puh {raw[1]}, email {raw[2]}, tili {raw[3]} - miten haen asumistukea?"
    assert (await post(webhook, message_update(next(_ids), chat, text, language="fi")))[0] == 200
    assert fake.sent()  # answered
    stored = redis_text(stack)
    assert f"telegram:{chat}" in stored and "[henkilötunnus]" in stored
    for value in raw:
        assert value not in stored and value not in caplog.text and value not in logs(stack), value
