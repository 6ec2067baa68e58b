"""The agents' console: sign-in, the live queue, and chat with citizens (docs/handoff.md).

HTTP routes under ``/console/`` serve the page, its texts and a small JSON API; one WebSocket per
open console (``/console/ws``) carries the queue, transcripts and chat. Each connection follows
Redis streams (the handoff events and the transcripts of the agent's conversations) from the
last id it has sent, so nothing is lost or repeated, also when the browser reconnects and says
which id it saw last. Several gateway processes can serve consoles and citizens at once: all
state and delivery goes through Redis.

Security: argon2id passwords and attempt limits (``bot.handoff.agents``); a random session token in an
HttpOnly, SameSite=Strict cookie; a CSRF token (per session) on every POST and in the socket's
first message; the socket's Origin must be this host; a Content-Security-Policy without inline
scripts; citizens' messages are only ever put in the page as text.
"""

from __future__ import annotations

import asyncio
import contextlib
import csv
import io
import ipaddress
import json
import logging
import math
import re
import time
from datetime import date, timedelta
from pathlib import Path
from typing import Any, AsyncIterator
from urllib.parse import urlparse

from aiohttp import WSMsgType, web
from redis.exceptions import RedisError

from bot.conversation.delivery import DeliveryError
from bot.conversation.transcripts import Transcripts, decode_entry
from bot.core import clock
from bot.core.envelope import Outbound
from bot.core.errors import KnowledgeError
from bot.core.i18n import LANGUAGES, pick
from bot.core.inbound import InboundError, parse_json
from bot.core.paths import knowledge_dir
from bot.core.shutdown import shut
from bot.gateway.typedefs import AGENTS, HANDOFF, REDIS, RIGHTS, SETTINGS
from bot.handoff.agents import Agent, AgentError, Session, ThrottledError
from bot.handoff.cases import CaseMode, HandoffError
from bot.knowledge.files import load_conversation_titles, load_faq, load_texts
from bot.privacy.audit import Action, Actor

logger = logging.getLogger(__name__)
HERE = Path(__file__).parent
STATIC_DIR = HERE / "static"
STRINGS_FILE = HERE / "strings.yml"
COOKIE = "citybot_console"
STREAM_ID = re.compile(r"^\d{1,20}(-\d{1,20})?$")  # a Redis stream entry id, or "0"
CSRF_HEADER = "X-CSRF-Token"
HELLO_SECONDS = 10
BLOCK_MS = 1000
QUEUE_REFRESH_SECONDS = 5.0
TYPING_EVERY_SECONDS = 2.0
MAX_QUERY_CHARS = 200
WITHOUT_CONVERSATION = frozenset({"hello", "status", "search"})  # commands about the agent, not a conversation
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}


class ConsoleConnection:
    """One agent's open console: reads their commands, follows Redis for them."""

    def __init__(self, app: web.Application, ws: web.WebSocketResponse, agent: Agent) -> None:
        self.app = app
        self.ws = ws
        self.agent = agent
        self.cursors: dict[str, str] = {}  # conversation → last transcript id sent
        self.audited: set[str] = set()  # conversations whose opening this connection recorded
        self._events_cursor = "$"
        self._queue_dirty = True
        self._last_queue = 0.0
        self._last_typing: dict[str, float] = {}

    # -- the loop ---------------------------------------------------------------------------------

    async def run(self) -> None:
        """Serve the connection until the browser goes."""
        self._events_cursor = await self.app[HANDOFF].latest_event_id()
        await self.app[AGENTS].heartbeat(self.agent.username)
        await self._send_ready()
        pump = asyncio.create_task(self._pump())
        try:
            async for message in self.ws:
                if message.type != WSMsgType.TEXT:
                    continue
                await self._command(message.data)
        finally:
            pump.cancel()
            await shut(pump, "console stream reader")

    async def _pump(self) -> None:
        """Follow the handoff events and this agent's transcripts; keep the agent online."""
        redis = self.app[REDIS]
        events = self.app[HANDOFF].events_stream
        while not self.ws.closed:
            try:
                streams = {events: self._events_cursor}
                streams.update({Transcripts.stream_of(c): cursor for c, cursor in self.cursors.items()})
                result = await redis.xread(streams, block=BLOCK_MS, count=200)
                for name, entries in result or []:
                    if name == events:
                        self._events_cursor = entries[-1][0]
                        await self._on_events([fields for _, fields in entries])
                        continue
                    conversation = Transcripts.conversation_of(name)
                    if conversation is None or conversation not in self.cursors:
                        continue
                    for entry_id, fields in entries:
                        self.cursors[conversation] = entry_id
                        await self._send(
                            {"type": "entry", "conversation": conversation, "entry": decode_entry(entry_id, fields)}
                        )
                await self.app[AGENTS].heartbeat(self.agent.username)
                if self._queue_dirty or time.monotonic() - self._last_queue > QUEUE_REFRESH_SECONDS:
                    await self._send_queue()
            except (RedisError, OSError) as error:
                logger.warning("console stream read failed: %s", error.__class__.__name__)
                await asyncio.sleep(1)
            except ConnectionResetError:
                return

    async def _on_events(self, events: list[dict[str, str]]) -> None:
        self._queue_dirty = True
        handoff = self.app[HANDOFF]
        history_changed = False
        for event in events:
            conversation = event.get("conversation", "")
            mine = conversation in self.cursors
            if event.get("type") in ("ended", "rated", "forgotten") and event.get("agent") == self.agent.username:
                history_changed = True
            if (
                not mine
                and event.get("agent") == self.agent.username
                and event.get("type") in ("claimed", "transferred")
            ):
                case = await handoff.case(conversation)
                if case.mode is CaseMode.AGENT and case.agent == self.agent.username:
                    await self._open(conversation, "0", claimed=True)
            elif mine:
                case = await handoff.case(conversation)
                if case.mode is not CaseMode.AGENT or case.agent != self.agent.username:
                    self.cursors.pop(conversation, None)
                    why = {"ended": "ended", "requeued": "requeued", "cancelled": "ended", "forgotten": "ended"}.get(
                        event.get("type", "")
                    )
                    await self._send({"type": "released", "conversation": conversation, "why": why or "transferred"})
        if history_changed:
            await self._send_closed()

    # -- commands from the browser -------------------------------------------------------------------

    async def _command(self, raw: str) -> None:
        try:
            data = parse_json(raw)
        except InboundError as error:
            await self._error(error.code, "messages must be JSON objects of valid text")
            return
        if not isinstance(data, dict) or not isinstance(data.get("type"), str):
            await self._error("malformed", "messages must be JSON objects with a type")
            return
        kind = data["type"]
        conversation = data.get("conversation")
        if kind not in WITHOUT_CONVERSATION and not isinstance(conversation, str):
            await self._error("malformed", "this message needs a conversation")
            return
        handler = getattr(self, f"_do_{kind}", None)
        if handler is None:
            await self._error("unknown_type", f"unknown message type {kind!r}")
            return
        try:
            await handler(conversation, data)
        except HandoffError as error:
            await self._error(error.code, str(error), conversation)
        except RedisError as error:  # the socket stays open; the agent may try again
            logger.warning("console command %s failed: %s", kind, error.__class__.__name__)
            await self._error("unavailable", "that did not work just now; try again", conversation)

    async def _do_hello(self, conversation: Any, data: dict[str, Any]) -> None:
        await self._send_ready()  # a repeated hello (after a reconnect) gets the state again

    async def _do_status(self, conversation: Any, data: dict[str, Any]) -> None:
        """Available or away: an away agent takes no new conversations and counts for no queue."""
        status = data.get("status")
        if status not in ("available", "away"):
            await self._error("malformed", "status is available or away")
            return
        await self.app[AGENTS].set_away(self.agent.username, status == "away")
        await self._send({"type": "status", "status": status})

    async def _do_search(self, conversation: Any, data: dict[str, Any]) -> None:
        """The agent's ended conversations holding every word of ``query`` (all when empty)."""
        query = data.get("query")
        if not isinstance(query, str) or len(query) > MAX_QUERY_CHARS:
            await self._error("malformed", f"query is text of at most {MAX_QUERY_CHARS} characters")
            return
        await self._send_closed(query.strip())

    async def _do_view(self, conversation: str, data: dict[str, Any]) -> None:
        """Read one of the agent's ended conversations (``conversation``: the ended case's id)."""
        case, entries = await self.app[HANDOFF].closed_transcript(conversation, self.agent)
        await self.app[RIGHTS].record_access(
            Actor.AGENT,
            self.agent.username,
            Action.TRANSCRIPT_OPENED,
            conversation=case["conversation"],
            why="ended conversation reread",
        )
        await self._send({"type": "closed_transcript", "case": case, "entries": entries})

    async def _do_claim(self, conversation: str, data: dict[str, Any]) -> None:
        case, joined = await self.app[HANDOFF].claim(conversation, self.agent)
        await self._send({"type": "claimed", "conversation": conversation, "case": case.public()})
        await self._open(conversation, "0")
        # Only now tell the citizen: what they write next comes after the agent's snapshot, as an
        # entry (told first, a quick answer could land in the snapshot or, worse, be expected twice).
        await self._deliver(conversation, [joined])

    async def _do_open(self, conversation: str, data: dict[str, Any]) -> None:
        after = data.get("after") if isinstance(data.get("after"), str) else "0"
        if not STREAM_ID.match(after or "0"):
            await self._error("malformed", "after must be a transcript entry id", conversation)
            return
        await self._open(conversation, after or "0")

    async def _do_reveal(self, conversation: str, data: dict[str, Any]) -> None:
        """Show the agent holding the conversation the values masked in one message, for the
        reason they give; recorded in the audit log (docs/privacy.md)."""
        await self.app[HANDOFF].held(conversation, self.agent)
        entry, why = data.get("entry"), data.get("why")
        if not isinstance(entry, str) or not entry or len(entry) > 80:
            await self._error("malformed", "reveal needs the entry's vault reference", conversation)
            return
        if not isinstance(why, str) or not 3 <= len(why.strip()) <= 200:
            await self._error("reason_needed", "say why you need to see it (3-200 characters)", conversation)
            return
        values = await self.app[RIGHTS].reveal(conversation, entry, self.agent.username, why.strip())
        if values is None:
            await self._error("not_kept", "these details are no longer kept", conversation)
            return
        await self._send({"type": "revealed", "conversation": conversation, "entry": entry, "values": values})

    async def _do_send(self, conversation: str, data: dict[str, Any]) -> None:
        await self.app[HANDOFF].held(conversation, self.agent)
        text = await self._text(data, conversation)
        if text is None:
            return
        try:
            await self.app[HANDOFF].reply(conversation, self.agent, text)
        except DeliveryError as error:
            await self._undeliverable(conversation, error)

    async def _do_note(self, conversation: str, data: dict[str, Any]) -> None:
        await self.app[HANDOFF].held(conversation, self.agent)
        text = await self._text(data, conversation)
        if text is not None:
            await self.app[HANDOFF].note(conversation, self.agent, text)

    async def _do_typing(self, conversation: str, data: dict[str, Any]) -> None:
        now = time.monotonic()
        if now - self._last_typing.get(conversation, 0.0) >= TYPING_EVERY_SECONDS:
            self._last_typing[conversation] = now
            with contextlib.suppress(DeliveryError):
                await self.app[HANDOFF].agent_typing(conversation, self.agent)

    async def _do_transfer(self, conversation: str, data: dict[str, Any]) -> None:
        queue, to_agent = data.get("queue"), data.get("agent")
        try:
            await self.app[HANDOFF].transfer(
                conversation,
                self.agent,
                queue=queue if isinstance(queue, str) else "",
                to_agent=to_agent if isinstance(to_agent, str) else "",
            )
        except DeliveryError as error:
            await self._undeliverable(conversation, error)
        self.cursors.pop(conversation, None)
        await self._send({"type": "released", "conversation": conversation, "why": "transferred"})

    async def _do_end(self, conversation: str, data: dict[str, Any]) -> None:
        try:
            await self.app[HANDOFF].end(conversation, self.agent)
        except DeliveryError as error:
            await self._undeliverable(conversation, error)
        self.cursors.pop(conversation, None)
        await self._send({"type": "released", "conversation": conversation, "why": "ended"})

    # -- helpers -----------------------------------------------------------------------------------------

    async def _text(self, data: dict[str, Any], conversation: str) -> str | None:
        text = data.get("text")
        if not isinstance(text, str) or not text.strip():
            await self._error("empty", "write something first", conversation)
            return None
        if len(text) > self.app[SETTINGS].max_message_chars:
            await self._error("too_long", "the message is too long", conversation)
            return None
        return text.strip()

    async def _open(self, conversation: str, after: str, claimed: bool = False) -> None:
        case, entries = await self.app[HANDOFF].transcript(conversation, self.agent, after)
        if after in ("0", "0-0") and conversation not in self.audited:  # the whole transcript: an access
            self.audited.add(conversation)
            await self.app[RIGHTS].record_access(
                Actor.AGENT, self.agent.username, Action.TRANSCRIPT_OPENED, conversation=conversation, why=case.reason
            )
        self.cursors[conversation] = entries[-1]["id"] if entries else (after if after != "0" else "0-0")
        await self._send(
            {"type": "transcript", "conversation": conversation, "case": case.public(), "entries": entries}
        )
        await self._send({"type": "context", **await self.app[HANDOFF].context(conversation)})
        if claimed:
            self._queue_dirty = True

    async def _deliver(self, conversation: str, replies: list[Outbound]) -> None:
        try:
            await self.app[HANDOFF].announce(conversation, replies)
        except DeliveryError as error:
            await self._undeliverable(conversation, error)

    async def _undeliverable(self, conversation: str, error: DeliveryError) -> None:
        logger.warning("console reply not delivered: %s", error)
        await self._error("undeliverable", "the citizen's channel is not available in this gateway", conversation)

    async def _send_ready(self) -> None:
        agents = await self.app[AGENTS].all()
        away = await self.app[AGENTS].is_away(self.agent.username)
        await self._send(
            {
                "type": "ready",
                "agent": {"username": self.agent.username, "name": self.agent.name},
                "status": "away" if away else "available",
                "queues": self.app[HANDOFF].queues(),
                "agents": [
                    {"username": a.username, "name": a.name} for a in agents if a.username != self.agent.username
                ],
            }
        )
        await self._send_queue()  # now, not after the pump's first read: a case arriving meanwhile is news
        await self._send_closed()

    async def _send_closed(self, query: str = "") -> None:
        cases = await self.app[HANDOFF].closed(self.agent, query)
        await self._send({"type": "closed", "query": query, "cases": cases})

    async def _send_queue(self) -> None:
        handoff = self.app[HANDOFF]
        mine = [case.public() for case in await handoff.held_by(self.agent)]
        await self._send({"type": "queue", "waiting": await handoff.waiting(self.agent), "mine": mine})
        self._queue_dirty = False
        self._last_queue = time.monotonic()

    async def citizen_typing(self, conversation: str) -> None:
        """The citizen of one of this agent's conversations is typing."""
        if conversation in self.cursors:
            await self._send({"type": "typing", "conversation": conversation})

    async def _error(self, code: str, message: str, conversation: str | None = None) -> None:
        payload: dict[str, Any] = {"type": "error", "code": code, "message": message}
        if conversation:
            payload["conversation"] = conversation
        await self._send(payload)

    async def _send(self, payload: dict[str, Any]) -> None:
        if not self.ws.closed:
            await self.ws.send_json(payload)


CONNECTIONS = web.AppKey("console_connections", set[ConsoleConnection])


def console_strings() -> dict[str, dict[str, str]]:
    """The console's own texts, each checked to exist in fi, sv and en."""
    return load_texts(STRINGS_FILE)


def intent_names() -> dict[str, dict[str, str]]:
    """``intent_<name>``: what the bot understood, in words, for the transcript ("Tulkinta: Puhu
    ihmisen kanssa 1.00", not "request_human"): the topics' and labels' titles, and the
    console's own names for the rest (``intent_*`` in strings.yml)."""
    names = {f"intent_faq_{topic}": dict(entry.title) for topic, entry in load_faq().items()}
    names.update({f"intent_{label}": dict(titles) for label, titles in load_conversation_titles().items()})
    return names


def canned_responses() -> dict[str, dict[str, dict[str, str]]]:
    """``knowledge/canned_responses.yml``: id → {title, text}, each in fi, sv and en."""
    path = knowledge_dir() / "canned_responses.yml"
    titles, texts = load_texts(path, "titles"), load_texts(path, "texts")
    if set(titles) != set(texts):
        raise KnowledgeError(f"{path}: titles and texts must have the same ids")
    return {key: {"title": titles[key], "text": texts[key]} for key in titles}


async def _session(request: web.Request) -> Session | None:
    return await request.app[AGENTS].session(request.cookies.get(COOKIE))


async def _signed_in(request: web.Request, *, csrf: bool) -> tuple[Session, Agent]:
    session = await _session(request)
    agent = await request.app[AGENTS].get(session.username) if session else None
    if session is None or agent is None:
        raise web.HTTPUnauthorized(text=json.dumps({"error": "sign in first"}), content_type="application/json")
    if csrf and not session.csrf_ok(request.headers.get(CSRF_HEADER)):
        raise web.HTTPForbidden(
            text=json.dumps({"error": "missing or wrong CSRF token"}), content_type="application/json"
        )
    return session, agent


async def _supervisor(request: web.Request) -> Agent:
    """The signed-in agent, if a supervisor (an admin agent); 403 for any other agent."""
    _, agent = await _signed_in(request, csrf=False)
    if not agent.admin:
        raise web.HTTPForbidden(
            text=json.dumps({"error": "only a supervisor may do this"}), content_type="application/json"
        )
    return agent


def _csv_cell(value: str) -> str:
    """A cell a spreadsheet will not run as a formula (a reason typed by an agent is free text)."""
    return "'" + value if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value


def _json_error(status: int, message: str, **details: str) -> web.Response:
    """``{"error": message}``, with a ``code`` and its values where a page words it in its language."""
    return web.json_response({"error": message, **details}, status=status)


def client_address(remote: str | None, forwarded_for: str | None, trusted: tuple[str, ...]) -> str:
    """The client's address: the peer's, or, when the peer is a trusted proxy, the last address in
    ``X-Forwarded-For`` that is not one of the trusted proxies (a client cannot forge its way past
    the proxies that appended to the header)."""
    networks = [ipaddress.ip_network(t, strict=False) for t in trusted]

    def is_trusted(address: str) -> bool:
        try:
            ip = ipaddress.ip_address(address.strip())
        except ValueError:
            return False
        return any(ip in network for network in networks)

    peer = remote or "unknown"
    if not forwarded_for or not is_trusted(peer):
        return peer
    for hop in reversed([h.strip() for h in forwarded_for.split(",") if h.strip()]):
        if not is_trusted(hop):
            return hop
    return peer


def setup_console(app: web.Application) -> None:
    """Add the console's routes and its per-process typing listener to the gateway."""
    settings = app[SETTINGS]
    strings = {**console_strings(), **intent_names()}
    canned = canned_responses()
    app[CONNECTIONS] = set()

    @web.middleware
    async def headers(request: web.Request, handler: Any) -> web.StreamResponse:
        response = await handler(request)
        if request.path.startswith("/console"):
            for name, value in SECURITY_HEADERS.items():
                response.headers.setdefault(name, value)
        return response

    app.middlewares.append(headers)

    async def to_page(_: web.Request) -> web.Response:
        raise web.HTTPFound("/console/")

    async def page(_: web.Request) -> web.FileResponse:
        return web.FileResponse(STATIC_DIR / "console.html")

    async def strings_json(_: web.Request) -> web.Response:
        return web.json_response(strings)

    async def signin(request: web.Request) -> web.Response:
        if request.content_type != "application/json":
            return _json_error(415, "send JSON")
        try:
            body = parse_json(await request.read())
        except InboundError:
            return _json_error(400, "malformed JSON")
        if (
            not isinstance(body, dict)
            or not isinstance(body.get("username"), str)
            or not isinstance(body.get("password"), str)
        ):
            return _json_error(400, "username and password are needed")
        client = client_address(request.remote, request.headers.get("X-Forwarded-For"), settings.trusted_proxies)
        try:
            session = await request.app[AGENTS].sign_in(body["username"], body["password"], client)
        except ThrottledError as error:
            seconds = max(1, math.ceil(error.retry_after))
            response = _json_error(429, f"too many failed sign-ins; try again in {seconds} s")
            response.headers["Retry-After"] = str(seconds)
            return response
        except AgentError:
            return _json_error(401, "wrong username or password")
        agent = await request.app[AGENTS].get(session.username)
        assert agent is not None
        logger.info("agent %s signed in", agent.username)
        response = web.json_response(
            {"username": agent.username, "name": agent.name, "csrf": session.csrf, "supervisor": agent.admin}
        )
        response.set_cookie(
            COOKIE,
            session.token,
            httponly=True,
            samesite="Strict",
            path="/console",
            secure=request.app[SETTINGS].console_secure_cookie,
        )
        return response

    async def me(request: web.Request) -> web.Response:
        session, agent = await _signed_in(request, csrf=False)
        return web.json_response(
            {
                "username": agent.username,
                "name": agent.name,
                "csrf": session.csrf,
                "languages": list(agent.queues),
                "supervisor": agent.admin,
            }
        )

    async def signout(request: web.Request) -> web.Response:
        session, agent = await _signed_in(request, csrf=True)
        await request.app[AGENTS].sign_out(session)
        await request.app[AGENTS].offline(agent.username)
        response = web.Response(status=204)
        response.del_cookie(COOKIE, path="/console")
        return response

    async def canned_list(request: web.Request) -> web.Response:
        await _signed_in(request, csrf=False)
        language = request.query.get("language", "fi")
        language = language if language in LANGUAGES else "fi"
        items = [
            {"id": key, "title": pick(item["title"], language), "text": pick(item["text"], language)}
            for key, item in canned.items()
        ]
        return web.json_response(items)

    async def audit(request: web.Request) -> web.Response:
        """GET /console/api/audit?conversation=&citizen=&limit=: the newest accesses to personal
        data (bot/privacy/audit.py), for supervisors (admin agents) only."""
        await _supervisor(request)
        try:
            limit = max(1, min(500, int(request.query.get("limit", "100"))))
        except ValueError:
            return _json_error(400, "limit must be a whole number")
        entries = await request.app[RIGHTS].audit.latest(
            limit,
            citizen=request.query.get("citizen") or None,
            conversation=request.query.get("conversation") or None,
        )
        return web.json_response({"entries": entries})

    async def dashboard_page(_: web.Request) -> web.FileResponse:
        return web.FileResponse(STATIC_DIR / "dashboard.html")

    async def stats(request: web.Request) -> web.Response:
        """GET /console/api/stats?from=YYYY-MM-DD&to=YYYY-MM-DD: the dashboard's figures for the
        days from and to (both included; the last seven days by default), for supervisors only."""
        await _supervisor(request)
        today = clock.now().date()
        keep = request.app[HANDOFF].stats_days
        try:
            last = date.fromisoformat(request.query["to"]) if request.query.get("to") else today
            first = date.fromisoformat(request.query["from"]) if request.query.get("from") else last - timedelta(6)
        except ValueError:
            return _json_error(400, "from and to must be dates: YYYY-MM-DD", code="dates")
        if first > last:
            return _json_error(400, "from must not be after to", code="backwards")
        kept_from = today - timedelta(keep - 1)
        if last > today or first < kept_from:
            return _json_error(
                400,
                f"the figures are kept for {keep} days: from {kept_from}",
                code="not_kept",
                first=kept_from.isoformat(),
                last=today.isoformat(),
            )
        return web.json_response(await request.app[HANDOFF].dashboard(first, last))

    async def audit_csv(request: web.Request) -> web.StreamResponse:
        """GET /console/api/audit.csv?since=YYYY-MM-DD: the whole kept audit log (or from a day on),
        as CSV, for supervisors: the export a data protection officer asks for."""
        await _supervisor(request)
        try:
            since = clock.day_start(request.query["since"]) if request.query.get("since") else 0.0
        except ValueError:
            return _json_error(400, "since must be a date: YYYY-MM-DD")
        response = web.StreamResponse(
            headers={
                "Content-Type": "text/csv; charset=utf-8",
                "Content-Disposition": 'attachment; filename="citybot-audit.csv"',
            }
        )
        await response.prepare(request)
        columns = ["at", "actor", "who", "action", "citizen", "conversation", "why"]
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, columns, extrasaction="ignore", lineterminator="\r\n")
        writer.writeheader()
        async for entry in request.app[RIGHTS].audit.since(since):
            writer.writerow({key: _csv_cell(entry.get(key, "")) for key in columns})
            if buffer.tell() > 64 * 1024:
                await response.write(buffer.getvalue().encode())
                buffer.seek(0)
                buffer.truncate()
        await response.write(buffer.getvalue().encode())
        await response.write_eof()
        return response

    async def websocket(request: web.Request) -> web.StreamResponse:
        origin = request.headers.get("Origin", "")
        if not origin or urlparse(origin).netloc != request.host:
            return _json_error(403, "the console socket takes connections from the console's own page only")
        session, agent = await _signed_in(request, csrf=False)
        ws = web.WebSocketResponse(heartbeat=20, max_msg_size=64 * 1024)
        await ws.prepare(request)
        try:
            hello = await ws.receive_json(timeout=HELLO_SECONDS)
        except (asyncio.TimeoutError, TypeError, ValueError):
            hello = None
        if not isinstance(hello, dict) or hello.get("type") != "hello" or not session.csrf_ok(hello.get("csrf")):
            await ws.send_json({"type": "error", "code": "csrf", "message": "say hello with the CSRF token first"})
            await ws.close()
            return ws
        connection = ConsoleConnection(request.app, ws, agent)
        request.app[CONNECTIONS].add(connection)
        try:
            await connection.run()
        finally:
            request.app[CONNECTIONS].discard(connection)
        return ws

    async def typing_listener(app: web.Application) -> AsyncIterator[None]:
        async def listen() -> None:
            while True:
                pubsub = app[REDIS].pubsub()
                try:
                    await pubsub.subscribe(app[HANDOFF].typing_channel)
                    while True:
                        message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=1.0)
                        if message is None:
                            continue
                        conversation = str(message["data"])
                        for connection in app[CONNECTIONS].copy():
                            await connection.citizen_typing(conversation)
                except (RedisError, OSError) as error:
                    logger.warning("console typing listener: %s", error.__class__.__name__)
                    await asyncio.sleep(1)
                finally:
                    await pubsub.aclose()

        task = asyncio.create_task(listen())
        yield
        task.cancel()
        await shut(task, "console typing listener")
        for connection in app[CONNECTIONS].copy():
            await shut(connection.ws.close(), "console socket")

    app.cleanup_ctx.append(typing_listener)
    app.router.add_get("/console/", page)
    app.router.add_get("/console", to_page)
    app.router.add_get("/console/strings.json", strings_json)
    app.router.add_post("/console/api/signin", signin)
    app.router.add_get("/console/api/me", me)
    app.router.add_post("/console/api/signout", signout)
    app.router.add_get("/console/api/canned", canned_list)
    app.router.add_get("/console/api/audit", audit)
    app.router.add_get("/console/api/audit.csv", audit_csv)
    app.router.add_get("/console/api/stats", stats)
    app.router.add_get("/console/dashboard", dashboard_page)
    app.router.add_get("/console/ws", websocket)
    app.router.add_static("/console/static/", STATIC_DIR, follow_symlinks=False)
