"""Security finding 7: where callbacks may go, redirects, and what the signature covers."""

from __future__ import annotations

import hashlib
import hmac
import time
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from redis.asyncio import Redis

from bot.store import keys
from bot.store.scheduler import Scheduler
from bot.systems.callbacks import Callbacks
from bot.systems.registry import Systems, SystemsError, add_system
from bot.systems.urls import CallbackUrlError, PublicOnlyResolver, check_callback_url


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1@169.254.169.254/",  # passed the old prefix check: the host is the metadata address
        "http://localhost.evil.example/",  # passed the old prefix check; and not https
        "https://169.254.169.254/latest/meta-data/",
        "https://10.1.2.3/callbacks",
        "https://[::1]:8443/callbacks",
        "https://user:pass@city.example/callbacks",
        "https://localhost/callbacks",
        "ftp://city.example/callbacks",
    ],
)
def test_urls_a_callback_may_not_go_to(url: str) -> None:
    with pytest.raises(CallbackUrlError):
        check_callback_url(url)


def test_urls_a_callback_may_go_to() -> None:
    assert check_callback_url("https://school.example-city.fi/citybot/callbacks")
    assert check_callback_url("http://127.0.0.1:8080/callbacks", allow_private=True)  # only when allowed


async def test_a_name_that_resolves_to_a_private_address_is_refused_when_connecting() -> None:
    resolver = PublicOnlyResolver()
    try:
        with pytest.raises(OSError):
            await resolver.resolve("localhost", 443)
    finally:
        await resolver.close()


def test_a_system_file_with_a_private_callback_is_refused(tmp_path: Path) -> None:
    with pytest.raises(SystemsError):
        add_system(tmp_path / "systems.yml", "office", "https://192.168.1.10/callbacks")
    add_system(tmp_path / "systems.yml", "office", "http://192.168.1.10/callbacks", allow_private_callback=True)


async def test_redirects_are_not_followed_and_the_signature_covers_the_delivery_id(
    redis: Redis, tmp_path: Path
) -> None:
    hits: dict[str, list[web.Request]] = {"callbacks": [], "elsewhere": []}
    bodies: list[bytes] = []

    async def callbacks(request: web.Request) -> web.Response:
        hits["callbacks"].append(request)
        bodies.append(await request.read())
        raise web.HTTPFound("/elsewhere")

    async def elsewhere(request: web.Request) -> web.Response:
        hits["elsewhere"].append(request)
        return web.Response(status=204)

    app = web.Application()
    app.router.add_post("/callbacks", callbacks)
    app.router.add_post("/elsewhere", elsewhere)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    path = tmp_path / "systems.yml"
    _, secret = add_system(path, "office", f"http://127.0.0.1:{server.port}/callbacks", allow_private_callback=True)
    scheduler = Scheduler(redis)
    async with aiohttp.ClientSession() as session:
        sender = Callbacks(redis, scheduler, session, Systems(path))
        delivery = await sender.notify("office", {"offer_id": "o-1", "status": "accepted"})
        assert delivery is not None
        await scheduler.run_due(now=time.time())
        await sender.close()
    await server.close()
    assert len(hits["callbacks"]) == 1 and hits["elsewhere"] == []  # the 302 was not followed
    request = hits["callbacks"][0]
    assert request.headers["X-Citybot-Delivery"] == delivery
    signed = f"{request.headers['X-Citybot-Timestamp']}.{delivery}.".encode() + bodies[0]
    expected = hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()
    assert request.headers["X-Citybot-Signature"] == f"sha256={expected}"
    record = await redis.hgetall(keys.callback(delivery))
    assert record["attempts"] == "1" and record["last_error"].startswith("HTTP 302")
