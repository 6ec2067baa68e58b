"""Rasa's own web chat widget (npm rasa-webchat 1.0.1), unchanged, against our web chat server."""

from __future__ import annotations

import dataclasses
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from playwright.async_api import Browser, expect

from bot.cli.supervisor import Stack
from bot.gateway.app import create_app
from channels.webchat import setup_webchat

pytestmark = pytest.mark.integration
ASSETS = Path(__file__).parent / "browser"
RASA_WEBCHAT = ASSETS / "rasa-webchat" / "1.0.1"


def serve_rasa_webchat(app: web.Application) -> None:
    async def page(_: web.Request) -> web.FileResponse:
        return web.FileResponse(ASSETS / "rasa_webchat.html")

    app.router.add_get("/rasa-webchat.html", page)
    app.router.add_static("/rasa-webchat/", RASA_WEBCHAT)


async def test_rasa_webchat_talks_to_our_server(
    stack: Stack, browser: Browser, aiohttp_server: Callable[[web.Application], Awaitable[TestServer]]
) -> None:
    assert (RASA_WEBCHAT / "lib" / "index.js").exists(), "run scripts/setup.sh to fetch rasa-webchat"
    app = create_app(dataclasses.replace(stack.settings), [setup_webchat, serve_rasa_webchat])
    server = await aiohttp_server(app)
    page = await browser.new_page()
    await page.goto(f"http://127.0.0.1:{server.port}/rasa-webchat.html")
    await page.click(".rw-launcher")
    await page.fill(".rw-new-message", "what can you do?")
    await page.keyboard.press("Enter")
    await expect(page.locator(".rw-response").first).to_contain_text(
        "I answer questions about the city's services", timeout=30000
    )
    # Our buttons arrive as rasa-webchat quick replies, and pressing one sends its payload.
    reply = page.locator(".rw-reply", has_text="Library card")
    await reply.click()
    await expect(page.locator(".rw-response").last).to_contain_text("Helmet", timeout=30000)
    await page.close()  # before the server stops: an open socket would hold its stop for the ping timeout
