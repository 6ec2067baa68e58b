"""The bounded tracker: long conversations are cut at a turn, keeping the slots (issue 13)."""

from __future__ import annotations

from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, SessionStarted, SlotSet, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker

from bot.core.paths import DOMAIN_FILE
from bot.rasa_plugins.tracker_store import KEEP_EVENTS, MAX_EVENTS, bounded


def _conversation(turns: int, domain: Domain) -> DialogueStateTracker:
    events = [ActionExecuted("action_session_start"), SessionStarted(), ActionExecuted("action_listen")]
    for turn in range(turns):
        events += [
            UserUttered(f"viesti {turn}", {"name": "greet", "confidence": 1.0}, timestamp=1000.0 + turn),
            SlotSet("language", "sv" if turn == 3 else None, timestamp=1000.0 + turn)
            if turn == 3
            else SlotSet("fallback_count", 0.0, timestamp=1000.0 + turn),
            ActionExecuted("utter_greet", timestamp=1000.0 + turn),
            ActionExecuted("action_listen", timestamp=1000.0 + turn),
        ]
    return DialogueStateTracker.from_events("bounded-test", events, domain.slots)


def test_a_short_conversation_is_kept_whole() -> None:
    domain = Domain.load(str(DOMAIN_FILE))
    tracker = _conversation(10, domain)
    assert bounded(tracker, domain.slots) is tracker


def test_a_long_one_keeps_its_latest_whole_turns_and_its_slots() -> None:
    domain = Domain.load(str(DOMAIN_FILE))
    tracker = _conversation(100, domain)
    assert len(tracker.events) > MAX_EVENTS
    cut = bounded(tracker, domain.slots)
    events = list(cut.events)
    assert len(events) <= KEEP_EVENTS + 4 + len(domain.slots)
    assert isinstance(events[1], SessionStarted)
    first_kept = next(e for e in events if isinstance(e, UserUttered))
    assert list(tracker.events)[-len(events[events.index(first_kept) :]) :] == events[events.index(first_kept) :]
    assert cut.get_slot("language") == "sv"  # set at turn 3, long before the cut
    assert cut.current_slot_values() == tracker.current_slot_values()
    assert cut.latest_message.text == "viesti 99"
    timestamps = [e.timestamp for e in events]
    assert timestamps == sorted(timestamps)
