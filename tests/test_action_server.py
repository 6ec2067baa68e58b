"""Every custom action through the real Rasa 3.6 server, with the action server on the supported
Python (a current rasa-sdk): slot events, responses with buttons and template values, the custom
payloads the gateway acts on, and an action that fails."""

from __future__ import annotations

import json
import shutil
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from prometheus_client.parser import text_string_to_metric_families

from bot.cli.supervisor import Stack
from bot.core.paths import DOMAIN_FILE, knowledge_dir
from bot.knowledge.files import load_faq
from tests.conftest import RestChat

pytestmark = pytest.mark.integration
Chat = Callable[..., RestChat]


def events(stack: Stack, sender: str) -> list[dict[str, Any]]:
    """The conversation's events as Rasa keeps them (its HTTP API, with the token)."""
    url = f"{stack.settings.rasa_url}/conversations/{sender}/tracker?token={stack.settings.rasa_token}"
    with urllib.request.urlopen(url, timeout=30) as response:
        return list(json.loads(response.read())["events"])


def scrape(url: str, token: str | None = None) -> str:
    """A Prometheus scrape of ``url`` (with the bearer token, when given)."""
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    with urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=30) as response:
        return str(response.read().decode())


def sample(text: str, name: str, **labels: str) -> float:
    """The value of one sample in a scrape, 0 when it is not there (yet)."""
    for family in text_string_to_metric_families(text):
        for found in family.samples:
            if found.name == name and found.labels == labels:
                return float(found.value)
    return 0.0


def rasa_metrics(stack: Stack) -> str:
    return scrape(f"{stack.settings.rasa_url}/webhooks/citybot/metrics", stack.settings.rasa_token)


def actions_metrics(stack: Stack) -> str:
    return scrape(f"http://127.0.0.1:{stack.settings.actions_port}/metrics")


def ran(stack: Stack, chat: RestChat) -> list[str]:
    return [e["name"] for e in events(stack, chat.sender) if e.get("event") == "action"]


def slot_validation(chat: RestChat) -> None:
    chat.say("hej", language_hint="sv")
    assert chat.language == "sv"  # a slot event of action_validate_slot_mappings


def faq(chat: RestChat) -> None:
    reply, links = chat.say("Hur förnyar jag mina lån på biblioteket?")
    renew = load_faq()["library"].entry("renew_loans")
    assert renew is not None and reply["text"] == renew.answer["sv"]  # the entry that answers it
    assert links["custom"]["links"][0]["title"] == "Helmet-webbiblioteket"


def opening_hours(chat: RestChat) -> None:
    [reply] = chat.say("is Oodi open now?", language_hint="en")
    assert "Oodi" in reply["text"]


def clarify(chat: RestChat) -> None:
    [reply] = chat.say("blorf snark quux", language_hint="en")
    assert len(reply["buttons"]) == 2 and all(b["payload"].startswith("/") for b in reply["buttons"])


def change_language(chat: RestChat) -> None:
    assert [r["text"] for r in chat.say("in English please")] == ["OK, let's continue in English."]
    assert chat.language == "en"


def request_human(chat: RestChat) -> None:
    replies = chat.say("I want to talk to a person", language_hint="en")
    assert replies[-1]["custom"] == {"handoff": {"reason": "requested"}}


def offer_answer(chat: RestChat) -> None:
    [reply] = chat.say("/deny")
    assert reply["custom"] == {"offer": {"answer": "decline"}}


def my_data(chat: RestChat) -> None:
    [reply] = chat.say("/delete_my_data")
    assert reply["custom"] == {"mydata": {"request": "delete"}}


SCENARIOS: dict[str, Callable[[RestChat], None]] = {
    "action_validate_slot_mappings": slot_validation,
    "action_answer_faq": faq,
    "action_opening_hours": opening_hours,
    "action_clarify": clarify,
    "action_change_language": change_language,
    "action_request_human": request_human,
    "action_offer_answer": offer_answer,
    "action_my_data": my_data,
}


def test_every_custom_action_has_a_scenario() -> None:
    domain = yaml.safe_load(DOMAIN_FILE.read_text(encoding="utf-8"))
    assert set(SCENARIOS) == set(domain["actions"])


@pytest.mark.parametrize("action", sorted(SCENARIOS))
def test_each_action_runs_through_rasa(stack: Stack, chat: Chat, action: str) -> None:
    conversation = chat()
    SCENARIOS[action](conversation)
    if action == "action_validate_slot_mappings":  # Rasa runs it inside action_extract_slots
        slots = [e for e in events(stack, conversation.sender) if e.get("event") == "slot"]
        assert {"name": "language", "value": "sv"}.items() <= next(e for e in slots if e["name"] == "language").items()
    else:
        assert action in ran(stack, conversation)


@pytest.fixture
def failing_actions(stack: Stack, tmp_path: Path) -> Iterator[None]:
    """The action server restarted on a copy of the knowledge with a broken topic file: the FAQ
    action raises (KnowledgeError). Put back afterwards."""
    knowledge = tmp_path / "knowledge"
    shutil.copytree(knowledge_dir(), knowledge)
    (knowledge / "faq" / "library.yml").write_text("answer: [unclosed", encoding="utf-8")
    [actions] = [m for m in stack.processes if m.name == "actions"]
    original = dict(actions.env)
    actions.env["CITYBOT_KNOWLEDGE_DIR"] = str(knowledge)
    stack.restart("actions")
    try:
        yield
    finally:
        actions.env.clear()
        actions.env.update(original)
        stack.restart("actions")


def test_rasa_and_the_action_server_serve_their_metrics(stack: Stack, chat: Chat) -> None:
    """Issue 13, item 7: /metrics on each process kind, labels that name no one."""
    rasa_before, actions_before = rasa_metrics(stack), actions_metrics(stack)
    conversation = chat()
    conversation.say("Hur förnyar jag mina lån på biblioteket?")
    rasa_after, actions_after = rasa_metrics(stack), actions_metrics(stack)

    def grew(name: str, before: str, after: str, **labels: str) -> float:
        return sample(after, name, **labels) - sample(before, name, **labels)

    assert grew("citybot_rasa_turns_total", rasa_before, rasa_after, outcome="replied") == 1
    assert grew("citybot_rasa_turn_seconds_count", rasa_before, rasa_after) == 1
    assert grew("citybot_rasa_action_calls_total", rasa_before, rasa_after, outcome="ok") >= 1
    faq = {"action": "action_answer_faq", "outcome": "ok"}
    assert grew("citybot_actions_runs_total", actions_before, actions_after, **faq) == 1
    for text in (rasa_after, actions_after):
        assert conversation.sender not in text and "förnyar" not in text
    with pytest.raises(urllib.error.HTTPError) as refused:  # Rasa's are behind its token
        scrape(f"{stack.settings.rasa_url}/webhooks/citybot/metrics", "wrong")
    assert refused.value.code == 401


def test_an_action_that_fails_leaves_rasa_answering(stack: Stack, chat: Chat, failing_actions: None) -> None:
    conversation = chat()
    rasa_before, actions_before = rasa_metrics(stack), actions_metrics(stack)
    replies = conversation.say("Hur förnyar jag mina lån på biblioteket?")  # Rasa still answers 200
    assert replies == []  # the failed action sent nothing, and Rasa went back to listening
    # ... and the metrics say so: an empty turn, a failed call, the action's error.
    rasa_after, actions_after = rasa_metrics(stack), actions_metrics(stack)
    assert sample(rasa_after, "citybot_rasa_turns_total", outcome="empty") == (
        sample(rasa_before, "citybot_rasa_turns_total", outcome="empty") + 1
    )
    assert sample(rasa_after, "citybot_rasa_action_calls_total", outcome="error") > sample(
        rasa_before, "citybot_rasa_action_calls_total", outcome="error"
    )
    assert sample(actions_after, "citybot_actions_runs_total", action="action_answer_faq", outcome="error") == (
        sample(actions_before, "citybot_actions_runs_total", action="action_answer_faq", outcome="error") + 1
    )
    assert ran(stack, conversation)[-2:] == ["action_answer_faq", "action_listen"]
    log = next(m for m in stack.processes if m.name == "actions").log_path.read_text(encoding="utf-8")
    assert "KnowledgeError" in log
    [greeting] = conversation.say("hej")  # the conversation goes on
    assert greeting["text"].startswith("Hej")
