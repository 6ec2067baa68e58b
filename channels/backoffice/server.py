"""The back-office API: the city's systems create offers and ask about citizens (docs/offers.md).

Every call but the OpenAPI document needs ``Authorization: Bearer <token of a calling system>``
(``python -m bot backoffice add``). Bodies are JSON, at most 64 KiB. Errors are JSON
``{"error": {"code", "message"}}`` with a 4xx status, and change nothing.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any, Awaitable, Callable

import yaml
from aiohttp import web

from bot.core.clock import iso
from bot.core.inbound import InboundError, parse_json
from bot.gateway.typedefs import CONSENTS, MYDATA, OFFERS, RIGHTS, SETTINGS, SYSTEMS
from bot.offers.store import OFFER_ID, OfferError, parse_offer
from bot.privacy.audit import Action, Actor
from bot.privacy.consent import PURPOSES, ConsentError
from bot.privacy.identity import CITIZEN_ID, IdentityError
from bot.systems.registry import System

logger = logging.getLogger(__name__)
OPENAPI_FILE = Path(__file__).parent / "openapi.yml"
Handler = Callable[[web.Request, System], Awaitable[web.Response]]


def error(status: int, code: str, message: str) -> web.Response:
    """A JSON error answer."""
    return web.json_response({"error": {"code": code, "message": message}}, status=status)


def refused(system: System, code: str, message: str) -> web.Response:
    """403, logged with the system and the reason (never the citizen)."""
    logger.warning("back-office call refused: system %s, %s", system.name, code)
    return error(403, code, message)


async def _own_citizen(request: web.Request, system: System, citizen: str) -> web.Response | None:
    """None when the system may act on ``citizen`` (all citizens, or one it made offers for);
    the 403 answer otherwise."""
    if system.all_citizens:
        return None
    if any(o.system == system.name for o in await request.app[OFFERS].of_citizen(citizen)):
        return None
    return refused(system, "not_your_citizen", "this system has no offers for this citizen")


def _authorised(handler: Handler, scope: str) -> Callable[[web.Request], Awaitable[web.Response]]:
    """The handler, for calling systems that have ``scope`` (401 without a token, 403 without it)."""

    async def wrapped(request: web.Request) -> web.Response:
        system = request.app[SYSTEMS].authenticate(request.headers.get("Authorization"))
        if system is None:
            return error(401, "unauthorized", "a valid Authorization: Bearer <token> of a calling system is needed")
        if not system.may(scope):
            return refused(system, "forbidden_scope", f"this system may not call this operation ({scope})")
        try:
            return await handler(request, system)
        except OfferError as exc:
            return error(exc.status, exc.code, str(exc))
        except web.HTTPRequestEntityTooLarge:
            return error(413, "too_large", "the body is larger than 64 KiB")

    return wrapped


async def _json(request: web.Request) -> Any:
    if request.content_type != "application/json":
        raise OfferError(415, "unsupported_media_type", "send the body as application/json")
    try:
        return parse_json(await request.read())
    except InboundError as exc:
        raise OfferError(400, exc.code, str(exc)) from None


def _citizen(request: web.Request) -> str:
    citizen = request.match_info["citizen_id"]
    if not CITIZEN_ID.match(citizen):
        raise OfferError(400, "bad_citizen_id", "not a valid citizen id")
    return citizen


async def create_offer(request: web.Request, system: System) -> web.Response:
    """POST /api/v1/offers: 201 created, 200 the same offer again, 409 the id with other content."""
    offer = parse_offer(await _json(request), system.name)
    if not system.may_create(offer.kind):
        return refused(system, "kind_not_allowed", f"this system may not create {offer.kind} offers")
    stored, created = await request.app[OFFERS].create(offer)
    found = await request.app[OFFERS].get(stored.offer_id, system.name)
    history = found[1] if found else []
    return web.json_response({**stored.public(), "history": history}, status=201 if created else 200)


async def get_offer(request: web.Request, system: System) -> web.Response:
    """GET /api/v1/offers/{offer_id}: the offer's status and history (the creating system only)."""
    offer_id = request.match_info["offer_id"]
    found = await request.app[OFFERS].get(offer_id, system.name) if OFFER_ID.match(offer_id) else None
    if found is None:
        return error(404, "not_found", "no such offer")
    offer, history = found
    return web.json_response({**offer.public(), "history": history})


async def citizen_offers(request: web.Request, system: System) -> web.Response:
    """GET /api/v1/citizens/{citizen_id}/offers."""
    citizen = _citizen(request)
    offers = await request.app[OFFERS].of_citizen(citizen)
    if not system.all_citizens:  # only its own offers; none at all: not its citizen
        offers = [o for o in offers if o.system == system.name]
        if not offers:
            return refused(system, "not_your_citizen", "this system has no offers for this citizen")
    return web.json_response({"offers": [o.public() for o in offers]})


async def export_citizen(request: web.Request, system: System) -> web.Response:
    """GET /api/v1/citizens/{citizen_id}/export: everything held (GDPR art. 15)."""
    citizen = _citizen(request)
    if (answer := await _own_citizen(request, system, citizen)) is not None:
        return answer
    logger.info("export of a citizen's data requested by %s", system.name)
    return web.json_response(await request.app[RIGHTS].export(citizen, system.name))


async def erase_citizen(request: web.Request, system: System) -> web.Response:
    """DELETE /api/v1/citizens/{citizen_id}: erase (GDPR art. 17), keeping the city's records."""
    citizen = _citizen(request)
    if (answer := await _own_citizen(request, system, citizen)) is not None:
        return answer
    logger.info("erasure of a citizen's data requested by %s", system.name)
    return web.json_response(await request.app[RIGHTS].erase(citizen, system.name))


async def link_code(request: web.Request, system: System) -> web.Response:
    """POST /api/v1/citizens/{citizen_id}/link-code: a one-time code the citizen sends to the
    Telegram bot or the WhatsApp number as ``/start <code>``."""
    citizen = _citizen(request)
    if (answer := await _own_citizen(request, system, citizen)) is not None:
        return answer
    try:
        code = await request.app[MYDATA].issue_link_code(citizen)
    except IdentityError as exc:
        return error(400, exc.code, str(exc))
    body: dict[str, Any] = {"code": code, "expires_in": 600, "start_command": f"/start {code}"}
    username = request.app[SETTINGS].telegram_bot_username
    if username:
        body["deep_link"] = f"https://t.me/{username}?start={code}"
    number = request.app[SETTINGS].whatsapp_number
    if number:  # WhatsApp opens the chat with the command written, for the citizen to send
        body["whatsapp_link"] = f"https://wa.me/{number}?text=%2Fstart%20{code}"
    return web.json_response(body, status=201)


async def set_consent(request: web.Request, system: System) -> web.Response:
    """PUT /api/v1/citizens/{citizen_id}/consent/{purpose}: consent given or withdrawn elsewhere."""
    citizen, purpose = _citizen(request), request.match_info["purpose"]
    if (answer := await _own_citizen(request, system, citizen)) is not None:
        return answer
    body = await _json(request)
    if purpose not in PURPOSES:
        return error(404, "unknown_purpose", f"purpose must be one of: {', '.join(PURPOSES)}")
    if not isinstance(body, dict) or not isinstance(body.get("granted"), bool):
        return error(400, "bad_body", 'send {"granted": true} or {"granted": false}')
    try:
        changed = await request.app[CONSENTS].set(citizen, purpose, body["granted"], "backoffice")
    except ConsentError as exc:
        return error(400, "bad_consent", str(exc))
    state = await request.app[CONSENTS].current(citizen, purpose)
    assert state is not None
    if changed:
        why = f"{purpose} {'granted' if state.granted else 'withdrawn'}"
        await request.app[RIGHTS].record_access(
            Actor.SYSTEM, system.name, Action.CONSENT_CHANGED, citizen=citizen, why=why
        )
    body = {"purpose": purpose, "granted": state.granted, "changed": changed, "channel": state.channel}
    return web.json_response({**body, "at": iso(state.at)})


def setup_backoffice(app: web.Application) -> None:
    """Add the back-office API routes and the OpenAPI document to the gateway."""
    document = yaml.safe_load(OPENAPI_FILE.read_text(encoding="utf-8"))

    async def openapi(_: web.Request) -> web.Response:
        return web.json_response(document)

    app.router.add_get("/api/v1/openapi.json", openapi)
    app.router.add_post("/api/v1/offers", _authorised(create_offer, "offers:create"))
    app.router.add_get("/api/v1/offers/{offer_id}", _authorised(get_offer, "offers:read"))
    app.router.add_get("/api/v1/citizens/{citizen_id}/offers", _authorised(citizen_offers, "offers:read"))
    app.router.add_get("/api/v1/citizens/{citizen_id}/export", _authorised(export_citizen, "citizens:export"))
    app.router.add_delete("/api/v1/citizens/{citizen_id}", _authorised(erase_citizen, "citizens:erase"))
    app.router.add_post("/api/v1/citizens/{citizen_id}/link-code", _authorised(link_code, "link_codes:create"))
    app.router.add_put("/api/v1/citizens/{citizen_id}/consent/{purpose}", _authorised(set_consent, "consent:write"))
