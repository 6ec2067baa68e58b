"""The Rasa input channel our own processes use: Rasa's REST channel, but with a token.

Rasa's HTTP API takes a token, but its channel webhooks take none; this channel checks a bearer
token (constant-time) on every request, so that only the gateway and our tools can talk to the
bot even among processes on the same machine. Rasa loads it from ``credentials.yml``:

    POST /webhooks/citybot/webhook
    Authorization: Bearer <CITYBOT_RASA_TOKEN>
    {"sender": "webchat:abc", "message": "hei", "channel": "webchat", "metadata": {...}}
    → {"replies": [{"recipient_id", "text", "buttons", "custom", ...}, ...], "language": "fi",
       "understood": {"intent": "faq_library", "confidence": 0.93}}

``language`` is the conversation's language slot after the message, so that channels can mark
each reply with its language (the web chat's ``lang`` attributes) without a second request;
``understood`` is the intent the bot took the message for, which agents see in the transcript.

    GET /webhooks/citybot/metrics   (same token)
    → Rasa's counters in Prometheus' text format (bot/rasa_plugins/metrics.py)
"""

from __future__ import annotations

import hmac
import logging
import time
from typing import Any, Awaitable, Callable, Dict

from rasa.core.channels.channel import CollectingOutputChannel, InputChannel, UserMessage
from sanic import Blueprint, response
from sanic.exceptions import InvalidUsage
from sanic.request import Request
from sanic.response import HTTPResponse

from bot.core.prometheus import exposition
from bot.rasa_plugins import metrics as rasa_metrics
from bot.rasa_plugins import speedups as rasa_speedups

logger = logging.getLogger(__name__)
MAX_TEXT_CHARS = 4096


# The tracker each turn just saved, by sender, taken by ``_after_turn`` of the same turn: reading
# it back from Redis was a second full load of the conversation per turn (issue 13).
_SAVED: dict[str, Any] = {}
_SAVED_MAX = 256


def _remember_saves(store: Any) -> None:
    """Wrap the tracker store's ``save`` (once) so that the saved tracker is kept for the turn."""
    if getattr(store, "_citybot_remembers", False):
        return
    original = store.save

    async def save(tracker: Any, *args: Any, **kwargs: Any) -> None:
        await original(tracker, *args, **kwargs)
        if len(_SAVED) < _SAVED_MAX:
            _SAVED[tracker.sender_id] = tracker

    store.save = save
    store._citybot_remembers = True


async def _after_turn(request: Request, sender: str) -> dict[str, Any]:
    """The conversation's ``language`` slot and what the bot understood of the message."""
    agent = getattr(request.app.ctx, "agent", None)
    if agent is None or agent.tracker_store is None:
        return {"language": None}
    _remember_saves(agent.tracker_store)
    tracker = _SAVED.pop(sender, None) or await agent.tracker_store.retrieve(sender)
    if tracker is None:
        return {"language": None}
    language = tracker.get_slot("language")
    intent = (tracker.latest_message.intent if tracker.latest_message else None) or {}
    understood = None
    if intent.get("name"):
        understood = {"intent": intent["name"], "confidence": round(float(intent.get("confidence") or 0), 3)}
    return {"language": language if isinstance(language, str) else None, "understood": understood}


class CitybotInput(InputChannel):
    """Token-protected REST input channel (``/webhooks/citybot/webhook``)."""

    @classmethod
    def name(cls) -> str:
        return "citybot"

    def __init__(self, token: str | None) -> None:
        if not token:
            raise ValueError("CitybotInput needs a token (CITYBOT_RASA_TOKEN)")
        self._token = token.encode()

    @classmethod
    def from_credentials(cls, credentials: Dict[str, Any] | None) -> InputChannel:
        """Read the token from credentials.yml; Rasa calls this once, at start."""
        rasa_speedups.install()
        rasa_metrics.install()
        return cls((credentials or {}).get("token"))

    def _authorised(self, request: Request) -> bool:
        header = request.headers.get("Authorization", "")
        scheme, _, given = header.partition(" ")
        return scheme.lower() == "bearer" and hmac.compare_digest(given.strip().encode(), self._token)

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        """The webhook: check the token and the body, run the message, return the replies."""
        hook = Blueprint("citybot_webhook", __name__)

        @hook.route("/", methods=["GET"])
        async def health(request: Request) -> HTTPResponse:
            # Readiness without the token (Kubernetes' probe): ready once the model is loaded.
            agent = getattr(request.app.ctx, "agent", None)
            if agent is None or not agent.is_ready():
                return response.json({"status": "loading"}, status=503)
            return response.json({"status": "ok"})

        @hook.route("/metrics", methods=["GET"])
        async def metrics(request: Request) -> HTTPResponse:
            if not self._authorised(request):
                return response.json({"error": "missing or wrong token"}, status=401)
            body, content_type = exposition()
            return response.raw(body, content_type=content_type)

        @hook.route("/webhook", methods=["POST"])
        async def receive(request: Request) -> HTTPResponse:
            if not self._authorised(request):
                return response.json({"error": "missing or wrong token"}, status=401)
            try:
                body = request.json
            except InvalidUsage:
                body = None
            if not isinstance(body, dict):
                return response.json({"error": "expected a JSON object"}, status=400)
            sender, text = body.get("sender"), body.get("message")
            metadata = body.get("metadata") or {}
            if not isinstance(sender, str) or not sender or not isinstance(text, str) or not text.strip():
                return response.json({"error": "sender and message must be non-empty strings"}, status=400)
            if len(text) > MAX_TEXT_CHARS or not isinstance(metadata, dict):
                return response.json({"error": "message too long or metadata not an object"}, status=400)
            channel = body.get("channel") if isinstance(body.get("channel"), str) else self.name()
            collector = CollectingOutputChannel()
            started, outcome = time.perf_counter(), "error"
            try:
                await on_new_message(UserMessage(text, collector, sender, input_channel=channel, metadata=metadata))
                outcome = "replied" if collector.messages else "empty"
            finally:
                rasa_metrics.observe_turn(time.perf_counter() - started, outcome)
            return response.json({"replies": collector.messages, **await _after_turn(request, sender)})

        return hook
