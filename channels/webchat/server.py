"""The socket.io side of the web chat.

Events (as Rasa's socket.io channel): the client sends ``session_request`` ``{session_id}`` and
gets ``session_confirm`` with the session id to keep; it sends ``user_uttered``
``{message, session_id, customData}`` and gets one ``bot_uttered`` per reply, exactly as Rasa
sends it: ``{text}`` or ``{text, quick_replies: [{content_type, title, payload}]}`` (rasa-webchat
renders only messages with exactly these keys). A client that says ``{"protocol": "citybot"}`` in
its ``session_request`` (our widget) also gets ``lang`` and ``links`` on each reply. Bad input gets
a ``chat_error`` ``{code, message}`` event and changes nothing; other conversations are unaffected.
A client that asks for an acknowledgement of ``user_uttered`` gets ``{ok: true, replies: n}`` after
the ``n`` replies to it were sent (or ``{ok: false, code}``): it knows the turn is over.
A ``message_id`` of the client's own in ``user_uttered`` makes the message safe to send again
(our widget resends a message whose acknowledgement a dropped connection lost): a repeat gets the
same answer again, never a second one, and each reply carries ``reply_to`` (that id) and
``index`` so the client shows it once (bot/conversation/claims.py).

Sessions belong to the browser that started them (``bot.privacy.sessions``): the server issues
the id, and our widget gets a resume secret with it (``session_confirm`` is then
``{session_id, resume_secret}``) which it sends back in ``session_request`` to resume. An id
without its secret, or a signed-in session without a valid token of the same citizen, gets a new
session. rasa-webchat (Rasa's plain protocol) chats anonymously and starts afresh on reconnect.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from pathlib import Path
from typing import Any, Sequence

import socketio
from aiohttp import web
from redis.exceptions import RedisError

from bot.conversation.rasa_client import BotUnavailableError
from bot.core import metrics
from bot.core.envelope import Inbound, Outbound
from bot.core.errors import CodedError
from bot.core.i18n import normalise_language
from bot.core.inbound import is_text
from bot.core.settings import Settings
from bot.gateway.typedefs import (
    CONVERSATIONS,
    DELIVERY,
    HANDOFF,
    LIMITS,
    MYDATA,
    OUTBOX,
    ROUTER,
    SETTINGS,
    VERIFIER,
    WEB_SESSIONS,
)
from bot.knowledge.files import load_texts
from bot.privacy.identity import Identity, IdentityError
from bot.privacy.sessions import WebSession
from bot.store import keys

logger = logging.getLogger(__name__)
STATIC_DIR = Path(__file__).parent / "static"
STRINGS_FILE = Path(__file__).parent / "widget_strings.yml"
WEBCHAT_SIO = web.AppKey("webchat_sio", socketio.AsyncServer)


class WebchatError(CodedError):
    """A web chat client sent something we refuse; ``code`` is for the widget's own text."""


def store_unavailable() -> WebchatError:
    """The error for a message or session the state store could not serve in time."""
    return WebchatError("unavailable", "the service cannot answer right now; try again in a moment")


def bot_uttered(reply: Outbound, extended: bool) -> dict[str, Any]:
    """A reply in the shape Rasa's socket.io channel sends; ``extended`` adds lang, links, sender."""
    text = reply.text
    if reply.links and not extended:  # rasa-webchat shows text only: the links go in it
        text = "\n".join([text, *(f"{link.title}: {link.url}" for link in reply.links)])
    event: dict[str, Any] = {"text": text}
    if reply.buttons:
        event["quick_replies"] = [
            {"content_type": "text", "title": b.title, "payload": b.payload} for b in reply.buttons
        ]
    if extended:
        event["links"] = [{"title": link.title, "url": link.url} for link in reply.links]
        if reply.language:
            event["lang"] = reply.language
        if reply.notice:
            event["control"] = reply.notice.value
        if reply.card:
            event["card"] = {
                "title": reply.card.title,
                "facts": [{"label": fact.label, "value": fact.value} for fact in reply.card.facts],
            }
        if reply.sender != "bot":
            event["sender"] = reply.sender
            if reply.agent_name:
                event["agent_name"] = reply.agent_name
    return event


def _parse_message(data: Any, session_id: str | None, max_chars: int) -> tuple[str, str, dict[str, Any]]:
    if not isinstance(data, dict):
        raise WebchatError("malformed", "user_uttered needs an object")
    text = data.get("message")
    if not isinstance(text, str) or not text.strip():
        raise WebchatError("empty", "message must be non-empty text")
    if len(text) > max_chars:
        raise WebchatError("too_long", f"message is longer than {max_chars} characters")
    message_id = data.get("message_id")
    if not is_text(text) or (isinstance(message_id, str) and not is_text(message_id)):
        raise WebchatError("bad_text", "the message contains characters that are not valid Unicode")
    sid_in_message = data.get("session_id")
    if sid_in_message is not None and sid_in_message != session_id:
        raise WebchatError("no_session", "session_id does not match this connection's session")
    if session_id is None:
        raise WebchatError("no_session", "send session_request first")
    custom = data.get("customData") or {}
    if not isinstance(custom, dict):
        raise WebchatError("malformed", "customData must be an object")
    return session_id, text.strip(), custom


def widget_strings() -> dict[str, dict[str, str]]:
    """The widget's own texts, each checked to exist in fi, sv and en."""
    return load_texts(STRINGS_FILE)


def _static_routes(app: web.Application) -> None:
    # The greeting's notice says how long the chat is kept (a page-only app uses the default).
    days = str(app[SETTINGS].transcript_days if SETTINGS in app else Settings.transcript_days)
    strings = {
        key: {lang: text.replace("{days}", days) for lang, text in texts.items()}
        for key, texts in widget_strings().items()
    }

    async def strings_json(_: web.Request) -> web.Response:
        return web.json_response(strings, headers={"Cache-Control": "max-age=300"})

    async def demo_page(_: web.Request) -> web.FileResponse:
        return web.FileResponse(STATIC_DIR / "index.html")

    app.router.add_get("/", demo_page)
    app.router.add_get("/webchat/strings.json", strings_json)
    app.router.add_static("/webchat/", STATIC_DIR, follow_symlinks=False)


def setup_webchat(app: web.Application) -> None:
    """Attach the socket.io server and the widget's files to the gateway application."""
    settings = app[SETTINGS]
    _static_routes(app)
    # Through Redis, so that an agent's reply from any gateway process reaches the citizen's socket.
    manager = socketio.AsyncRedisManager(settings.redis.url, channel=keys.SOCKETIO_CHANNEL)
    sio = socketio.AsyncServer(
        client_manager=manager,
        async_mode="aiohttp",
        # Each event is its own task, so that a slow turn never stops the connection's heartbeat
        # (pings are read meanwhile); a per-connection lock keeps a citizen's messages in the
        # order sent (asyncio's locks are first come, first served).
        async_handlers=True,
        cors_allowed_origins=settings.webchat_origins or None,
        max_http_buffer_size=max(16 * 1024, settings.max_message_chars * 8),
        logger=False,
        engineio_logger=False,
    )
    app[WEBCHAT_SIO] = sio
    sio.attach(app, socketio_path="socket.io")

    async def fail(sid: str, error: WebchatError) -> None:
        logger.info("web chat %s refused: %s", error.code, error)
        await sio.emit("chat_error", {"code": error.code, "message": str(error)}, to=sid, ignore_queue=True)

    def conversation(session_id: str) -> str:
        return f"webchat:{session_id}"

    async def push(session_id: str, replies: Sequence[Outbound]) -> None:
        if not await app[OUTBOX].is_open(conversation(session_id)):
            await app[OUTBOX].keep(conversation(session_id), replies)
            return
        for reply in replies:
            await sio.emit("bot_uttered", bot_uttered(reply, True), room=f"{session_id}:ext")
            await sio.emit("bot_uttered", bot_uttered(reply, False), room=f"{session_id}:plain")

    async def agent_typing(session_id: str) -> None:
        await sio.emit("agent_typing", {}, room=f"{session_id}:ext")

    app[DELIVERY].register("webchat", push, agent_typing)

    @sio.event
    async def connect(sid: str, environ: dict[str, Any], auth: Any = None) -> None:
        await sio.save_session(sid, {"session_id": None})

    turns: dict[str, asyncio.Lock] = {}  # per connection: its events one at a time, in order

    def turn_of(sid: str) -> asyncio.Lock:
        return turns.setdefault(sid, asyncio.Lock())

    @sio.event
    async def session_request(sid: str, data: Any = None) -> None:
        """Start or resume a session; when the state store cannot answer, say so."""
        try:
            async with turn_of(sid):
                await _session_request(sid, data)
        except (RedisError, OSError, asyncio.TimeoutError) as error:
            logger.warning("a web chat session could not be started: %s", error.__class__.__name__)
            await fail(sid, store_unavailable())

    async def _session_request(sid: str, data: Any = None) -> None:
        """Resume the session the browser proves with its secret, or start a new one.

        A new session's secret goes to our widget only (in ``session_confirm``); Rasa's plain
        protocol has no place for it, so rasa-webchat gets a new anonymous session each time.
        """
        request = data if isinstance(data, dict) else {}
        extended = request.get("protocol") == "citybot"
        language = normalise_language(request.get("language")) or "fi"
        identity, refused = verified_identity(request.get("identity_token"))
        citizen = identity.citizen_id if identity else None
        sessions = app[WEB_SESSIONS]
        wanted = request.get("session_id")
        if await sessions.resume(wanted, request.get("resume_secret"), citizen):
            session = WebSession(str(wanted), None, resumed=True)
        else:
            session = await sessions.start()
        session_id = session.session_id
        async with sio.session(sid) as state:
            previous = state.get("session_id")
            state["session_id"] = session_id
            state["extended"] = extended
        if previous:
            await sio.leave_room(sid, f"{previous}:ext")
            await sio.leave_room(sid, f"{previous}:plain")
            await app[OUTBOX].closed(conversation(previous))
        # Every tab of this conversation, for pushes from agents (by protocol: plain clients get Rasa's shape).
        await sio.enter_room(sid, f"{session_id}:{'ext' if extended else 'plain'}")
        await app[OUTBOX].opened(conversation(session_id))
        confirm: Any = session_id
        if extended and session.secret:
            confirm = {"session_id": session_id, "resume_secret": session.secret}
        await sio.emit("session_confirm", confirm, to=sid, ignore_queue=True)
        if refused is not None:  # the chat goes on, anonymously
            await fail(sid, refused)
        if identity is not None:
            await sessions.sign_in(session_id, identity.citizen_id)
            mydata = app[MYDATA]
            if await mydata.link_by_token(conversation(session_id), identity.citizen_id, identity.expires_at):
                linked = mydata.notice("linked", language)
                await sio.emit("bot_uttered", bot_uttered(linked, extended), to=sid, ignore_queue=True)
        if not session.resumed and normalise_language(request.get("language")):
            # The page's language is the conversation's until the citizen writes: an offer or a
            # notice that arrives before the first message is in it (not in the default Finnish).
            await app[CONVERSATIONS].touch(conversation(session_id), "webchat", language)
        if session.resumed:  # replies kept while no page was open belong to a proven session only
            for reply in await app[OUTBOX].take(conversation(session_id)):
                await sio.emit("bot_uttered", bot_uttered(reply, extended), to=sid, ignore_queue=True)

    def verified_identity(token: Any) -> tuple[Identity | None, WebchatError | None]:
        """The citizen a valid identity token names, or the refusal of a bad one (no token: neither)."""
        if not isinstance(token, str) or not token:
            return None, None
        if not is_text(token):
            return None, WebchatError("identity_rejected", "the sign-in could not be confirmed")
        try:
            return app[VERIFIER].verify_identity(token), None
        except IdentityError as error:
            logger.info("web chat identity token refused: %s", error.code)
            return None, WebchatError("identity_rejected", "the sign-in could not be confirmed")

    @sio.event
    async def disconnect(sid: str, reason: Any = None) -> None:
        turns.pop(sid, None)
        session = await sio.get_session(sid)
        if session.get("session_id"):
            await app[OUTBOX].closed(conversation(session["session_id"]))

    @sio.event
    async def user_typing(sid: str, data: Any = None) -> None:
        """The citizen is typing: the agent holding the conversation sees it (nothing else does)."""
        session = await sio.get_session(sid)
        if session.get("session_id"):
            await app[HANDOFF].citizen_typing(conversation(session["session_id"]))

    @sio.event
    async def user_uttered(sid: str, data: Any = None) -> dict[str, Any]:
        """Answer one message; the return value is the acknowledgement a client may ask for."""
        try:
            async with turn_of(sid):
                return await _user_uttered(sid, data)
        except (RedisError, OSError, asyncio.TimeoutError) as error:
            # The state store did not answer in time: the citizen is told to try again (the
            # widget puts their text back in the input), never left without a word.
            metrics.BOT_ERRORS.labels("webchat", "store_unavailable").inc()
            logger.warning("a web chat message could not be handled: %s", error.__class__.__name__)
            await fail(sid, store_unavailable())
            return {"ok": False, "code": "unavailable"}

    async def _user_uttered(sid: str, data: Any) -> dict[str, Any]:
        session = await sio.get_session(sid)
        try:
            session_id, text, custom = _parse_message(data, session.get("session_id"), settings.max_message_chars)
            if not await app[LIMITS].allow(conversation(session_id)):  # every tab and process together
                raise WebchatError("rate_limited", "too many messages; wait a moment")
        except WebchatError as error:
            await fail(sid, error)
            return {"ok": False, "code": error.code}
        # A client's own message id makes a resend of the message (its connection dropped before
        # the acknowledgement) get the same answer again, not a second one (bot/conversation/claims.py).
        given = data.get("message_id") if isinstance(data.get("message_id"), str) else None
        message_id = given[:80] if given else uuid.uuid4().hex
        message = Inbound(
            channel="webchat",
            user_id=session_id,
            message_id=message_id,
            text=text,
            language_hint=normalise_language(custom.get("language")),
            language_choice=normalise_language(custom.get("language_choice")),
            replay=given is not None,
        )
        try:
            replies = await app[ROUTER].handle(message)
        except BotUnavailableError as error:
            metrics.BOT_ERRORS.labels("webchat", "bot_unavailable").inc()
            logger.warning("bot unavailable for a web chat message: %s", error)
            await fail(sid, WebchatError("unavailable", "the bot is not available right now"))
            return {"ok": False, "code": "unavailable"}
        extended = session.get("extended", False)
        for index, reply in enumerate(replies):
            event = bot_uttered(reply, extended)
            if extended and given:  # the widget shows each reply once, however often it is sent
                event["reply_to"], event["index"] = message_id, index
            await sio.emit("bot_uttered", event, to=sid, ignore_queue=True)
        return {"ok": True, "replies": len(replies)}
