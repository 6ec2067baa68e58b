"""Issue 16, item 3: the supervisors' dashboard. Its figures from known events on a real Redis,
then through a gateway with the real bot (a question it does not understand, a handoff taken,
ended and rated), then the page in a browser in fi, sv and en with axe and screenshots."""

from __future__ import annotations

import os
import re
import uuid
from datetime import date
from typing import Any

import aiohttp
import pytest
from axe_playwright_python.async_playwright import Axe
from playwright.async_api import Browser, expect
from redis.asyncio import Redis

from bot.cli.supervisor import Stack
from bot.conversation.stats import Stats
from bot.handoff.agents import Agents
from bot.store import keys
from tests import test_handoff
from tests.test_console_browser import sign_in
from tests.test_handoff import PASSWORD, clear_queues
from tests.test_widget_browser import WCAG
from tests.test_widget_experience import shoot

pytestmark = pytest.mark.integration
redis, new_agent, gateway, consoles = (
    test_handoff.redis,
    test_handoff.new_agent,
    test_handoff.gateway,
    test_handoff.consoles,
)


async def test_the_figures_of_known_events(redis: Redis, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CITYBOT_FIXED_NOW", "2027-02-03T12:00:00+02:00")
    stats = Stats(redis, retention_days=30)
    await stats.turn("a", "webchat", "fi", True)
    await stats.turn("a", "webchat", "fi", True)  # one conversation, two turns
    await stats.turn("b", "webchat", "fi", False, "Missä on  minun LOMPAKKO?!")
    await stats.turn("b", "webchat", "fi", False, "missä on minun lompakko")
    await stats.turn("b", "webchat", "fi", False, "/nlu_fallback")  # a payload is no question
    for name, wait, score in (("c", 30.0, 5), ("d", 90.0, 2)):
        await stats.turn(name, "telegram", "sv", True)
        await stats.asked(name, "telegram", "sv")
        await stats.asked(name, "telegram", "sv")  # asking twice is one conversation that asked
        await stats.served(name, "telegram", "sv", wait)
        await stats.rated("telegram", "sv", score)
    await stats.turn("e", "whatsapp", "en", True)
    await stats.asked("e", "whatsapp", "en")  # nobody took it

    report = await stats.report(date(2027, 2, 1), date(2027, 2, 3))
    total, fi, sv, en = report["total"], *(report["by_language"][lg] for lg in ("fi", "sv", "en"))
    assert total["conversations"] == 5 and total["turns"] == 8
    assert fi["conversations"] == 2 and fi["containment"] == 1.0 and fi["handoff_rate"] == 0.0
    assert fi["fallback_rate"] == round(3 / 5, 4) and fi["median_wait_seconds"] is None
    assert sv["conversations"] == 2 and sv["containment"] == 0.0 and sv["handoff_rate"] == 1.0
    assert sv["median_wait_seconds"] == 60.0 and sv["csat"] == 0.5 and sv["mean_rating"] == 3.5
    assert en["handoff_rate"] == 1.0 and en["containment"] == 1.0 and en["csat"] is None
    assert total["containment"] == round(3 / 5, 4) and total["handoff_rate"] == round(3 / 5, 4)
    assert report["by_channel"]["telegram"]["conversations"] == 2
    assert report["by_channel"]["webchat"]["fallback_rate"] == round(3 / 5, 4)
    assert report["days"] == [
        {"day": "2027-02-01", "conversations": 0},
        {"day": "2027-02-02", "conversations": 0},
        {"day": "2027-02-03", "conversations": 5},
    ]
    assert report["unanswered"]["fi"] == [{"text": "missä on minun lompakko", "count": 2}]
    assert report["unanswered"]["sv"] == []
    ttl = await redis.ttl(keys.stats_day("2027-02-03"))
    assert 29 * 86400 < ttl <= 30 * 86400  # kept as long as the chats
    assert 0 < await redis.ttl(keys.stats_seen("2027-02-03", "conversations")) <= 2 * 86400


async def test_the_dashboard_api_counts_what_happened_for_supervisors_only(
    gateway: str, redis: Redis, consoles: Any, citizens: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CITYBOT_FIXED_NOW", "2027-03-10T12:00:00+02:00")  # a day of its own
    await clear_queues(redis)
    agents = Agents(redis)
    agent, chief = f"agent-stats-{os.getpid()}", f"chief-stats-{os.getpid()}"
    await agents.create(agent, "Anna", PASSWORD, ("fi",))
    await agents.create(chief, "Chief", PASSWORD, ("fi",), admin=True)
    console = await consoles(agent)

    puzzled = citizens()
    sid = await puzzled.start(gateway)
    await puzzled.say("blörp zzkx qwvv grml 040 765 4321", sid, language="fi")
    await puzzled.replies(1)

    helped = citizens()
    sid = await helped.start(gateway)
    conversation = f"webchat:{sid}"
    await helped.say("haluan puhua ihmisen kanssa", sid, language="fi")
    await helped.replies(2)
    await console.waiting_for(conversation)
    await console.send(type="claim", conversation=conversation)
    await console.expect("transcript", lambda m: m["conversation"] == conversation)
    await console.send(type="end", conversation=conversation)
    await console.expect("released", lambda m: m["conversation"] == conversation)
    await helped.replies(3)
    await helped.say("/handoff_rating_4", sid)
    await helped.replies(1)

    supervisor = await consoles(chief)
    async with supervisor.session.get(f"{gateway}/console/api/stats") as response:
        assert response.status == 200
        report = await response.json()
    assert report["from"] == "2027-03-04" and report["to"] == "2027-03-10"  # the last seven days
    fi = report["by_language"]["fi"]
    assert fi["conversations"] == 2 and fi["asked"] == 1 and fi["served"] == 1
    assert fi["containment"] == 0.5 and fi["handoff_rate"] == 0.5 and fi["csat"] == 1.0 and fi["mean_rating"] == 4.0
    assert fi["median_wait_seconds"] is not None and fi["median_wait_seconds"] >= 0
    assert 0 < fi["fallback_rate"] < 1
    assert report["by_channel"]["webchat"]["conversations"] == 2
    [unanswered] = report["unanswered"]["fi"]
    assert unanswered == {"text": "blörp zzkx qwvv grml [puhelinnumero]", "count": 1}  # masked

    async with console.session.get(f"{gateway}/console/api/stats") as response:
        assert response.status == 403  # an agent who is not a supervisor
    async with aiohttp.ClientSession() as anonymous, anonymous.get(f"{gateway}/console/api/stats") as response:
        assert response.status == 401
    for query, why in (
        ({"from": "2027-03-10", "to": "last week"}, "dates"),
        ({"from": "2027-03-10", "to": "2027-03-09"}, "after"),
        ({"from": "2027-03-10", "to": "2027-03-11"}, "kept"),  # the future
        ({"from": "2026-12-01", "to": "2027-03-10"}, "kept"),  # older than the chats are kept
    ):
        async with supervisor.session.get(f"{gateway}/console/api/stats", params=query) as response:
            assert response.status == 400 and why in (await response.json())["error"], query


@pytest.mark.parametrize("language", ["fi", "sv", "en"])
async def test_the_dashboard_page_with_data(browser: Browser, stack: Stack, redis: Redis, language: str) -> None:
    """The stack's gateway, like this process, runs at the tests' fixed day (2026-12-20)."""
    stats = Stats(redis, stack.settings.transcript_days)
    marker = f"miten varaan saunavuoron {uuid.uuid4().hex[:6]}"
    for n in range(3):
        await stats.turn(f"dash-{marker}-{n}", "webchat", "fi", n != 0, marker)
    await stats.asked(f"dash-{marker}-1", "telegram", "sv")
    await stats.served(f"dash-{marker}-1", "telegram", "sv", 42)
    await stats.rated("telegram", "sv", 5)
    chief = f"chief-page-{language}-{os.getpid()}"
    await Agents(redis).create(chief, "Chief", PASSWORD, ("fi",), admin=True)
    site = f"http://127.0.0.1:{stack.settings.gateway_port}/"
    page = await sign_in(await browser.new_context(viewport={"width": 1280, "height": 800}), site, chief, language)
    await page.click("#dashboard-open")
    await expect(page.locator("#figures")).to_be_visible(timeout=20000)
    assert await page.evaluate("document.documentElement.lang") == language
    await expect(page.locator("#summary .tile")).to_have_count(7)
    await expect(page.locator("#by-language figure")).to_have_count(6)
    await expect(page.locator("#by-channel figure")).to_have_count(6)
    await expect(page.locator("#per-day .bar-row")).to_have_count(7)
    await expect(page.locator("#unanswered")).to_contain_text(marker)
    conversations = page.locator("#by-language figure").first.locator(".bar-row").first
    assert int((await conversations.locator(".bar-value").inner_text()).replace("\u00a0", "").replace(" ", "")) >= 3
    rating = await page.locator("#summary .tile").last.locator("dd").inner_text()
    assert re.fullmatch(r"[1-5]([.,]\d{1,2})?/5", rating), rating
    assert "." not in rating if language in ("fi", "sv") else "," not in rating  # 4,67/5 in Finnish and Swedish
    await shoot(page, f"dashboard-{language}")
    results = await Axe().run(page, options=WCAG)
    assert results.violations_count == 0, results.generate_report()

    # Another period: the form, and a clear message for one that cannot be shown.
    await page.fill("#from", "2026-12-20")
    await page.fill("#to", "2026-12-20")
    await page.click("#period button[type=submit]")
    await expect(page.locator("#per-day .bar-row")).to_have_count(1)
    await page.fill("#to", "2026-12-19")
    await page.click("#period button[type=submit]")
    backwards = {
        "fi": "Alkupäivä ei voi olla päättymispäivän jälkeen.",
        "sv": "Startdagen kan inte vara efter slutdagen.",
        "en": "The first day cannot be after the last day.",
    }
    await expect(page.locator("#period-status")).to_have_text(backwards[language])  # in the page's language
    await page.fill("#from", "2025-01-01")
    await page.click("#period button[type=submit]")
    await expect(page.locator("#period-status")).to_contain_text("2026-12-20")  # the days that are kept
    # An agent who is not a supervisor is told, not shown figures.
    agent = f"agent-page-{language}-{os.getpid()}"
    await Agents(redis).create(agent, "Agent", PASSWORD, ("fi",))
    other = await sign_in(await browser.new_context(), site, agent, language)
    assert await other.locator("#dashboard-open").is_hidden()
    await other.goto(f"{site}console/dashboard")
    await expect(other.locator("#refused")).to_be_visible()
    assert await other.locator("#figures").is_hidden()


def test_every_figure_the_page_draws_is_reported_and_named_in_three_languages() -> None:
    """A figure renamed on one side would show as blank on the page."""
    from bot.conversation.stats import Figures
    from channels.console.server import STATIC_DIR, console_strings

    drawn = re.findall(r'\["(\w+)", "(?:count|share|seconds)"\]', (STATIC_DIR / "dashboard.js").read_text())
    assert len(drawn) == 6
    reported = set(Figures().public([]))
    strings = console_strings()
    for name in [*drawn, "mean_rating"]:
        assert name in reported
        assert set(strings[f"metric_{name}"]) == {"fi", "sv", "en"}
