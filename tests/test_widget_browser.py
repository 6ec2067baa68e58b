"""Our widget in a real browser (Debian's Chromium via playwright) against the running stack."""

from __future__ import annotations

import asyncio
import os
import signal
from collections.abc import Awaitable, Callable

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from axe_playwright_python.async_playwright import Axe
from playwright.async_api import Browser, Page, expect

from bot.cli.supervisor import Stack
from channels.webchat.server import _static_routes

pytestmark = pytest.mark.integration
WCAG = {"runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]}}


@pytest.fixture
def site(stack: Stack) -> str:
    return f"http://127.0.0.1:{stack.settings.gateway_port}/"


async def tab_to(page: Page, selector: str, limit: int = 40) -> None:
    """Press Tab until the element matching ``selector`` has the focus."""
    for _ in range(limit):
        if await page.evaluate("(s) => document.activeElement && document.activeElement.matches(s)", selector):
            return
        await page.keyboard.press("Tab")
    raise AssertionError(f"{selector} never got the keyboard focus")


async def open_widget(page: Page, site: str) -> None:
    await page.goto(site)
    await page.wait_for_selector(".cb-launcher")
    await tab_to(page, ".cb-launcher")
    await page.keyboard.press("Enter")
    await expect(page.locator(".cb-panel")).to_be_visible()
    assert await page.evaluate("document.activeElement.id") == "cb-input"


async def say(page: Page, text: str) -> None:
    before = await page.locator(".cb-bot").count()
    await page.keyboard.type(text)
    await page.keyboard.press("Enter")
    await page.wait_for_function(f"() => document.querySelectorAll('.cb-bot').length > {before}", timeout=30000)


async def test_keyboard_only_question_button_and_language_switch(browser: Browser, site: str) -> None:
    page = await browser.new_page()
    await open_widget(page, site)
    log = page.locator(".cb-log")
    assert await log.get_attribute("role") == "log" and await log.get_attribute("aria-live") == "polite"

    await say(page, "is Oodi open now?")
    reply = page.locator(".cb-bot").last
    assert await reply.get_attribute("lang") == "en"
    assert "Oodi" in await reply.inner_text()
    assert await page.locator(".cb-panel").get_attribute("lang") == "en"  # the widget follows

    await say(page, "what can you do?")
    await tab_to(page, ".cb-bot:last-child .cb-reply")
    assert await page.evaluate("document.activeElement.textContent") == "Library card"
    before = await page.locator(".cb-bot").count()
    await page.keyboard.press("Enter")
    await page.wait_for_function(f"() => document.querySelectorAll('.cb-bot').length > {before}")
    answer = page.locator(".cb-bot").last
    assert await answer.locator("a").first.get_attribute("href") == "https://helmet.finna.fi/?lng=en-gb"

    await tab_to(page, '.cb-lang[data-lang="sv"]')
    before = await page.locator(".cb-bot").count()
    await page.keyboard.press("Enter")
    await page.wait_for_function(f"() => document.querySelectorAll('.cb-bot').length > {before}")
    switched = page.locator(".cb-bot").last
    assert await switched.locator(".cb-text").inner_text() == "Okej, vi fortsätter på svenska."
    assert await switched.get_attribute("lang") == "sv"
    assert await page.locator('.cb-lang[data-lang="sv"]').get_attribute("aria-pressed") == "true"
    assert await page.locator(".cb-send").inner_text() == "Skicka"
    # Escape closes the panel and gives the focus back to the launcher.
    await page.keyboard.press("Escape")
    assert await page.evaluate("document.activeElement.className") == "cb-launcher"


@pytest.mark.parametrize(
    ("lang", "question"), [("fi", "mitä osaat?"), ("sv", "vad kan du?"), ("en", "what can you do?")]
)
async def test_axe_finds_no_wcag_violations(browser: Browser, site: str, lang: str, question: str) -> None:
    page = await browser.new_page()
    await page.add_init_script(f"localStorage.setItem('citybot.lang', '{lang}')")
    await open_widget(page, site)
    await say(page, question)
    assert await page.locator(".cb-bot").last.get_attribute("lang") == lang
    results = await Axe().run(page, options=WCAG)
    assert results.violations_count == 0, results.generate_report()
    # The scan can fail: an image without a text alternative in the panel is caught.
    await page.evaluate("document.querySelector('.cb-log').appendChild(document.createElement('img'))")
    assert (await Axe().run(page, options=WCAG)).violations_count >= 1


async def test_reload_resumes_the_conversation(browser: Browser, site: str) -> None:
    page = await browser.new_page()
    await open_widget(page, site)
    await say(page, "in English please")
    session = await page.evaluate("localStorage.getItem('citybot.session')")
    await page.reload()
    await page.wait_for_selector(".cb-launcher")
    assert await page.locator(".cb-msg").count() == 2  # the transcript is shown again
    await page.locator(".cb-launcher").press("Enter")
    await say(page, "moi")
    assert await page.evaluate("localStorage.getItem('citybot.session')") == session
    assert await page.locator(".cb-bot").last.get_attribute("lang") == "en"  # same conversation


async def test_fits_a_320px_screen_and_200_percent_zoom(browser: Browser, site: str) -> None:
    # 200% zoom of a 1280x720 window lays out like a 640x360 CSS px viewport at scale 2.
    for viewport, scale in (({"width": 320, "height": 640}, 1), ({"width": 640, "height": 360}, 2)):
        context = await browser.new_context(viewport=viewport, device_scale_factor=scale)
        page = await context.new_page()
        await open_widget(page, site)
        await say(page, "what can you do?")
        box = await page.locator(".cb-panel").bounding_box()
        assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= viewport["width"] + 0.5
        assert await page.evaluate("document.documentElement.scrollWidth") <= viewport["width"]
        assert await page.locator(".cb-send").is_visible()
        await context.close()


async def test_unreachable_service_is_said_clearly(
    browser: Browser, aiohttp_server: Callable[[web.Application], Awaitable[TestServer]]
) -> None:
    app = web.Application()
    _static_routes(app)  # the page and the widget, but no socket.io server behind them
    server = await aiohttp_server(app)
    page = await browser.new_page()
    await open_widget(page, f"http://127.0.0.1:{server.port}/")
    await expect(page.locator(".cb-status")).to_have_text(
        "Chat ei juuri nyt vastaa. Yritä hetken päästä uudelleen tai soita Helsinki-infoon 09 310 11111.",
        timeout=30000,
    )


async def test_reconnects_after_a_dropped_connection_and_loses_nothing(
    browser: Browser, site: str, stack: Stack
) -> None:
    page = await browser.new_page()
    await page.add_init_script("localStorage.setItem('citybot.lang', 'en')")
    await open_widget(page, site)
    await say(page, "hello")
    restart = asyncio.create_task(asyncio.to_thread(stack.restart, "gateway"))
    await expect(page.locator(".cb-status")).to_have_text("Connection lost. Reconnecting…", timeout=20000)
    before = await page.locator(".cb-bot").count()
    await page.keyboard.type("how do I renew my library loans?")  # written while the gateway is down
    await page.keyboard.press("Enter")
    await restart
    await page.wait_for_function(f"() => document.querySelectorAll('.cb-bot').length > {before}", timeout=30000)
    assert "Helmet" in await page.locator(".cb-bot").last.inner_text()
    await expect(page.locator(".cb-status")).to_have_text("Connected again.")


async def test_the_citizens_message_gets_the_language_they_wrote_in(browser: Browser, site: str) -> None:
    page = await (await browser.new_context(locale="fi-FI")).new_page()
    await open_widget(page, site)
    assert await page.locator(".cb-panel").get_attribute("lang") == "fi"
    await say(page, "Var kan jag boka tid till tandläkaren för mitt barn?")
    question = page.locator(".cb-user").last
    assert await question.get_attribute("lang") == "sv"  # shown as fi at first, then retagged
    assert await page.locator(".cb-bot").last.get_attribute("lang") == "sv"
    await page.reload()
    await page.wait_for_selector(".cb-user", state="attached")  # restored (the panel starts closed)
    assert await page.locator(".cb-user").last.get_attribute("lang") == "sv"  # and so it is kept


async def test_a_message_in_flight_when_the_gateway_dies_is_sent_again_and_answered_once(
    browser: Browser, site: str, stack: Stack
) -> None:
    """Issue 13: the widget keeps a message until it is acknowledged. The gateway dies while the
    bot works on it: after reconnecting, the widget sends it again with its id, and the citizen
    sees one answer (before, the message was lost without a word)."""
    [gateway] = [m for m in stack.processes if m.name == "gateway"]
    [rasa] = [m for m in stack.processes if m.name == "rasa"]
    page = await browser.new_page()
    await page.add_init_script("localStorage.setItem('citybot.lang', 'en')")
    await open_widget(page, site)
    await say(page, "hello")
    before = await page.locator(".cb-bot").count()
    os.killpg(rasa.process.pid, signal.SIGSTOP)  # the bot is slow to answer ...
    try:
        await page.keyboard.type("how do I renew my library loans?")
        await page.keyboard.press("Enter")
        await asyncio.sleep(1.5)  # ... the message is with the gateway, not answered ...
        os.killpg(gateway.process.pid, signal.SIGKILL)  # ... when the gateway dies
        gateway.process.wait()
    finally:
        os.killpg(rasa.process.pid, signal.SIGCONT)
    await asyncio.to_thread(stack.restart, "gateway")
    await page.wait_for_function(f"() => document.querySelectorAll('.cb-bot').length > {before}", timeout=30000)
    assert "Helmet" in await page.locator(".cb-bot").last.inner_text()
    await asyncio.sleep(2)  # nothing more comes: one answer, shown once
    assert await page.locator(".cb-bot").count() == before + 1
    assert await page.locator(".cb-user", has_text="library loans").count() == 1
