"""Rasa's own counters: turns, their time, and its calls to the action server.

Served by our input channel at ``GET /webhooks/citybot/metrics`` (token-protected like the
webhook). Labels are outcomes only: never a sender id or a text. With several Sanic workers,
``PROMETHEUS_MULTIPROC_DIR`` makes a scrape of any worker report all of them
(bot/core/prometheus.py).
"""

from __future__ import annotations

import functools
import logging
import time
from typing import Any

from prometheus_client import Counter, Histogram
from rasa.core.actions.action import RemoteAction

logger = logging.getLogger(__name__)

_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
TURNS = Counter("citybot_rasa_turns", "Messages Rasa handled, by outcome (replied, empty, error)", ["outcome"])
TURN_SECONDS = Histogram("citybot_rasa_turn_seconds", "Time Rasa took for a message", buckets=_BUCKETS)
ACTION_CALLS = Counter("citybot_rasa_action_calls", "Calls to the action server, by outcome (ok, error)", ["outcome"])
ACTION_SECONDS = Histogram("citybot_rasa_action_call_seconds", "Time of a call to the action server", buckets=_BUCKETS)


def observe_turn(seconds: float, outcome: str) -> None:
    """Count one message Rasa handled: ``replied``, ``empty`` (no reply at all) or ``error``."""
    TURNS.labels(outcome).inc()
    TURN_SECONDS.observe(seconds)


def install() -> None:
    """Count and time Rasa's calls to the action server (once per process)."""
    if getattr(RemoteAction.run, "_citybot_measured", False):
        return
    original = RemoteAction.run

    @functools.wraps(original)
    async def run(self: RemoteAction, *args: Any, **kwargs: Any) -> Any:
        started = time.perf_counter()
        outcome = "error"
        try:
            result = await original(self, *args, **kwargs)
            outcome = "ok"
            return result
        finally:
            ACTION_CALLS.labels(outcome).inc()
            ACTION_SECONDS.observe(time.perf_counter() - started)

    run._citybot_measured = True  # type: ignore[attr-defined]
    RemoteAction.run = run
    logger.info("calls to the action server are counted and timed")


__all__ = ["install", "observe_turn"]
