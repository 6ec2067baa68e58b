"""Rasa's Redis tracker store, with a bounded tracker: a turn's cost does not grow with the talk.

Rasa 3.6's ``RedisTrackerStore`` keeps every event of a conversation in one JSON value and, on
every turn, loads and replays it, then on saving loads and replays it again to merge it with the
stored one (``_merge_trackers``), and serialises it all: at turn 100, about 800 events, several
times per turn (bench/turn_growth.py, docs/performance.md). A Telegram chat is one conversation
for ever.

This store saves without the merge, and keeps a bounded tracker: once it holds more than
``MAX_EVENTS`` events, it is cut at the start of a turn to about ``KEEP_EVENTS``, and the cut part
is replaced by what a new session carries over, a session start with the current slots (the
conversation's language, the fallback count). The dialogue policies only look a few turns back;
the whole conversation is in the gateway's transcript (``log:<conversation>``), which agents and
the citizen's data export read, not in the tracker.

Configured in ``endpoints.yml`` (``type: bot.rasa_plugins.tracker_store.BoundedRedisTrackerStore``).
"""

from __future__ import annotations

import logging
from typing import Any

from rasa.core.tracker_store import RedisTrackerStore
from rasa.shared.core.constants import ACTION_LISTEN_NAME, ACTION_SESSION_START_NAME
from rasa.shared.core.events import ActionExecuted, Event, SessionStarted, SlotSet, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker

logger = logging.getLogger(__name__)
MAX_EVENTS = 120  # more than this: cut (about 15 turns)
KEEP_EVENTS = 60  # after a cut, at most this many of the latest events stay (whole turns)


def bounded(tracker: DialogueStateTracker, slots: Any) -> DialogueStateTracker:
    """``tracker``, or when it is too long, its latest whole turns after a carried-over start."""
    events = list(tracker.events)
    if len(events) <= MAX_EVENTS:
        return tracker
    cut = len(events) - KEEP_EVENTS
    while cut < len(events) and not isinstance(events[cut], UserUttered):
        cut += 1  # start at a citizen's message (whole turns only)
    if cut >= len(events):
        return tracker
    carried: list[Event] = [ActionExecuted(ACTION_SESSION_START_NAME), SessionStarted()]
    carried += [SlotSet(name, value) for name, value in tracker.current_slot_values().items() if value is not None]
    carried.append(ActionExecuted(ACTION_LISTEN_NAME))
    kept = events[cut:]
    first = kept[0].timestamp
    for event in carried:  # before the kept ones, so that time still runs forward
        event.timestamp = first - 0.001
    return DialogueStateTracker.from_events(tracker.sender_id, carried + kept, slots)


class BoundedRedisTrackerStore(RedisTrackerStore):
    """``RedisTrackerStore`` that saves a bounded tracker, without re-reading the stored one."""

    async def save(self, tracker: DialogueStateTracker, timeout: float | None = None) -> None:
        """Save the (bounded) tracker; events go to the event broker as before."""
        await self.stream_events(tracker)
        if not timeout and self.record_exp:
            timeout = float(self.record_exp)  # from endpoints.yml's environment: a text
        kept = bounded(tracker, self.domain.slots)
        if kept is not tracker:
            logger.debug("tracker of %d events cut to %d", len(tracker.events), len(kept.events))
        expiry = int(timeout) if timeout else None
        self.red.set(self.key_prefix + tracker.sender_id, self.serialise_tracker(kept), ex=expiry)
