"""The widget as citizens meet it (issue 16): the greeting, answers with follow-ups, stale
options, the embedding page's theme, the accessibility statement. Screenshots at 1280x800 and
390x844 go to ``test-artifacts/`` (kept by CI as artefacts, not committed)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from axe_playwright_python.async_playwright import Axe
from playwright.async_api import Browser, Page, Route, expect

from bot.cli.supervisor import Stack
from bot.core.paths import PROJECT_ROOT
from bot.knowledge.files import load_faq
from tests import test_offers
from tests.conversations.runner import OFFER_DETAILS
from tests.test_widget_browser import WCAG, open_widget, say

pytestmark = pytest.mark.integration
city = test_offers.city  # a gateway with the back-office API, as a fixture
ARTEFACTS = PROJECT_ROOT / "test-artifacts"
SIZES = {"desktop": {"width": 1280, "height": 800}, "phone": {"width": 390, "height": 844}}
HELLO = {"fi": "Hei! Olen Helsingin", "sv": "Hej! Jag är Helsingfors", "en": "Hi! I am the City of Helsinki"}
KEPT = {"fi": "tallennetaan 30 päiväksi", "sv": "sparas i 30 dagar", "en": "kept for 30 days"}


@pytest.fixture
def site(stack: Stack) -> str:
    return f"http://127.0.0.1:{stack.settings.gateway_port}/"


async def shoot(page: Page, name: str) -> None:
    ARTEFACTS.mkdir(exist_ok=True)
    await page.screenshot(path=str(ARTEFACTS / f"{name}.png"))


@pytest.mark.parametrize("lang", ["fi", "sv", "en"])
@pytest.mark.parametrize("size", sorted(SIZES))
async def test_the_chat_opens_with_a_greeting_a_notice_and_topics(
    browser: Browser, site: str, lang: str, size: str
) -> None:
    """Before: an empty white panel, no word that this is a bot or what is kept."""
    context = await browser.new_context(viewport=SIZES[size])
    page = await context.new_page()
    await page.add_init_script(f"localStorage.setItem('citybot.lang', '{lang}')")
    await open_widget(page, site)
    intro = page.locator(".cb-intro")
    assert (await intro.locator(".cb-intro-hello").inner_text()).startswith(HELLO[lang])
    assert KEPT[lang] in await intro.locator(".cb-notice").inner_text()
    topics = intro.locator(".cb-reply")
    assert await topics.count() == 5
    await shoot(page, f"greeting-{lang}-{size}")
    results = await Axe().run(page, options=WCAG)
    assert results.violations_count == 0, results.generate_report()
    before = await page.locator(".cb-bot").count()
    await topics.nth(3).click()  # libraries
    await page.wait_for_function(f"() => document.querySelectorAll('.cb-bot').length > {before}", timeout=30000)
    assert await page.locator(".cb-bot").last.locator(".cb-text").inner_text() == load_faq()["library"].answer[lang]
    assert await topics.nth(0).is_disabled()  # the greeting's topics are superseded by the answer
    await context.close()


async def test_an_answer_has_a_titled_link_and_follow_ups_and_old_options_go_stale(browser: Browser, site: str) -> None:
    context = await browser.new_context(viewport=SIZES["phone"])
    page = await context.new_page()
    await open_widget(page, site)
    await say(page, "how much is a swim ticket?")
    answer = page.locator(".cb-bot").nth(await page.locator(".cb-bot").count() - 1)  # this one, not the last
    faq = load_faq()["sports_facilities"]
    assert await answer.locator(".cb-text").inner_text() == faq.entry("swimming_prices").answer["en"]  # type: ignore[union-attr]
    link = answer.locator(".cb-links a")
    assert await link.inner_text() == faq.link_title["en"]  # type: ignore[index]
    assert "http" not in await answer.locator(".cb-text").inner_text()
    follow_ups = answer.locator(".cb-reply")
    assert await follow_ups.count() == 4
    await shoot(page, "answer-with-follow-ups-phone")
    before = await page.locator(".cb-bot").count()
    await follow_ups.first.click()  # gyms
    await page.wait_for_function(f"() => document.querySelectorAll('.cb-bot').length > {before}", timeout=30000)
    assert await page.locator(".cb-bot").last.locator(".cb-text").inner_text() == faq.entry("gym").answer["en"]  # type: ignore[union-attr]
    assert await follow_ups.nth(1).is_disabled()  # pressed or not, an earlier answer's options are stale
    await say(page, "what can you do?")
    menu = page.locator(".cb-bot").nth(await page.locator(".cb-bot").count() - 1).locator(".cb-reply")
    assert await menu.count() == 3 and not await menu.first.is_disabled()
    await say(page, "thanks")
    assert all([await menu.nth(i).is_disabled() for i in range(await menu.count())])
    await shoot(page, "stale-options-phone")
    await context.close()


THEMED = """<!doctype html><html lang="sv"><head><meta charset="utf-8"><title>Stad</title></head>
<body><main><h1>Stadens sida</h1></main>
<script src="/webchat/citybot-widget.js" data-lang="sv" data-title="Esbo stads chattbot"
 data-color="#006400" data-position="left" data-logo="/webchat/logo-test.svg"
 data-accessibility-url="https://www.example.fi/tillganglighet" defer></script></body></html>"""
LOGO = '<svg xmlns="http://www.w3.org/2000/svg" width="20" height="20"><rect width="20" height="20"/></svg>'


async def test_the_embedding_page_sets_title_colour_logo_position_and_statement(browser: Browser, site: str) -> None:
    page = await browser.new_page(viewport=SIZES["desktop"])

    async def themed(route: Route) -> None:
        if route.request.url.endswith("logo-test.svg"):
            await route.fulfill(body=LOGO, content_type="image/svg+xml")
        else:
            await route.fulfill(body=THEMED, content_type="text/html")

    await page.route(f"{site}themed.html", themed)
    await page.route(f"{site}webchat/logo-test.svg", themed)
    await open_widget(page, f"{site}themed.html")
    assert await page.locator(".cb-title").inner_text() == "Esbo stads chattbot"
    header = await page.locator(".cb-header").evaluate("e => getComputedStyle(e).backgroundColor")
    assert header == "rgb(0, 100, 0)"
    launcher = await page.locator(".cb-launcher").bounding_box()
    assert launcher is not None and launcher["x"] < 100  # on the left
    assert await page.locator(".cb-logo").get_attribute("alt") == ""  # decorative: the title names it
    link = page.locator(".cb-footer-link")
    assert await link.get_attribute("href") == "https://www.example.fi/tillganglighet"
    assert await link.inner_text() == "Tillgänglighetsutlåtande och respons"
    await shoot(page, "theme-desktop")
    results = await Axe().run(page, options=WCAG)
    assert results.violations_count == 0, results.generate_report()


@pytest.mark.parametrize(
    ("lang", "heading"),
    [("fi", "Saavutettavuusseloste"), ("sv", "Tillgänglighetsutlåtande"), ("en", "Accessibility statement")],
)
async def test_the_accessibility_statement_and_its_feedback_link(
    browser: Browser, site: str, lang: str, heading: str
) -> None:
    """Act 306/2019: a statement and a way to give accessibility feedback, in each language."""
    page = await browser.new_page()
    await page.add_init_script(f"localStorage.setItem('citybot.lang', '{lang}')")
    await open_widget(page, site)
    href = await page.locator(".cb-footer-link").get_attribute("href")
    assert href is not None and href.endswith(f"/webchat/accessibility-{lang}.html")
    response = await page.goto(href)
    assert response is not None and response.status == 200
    assert (await page.locator("h1").inner_text()).startswith(heading)
    assert await page.locator("html").get_attribute("lang") == lang
    assert await page.locator("h2[id]").count() == 1  # the feedback section, linkable
    results = await Axe().run(page, options=WCAG)
    assert results.violations_count == 0, results.generate_report()


def test_artefacts_are_not_committed() -> None:
    ignored = (PROJECT_ROOT / ".gitignore").read_text(encoding="utf-8").split()
    assert "test-artifacts/" in ignored
    assert Path(ARTEFACTS).name == "test-artifacts"


@pytest.mark.parametrize("size", sorted(SIZES))
async def test_an_offer_is_a_card_with_its_key_facts_and_clear_actions(browser: Browser, city: Any, size: str) -> None:
    """Before: the offer looked like any other bubble with four stacked pills. A signed-in
    citizen's widget gets the school place as a card (title, child, school, start, answer date),
    accept filled as the main action; once pressed, the card's actions are spent."""
    citizen = f"card-citizen-{size}"
    await city.consent(citizen)
    context = await browser.new_context(viewport=SIZES[size])
    page = await context.new_page()
    await page.add_init_script(
        f"localStorage.setItem('citybot.lang', 'sv'); window.citybotIdentityToken = {city.token(citizen)!r};"
    )
    await open_widget(page, city.base + "/")
    await page.wait_for_function("() => document.querySelectorAll('.cb-bot').length >= 1")  # "this chat is now linked"
    status, _ = await city.offer(citizen)
    assert status == 201
    card = page.locator(".cb-card")
    await expect(card).to_have_count(1, timeout=20000)
    await expect(card.locator(".cb-card-title")).to_have_text("Skolplats")
    facts = card.locator(".cb-fact")
    assert [await f.locator("dt").inner_text() for f in await facts.all()] == ["Barn", "Skola", "Från", "Svara senast"]
    assert await facts.nth(0).locator("dd").inner_text() == OFFER_DETAILS["school_placement"]["child_name"]
    assert OFFER_DETAILS["school_placement"]["school_name"] in await facts.nth(1).locator("dd").inner_text()
    actions = card.locator(".cb-reply")
    assert await actions.count() == 4
    assert "cb-primary" in (await actions.nth(0).get_attribute("class") or "")
    assert "cb-primary" not in (await actions.nth(1).get_attribute("class") or "")
    await shoot(page, f"offer-card-{size}")
    results = await Axe().run(page, options=WCAG)
    assert results.violations_count == 0, results.generate_report()
    await actions.nth(0).click()
    await page.wait_for_function("() => document.querySelectorAll('.cb-bot').length >= 3")
    assert "Tack" in await page.locator(".cb-bot").last.inner_text()
    for n in range(4):
        assert await actions.nth(n).is_disabled()  # the card is answered: its actions are spent
    await context.close()
