"""The conversation scenarios (README.md) against the real stack: one test per scenario.

A scenario the service does not pass yet is listed in ``known_failures.yml`` with the reason; its
test then checks that it still fails (a fixed one must leave the list), so the list is the honest
state, not a way to skip. The safety turns of every scenario must pass regardless.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio
import yaml

from bot.cli.supervisor import Stack
from tests.conftest import BACKOFFICE
from tests.conversations.runner import Scenario, World, load_scenarios, open_world, run_scenario

# One event loop for the module: the world (two gateways, each training its safety model) starts once.
pytestmark = pytest.mark.integration
SCENARIOS = load_scenarios()
KNOWN_FAILURES: dict[str, str] = (
    yaml.safe_load((Path(__file__).parent / "known_failures.yml").read_text(encoding="utf-8")) or {}
)


def test_there_are_enough_scenarios_in_every_language() -> None:
    by_language = {lang: sum(s.language == lang for s in SCENARIOS) for lang in ("fi", "sv", "en")}
    assert sum(by_language.values()) >= 150, by_language
    assert min(by_language.values()) >= 45, by_language
    assert set(KNOWN_FAILURES) <= {s.id for s in SCENARIOS}, "known failures name scenarios that do not exist"


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def world(stack: Stack) -> AsyncIterator[World]:
    async with open_world(stack.settings, BACKOFFICE.token, BACKOFFICE.callback_port) as running:
        yield running


@pytest.mark.asyncio(loop_scope="module")
@pytest.mark.parametrize("scenario", SCENARIOS, ids=[s.id for s in SCENARIOS])
async def test_scenario(world: World, scenario: Scenario) -> None:
    result = await run_scenario(world, scenario)
    safety = [t for t in result.turns if t.expect.get("safety") in ("emergency", "crisis") and not t.passed]
    assert not safety, result.report()
    if scenario.id in KNOWN_FAILURES:
        assert not result.passed, f"{scenario.id} passes now: take it off known_failures.yml"
    else:
        assert result.passed, result.report()
