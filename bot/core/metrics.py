"""The service's counters, in Prometheus' client (served by the gateway at ``GET /metrics``).

Labels are only kinds, channels, languages, queues and statuses: never a citizen's id, a
conversation id or any text. Counters live in the process's default registry (a scrape of one
gateway replica counts that replica: Prometheus sums them). Used by the gateway's processes only;
Rasa's and the action server's own counters are in bot/rasa_plugins/metrics.py and
actions/server.py.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager

from prometheus_client import Counter, Gauge, Histogram

MESSAGES_IN = Counter(
    "citybot_messages_in", "Citizen messages received, by the language they were answered in", ["channel", "language"]
)
REPLIES_OUT = Counter("citybot_replies_out", "Replies sent to citizens", ["channel", "language", "sender"])
REPLY_SECONDS = Histogram(
    "citybot_reply_seconds",
    "Time from a citizen's message to its replies",
    ["channel"],
    buckets=(0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 20.0),
)
BOT_ERRORS = Counter("citybot_bot_errors", "Messages the service could not answer", ["channel", "kind"])
NOT_UNDERSTOOD = Counter("citybot_not_understood", "Messages the bot did not understand", ["language"])
SAFETY_ALARMS = Counter("citybot_safety_alarms", "Emergency and crisis answers given", ["kind", "language"])
DELIVERY_REPORTS = Counter(
    "citybot_delivery_reports", "A messaging app's reports on messages we sent (WhatsApp)", ["channel", "status"]
)
CHANNEL_RETRIES = Counter(
    "citybot_channel_send_retries", "Messages kept to send again later (rate limit, API unreachable)", ["channel"]
)
OFFER_STATUSES = Counter("citybot_offer_statuses", "Offers moved to a status", ["status"])
QUEUE_LENGTH = Gauge("citybot_handoff_queue_length", "Conversations waiting for a person", ["queue"])
RESTARTS = Gauge("citybot_process_restarts", "Processes restarted by `python -m bot run`, per kind", ["process"])
QUEUE_OLDEST = Gauge("citybot_handoff_oldest_wait_seconds", "The longest wait in the queue now", ["queue"])
HANDOFF_WAIT = Histogram(
    "citybot_handoff_wait_seconds",
    "How long a citizen waited in the queue before an agent took the conversation",
    ["queue"],
    buckets=(5, 15, 30, 60, 120, 300, 600, 1200, 1800, 3600),
)


@contextmanager
def timed_turn(channel: str) -> Iterator[list[str | None]]:
    """Count one citizen message of ``channel`` and time its answer. The block appends the
    language the message was answered in to the list it gets ("unknown" if it does not)."""
    language: list[str | None] = []
    started = time.perf_counter()
    try:
        yield language
    finally:
        REPLY_SECONDS.labels(channel).observe(time.perf_counter() - started)
        MESSAGES_IN.labels(channel, next((lang for lang in language if lang), "unknown")).inc()
