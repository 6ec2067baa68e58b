"""The agent console and the widget in a real browser (two contexts: a citizen and an agent)."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterator

import pytest
from axe_playwright_python.async_playwright import Axe
from playwright.async_api import Browser, BrowserContext, Page, expect

from bot.cli.supervisor import Stack
from bot.handoff.agents import Agents
from bot.store.redis import connect
from tests.conftest import reset_handoff
from tests.test_widget_browser import WCAG, open_widget, say

pytestmark = pytest.mark.integration
PASSWORD = "correct horse battery staple"
_names = itertools.count(1)


@pytest.fixture
def site(stack: Stack) -> str:
    return f"http://127.0.0.1:{stack.settings.gateway_port}/"


@pytest.fixture
async def agent(stack: Stack) -> AsyncIterator[str]:
    redis = connect(stack.settings.redis)
    username = f"browser{next(_names)}"
    await Agents(redis).create(username, f"Anna {username}", PASSWORD)
    await reset_handoff(redis)
    yield username
    await redis.aclose()


async def sign_in(context: BrowserContext, site: str, username: str, language: str = "sv") -> Page:
    page = await context.new_page()
    await page.goto(f"{site}console/")
    await page.select_option("#ui-language", language)
    await page.fill("#username", username)
    await page.fill("#password", PASSWORD)
    await page.press("#password", "Enter")
    await expect(page.locator("#work-view")).to_be_visible()
    assert await page.evaluate("document.documentElement.lang") == language
    return page


async def citizen_asks_for_a_person(browser: Browser, site: str) -> tuple[Page, str]:
    citizen = await (await browser.new_context(locale="sv-FI")).new_page()
    await open_widget(citizen, site)
    await say(citizen, "kan jag få prata med en människa?")
    await citizen.wait_for_function("() => document.querySelectorAll('.cb-bot').length >= 2")
    queued = citizen.locator(".cb-bot").last
    assert "i kön" in await queued.inner_text() and await queued.get_attribute("lang") == "sv"
    session = await citizen.evaluate("localStorage.getItem('citybot.session')")
    return citizen, f"webchat:{session}"


async def claim(agent_page: Page, conversation: str) -> None:
    item = agent_page.locator(f'#queue-list [data-conversation="{conversation}"]')
    await expect(item).to_be_visible(timeout=20000)
    await item.locator("button.claim").click()
    await expect(agent_page.locator(f'#mine-list [data-conversation="{conversation}"]')).to_be_visible()
    await expect(agent_page.locator("#transcript [data-from='citizen']").first).to_be_visible()


async def test_swedish_citizen_to_agent_and_back_to_the_bot(browser: Browser, site: str, agent: str) -> None:
    agent_page = await sign_in(await browser.new_context(), site, agent, "sv")
    citizen, conversation = await citizen_asks_for_a_person(browser, site)
    await claim(agent_page, conversation)

    first = agent_page.locator("#transcript [data-from='citizen']").first
    assert "människa" in await first.locator(".text").inner_text()
    # What the bot understood, in words (issue 16: "Tolkning: request_human 1.00").
    understood = await first.locator(".understood").inner_text()
    assert understood.startswith("Tolkning: Prata med en människa") and "request_human" not in understood
    assert await agent_page.locator("#transcript [data-from='bot']").count() >= 2  # the bot's part
    await expect(citizen.locator(".cb-bot").last).to_contain_text(f"Anna {agent}")

    await citizen.fill("#cb-input", "Jag behöver hjälp med en faktura")
    await citizen.press("#cb-input", "Enter")
    await expect(agent_page.locator("#transcript [data-from='citizen'] .text").last).to_have_text(
        "Jag behöver hjälp med en faktura"
    )

    await agent_page.fill("#composer", "Hej! Jag hjälper dig gärna.")
    await agent_page.press("#composer", "Enter")
    answer = citizen.locator(".cb-agent").last
    await expect(answer).to_contain_text("Hej! Jag hjälper dig gärna.")
    # A person, by name and role, with an initial (issue 16: it looked like a warning callout).
    assert " ".join((await answer.locator(".cb-sender").inner_text()).split()) == f"A Anna {agent} · kundtjänsten"
    assert await answer.locator(".cb-avatar").get_attribute("aria-hidden") == "true"

    await agent_page.click("#end")
    await agent_page.click("#end-confirm")
    await expect(citizen.locator(".cb-bot").last.locator(".cb-reply")).to_have_count(5)
    assert "1–5" in await citizen.locator(".cb-bot").last.inner_text()
    await citizen.locator(".cb-bot").last.locator(".cb-reply").nth(4).click()
    await expect(citizen.locator(".cb-bot").last).to_contain_text("Tack för din respons")
    await say(citizen, "vad kan du hjälpa med?")  # the bot answers again
    assert await citizen.locator(".cb-bot").last.get_attribute("lang") == "sv"


async def test_script_in_a_citizen_message_is_shown_as_text(browser: Browser, site: str, agent: str) -> None:
    agent_page = await sign_in(await browser.new_context(), site, agent, "en")
    citizen, conversation = await citizen_asks_for_a_person(browser, site)
    await claim(agent_page, conversation)
    attack = '<img src=x onerror="window.__pwned=1"><script>window.__pwned=2</script>'
    await citizen.fill("#cb-input", attack)
    await citizen.press("#cb-input", "Enter")
    shown = agent_page.locator("#transcript [data-from='citizen'] .text").last
    await expect(shown).to_have_text(attack)
    assert await agent_page.evaluate("window.__pwned === undefined")
    assert await agent_page.locator("#transcript img, #transcript script").count() == 0


async def test_a_masked_phone_number_is_shown_to_the_agent_on_request_with_a_reason(
    browser: Browser, site: str, agent: str, stack: Stack
) -> None:
    """Issue 14: the agent sees "[telefonnummer]"; "show hidden details" asks why, and shows it."""
    agent_page = await sign_in(await browser.new_context(), site, agent, "sv")
    citizen, conversation = await citizen_asks_for_a_person(browser, site)
    await claim(agent_page, conversation)
    await citizen.fill("#cb-input", "ring mig på 040 765 4321")
    await citizen.press("#cb-input", "Enter")
    await expect(citizen.locator(".cb-user .cb-text").last).to_have_text("ring mig på 040 765 4321")  # their own
    line = agent_page.locator("#transcript [data-from='citizen']").last
    await expect(line.locator(".text")).to_have_text("ring mig på [telefonnummer]")
    agent_page.once("dialog", lambda dialog: asyncio.ensure_future(dialog.accept("kunden bad om samtal")))
    await line.locator("button.reveal").click()
    await expect(line.locator(".revealed")).to_have_text("Telefonnummer: 040 765 4321")

    # A supervisor sees who opened and who revealed what, in the console's access log.
    redis = connect(stack.settings.redis)
    chief = f"chief{next(_names)}"
    await Agents(redis).create(chief, "Chief", PASSWORD, admin=True)
    await redis.aclose()
    supervisor = await sign_in(await browser.new_context(), site, chief, "en")
    await supervisor.click("#audit-open")
    rows = supervisor.locator("#audit-rows tr")
    await expect(rows.first).to_contain_text("revealed hidden details")
    await expect(rows.first).to_contain_text("kunden bad om samtal (phone)")
    await expect(rows.filter(has_text="opened the transcript").first).to_contain_text(agent)
    assert await agent_page.locator("#audit-open").is_hidden()  # an agent who is not a supervisor


@pytest.mark.parametrize("language", ["fi", "sv", "en"])
async def test_axe_finds_no_wcag_violations_in_the_console(
    browser: Browser, site: str, agent: str, language: str
) -> None:
    agent_page = await sign_in(await browser.new_context(), site, agent, language)
    _, conversation = await citizen_asks_for_a_person(browser, site)
    await claim(agent_page, conversation)
    results = await Axe().run(agent_page, options=WCAG)
    assert results.violations_count == 0, results.generate_report()
