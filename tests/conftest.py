"""Shared fixtures: the trained model, the running stack, and rasa-sdk tracker builders."""

from __future__ import annotations

import json
import os
import tempfile
import urllib.request
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterator

import pytest
import yaml
from playwright.async_api import Browser, async_playwright, expect
from rasa_sdk import Tracker

from bot.cli.supervisor import Stack, free_port
from bot.cli.training import require_model
from bot.core.settings import RedisAddress, Settings
from bot.handoff.agents import Agents
from bot.handoff.cases import Handoff
from bot.knowledge.handoff_config import load_handoff_config, write_handoff_variant
from bot.systems.registry import SCOPES, add_system
from tests import fake_whatsapp
from tests.clients import Citizen
from tests.conversations.runner import FIXED_NOW
from tests.fake_whatsapp import FakeCloudApi

# The action server of the test stack runs at FIXED_NOW, Sunday 20 December 2026, 12:00 in
# Helsinki (all three test languages ask about "now"); the conversation scenarios' command too.

os.environ.setdefault("RASA_TELEMETRY_ENABLED", "false")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def _test_handoff_file() -> Path:
    """knowledge/handoff.yml with the Finnish and Swedish queues open around the clock.

    The English queue keeps its real hours, so at FIXED_NOW (a Sunday) it is closed and opens
    on Monday: the out-of-hours path is tested with it.
    """
    return write_handoff_variant(Path(tempfile.mkdtemp(prefix="citybot-handoff-")) / "handoff.yml", ("fi", "sv"))


# Both in this process (gateways made by tests) and in the stack's processes.
os.environ["CITYBOT_HANDOFF_FILE"] = str(_test_handoff_file())
os.environ["CITYBOT_FIXED_NOW"] = FIXED_NOW


@dataclass(frozen=True)
class TestBackOffice:
    """The calling system every gateway of the test run knows (the stack's too: any gateway
    process may run a scheduled job and send its callback). Tests serve ``callback_port``."""

    token: str
    secret: str
    callback_port: int


def _test_backoffice() -> TestBackOffice:
    path = Path(tempfile.mkdtemp(prefix="citybot-backoffice-")) / "backoffice.yml"
    port = free_port()
    token, secret = add_system(
        path,
        "school_office",
        f"http://127.0.0.1:{port}/callbacks",
        scopes=SCOPES,
        all_citizens=True,
        allow_private_callback=True,  # the test's receiver is on loopback
    )
    os.environ["CITYBOT_BACKOFFICE_FILE"] = str(path)
    return TestBackOffice(token, secret, port)


BACKOFFICE = _test_backoffice()


@pytest.fixture(scope="session")
def model_path() -> Path:
    """The trained model for the current data; `make test` trains it before pytest runs."""
    return require_model()


@pytest.fixture(scope="session")
def cloud_api() -> FakeCloudApi:
    """The fake WhatsApp Cloud API, one for the run (tests tell their citizens apart by number)."""
    return FakeCloudApi().start()


@pytest.fixture(scope="session")
def stack(model_path: Path, tmp_path_factory: pytest.TempPathFactory, cloud_api: FakeCloudApi) -> Iterator[Stack]:
    """Embedded Redis, the action server, the Rasa server and the gateway on free loopback ports;
    the gateway (and every in-process gateway built from these settings) with WhatsApp on the
    fake Cloud API."""
    whatsapp = {
        "CITYBOT_WHATSAPP_PHONE_NUMBER_ID": fake_whatsapp.PHONE_NUMBER_ID,
        "CITYBOT_WHATSAPP_TOKEN": fake_whatsapp.TOKEN,
        "CITYBOT_WHATSAPP_APP_SECRET": fake_whatsapp.APP_SECRET,
        "CITYBOT_WHATSAPP_VERIFY_TOKEN": fake_whatsapp.VERIFY_TOKEN,
        "CITYBOT_WHATSAPP_API_URL": cloud_api.url,
        "CITYBOT_WHATSAPP_NUMBER": "358931011111",
    }
    settings = Settings(
        data_dir=tmp_path_factory.mktemp("stack"),
        redis=RedisAddress("127.0.0.1", free_port(), password="test-redis-password-not-secret", embedded=True),
        rasa_port=free_port(),
        actions_port=free_port(),
        rasa_token="test-token-not-secret",
        gateway_port=free_port(),
        whatsapp_phone_number_id=fake_whatsapp.PHONE_NUMBER_ID,
        whatsapp_token=fake_whatsapp.TOKEN,
        whatsapp_app_secret=fake_whatsapp.APP_SECRET,
        whatsapp_verify_token=fake_whatsapp.VERIFY_TOKEN,
        whatsapp_api_url=cloud_api.url,
        whatsapp_number="358931011111",
    )
    with Stack(settings, model=model_path, extra_env={"CITYBOT_FIXED_NOW": FIXED_NOW, **whatsapp}) as running:
        yield running


class RestChat:
    """A citizen talking to the stack's token-protected Rasa channel."""

    def __init__(self, stack: Stack, sender: str) -> None:
        self.url = f"{stack.settings.rasa_url}/webhooks/citybot/webhook"
        self.token = stack.settings.rasa_token
        self.sender = sender
        self.language: str | None = None

    def say(self, text: str, **metadata: Any) -> list[dict[str, Any]]:
        """Send ``text`` and return the bot's replies."""
        body = json.dumps({"sender": self.sender, "message": text, "metadata": metadata}).encode()
        headers = {"Content-Type": "application/json", "Authorization": f"Bearer {self.token}"}
        request = urllib.request.Request(self.url, data=body, headers=headers)
        with urllib.request.urlopen(request, timeout=60) as response:
            body = json.loads(response.read())
        self.language = body["language"]
        return list(body["replies"])


@pytest.fixture
def chat(stack: Stack, request: pytest.FixtureRequest) -> Callable[[str], RestChat]:
    """Factory for chats with a fresh conversation id per call."""
    counter = iter(range(1000))

    def make(prefix: str = "t") -> RestChat:
        return RestChat(stack, f"test:{request.node.name}:{prefix}{next(counter)}")

    return make


def make_tracker(
    text: str = "",
    intent: str | None = None,
    entities: list[dict[str, Any]] | None = None,
    slots: dict[str, Any] | None = None,
    ranking: list[tuple[str, float]] | None = None,
    metadata: dict[str, Any] | None = None,
) -> Tracker:
    """A rasa-sdk Tracker whose latest message has the given text, intent and entities."""
    latest = {
        "text": text,
        "intent": {"name": intent, "confidence": ranking[0][1] if ranking else 1.0},
        "entities": entities or [],
        "intent_ranking": [{"name": n, "confidence": c} for n, c in (ranking or [])],
        "metadata": metadata or {},
    }
    base_slots = {"language": "fi", "language_source": "default", "fallback_count": 0.0}
    base_slots.update(slots or {})
    return Tracker(
        sender_id="test",
        slots=base_slots,
        latest_message=latest,
        events=[],
        paused=False,
        followup_action=None,
        active_loop={},
        latest_action_name="action_listen",
    )


@pytest.fixture
def tracker() -> Callable[..., Tracker]:
    """Builder of trackers for action tests (see ``make_tracker``)."""
    return make_tracker


# Debian's Chromium, driven by playwright (playwright's own browser download cannot work here).
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


# Playwright's assertions wait 5 s by default: a bot's answer on a shared, loaded CI machine can
# take longer. They return as soon as what they wait for holds, so passing tests are not slower.
expect.set_options(timeout=15_000)


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    """A headless Chromium for one test."""
    async with async_playwright() as playwright:
        chromium = await playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        await chromium.close()


async def reset_handoff(redis: Any) -> None:
    """Tests share one Redis: start from no queues, no cases and no one online, so that a case
    left by an earlier test (its agent gone) is not put back into a queue by a gateway's sweep."""
    agents = Agents(redis)
    await Handoff(redis, load_handoff_config(), agents).reset()
    await agents.reset_presence()


@pytest.fixture
async def citizens() -> AsyncIterator[Callable[[], Citizen]]:
    """Factory of web chat citizens (socket.io clients), disconnected after the test."""
    made: list[Citizen] = []

    def make() -> Citizen:
        made.append(Citizen())
        return made[-1]

    yield make
    for person in made:
        if person.client.connected:
            await person.client.disconnect()


@pytest.fixture(scope="session")
def domain_dict() -> dict[str, Any]:
    """domain.yml as a dict, as the action server receives it."""

    from bot.core.paths import DOMAIN_FILE

    return dict(yaml.safe_load(DOMAIN_FILE.read_text(encoding="utf-8")))
