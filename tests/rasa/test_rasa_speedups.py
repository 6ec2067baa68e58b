"""The precompiled check of action server responses accepts and rejects what Rasa's own does."""

from __future__ import annotations

from typing import Any

import jsonschema
import pytest
from rasa.core.actions.action import RemoteAction

from bot.rasa_plugins import speedups as rasa_speedups

GOOD: list[dict[str, Any]] = [
    {"events": [], "responses": []},
    {
        "events": [{"event": "slot", "name": "language", "value": "fi", "timestamp": None}],
        "responses": [{"text": "Hei"}],
    },
    {"responses": [{"text": "Hei", "buttons": [{"title": "Kyllä", "payload": "/affirm"}]}]},
]
BAD: list[dict[str, Any]] = [
    {"events": "slot"},
    {"events": [{"name": "language"}]},
    {"events": [{"event": "slot", "name": "language", "value": "fi", "timestamp": "yesterday"}]},
    {"responses": "Hei"},
]


def rasa_original(result: dict[str, Any]) -> str | None:
    try:
        jsonschema.validate(result, RemoteAction.action_response_format_spec())
    except jsonschema.ValidationError as error:
        return error.message
    return None


@pytest.fixture()
def action() -> Any:
    original = RemoteAction._validate_action_result
    rasa_speedups.install()
    yield RemoteAction.__new__(RemoteAction)
    RemoteAction._validate_action_result = original  # type: ignore[method-assign]


@pytest.mark.parametrize("result", GOOD)
def test_valid_responses_pass(action: RemoteAction, result: dict[str, Any]) -> None:
    assert rasa_original(result) is None
    assert action._validate_action_result(result) is True


@pytest.mark.parametrize("result", BAD)
def test_invalid_responses_fail_with_rasas_message(action: RemoteAction, result: dict[str, Any]) -> None:
    expected = rasa_original(result)
    assert expected is not None
    with pytest.raises(jsonschema.ValidationError) as raised:
        action._validate_action_result(result)
    assert raised.value.message.startswith(expected + ". Failed to validate Action server response")


def test_install_replaces_the_method_once() -> None:
    original = RemoteAction._validate_action_result
    try:
        rasa_speedups.install()
        patched = RemoteAction._validate_action_result
        rasa_speedups.install()
        assert RemoteAction._validate_action_result is patched is not original
    finally:
        RemoteAction._validate_action_result = original  # type: ignore[method-assign]


def test_an_action_call_carries_the_latest_events_and_the_same_everything_else() -> None:
    """Issue 13: Rasa sent every event of the conversation with each action call (about 800 at
    turn 100), serialised anew for each call."""
    from rasa.shared.core.domain import Domain
    from rasa.shared.core.events import SlotSet, UserUttered
    from rasa.shared.core.trackers import DialogueStateTracker
    from rasa.utils.endpoints import EndpointConfig

    from bot.core.paths import DOMAIN_FILE

    domain = Domain.load(str(DOMAIN_FILE))
    events = []
    for turn in range(40):
        events += [UserUttered(f"hei {turn}", {"name": "greet", "confidence": 1.0}), SlotSet("language", "fi")]
    tracker = DialogueStateTracker.from_events("speedup-test", events, domain.slots)
    action = RemoteAction("action_answer", EndpointConfig("http://127.0.0.1:1/webhook"))
    original = rasa_speedups.RASA_ACTION_CALL_FORMAT
    fast = rasa_speedups._action_call_format(action, tracker, domain)
    slow = original(action, tracker, domain)
    assert len(slow["tracker"]["events"]) == 80
    assert fast["tracker"]["events"] == slow["tracker"]["events"][-rasa_speedups.ACTION_EVENTS :]
    assert {k: v for k, v in fast["tracker"].items() if k != "events"} == {
        k: v for k, v in slow["tracker"].items() if k != "events"
    }
    assert {k: v for k, v in fast.items() if k != "tracker"} == {k: v for k, v in slow.items() if k != "tracker"}


def test_event_and_slot_classes_are_found_as_rasa_finds_them() -> None:
    """Issue 13: Rasa walked every subclass of Event for every event of every tracker it read
    (21 % of its CPU at saturation); the cached lookup gives the same class for every name."""
    import rasa.shared.utils.common
    from rasa.shared.core.events import Event
    from rasa.shared.core.slots import Slot

    rasa_speedups.install()
    assert getattr(Event.resolve_by_type, "_citybot_cached", False)
    for base, original in ((Event, rasa_speedups.RASA_EVENT_RESOLVE), (Slot, rasa_speedups.RASA_SLOT_RESOLVE)):
        names = {cls.type_name for cls in rasa.shared.utils.common.all_subclasses(base)}
        assert len(names) > 5
        for name in names:
            assert base.resolve_by_type(name) is original(name)
    assert Event.resolve_by_type("topic") is None  # Rasa's own answers for the rest
    with pytest.raises(ValueError):
        Event.resolve_by_type("no_such_event")
    assert Event.resolve_by_type("no_such_event", default=Event) is Event
    assert Slot.resolve_by_type("rasa.shared.core.slots.TextSlot") is Slot.resolve_by_type("text")
