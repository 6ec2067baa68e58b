"""A fake WhatsApp Business Cloud API on loopback, and Meta's side of the webhook.

The server answers ``POST /{version}/{phone_number_id}/messages`` and ``GET /{version}/
{phone_number_id}`` as the Cloud API does, and refuses (Graph error 100, as Meta does) what
breaks the documented limits: more than 3 reply buttons, a button title over 20 characters, a
list over 10 rows, a row title over 24 or description over 72, a body over 1024 (4096 for text),
an id over 256, a template without name or language. It also notes every free-form message sent
more than 24 hours after the citizen's last message (``window_violations``): the real API would
fail it. Tests tell it to refuse the next sends to a number with a code (130429: rate limit).

``Meta`` builds webhook deliveries as Meta sends them (batched entries, text, interactive,
template buttons, media, statuses), signs them with the app secret and posts them.

It runs in a thread of its own (``start``), so the stack's gateway process and the tests'
in-process gateways use one server; tests tell their citizens apart by number.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import itertools
import json
import threading
import time
from dataclasses import dataclass, field
from typing import Any

import aiohttp
from aiohttp import web

TOKEN = "EAAtest-access-token-not-secret"
PHONE_NUMBER_ID = "106540352242922"
APP_SECRET = "test-app-secret-not-secret"
VERIFY_TOKEN = "test-verify-token"
VERSION = "v21.0"
_wamids = itertools.count(1)


def _graph_error(code: int, message: str, status: int = 400) -> web.Response:
    return web.json_response(
        {"error": {"message": message, "type": "OAuthException", "code": code, "fbtrace_id": "Afake"}}, status=status
    )


def _problems(message: dict[str, Any]) -> list[str]:
    """What the real Cloud API would refuse in ``message``."""
    problems = []
    kind = message.get("type")
    if message.get("messaging_product") != "whatsapp" or not message.get("to"):
        problems.append("messaging_product and to are required")
    if kind == "text":
        body = message.get("text", {}).get("body", "")
        if not body or len(body) > 4096:
            problems.append("text body must be 1-4096 characters")
    elif kind == "interactive":
        interactive = message["interactive"]
        body = interactive.get("body", {}).get("text", "")
        if not body or len(body) > 1024:
            problems.append("interactive body must be 1-1024 characters")
        action = interactive.get("action", {})
        if interactive.get("type") == "button":
            buttons = action.get("buttons", [])
            if not 1 <= len(buttons) <= 3:
                problems.append("1-3 reply buttons")
            for button in buttons:
                if len(button["reply"]["title"]) > 20 or len(button["reply"]["id"]) > 256:
                    problems.append(f"button {button['reply']['title']!r} too long")
            if len({b["reply"]["title"] for b in buttons}) != len(buttons):
                problems.append("button titles must be unique")
        elif interactive.get("type") == "list":
            rows = [row for section in action.get("sections", []) for row in section.get("rows", [])]
            if not 1 <= len(rows) <= 10 or len(action.get("button", "")) > 20 or not action.get("button"):
                problems.append("1-10 rows and a button label of at most 20")
            for row in rows:
                if len(row["title"]) > 24 or len(row.get("description", "")) > 72 or len(row["id"]) > 200:
                    problems.append(f"row {row['title']!r} too long")
        else:
            problems.append("unknown interactive type")
    elif kind == "template":
        template = message.get("template", {})
        if not template.get("name") or not template.get("language", {}).get("code"):
            problems.append("template name and language are required")
        for component in template.get("components", []):
            for parameter in component.get("parameters", []):
                text = parameter.get("text", "")
                if "\n" in text or "\t" in text or "     " in text:
                    problems.append("template parameters cannot hold new lines, tabs or 5 spaces")
    else:
        problems.append(f"unsupported type {kind!r}")
    return problems


@dataclass
class FakeCloudApi:
    """The fake server's state; lists are appended in the server's thread, read in the tests'."""

    sent: list[dict[str, Any]] = field(default_factory=list)  # accepted messages, with "id"
    reads: list[dict[str, Any]] = field(default_factory=list)  # "read" marks (typing indicators)
    refused: list[dict[str, Any]] = field(default_factory=list)  # messages refused (rate limits, limits)
    window_violations: list[dict[str, Any]] = field(default_factory=list)
    refuse_next: dict[str, list[int]] = field(default_factory=dict)  # number → codes to answer with first
    last_inbound: dict[str, float] = field(default_factory=dict)  # number → when the citizen last wrote
    down: bool = False  # answer every call with a connection reset
    port: int = 0
    _loop: asyncio.AbstractEventLoop | None = None

    def violations(self, number: str) -> list[dict[str, Any]]:
        """Free-form messages sent to ``number`` outside its 24-hour window."""
        return [m for m in list(self.window_violations) if m.get("to") == number]

    def to(self, number: str) -> list[dict[str, Any]]:
        """The messages accepted for ``number``, in order."""
        return [m for m in list(self.sent) if m.get("to") == number]

    async def wait_for(self, number: str, count: int, timeout: float = 15) -> list[dict[str, Any]]:
        """The messages to ``number`` once there are at least ``count``; an AssertionError naming
        what did arrive when they are fewer by the deadline."""
        deadline = time.monotonic() + timeout
        while len(self.to(number)) < count:
            if time.monotonic() > deadline:
                arrived = [m.get("type") for m in self.to(number)]
                raise AssertionError(f"{count} messages expected, {len(arrived)} arrived: {arrived}")
            await asyncio.sleep(0.05)
        return self.to(number)

    async def messages(self, request: web.Request) -> web.Response:
        if request.headers.get("Authorization") != f"Bearer {TOKEN}":
            return _graph_error(190, "Invalid OAuth access token.", 401)
        if request.match_info["number_id"] != PHONE_NUMBER_ID:
            return _graph_error(100, "Unsupported post request.")
        message: dict[str, Any] = await request.json()
        if message.get("status") == "read":
            self.reads.append(message)
            return web.json_response({"success": True})
        number = str(message.get("to", ""))
        codes = self.refuse_next.get(number)
        if codes:
            code = codes.pop(0)
            self.refused.append({**message, "code": code})
            return _graph_error(code, f"({code}) refused by the test")
        problems = _problems(message)
        if problems:
            self.refused.append({**message, "code": 100, "problems": problems})
            return _graph_error(100, "; ".join(problems))
        last = self.last_inbound.get(number)
        if message["type"] != "template" and (last is None or time.time() - last > 24 * 3600):
            self.window_violations.append(message)
        wamid = f"wamid.HBgL{next(_wamids):08d}"
        self.sent.append({**message, "id": wamid})
        return web.json_response(
            {
                "messaging_product": "whatsapp",
                "contacts": [{"input": number, "wa_id": number}],
                "messages": [{"id": wamid}],
            }
        )

    async def number(self, request: web.Request) -> web.Response:
        if request.headers.get("Authorization") != f"Bearer {TOKEN}":
            return _graph_error(190, "Invalid OAuth access token.", 401)
        return web.json_response({"display_phone_number": "+358 9 310 1111", "id": request.match_info["number_id"]})

    def app(self) -> web.Application:
        application = web.Application()
        application.router.add_post("/{version}/{number_id}/messages", self.messages)
        application.router.add_get("/{version}/{number_id}", self.number)
        return application

    def start(self) -> FakeCloudApi:
        """Serve on a free loopback port in a thread of its own until the process ends."""
        ready = threading.Event()

        def serve() -> None:
            loop = asyncio.new_event_loop()
            self._loop = loop
            runner = web.AppRunner(self.app())
            loop.run_until_complete(runner.setup())
            site = web.TCPSite(runner, "127.0.0.1", 0)
            loop.run_until_complete(site.start())
            self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
            ready.set()
            loop.run_forever()

        threading.Thread(target=serve, name="fake-cloud-api", daemon=True).start()
        ready.wait(10)
        return self

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


def signature(body: bytes, secret: str = APP_SECRET) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


class Meta:
    """Meta's side of the webhook: builds deliveries as documented, signs them, posts them."""

    def __init__(self, webhook: str, fake: FakeCloudApi) -> None:
        self.webhook = webhook
        self.fake = fake
        self._ids = itertools.count(1)

    def _id(self) -> str:
        return f"wamid.IN{time.time_ns()}{next(self._ids)}"

    @staticmethod
    def delivery(*values: dict[str, Any]) -> dict[str, Any]:
        """A delivery with one entry and one change per value (Meta may batch several)."""
        return {
            "object": "whatsapp_business_account",
            "entry": [
                {
                    "id": "WABA-ID",
                    "changes": [
                        {
                            "field": "messages",
                            "value": {
                                "messaging_product": "whatsapp",
                                "metadata": {
                                    "display_phone_number": "358931011111",
                                    "phone_number_id": PHONE_NUMBER_ID,
                                },
                                **value,
                            },
                        }
                    ],
                }
                for value in values
            ],
        }

    def message(self, number: str, kind: str, content: dict[str, Any], at: float | None = None) -> dict[str, Any]:
        """A ``value`` with one message of ``kind`` from ``number`` (the citizen)."""
        stamp = time.time() if at is None else at
        return {
            "contacts": [{"profile": {"name": "Maija Meikäläinen"}, "wa_id": number}],
            "messages": [{"from": number, "id": self._id(), "timestamp": str(int(stamp)), "type": kind, **content}],
        }

    def text(self, number: str, text: str, at: float | None = None) -> dict[str, Any]:
        return self.message(number, "text", {"text": {"body": text}}, at)

    def pressed(self, number: str, option: dict[str, Any]) -> dict[str, Any]:
        """The citizen pressed a reply button or list row we sent (``option``: its id and title)."""
        kind = "list_reply" if "description" in option or option.get("_list") else "button_reply"
        reply = {"id": option["id"], "title": option["title"]}
        return self.message(number, "interactive", {"interactive": {"type": kind, kind: reply}})

    def template_button(self, number: str, text: str, payload: str) -> dict[str, Any]:
        """The citizen pressed a template's quick-reply button."""
        return self.message(number, "button", {"button": {"text": text, "payload": payload}})

    def status(self, message_id: str, number: str, status: str, code: int | None = None) -> dict[str, Any]:
        raw: dict[str, Any] = {
            "id": message_id,
            "status": status,
            "timestamp": str(int(time.time())),
            "recipient_id": number,
        }
        if code is not None:
            raw["errors"] = [{"code": code, "title": "Message undeliverable" if code == 131026 else "Error"}]
        return {"statuses": [raw]}

    async def post(
        self, *values: dict[str, Any], secret: str | None = APP_SECRET, raw: bytes | None = None, sign_raw: bool = False
    ) -> int:
        """Deliver the values (signed with ``secret``; None: unsigned) or ``raw`` bytes (signed
        with the app secret when ``sign_raw``); returns the HTTP status. Messages delivered count
        as the citizen writing (their 24-hour window opens)."""
        body = raw if raw is not None else json.dumps(self.delivery(*values)).encode()
        headers = {"Content-Type": "application/json"}
        if secret is not None or sign_raw:
            headers["X-Hub-Signature-256"] = signature(body, APP_SECRET if secret is None else secret)
        if raw is not None:
            try:
                parsed = json.loads(raw)
                values = tuple(c["value"] for e in parsed["entry"] for c in e["changes"])
            except (ValueError, KeyError, TypeError):
                values = ()
        for value in values:
            for message in value.get("messages", []):
                stamp = float(message["timestamp"])
                self.fake.last_inbound[message["from"]] = max(stamp, self.fake.last_inbound.get(message["from"], 0))
        async with (
            aiohttp.ClientSession() as session,
            session.post(self.webhook, data=body, headers=headers) as response,
        ):
            await response.read()
            return response.status

    async def say(self, number: str, text: str, at: float | None = None) -> int:
        return await self.post(self.text(number, text, at))


def options(message: dict[str, Any]) -> list[dict[str, Any]]:
    """The buttons or list rows of an interactive message we sent (list rows marked)."""
    interactive = message["interactive"]
    if interactive["type"] == "button":
        return [b["reply"] for b in interactive["action"]["buttons"]]
    return [{**row, "_list": True} for s in interactive["action"]["sections"] for row in s["rows"]]


def body_of(message: dict[str, Any]) -> str:
    """The text a citizen reads in a message we sent (a template: its name and parameters)."""
    if message["type"] == "text":
        return str(message["text"]["body"])
    if message["type"] == "interactive":
        return str(message["interactive"]["body"]["text"])
    return json.dumps(message["template"], ensure_ascii=False)
