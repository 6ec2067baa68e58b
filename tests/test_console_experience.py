"""The console as agents work in it (issue 16, item 3), in a real browser: fixed panes with the
composer in view at 1440x900, the queue by waiting time with previews and a language filter, the
context panel, ended conversations with their ratings (searched and reread), the away status,
and a sound and the title's count for new cases. Screenshots go to ``test-artifacts/``."""

from __future__ import annotations

import asyncio

import pytest
from axe_playwright_python.async_playwright import Axe
from playwright.async_api import Browser, Page, expect

from bot.cli.supervisor import Stack
from bot.handoff.agents import Agents
from bot.store.redis import connect
from tests import test_console_browser
from tests.test_console_browser import claim, sign_in
from tests.test_widget_browser import WCAG, open_widget, say
from tests.test_widget_experience import shoot

pytestmark = pytest.mark.integration
site, agent = test_console_browser.site, test_console_browser.agent  # the console tests' fixtures
WIDE = {"width": 1440, "height": 900}
ASK = {"fi": "haluan puhua ihmisen kanssa", "sv": "kan jag få prata med en människa?"}
# A page's AudioContext replaced by one that counts the tones started (no sound device here).
COUNT_TONES = """
window.__tones = 0;
window.AudioContext = function () {
  var node = function () { return { connect: function () {}, frequency: {}, gain: {},
    start: function () { window.__tones += 1; }, stop: function () {} }; };
  return { currentTime: 0, destination: {}, createOscillator: node, createGain: node };
};
"""


async def citizen_in_queue(browser: Browser, site: str, language: str) -> tuple[Page, str]:
    page = await (await browser.new_context(locale={"fi": "fi-FI", "sv": "sv-FI"}[language])).new_page()
    await page.add_init_script(f"localStorage.setItem('citybot.lang', '{language}')")
    await open_widget(page, site)
    await say(page, ASK[language])
    await page.wait_for_function("() => document.querySelectorAll('.cb-bot').length >= 2")
    session = await page.evaluate("localStorage.getItem('citybot.session')")
    return page, f"webchat:{session}"


async def test_the_composer_stays_in_view_beside_a_long_transcript_at_1440x900(
    browser: Browser, site: str, agent: str
) -> None:
    """Before: the whole page scrolled and the composer was below the fold."""
    page = await sign_in(await browser.new_context(viewport=WIDE), site, agent, "fi")
    _, conversation = await citizen_in_queue(browser, site, "fi")
    await claim(page, conversation)
    for n in range(30):
        await page.fill("#composer", f"Vastaus numero {n}: tarkistan asian ja palaan siihen hetken päästä.")
        await page.press("#composer", "Enter")
    await expect(page.locator("#transcript [data-from='agent']")).to_have_count(30)
    box = await page.locator("#composer").bounding_box()
    send = await page.locator("#send").bounding_box()
    end = await page.locator("#end").bounding_box()
    assert box and send and end
    assert box["y"] + box["height"] <= WIDE["height"] and end["y"] + end["height"] <= WIDE["height"]
    assert await page.evaluate("document.documentElement.scrollHeight <= window.innerHeight + 1")
    assert await page.evaluate("(t => t.scrollHeight > t.clientHeight)(document.getElementById('transcript'))")
    assert await page.locator("#context-panel").is_visible()  # the third pane, beside the conversation
    await shoot(page, "console-fixed-panes-1440x900")


async def test_the_queue_is_by_waiting_time_with_previews_and_a_language_filter(
    browser: Browser, site: str, agent: str
) -> None:
    page = await sign_in(await browser.new_context(viewport=WIDE), site, agent, "en")
    swede, swedish = await citizen_in_queue(browser, site, "sv")
    await say(swede, "Min faktura för hemvården är fel")
    await asyncio.sleep(1.5)  # the Swede has waited longer
    _, finnish = await citizen_in_queue(browser, site, "fi")
    items = page.locator("#queue-list > li")
    await expect(items).to_have_count(2, timeout=20000)
    assert [await item.get_attribute("data-conversation") for item in await items.all()] == [swedish, finnish]
    await expect(items.nth(0).locator(".preview-text")).to_have_text("Min faktura för hemvården är fel")
    assert await items.nth(0).locator(".preview-text").get_attribute("lang") == "sv"
    await expect(items.nth(1).locator(".preview-text")).to_have_text(ASK["fi"])
    await shoot(page, "console-queue-order-preview")

    await page.uncheck("#filter-sv")
    await expect(items).to_have_count(1)
    assert await items.nth(0).get_attribute("data-conversation") == finnish
    await expect(page.locator("#queue-hidden")).to_have_text("1 hidden by the language filter")
    await expect(page.locator("#queue-heading")).to_have_text("Queue (1)")
    await page.reload()  # the filter is remembered
    await expect(page.locator("#work-view")).to_be_visible()
    await expect(items).to_have_count(1, timeout=20000)
    assert not await page.is_checked("#filter-sv")
    results = await Axe().run(page, options=WCAG)
    assert results.violations_count == 0, results.generate_report()


async def test_context_panel_then_the_ended_case_with_its_rating_searched_and_reread(
    browser: Browser, site: str, agent: str
) -> None:
    page = await sign_in(await browser.new_context(viewport=WIDE), site, agent, "sv")
    citizen, conversation = await citizen_in_queue(browser, site, "sv")
    await claim(page, conversation)
    context = page.locator("#context-info")
    await expect(context).to_contain_text("webbchatt")
    await expect(context).to_contain_text("Anonym")
    await expect(page.locator("#context-earlier-none")).to_be_visible()
    await shoot(page, "console-context-panel")

    await citizen.keyboard.type("Jag undrar över min hyresfaktura")  # to the agent: the bot does not answer
    await citizen.keyboard.press("Enter")
    await expect(page.locator("#transcript [data-from='citizen']").last).to_contain_text("hyresfaktura")
    await page.click("#end")
    await page.click("#end-confirm")
    item = page.locator("#history-list > li").first
    await expect(item).to_contain_text("Inget betyg", timeout=20000)
    await citizen.wait_for_function(
        "() => [...document.querySelectorAll('.cb-reply')].filter(b => !b.disabled).length >= 5"
    )
    await say(citizen, "4")  # the rating
    await expect(item).to_contain_text("Betyg 4/5", timeout=20000)
    await expect(item.locator(".preview-text")).to_have_text("Jag undrar över min hyresfaktura")

    await page.fill("#history-query", "hyresfaktura")
    await page.press("#history-query", "Enter")
    await expect(page.locator("#history-empty")).to_have_text("Sökningen ”hyresfaktura” hittade 1.")
    await page.fill("#history-query", "zebra")
    await page.press("#history-query", "Enter")
    await expect(page.locator("#history-list > li")).to_have_count(0)
    await page.fill("#history-query", "")
    await page.press("#history-query", "Enter")
    await page.locator("#history-list button.select-closed").first.click()
    await expect(page.locator("#readonly")).to_be_visible()
    await expect(page.locator("#composer-form")).to_be_hidden()
    await expect(page.locator("#transcript")).to_contain_text("Jag undrar över min hyresfaktura")
    await shoot(page, "console-ended-conversation")
    results = await Axe().run(page, options=WCAG)
    assert results.violations_count == 0, results.generate_report()
    await page.click("#readonly-close")
    await expect(page.locator("#no-conversation")).to_be_visible()


async def test_new_cases_sound_when_asked_and_count_in_the_title_and_away_takes_none(
    browser: Browser, site: str, agent: str, stack: Stack
) -> None:
    context = await browser.new_context(viewport=WIDE)
    await context.add_init_script(COUNT_TONES)
    page = await sign_in(context, site, agent, "en")
    await page.check("#sound")
    assert await page.evaluate("window.__tones") == 1  # a sample tone as it is switched on
    _, conversation = await citizen_in_queue(browser, site, "fi")
    await expect(page.locator(f'#queue-list [data-conversation="{conversation}"]')).to_be_visible(timeout=20000)
    await page.wait_for_function("() => window.__tones === 2")
    assert (await page.title()).startswith("(1) ")

    await page.select_option("#agent-status", "away")
    await expect(page.locator("#notice")).to_contain_text("You are away")
    redis = connect(stack.settings.redis)
    try:
        assert await Agents(redis).is_away(agent)
        other, _ = await citizen_in_queue(browser, site, "fi")  # nobody available: leave a message
        assert "jättää viestin" in await other.locator(".cb-bot").last.inner_text()
        assert await page.evaluate("window.__tones") == 2  # nothing new to take
        await page.select_option("#agent-status", "available")
        await expect(page.locator("#notice")).to_contain_text("You are available")
        assert not await Agents(redis).is_away(agent)
    finally:
        await redis.aclose()


@pytest.mark.parametrize(
    ("viewport", "scale"),
    [({"width": 320, "height": 640}, 1), ({"width": 640, "height": 360}, 2)],  # a small phone; 200 % zoom of 1280x720
    ids=["320px", "zoom200"],
)
async def test_the_typing_indicator_shows_whole_on_a_small_screen(
    browser: Browser, site: str, agent: str, viewport: dict[str, int], scale: int
) -> None:
    """Before: the typing indicator was half-clipped on a phone. The agent types; the citizen's
    widget shows it whole, inside the panel, above the input."""
    page = await sign_in(await browser.new_context(viewport=WIDE), site, agent, "fi")
    context = await browser.new_context(viewport=viewport, device_scale_factor=scale, locale="fi-FI")
    citizen = await context.new_page()
    await citizen.add_init_script("localStorage.setItem('citybot.lang', 'fi')")
    await open_widget(citizen, site)
    await say(citizen, ASK["fi"])
    await citizen.wait_for_function("() => document.querySelectorAll('.cb-bot').length >= 2")
    conversation = f"webchat:{await citizen.evaluate('localStorage.getItem(`citybot.session`)')}"
    await claim(page, conversation)
    await page.locator("#composer").press_sequentially("Hetki, katson asiaa", delay=20)
    typing = citizen.locator(".cb-typing")
    await expect(typing).to_be_visible(timeout=10000)
    box, panel, form = (
        await typing.bounding_box(),
        await citizen.locator(".cb-panel").bounding_box(),
        await citizen.locator(".cb-form").bounding_box(),
    )
    assert box and panel and form
    assert box["height"] >= 16 and box["x"] >= panel["x"] and box["x"] + box["width"] <= panel["x"] + panel["width"]
    assert panel["y"] <= box["y"] and box["y"] + box["height"] <= form["y"] + 0.5  # above the input, not under it
    assert box["y"] + box["height"] <= viewport["height"]
    assert await typing.evaluate("n => n.scrollHeight <= n.clientHeight + 1 && n.scrollWidth <= n.clientWidth + 1")
    log = await citizen.locator(".cb-log").bounding_box()
    assert log and log["height"] >= 120  # the conversation keeps room beside the header and the input
    # The latest message stays in sight above the indicator (the log is still at its end).
    assert await citizen.locator(".cb-log").evaluate("n => n.scrollHeight - n.scrollTop - n.clientHeight < 2")
    await shoot(citizen, f"widget-agent-typing-{viewport['width']}x{viewport['height']}")


async def test_the_console_fits_320px_and_200_percent_zoom(browser: Browser, site: str, agent: str) -> None:
    """The new header controls, panes and lists reflow: nothing is cut or scrolls sideways."""
    for viewport, scale in (({"width": 320, "height": 640}, 1), ({"width": 720, "height": 450}, 2)):
        page = await sign_in(await browser.new_context(viewport=viewport, device_scale_factor=scale), site, agent, "fi")
        _, conversation = await citizen_in_queue(browser, site, "fi")
        await claim(page, conversation)
        for selector in ("#agent-status", "#sound", "#queue-filter", "#history-query", "#composer", "#send", "#end"):
            await page.locator(selector).scroll_into_view_if_needed()
            box = await page.locator(selector).bounding_box()
            assert box and box["x"] >= 0 and box["x"] + box["width"] <= viewport["width"] + 0.5, selector
        assert await page.evaluate("document.documentElement.scrollWidth") <= viewport["width"]
        await shoot(page, f"console-{viewport['width']}x{viewport['height']}")
        await page.click("#end")
        await page.click("#end-confirm")
        await page.context.close()
