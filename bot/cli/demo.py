"""``python -m bot demo``: see proactive offers in a few minutes, against a running service.

1. registers a ``demo`` calling system for the back-office API (once; kept in the data dir);
2. makes a citizen (``demo-citizen``), gives consent to proactive offers through the API and
   prints a web chat link carrying the citizen's identity token (signed with the development
   key, standing in for the city's login);
3. waits until a page (or ``python -m bot chat --citizen``) opens the chat after the demo
   started (the conversation is then linked anew: a chat of an earlier run, closed since, does
   not count), and sends one offer of each kind, a few seconds apart: answer them in the chat
   with the buttons or in your own words; the statuses are printed as they change.

Run ``make run`` (or ``python -m bot run --no-chat``) in another terminal first.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from datetime import datetime, timedelta, timezone
from typing import Any

import aiohttp

from bot.cli.shell import command_line
from bot.core.private_files import write_private
from bot.core.settings import Settings, load_settings
from bot.privacy.identity import Links, development_token
from bot.store.redis import connect
from bot.systems.registry import DEFAULT_SCOPES, SCOPES, SystemsError, add_system, load_systems, remove_system

OFFERS: list[tuple[str, dict[str, str]]] = [
    (
        "school_placement",
        {
            "child_name": "Elsa",
            "school_name": "Lauttasaaren ala-asteen koulu",
            "school_address": "Myllykalliontie 3",
            "start_date": "2027-08-05",
        },
    ),
    (
        "daycare_placement",
        {
            "child_name": "Onni",
            "daycare_name": "Päiväkoti Pikkuli",
            "daycare_address": "Vattuniemenkatu 10",
            "start_date": "2027-01-11",
        },
    ),
    (
        "screening_invitation",
        {
            "screening_name": "kohdunkaulan syövän seulonta",
            "place": "Kallion terveysasema",
            "appointment_time": "2027-02-03T14:30:00+02:00",
        },
    ),
]


def add_parser(sub: argparse._SubParsersAction) -> None:
    """The ``demo`` and ``backoffice`` sub-commands."""
    demo_p = sub.add_parser("demo", help="send sample offers to a demo citizen's web chat (service must run)")
    demo_p.add_argument("--citizen", default="demo-citizen")
    demo_p.add_argument("--wait", type=float, default=600, help="seconds to wait for the chat page to open")
    office_p = sub.add_parser("backoffice", help="manage the systems that may call the back-office API")
    office_sub = office_p.add_subparsers(dest="backoffice_command", required=True)
    add_p = office_sub.add_parser("add", help="register a calling system; prints its API token once")
    add_p.add_argument("name")
    add_p.add_argument("--callback", default="", help="https URL told of every offer status change")
    add_p.add_argument(
        "--scopes",
        default=",".join(DEFAULT_SCOPES),
        help=f"what it may call, comma-separated, of: {', '.join(SCOPES)} (default: %(default)s)",
    )
    add_p.add_argument("--kinds", default="", help="offer kinds it may create, comma-separated (default: all)")
    add_p.add_argument(
        "--all-citizens",
        action="store_true",
        help="may act on any citizen, not only those it made offers for (the city's e-services)",
    )
    add_p.add_argument(
        "--allow-private-callback",
        action="store_true",
        help="its callback URL may be on a private network or loopback (an internal service)",
    )


def _token_file(settings: Settings) -> Any:
    return settings.data_dir / "secrets" / "demo_api_token"


DEMO_SCOPES = ("offers:create", "offers:read", "consent:write", "link_codes:create")


def _demo_system(settings: Settings) -> str:
    path = _token_file(settings)
    existing = load_systems(settings.backoffice_file).get("demo")
    if path.exists() and existing is not None and set(DEMO_SCOPES) <= existing.scopes and existing.all_citizens:
        return str(path.read_text(encoding="utf-8").strip())
    if existing is not None:  # made by an older version, without the scopes the demo needs
        remove_system(settings.backoffice_file, "demo")
    token, _ = add_system(settings.backoffice_file, "demo", scopes=DEMO_SCOPES, all_citizens=True)
    write_private(path, token)
    return token


async def _demo(settings: Settings, citizen: str, wait: float) -> int:
    base = f"http://{settings.gateway_host}:{settings.gateway_port}"
    token = _demo_system(settings)
    headers = {"Authorization": f"Bearer {token}"}
    async with aiohttp.ClientSession(headers=headers) as http:
        try:
            async with http.put(
                f"{base}/api/v1/citizens/{citizen}/consent/proactive_offers", json={"granted": True}
            ) as response:
                response.raise_for_status()
        except aiohttp.ClientConnectorError:
            print(f"error: no service at {base}; start it first with `make run`", file=sys.stderr)
            return 1
        identity = development_token(settings.identity_keys_file, citizen, settings.identity_audience, 24 * 60)
        print(f"1. Open this page and the chat on it (as the signed-in citizen {citizen}):\n")
        print(f"   {base}/?identity={identity}\n")
        print(f"   or chat in a terminal:  {command_line(f'chat --citizen {citizen}')}\n")
        print("   Waiting for the chat to open ...", flush=True)
        started = time.time()
        deadline = time.monotonic() + wait
        # A chat opened since this demo started (a page or the terminal signs in, which links it
        # anew): an earlier run's chat, closed since, must not be taken for it.
        redis = connect(settings.redis)  # one client for the whole wait, not one per poll
        try:
            while not await _opened_since(Links(redis), citizen, started):
                if time.monotonic() > deadline:
                    print("error: the chat was not opened in time", file=sys.stderr)
                    return 1
                await asyncio.sleep(1)
        finally:
            await redis.aclose()
        print("2. The chat is linked. Sending one offer of each kind; answer them in the chat.\n", flush=True)
        ids: list[str] = []
        for kind, details in OFFERS:
            body: dict[str, Any] = {
                "offer_id": f"demo-{kind}-{time.time_ns()}",
                "citizen_id": citizen,
                "kind": kind,
                "details": details,
                "respond_by": (datetime.now(timezone.utc) + timedelta(days=14)).isoformat(timespec="seconds"),
                "on_silence": "accept" if kind != "screening_invitation" else "none",
            }
            async with http.post(f"{base}/api/v1/offers", json=body) as response:
                created = await response.json()
            print(f"   {kind}: {created.get('status')}", flush=True)
            ids.append(body["offer_id"])
            await asyncio.sleep(3)
        print("\n3. Statuses as you answer (Ctrl-C to stop):", flush=True)
        seen: dict[str, Any] = {}
        while True:
            for offer_id in ids:
                async with http.get(f"{base}/api/v1/offers/{offer_id}") as response:
                    offer = await response.json()
                if seen.get(offer_id) != offer["status"]:
                    seen[offer_id] = offer["status"]
                    print(f"   {offer['kind']}: {offer['status']} ({offer['history'][-1]['cause']})", flush=True)
            await asyncio.sleep(1)


async def _opened_since(links: Links, citizen: str, since: float) -> bool:
    """Has a chat of ``citizen`` been linked (opened by a signed-in page or terminal) since
    ``since``? Read from the links themselves: polling the export would fill the audit log."""
    for conversation in await links.conversations_of(citizen):
        linked_at = (await links.record(conversation)).get("linked_at")
        if linked_at and float(linked_at) >= since - 1:
            return True
    return False


def run(args: argparse.Namespace) -> int:
    """Run ``demo`` or ``backoffice``; returns the exit code."""
    settings = load_settings()
    if args.command == "backoffice":
        try:
            token, secret = add_system(
                settings.backoffice_file,
                args.name,
                args.callback,
                scopes=tuple(s.strip() for s in args.scopes.split(",") if s.strip()),
                offer_kinds=tuple(k.strip() for k in args.kinds.split(",") if k.strip()) or None,
                all_citizens=args.all_citizens,
                allow_private_callback=args.allow_private_callback,
            )
        except SystemsError as error:
            print(f"error: {error}", file=sys.stderr)
            return 2
        print(json.dumps({"system": args.name, "api_token": token, "callback_secret": secret}, indent=2))
        print("Keep both secret; they are not shown again. Restart the service to load the system.", file=sys.stderr)
        return 0
    try:
        return asyncio.run(_demo(settings, args.citizen, args.wait))
    except KeyboardInterrupt:
        return 0
