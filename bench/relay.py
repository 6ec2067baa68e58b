"""Relay latency of human handoff: N web chat conversations held by agents, messages both ways.

    python -m bench.relay [--conversations 20] [--messages 15] [--agents 4] [--think 0.5]

Starts the whole stack (embedded Redis, actions, Rasa, gateway) on free loopback ports with every
handoff queue open around the clock (a temporary copy of ``knowledge/handoff.yml`` in
``CITYBOT_HANDOFF_FILE``), creates the agents, signs them in and connects their consoles (the
WebSocket of docs/handoff.md). N socket.io web chat citizens then each ask for a person
("haluan puhua ihmisen kanssa", Finnish) and the agents claim the N conversations (spread round
robin over the agents), so that N conversations are with an agent at once. Then all N
conversations at once relay M messages in each direction, alternating citizen → agent and
agent → citizen. Each message is waited for (at most 10 s), then its sender "thinks" a random
0.5-1.5 x THINK seconds before the next one (``--think 0`` measures saturation); starts are
spread over one think time. Each message has a unique text, and one clock times both ends (every
client runs in this process):

- ``citizen_to_agent``: from the citizen's ``user_uttered`` emit to the holding console's
  ``entry`` from "citizen" with that text;
- ``agent_to_citizen``: from the console's ``send`` to the citizen's ``bot_uttered`` with that text.

Prints p50/p95/p99/max per direction in ms, the number of messages, those lost (not received
within 10 s), duplicates (received more than once), misrouted (received by the wrong
conversation's end), stray (anything from the bot or unknown text while the agents hold the
conversations) and errors (``chat_error``, console ``error``), then one line of JSON. Bounded:
N x M x 2 messages in all.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import secrets
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import socketio
import yaml

from bench.load_webchat import bench_settings, pause, pause_before_start, percentile
from bot.cli.supervisor import Stack, exit_on_sigterm
from bot.core.paths import knowledge_dir
from bot.core.settings import Settings
from bot.handoff.agents import Agents
from bot.knowledge.handoff_config import write_handoff_variant
from bot.store.redis import connect

logger = logging.getLogger(__name__)

TO_AGENT = "citizen_to_agent"
TO_CITIZEN = "agent_to_citizen"
DIRECTIONS = (TO_AGENT, TO_CITIZEN)
RECEIVE_TIMEOUT = 10.0  # a message not received within this is lost
SETUP_TIMEOUT = 60.0  # for each step of getting the conversations to the agents
DUPLICATE_GRACE = 1.0  # after the last message: listen this long for duplicates and late arrivals
PASSWORD = "bench relay password, not secret"
ASK_FOR_PERSON = "haluan puhua ihmisen kanssa"


@dataclass
class Flight:
    """One message on its way."""

    conversation: str
    direction: str
    sent: float
    received: asyncio.Event = field(default_factory=asyncio.Event)
    latency: float | None = None
    copies: int = 0


@dataclass
class Tally:
    """Every message sent while measuring, and what arrived."""

    flights: dict[str, Flight] = field(default_factory=dict)
    misrouted: int = 0
    stray: int = 0
    errors: int = 0

    def sending(self, text: str, conversation: str, direction: str) -> Flight:
        flight = Flight(conversation, direction, time.perf_counter())
        self.flights[text] = flight
        return flight

    def arrived(self, text: str, conversation: str, direction: str) -> None:
        now = time.perf_counter()
        flight = self.flights.get(text)
        if flight is None or flight.direction != direction:
            self.stray += 1
            logger.warning("stray %s message in %s: %r", direction, conversation, text[:80])
            return
        if flight.conversation != conversation:
            self.misrouted += 1
            logger.warning("%r of %s arrived in %s", text, flight.conversation, conversation)
            return
        flight.copies += 1
        if flight.copies == 1:
            flight.latency = now - flight.sent
            flight.received.set()
        else:
            logger.warning("duplicate %s message in %s: %r", direction, conversation, text)

    def error(self, where: str, data: Any) -> None:
        self.errors += 1
        logger.warning("%s: %s", where, data)

    def summary(self, direction: str) -> dict[str, Any]:
        flights = [f for f in self.flights.values() if f.direction == direction]
        on_time = [f.latency for f in flights if f.latency is not None and f.latency <= RECEIVE_TIMEOUT]
        result: dict[str, Any] = {
            "messages": len(flights),
            "received": len(on_time),
            "lost": len(flights) - len(on_time),
            "late": sum(f.latency is not None and f.latency > RECEIVE_TIMEOUT for f in flights),
            "duplicates": sum(max(0, f.copies - 1) for f in flights),
        }
        for name, q in (("p50_ms", 0.50), ("p95_ms", 0.95), ("p99_ms", 0.99), ("max_ms", 1.0)):
            result[name] = round(percentile(on_time, q) * 1000, 1) if on_time else None
        return result


class Citizen:
    """A web chat page (socket.io, the widget's protocol) in one conversation."""

    def __init__(self, tally: Tally) -> None:
        self.tally = tally
        # Our own HTTP session, closed by close() even when Ctrl-C has cancelled the client's tasks; and
        # handle_sigint=False: Ctrl-C stays a KeyboardInterrupt, so that main() cleans up and stops the stack.
        self.http = aiohttp.ClientSession()
        self.client = socketio.AsyncClient(reconnection=False, handle_sigint=False, http_session=self.http)
        self.session_id = ""
        self.measuring = False
        self.replies: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self._confirmed: asyncio.Queue[str] = asyncio.Queue()
        self.client.on("session_confirm", self._on_confirm)
        self.client.on("bot_uttered", self._on_reply)
        self.client.on("chat_error", self._on_error)

    @property
    def conversation(self) -> str:
        return f"webchat:{self.session_id}"

    async def _on_confirm(self, data: Any = None) -> None:
        await self._confirmed.put(str(data))

    async def _on_reply(self, data: Any = None) -> None:
        if not self.measuring:
            await self.replies.put(data)
        elif isinstance(data, dict) and data.get("sender") == "agent":
            self.tally.arrived(str(data.get("text")), self.conversation, TO_CITIZEN)
        else:
            self.tally.arrived(f"(from the bot) {data}", self.conversation, "bot")

    async def _on_error(self, data: Any = None) -> None:
        self.tally.error(f"chat_error in {self.conversation}", data)

    async def start(self, url: str) -> None:
        await self.client.connect(url, transports=["websocket"], socketio_path="socket.io")
        await self.client.emit("session_request", {"session_id": None, "protocol": "citybot"})
        self.session_id = await asyncio.wait_for(self._confirmed.get(), SETUP_TIMEOUT)

    async def say(self, text: str, **custom: Any) -> None:
        payload = {"message": text, "session_id": self.session_id, "customData": custom}
        await self.client.emit("user_uttered", payload)

    async def next_replies(self, count: int) -> list[dict[str, Any]]:
        return [await asyncio.wait_for(self.replies.get(), SETUP_TIMEOUT) for _ in range(count)]

    async def close(self) -> None:
        try:
            if self.client.connected:
                await self.client.disconnect()
        finally:
            await self.http.close()


Where = Callable[[dict[str, Any]], bool]


class Console:
    """An agent's console: sign-in over HTTP, then the WebSocket."""

    def __init__(self, base: str, username: str, tally: Tally) -> None:
        self.base = base
        self.username = username
        self.tally = tally
        self.session = aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))  # the host is an IP
        self.ws: Any = None  # aiohttp.ClientWebSocketResponse (its generic parameter varies by version)
        self.measuring: set[str] = set()  # conversations whose citizen entries are timed
        self._waiters: list[tuple[Where, asyncio.Future[dict[str, Any]]]] = []
        self._reader: asyncio.Task[None] | None = None

    async def connect(self) -> None:
        async with self.session.post(
            f"{self.base}/console/api/signin", json={"username": self.username, "password": PASSWORD}
        ) as response:
            if response.status != 200:
                raise RuntimeError(f"sign-in of {self.username}: HTTP {response.status} {await response.text()}")
            csrf = (await response.json())["csrf"]
        ws = await self.session.ws_connect(f"{self.base}/console/ws", origin=self.base)
        self.ws = ws
        ready = self.waiter(lambda m: m["type"] == "ready")
        self._reader = asyncio.create_task(self._read())
        await ws.send_json({"type": "hello", "csrf": csrf})
        await asyncio.wait_for(ready, SETUP_TIMEOUT)

    def waiter(self, where: Where) -> asyncio.Future[dict[str, Any]]:
        """The next server message that matches ``where``; ask before sending what causes it."""
        future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._waiters.append((where, future))
        return future

    async def _read(self) -> None:
        assert self.ws is not None
        async for message in self.ws:
            if message.type == aiohttp.WSMsgType.TEXT:
                self._dispatch(json.loads(message.data))

    def _dispatch(self, message: dict[str, Any]) -> None:
        kind, conversation = message.get("type"), message.get("conversation", "")
        if kind == "entry" and conversation in self.measuring:
            entry = message["entry"]
            if entry["from"] == "citizen":
                self.tally.arrived(entry["text"], conversation, TO_AGENT)
            elif entry["from"] != "agent":  # the agent's own messages echo back
                self.tally.arrived(f"({entry['from']}) {entry['text']}", conversation, entry["from"])
            return
        if kind == "error":
            self.tally.error(f"console {self.username}", message)
        for waiter in list(self._waiters):
            where, future = waiter
            if not future.done() and where(message):
                future.set_result(message)
                self._waiters.remove(waiter)

    async def claim(self, conversation: str) -> None:
        assert self.ws is not None
        claimed = self.waiter(lambda m: m.get("conversation") == conversation and m["type"] in ("claimed", "error"))
        transcript = self.waiter(lambda m: m["type"] == "transcript" and m["conversation"] == conversation)
        await self.ws.send_json({"type": "claim", "conversation": conversation})
        answer = await asyncio.wait_for(claimed, SETUP_TIMEOUT)
        if answer["type"] != "claimed":
            raise RuntimeError(f"{self.username} could not claim {conversation}: {answer}")
        await asyncio.wait_for(transcript, SETUP_TIMEOUT)

    async def send(self, conversation: str, text: str) -> None:
        assert self.ws is not None
        await self.ws.send_json({"type": "send", "conversation": conversation, "text": text, "client_id": text})

    async def close(self) -> None:
        if self.ws is not None:
            await self.ws.close()
        if self._reader is not None:
            await asyncio.gather(self._reader, return_exceptions=True)
        await self.session.close()


async def to_agents(base: str, pairs: list[tuple[Citizen, Console]]) -> None:
    """Each citizen asks for a person, then their console claims the conversation."""
    expected = yaml.safe_load((knowledge_dir() / "handoff.yml").read_text(encoding="utf-8"))["texts"]
    queued_start = expected["queued"]["fi"].split("{")[0]

    async def ask(citizen: Citizen) -> None:
        await citizen.start(base)
        await citizen.say(ASK_FOR_PERSON, language="fi")
        lead, status = await citizen.next_replies(2)
        if not str(status.get("text", "")).startswith(queued_start):
            raise RuntimeError(
                f"{citizen.conversation} was not queued after {ASK_FOR_PERSON!r}: "
                f"got {lead.get('text')!r} then {status.get('text')!r}"
            )

    async def claim(citizen: Citizen, console: Console) -> None:
        await console.claim(citizen.conversation)
        await citizen.next_replies(1)  # "<agent> asiakaspalvelusta on nyt mukana keskustelussa."
        citizen.measuring = True
        console.measuring.add(citizen.conversation)

    await asyncio.gather(*(ask(citizen) for citizen, _ in pairs))
    print(f"{len(pairs)} citizens queued; claiming ...", flush=True)
    await asyncio.gather(*(claim(citizen, console) for citizen, console in pairs))


async def conversation(
    citizen: Citizen, console: Console, tally: Tally, number: int, messages: int, think: float
) -> None:
    """Alternate citizen → agent and agent → citizen, each received before the next is sent."""
    await pause_before_start(think)
    for i in range(messages * 2):
        direction = DIRECTIONS[i % 2]
        text = f"bench {number}.{i} {secrets.token_hex(4)}"
        flight = tally.sending(text, citizen.conversation, direction)
        if direction == TO_AGENT:
            await citizen.say(text)
        else:
            await console.send(citizen.conversation, text)
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(flight.received.wait(), RECEIVE_TIMEOUT)
        await pause(think)


async def run(settings: Settings, args: argparse.Namespace) -> dict[str, Any]:
    base = f"http://127.0.0.1:{settings.gateway_port}"
    tally = Tally()
    redis = connect(settings.redis)
    consoles: list[Console] = []
    pairs: list[tuple[Citizen, Console]] = []
    try:
        started = time.perf_counter()
        agents = Agents(redis)
        for n in range(1, args.agents + 1):
            username = f"bench-agent-{n}"
            await agents.create(username, f"Bench Agent {n}", PASSWORD, ("fi", "sv", "en"))
            consoles.append(Console(base, username, tally))
        await asyncio.gather(*(console.connect() for console in consoles))
        print(f"{args.agents} agents signed in, consoles ready ({time.perf_counter() - started:.1f} s)", flush=True)
        started = time.perf_counter()
        pairs = [(Citizen(tally), consoles[i % len(consoles)]) for i in range(args.conversations)]
        await to_agents(base, pairs)
        print(f"{args.conversations} conversations with agents ({time.perf_counter() - started:.1f} s)", flush=True)
        total = args.conversations * args.messages * 2
        print(f"relaying {total} messages, think {args.think} s ...", flush=True)
        started = time.perf_counter()
        await asyncio.gather(
            *(
                conversation(citizen, console, tally, number, args.messages, args.think)
                for number, (citizen, console) in enumerate(pairs, 1)
            )
        )
        elapsed = time.perf_counter() - started
        await asyncio.sleep(DUPLICATE_GRACE)
    finally:
        await asyncio.gather(*(citizen.close() for citizen, _ in pairs), return_exceptions=True)
        await asyncio.gather(*(console.close() for console in consoles), return_exceptions=True)
        await redis.aclose()
    return {
        "seconds": round(elapsed, 1),
        "messages_per_second": round(len(tally.flights) / elapsed, 1),
        **{direction: tally.summary(direction) for direction in DIRECTIONS},
        "misrouted": tally.misrouted,
        "stray": tally.stray,
        "errors": tally.errors,
    }


def report(result: dict[str, Any]) -> None:
    for direction in DIRECTIONS:
        s = result[direction]
        figures = "  ".join(f"{key[:-3]} {s[key]} ms" for key in ("p50_ms", "p95_ms", "p99_ms", "max_ms"))
        print(
            f"{direction:17} {s['messages']} messages  {figures}  "
            f"lost {s['lost']} (late {s['late']})  duplicates {s['duplicates']}",
            flush=True,
        )
    print(
        f"{sum(result[d]['messages'] for d in DIRECTIONS)} messages in {result['seconds']} s "
        f"({result['messages_per_second']}/s); misrouted {result['misrouted']}  stray {result['stray']}  "
        f"errors {result['errors']}",
        flush=True,
    )


def main(argv: list[str] | None = None) -> int:
    assert __doc__ is not None
    parser = argparse.ArgumentParser(prog="python -m bench.relay", description=__doc__.splitlines()[0])
    parser.add_argument("--conversations", type=int, default=20, help="conversations with agents at once")
    parser.add_argument("--messages", type=int, default=15, help="messages per direction per conversation")
    parser.add_argument("--agents", type=int, default=4, help="agents; conversations are spread over them")
    parser.add_argument("--think", type=float, default=0.5, help="mean seconds between a conversation's messages")
    args = parser.parse_args(argv)
    if min(args.conversations, args.messages, args.agents) < 1 or args.think < 0:
        parser.error("--conversations, --messages and --agents must be at least 1, --think at least 0")
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    with tempfile.TemporaryDirectory() as tmp:
        handoff_file = write_handoff_variant(Path(tmp) / "handoff.yml")
        settings = bench_settings(Path(tmp) / "data")
        extra_env = {"CITYBOT_HANDOFF_FILE": str(handoff_file), "CITYBOT_MAX_MESSAGES_PER_MINUTE": "10000"}
        exit_on_sigterm()
        started = time.perf_counter()
        try:
            with Stack(settings, extra_env=extra_env):
                ready = time.perf_counter() - started
                print(f"stack ready in {ready:.1f} s", flush=True)
                result = asyncio.run(run(settings, args))
        except KeyboardInterrupt:
            print("interrupted; the stack is stopped", flush=True)
            return 130
    report(result)
    summary = {
        "conversations": args.conversations,
        "messages_per_direction": args.messages,
        "agents": args.agents,
        "think_seconds": args.think,
        "ready_seconds": round(ready, 1),
        **result,
    }
    print(json.dumps(summary))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
