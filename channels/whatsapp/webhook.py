"""What Meta's webhook delivers, checked and parsed: signatures, messages and delivery statuses.

Every ``POST`` carries ``X-Hub-Signature-256: sha256=<hex>``, the HMAC-SHA256 of the raw body
with the app secret; it is checked before the body is parsed. One delivery may batch several
``entry[].changes[]``, each with ``value.messages[]`` (what citizens wrote or pressed) and
``value.statuses[]`` (what became of our messages). Parsing never raises on a part it does not
know: unknown message types become ``kind="other"`` (answered politely), anything that is not
a message or a status is skipped, so one odd item never loses the rest of the batch.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from typing import Any

SIGNATURE_HEADER = "X-Hub-Signature-256"
# Types a citizen can send that are not text: each gets the polite "text only" answer.
MEDIA_TYPES = frozenset(
    {"image", "audio", "video", "document", "sticker", "location", "contacts", "order", "unsupported"}
)
IGNORED_TYPES = frozenset({"reaction", "system", "request_welcome", "ephemeral", "revoke"})


def signature(body: bytes, app_secret: str) -> str:
    """The ``X-Hub-Signature-256`` value Meta sends with ``body``."""
    return "sha256=" + hmac.new(app_secret.encode(), body, hashlib.sha256).hexdigest()


def signed_by(body: bytes, header: str | None, app_secret: str) -> bool:
    """True when ``header`` is the body's signature with ``app_secret`` (constant-time compare).

    An empty secret never verifies: a channel without its app secret accepts nothing."""
    if not app_secret or not header:
        return False
    return hmac.compare_digest(header.strip().encode(), signature(body, app_secret).encode())


@dataclass(frozen=True)
class Incoming:
    """One citizen message. ``kind``: text, button (a reply button, a list row or a template's
    quick reply: ``text`` is its payload), other (media we do not read), ignored."""

    message_id: str
    wa_id: str  # the citizen's WhatsApp id: their phone number (personal data)
    kind: str
    text: str
    timestamp: float
    phone_number_id: str


@dataclass(frozen=True)
class Status:
    """What became of one of our messages: sent, delivered, read or failed (with the error)."""

    message_id: str
    wa_id: str
    status: str
    timestamp: float
    error_code: int | None = None
    error_title: str = ""


@dataclass(frozen=True)
class Delivery:
    """One webhook delivery's messages and statuses, in the order they came."""

    messages: list[Incoming]
    statuses: list[Status]


def _number(value: Any) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return 0.0


def _message(raw: dict[str, Any], phone_number_id: str) -> Incoming | None:
    message_id, wa_id, kind = raw.get("id"), raw.get("from"), raw.get("type")
    if not isinstance(message_id, str) or not isinstance(wa_id, str) or not isinstance(kind, str):
        return None
    stamp = _number(raw.get("timestamp"))
    if kind == "text":
        body = raw.get("text", {}).get("body") if isinstance(raw.get("text"), dict) else None
        if isinstance(body, str):
            return Incoming(message_id, wa_id, "text", body, stamp, phone_number_id)
    elif kind == "interactive":
        interactive = raw.get("interactive")
        if isinstance(interactive, dict):
            reply = interactive.get("button_reply") or interactive.get("list_reply")
            if isinstance(reply, dict) and isinstance(reply.get("id"), str):
                return Incoming(message_id, wa_id, "button", reply["id"], stamp, phone_number_id)
    elif kind == "button":  # a template's quick-reply button
        button = raw.get("button")
        if isinstance(button, dict):
            payload = button.get("payload") or button.get("text")
            if isinstance(payload, str):
                return Incoming(message_id, wa_id, "button", payload, stamp, phone_number_id)
    elif kind in IGNORED_TYPES:
        return Incoming(message_id, wa_id, "ignored", "", stamp, phone_number_id)
    return Incoming(message_id, wa_id, "other", "", stamp, phone_number_id)


def _status(raw: dict[str, Any]) -> Status | None:
    message_id, wa_id, status = raw.get("id"), raw.get("recipient_id"), raw.get("status")
    if not all(isinstance(v, str) for v in (message_id, wa_id, status)):
        return None
    code: int | None = None
    title = ""
    errors = raw.get("errors")
    if isinstance(errors, list) and errors and isinstance(errors[0], dict):
        code = int(errors[0]["code"]) if str(errors[0].get("code", "")).isdigit() else None
        title = str(errors[0].get("title") or errors[0].get("message") or "")[:200]
    return Status(str(message_id), str(wa_id), str(status), _number(raw.get("timestamp")), code, title)


def parse_delivery(data: Any) -> Delivery:
    """The messages and statuses of a webhook body; ValueError when it is not a WhatsApp
    Business Account notification at all."""
    if not isinstance(data, dict) or data.get("object") != "whatsapp_business_account":
        raise ValueError("not a WhatsApp Business Account notification")
    entries = data.get("entry")
    if not isinstance(entries, list):
        raise ValueError("no entries")
    messages: list[Incoming] = []
    statuses: list[Status] = []
    for entry in entries:
        changes = entry.get("changes") if isinstance(entry, dict) else None
        for change in changes if isinstance(changes, list) else []:
            value = change.get("value") if isinstance(change, dict) else None
            if not isinstance(value, dict) or change.get("field", "messages") != "messages":
                continue
            metadata = value.get("metadata")
            phone_number_id = str(metadata.get("phone_number_id", "")) if isinstance(metadata, dict) else ""
            for raw in value.get("messages") or []:
                parsed = _message(raw, phone_number_id) if isinstance(raw, dict) else None
                if parsed is not None:
                    messages.append(parsed)
            for raw in value.get("statuses") or []:
                status = _status(raw) if isinstance(raw, dict) else None
                if status is not None:
                    statuses.append(status)
    return Delivery(messages, statuses)
