"""Proactive offers from the city's systems: validation, storage and lifecycle (docs/offers.md).

    pending → delivered → accepted | declined | change_requested | expired
    pending → undeliverable (no linked channel, no consent: the back office sends a letter)

Every change is stored with its time and cause in the offer's history (a Redis stream) and is
made by one Lua script that checks the current status, so a change happens once even when two
gateway processes (or the citizen and the scheduler) try at the same moment. Creating the same
``offer_id`` again with the same content is harmless; with other content it is refused.
"""

from __future__ import annotations

import hashlib
import json
import re
import time
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Mapping

from redis.asyncio import Redis

from bot.core.clock import iso
from bot.core.errors import CodedError
from bot.privacy.identity import CITIZEN_ID
from bot.store import keys

KINDS: dict[str, tuple[str, ...]] = {
    "school_placement": ("child_name", "school_name", "school_address", "start_date"),
    "daycare_placement": ("child_name", "daycare_name", "daycare_address", "start_date"),
    "screening_invitation": ("screening_name", "place", "appointment_time"),
}
ON_SILENCE = ("accept", "decline", "none")
REQUIRED_FIELDS = ("offer_id", "citizen_id", "kind", "details", "respond_by", "on_silence")
STATUSES = ("pending", "delivered", "accepted", "declined", "change_requested", "expired", "undeliverable")
OPEN = ("pending", "delivered")
# The status each answer or event leads to, and the statuses it may come from.
# A delivered offer becomes undeliverable when its only channel reports the message failed, and
# delivered again when a delivery report comes after that (WhatsApp's reports are not in order).
ALLOWED_FROM: dict[str, tuple[str, ...]] = {
    "delivered": ("pending", "undeliverable"),
    "undeliverable": ("pending", "delivered"),
    "accepted": ("delivered",),
    "declined": ("delivered",),
    "change_requested": ("delivered",),
    "expired": ("pending", "delivered"),
}
OFFER_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")
MAX_DETAIL_CHARS = 300
MAX_RESPOND_DAYS = 730  # an answer wanted more than two years ahead is a mistake (year 9999 broke dates)

# Create only if new: the hash, the first history entry and the citizen's index, in one step.
_CREATE = """
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('HSET', KEYS[1], unpack(ARGV, 3))
redis.call('XADD', KEYS[2], '*', 'status', 'pending', 'from', '', 'at', ARGV[1], 'cause', 'created')
redis.call('SADD', KEYS[3], ARGV[2])
return 1
"""

_TRANSITION = """
local current = redis.call('HGET', KEYS[1], 'status')
if not current then return -1 end
for i = 4, #ARGV do
  if ARGV[i] == current then
    redis.call('HSET', KEYS[1], 'status', ARGV[1], 'updated_at', ARGV[2])
    redis.call('XADD', KEYS[2], '*', 'status', ARGV[1], 'from', current, 'at', ARGV[2], 'cause', ARGV[3])
    return 1
  end
end
return 0
"""


# A channel's report on the offer's message: applied only when it says more than the one kept
# (sent < failed < delivered < read), so a late "sent" or a "failed" after "delivered" changes
# nothing, and a "delivered" after "failed" is believed (the message is on the citizen's phone).
DELIVERY_STATES = ("sent", "failed", "delivered", "read")
_DELIVERY = """
if redis.call('EXISTS', KEYS[1]) == 0 then return -1 end
local rank = {sent = 1, failed = 2, delivered = 3, read = 4}
local current = redis.call('HGET', KEYS[1], ARGV[1])
if current and rank[cjson.decode(current)['state']] >= rank[ARGV[2]] then return 0 end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[3])
return 1
"""


class OfferError(CodedError):
    """A request about offers that is refused; ``status`` is the HTTP status to answer with."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(code, message)
        self.status = status


@dataclass(frozen=True)
class Offer:
    """One offer as stored."""

    offer_id: str
    system: str
    citizen_id: str
    kind: str
    details: dict[str, str]
    respond_by: datetime
    on_silence: str
    status: str = "pending"
    created_at: float = 0.0
    updated_at: float = 0.0
    change_request: str = ""
    fingerprint: str = field(default="", compare=False)
    delivery: dict[str, dict[str, str]] = field(default_factory=dict, compare=False)  # channel → report

    def public(self) -> dict[str, Any]:
        """The offer as the back-office API shows it."""
        data: dict[str, Any] = {
            "offer_id": self.offer_id,
            "citizen_id": self.citizen_id,
            "kind": self.kind,
            "details": self.details,
            "respond_by": iso(self.respond_by),
            "on_silence": self.on_silence,
            "status": self.status,
            "created_at": iso(self.created_at),
            "updated_at": iso(self.updated_at or self.created_at),
        }
        if self.change_request:
            data["change_request"] = self.change_request
        if self.delivery:
            data["delivery"] = {
                channel: {**report, "at": iso(float(report["at"]))} for channel, report in sorted(self.delivery.items())
            }
        return data


def parse_offer(body: Any, system: str, now: float | None = None) -> Offer:
    """A new offer from a back-office request body; OfferError (HTTP 400) names what is wrong."""
    if not isinstance(body, Mapping):
        raise OfferError(400, "malformed", "the body must be a JSON object")
    missing = [
        name for name in ("offer_id", "citizen_id", "kind", "details", "respond_by", "on_silence") if name not in body
    ]
    if missing:
        raise OfferError(400, "missing_field", f"missing field(s): {', '.join(missing)}")
    offer_id, citizen_id, kind = body["offer_id"], body["citizen_id"], body["kind"]
    if not isinstance(offer_id, str) or not OFFER_ID.match(offer_id):
        raise OfferError(400, "bad_offer_id", "offer_id must be 1-128 of A-Z a-z 0-9 . _ : -")
    if not isinstance(citizen_id, str) or not CITIZEN_ID.match(citizen_id):
        raise OfferError(400, "bad_citizen_id", "citizen_id must be 1-128 of A-Z a-z 0-9 . _ : @ -")
    if kind not in KINDS:
        raise OfferError(400, "unknown_kind", f"kind must be one of: {', '.join(KINDS)}")
    details = body["details"]
    if not isinstance(details, Mapping):
        raise OfferError(400, "bad_details", "details must be an object")
    needed = [name for name in KINDS[kind] if not isinstance(details.get(name), str) or not details[name].strip()]
    if needed:
        raise OfferError(400, "bad_details", f"details of a {kind} need text field(s): {', '.join(needed)}")
    clean: dict[str, str] = {}
    for key, value in details.items():
        if not isinstance(key, str) or not isinstance(value, (str, int, float)) or isinstance(value, bool):
            raise OfferError(400, "bad_details", "details must map names to text or numbers")
        if len(str(value)) > MAX_DETAIL_CHARS:
            raise OfferError(400, "bad_details", f"detail {key!r} is longer than {MAX_DETAIL_CHARS} characters")
        clean[key] = str(value).strip()
    try:
        respond_by = datetime.fromisoformat(str(body["respond_by"]).replace("Z", "+00:00"))
    except ValueError:
        raise OfferError(400, "bad_respond_by", "respond_by must be an ISO 8601 date and time") from None
    if respond_by.tzinfo is None:
        raise OfferError(400, "bad_respond_by", "respond_by needs a time zone (e.g. +02:00 or Z)")
    moment = time.time() if now is None else now
    if respond_by.timestamp() < moment - 60:
        raise OfferError(400, "bad_respond_by", "respond_by is in the past")
    if respond_by.timestamp() > moment + MAX_RESPOND_DAYS * 24 * 3600:
        raise OfferError(400, "bad_respond_by", f"respond_by is more than {MAX_RESPOND_DAYS} days ahead")
    if body["on_silence"] not in ON_SILENCE:
        raise OfferError(400, "bad_on_silence", f"on_silence must be one of: {', '.join(ON_SILENCE)}")
    canonical = json.dumps(
        {
            "offer_id": offer_id,
            "citizen_id": citizen_id,
            "kind": kind,
            "details": clean,
            "respond_by": respond_by.isoformat(),
            "on_silence": body["on_silence"],
        },
        sort_keys=True,
        ensure_ascii=False,
    )
    created = time.time() if now is None else now
    return Offer(
        offer_id=offer_id,
        system=system,
        citizen_id=citizen_id,
        kind=kind,
        details=clean,
        respond_by=respond_by,
        on_silence=str(body["on_silence"]),
        status="pending",
        created_at=created,
        fingerprint=hashlib.sha256(f"{system}\n{canonical}".encode()).hexdigest(),
    )


class Offers:
    """Stored offers and their history."""

    def __init__(self, redis: Redis, retention_days: int = 730) -> None:
        self._redis = redis
        self._retention = retention_days * 86400  # from the offer's last change
        self._transition = redis.register_script(_TRANSITION)
        self._create = redis.register_script(_CREATE)
        self._delivery = redis.register_script(_DELIVERY)

    async def _keep(self, offer_id: str, citizen_id: str | None = None) -> None:
        """Renew the offer's retention (its record, history and the citizen's list of offers)."""
        async with self._redis.pipeline(transaction=False) as pipe:
            pipe.expire(keys.offer(offer_id), self._retention)
            pipe.expire(keys.offer_history(offer_id), self._retention)
            if citizen_id is not None:
                pipe.expire(keys.citizen_offers(citizen_id), self._retention)
            await pipe.execute()

    async def create(self, offer: Offer) -> tuple[Offer, bool]:
        """Store a new offer; ``(stored, False)`` when the same offer exists already.

        Raises OfferError 409 when the ``offer_id`` exists with other content (or from another
        system): the back office must not reuse ids.
        """
        key = keys.offer(offer.offer_id)
        mapping = {
            "system": offer.system,
            "citizen_id": offer.citizen_id,
            "kind": offer.kind,
            "details": json.dumps(offer.details, ensure_ascii=False),
            "respond_by": offer.respond_by.isoformat(),
            "on_silence": offer.on_silence,
            "status": "pending",
            "created_at": f"{offer.created_at:.3f}",
            "fingerprint": offer.fingerprint,
        }
        fields = [item for pair in mapping.items() for item in pair]
        names = [key, keys.offer_history(offer.offer_id), keys.citizen_offers(offer.citizen_id)]
        if not await self._create(keys=names, args=[mapping["created_at"], offer.offer_id, *fields]):
            existing = await self.get(offer.offer_id)
            if existing is None or existing.fingerprint != offer.fingerprint:
                raise OfferError(409, "conflict", "an offer with this offer_id exists with other content")
            return existing, False
        await self._keep(offer.offer_id, offer.citizen_id)
        stored = await self.get(offer.offer_id)
        assert stored is not None
        return stored, True

    async def get(self, offer_id: str) -> Offer | None:
        """The offer, or None."""
        data: dict[str, str] = await self._redis.hgetall(keys.offer(offer_id))
        if "status" not in data:
            return None
        return Offer(
            offer_id=offer_id,
            system=data["system"],
            citizen_id=data["citizen_id"],
            kind=data["kind"],
            details=json.loads(data["details"]),
            respond_by=datetime.fromisoformat(data["respond_by"]),
            on_silence=data["on_silence"],
            status=data["status"],
            created_at=float(data["created_at"]),
            updated_at=float(data.get("updated_at") or 0),
            change_request=data.get("change_request", ""),
            fingerprint=data.get("fingerprint", ""),
            delivery={k.removeprefix("delivery:"): json.loads(v) for k, v in data.items() if k.startswith("delivery:")},
        )

    async def history(self, offer_id: str) -> list[dict[str, Any]]:
        """Every status the offer had, with time and cause, oldest first."""
        rows = await self._redis.xrange(keys.offer_history(offer_id))
        result = []
        for _, fields in rows:
            result.append({"status": fields["status"], "at": iso(fields["at"]), "cause": fields["cause"]})
        return result

    async def of_citizen(self, citizen_id: str) -> list[Offer]:
        """The citizen's offers, oldest first."""
        ids = await self._redis.smembers(keys.citizen_offers(citizen_id))
        offers = [o for o in [await self.get(i) for i in ids] if o is not None]
        return sorted(offers, key=lambda o: o.created_at)

    async def move(self, offer_id: str, to: str, cause: str) -> bool:
        """Change the status if the current one allows it; True when this call changed it."""
        if to not in ALLOWED_FROM:
            raise ValueError(f"no transition to {to!r}")
        result = await self._transition(
            keys=[keys.offer(offer_id), keys.offer_history(offer_id)],
            args=[to, f"{time.time():.3f}", cause[:300], *ALLOWED_FROM[to]],
        )
        if result == 1:
            await self._keep(offer_id)
        return bool(result == 1)

    async def record_delivery(
        self, offer_id: str, channel: str, state: str, cause: str = "", template: str = "", at: float | None = None
    ) -> bool:
        """Keep a channel's report on the offer's message; True when it changed what was kept."""
        if state not in DELIVERY_STATES:
            raise ValueError(f"no delivery state {state!r}")
        report = {"state": state, "at": f"{time.time() if at is None else at:.3f}"}
        if cause:
            report["cause"] = cause[:200]
        if template:
            report["template"] = template
        result = await self._delivery(
            keys=[keys.offer(offer_id)], args=[f"delivery:{channel}", state, json.dumps(report, ensure_ascii=False)]
        )
        return bool(result == 1)

    async def set_change_request(self, offer_id: str, text: str) -> None:
        """Keep what the citizen asked for instead (part of the city's record of the offer)."""
        await self._redis.hset(keys.offer(offer_id), "change_request", text[:1000])
        await self._keep(offer_id)
