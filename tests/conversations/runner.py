"""Runs the conversation scenarios of ``tests/conversations/<lang>/*.yml`` against a running stack.

A ``World`` is the city around the stack: two in-process gateways (web chat, console, back-office
API) on the stack's Redis and Rasa, one whose customer service is open around the clock and one
whose customer service is closed, and the back office's API token. ``run_scenario`` plays one
scenario in a fresh web chat session (socket.io, with acknowledgements so that a turn's replies
are known to be complete) and checks every expectation of every turn; ``summarise`` turns the
results into per-language turn accuracy and the safety figures. The format is in README.md.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import itertools
import os
import re
import tempfile
import time
from collections import defaultdict
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import aiohttp
import yaml
from aiohttp import web

from bot.cli.supervisor import free_port
from bot.core.paths import DOMAIN_FILE, knowledge_dir
from bot.core.settings import Settings
from bot.gateway.app import create_app
from bot.handoff.agents import Agents
from bot.handoff.cases import Handoff
from bot.knowledge.files import WordsLoader, load_faq
from bot.knowledge.handoff_config import HANDOFF_FILE_ENV, load_handoff_config, write_handoff_variant
from bot.knowledge.labels import intent_to_label, load_labels
from bot.privacy.identity import development_token
from bot.store import keys
from bot.store.redis import connect
from channels.backoffice import setup_backoffice
from channels.console import setup_console
from channels.webchat import setup_webchat
from tests.clients import Citizen, Console

HERE = Path(__file__).parent
# The clock of the test service: Sunday 20 December 2026, 12:00 in Helsinki (tests/conftest.py).
FIXED_NOW = "2026-12-20T12:00:00+02:00"
LANGUAGES = ("fi", "sv", "en")
AGENT_PASSWORD = "scenario agent password, not secret"
_ids = itertools.count(1)

ACTIONS = ("say", "press", "offer_arrives", "agent")
EXPECTATIONS = (
    "topic",
    "safety",
    "understood",
    "language",
    "reply",
    "offers",
    "change_request",
    "agent_sees",
    "citizen_sees",
    "bot_silent",
    "repeats_112",
)
OFFER_DETAILS = {
    "school_placement": {
        "child_name": "Elsa",
        "school_name": "Lauttasaaren ala-asteen koulu",
        "school_address": "Myllykalliontie 3",
        "start_date": "2027-08-05",
    },
    "daycare_placement": {
        "child_name": "Onni",
        "daycare_name": "Päiväkoti Pikkuli",
        "daycare_address": "Vattuniemenkatu 10",
        "start_date": "2027-01-11",
    },
    "screening_invitation": {
        "screening_name": "kohdunkaulan syövän seulonta",
        "place": "Kallion terveysasema",
        "appointment_time": "2027-02-03T14:30:00+02:00",
    },
}


class ScenarioError(Exception):
    """A scenario file breaks the format (README.md)."""


# -- scenarios -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Scenario:
    """One conversation: its setup and its turns, as written."""

    id: str
    language: str
    description: str
    setup: dict[str, Any]
    turns: list[dict[str, Any]]
    path: Path


def load_scenarios(root: Path = HERE) -> list[Scenario]:
    """Every scenario under ``root/<lang>/``, checked against the format; ids are unique."""
    labels = set(load_labels())
    kinds = set(REPLY_KINDS)
    found: list[Scenario] = []
    for language in LANGUAGES:
        for path in sorted((root / language).glob("*.yml")):
            data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
            for raw in data.get("scenarios") or []:
                scenario = Scenario(
                    id=str(raw["id"]),
                    language=language,
                    description=str(raw.get("description", "")),
                    setup=dict(raw.get("setup") or {}),
                    turns=list(raw["turns"]),
                    path=path,
                )
                _check(scenario, labels, kinds)
                found.append(scenario)
    ids = [s.id for s in found]
    duplicates = {i for i in ids if ids.count(i) > 1}
    if duplicates:
        raise ScenarioError(f"duplicate scenario ids: {sorted(duplicates)}")
    return found


def _check(scenario: Scenario, labels: set[str], kinds: set[str]) -> None:
    where = f"{scenario.path.name}:{scenario.id}"
    unknown = set(scenario.setup) - {"signed_in", "offers", "agent", "queue", "page_language"}
    if unknown:
        raise ScenarioError(f"{where}: unknown setup keys {sorted(unknown)}")
    for offer in scenario.setup.get("offers") or []:
        if offer not in OFFER_DETAILS:
            raise ScenarioError(f"{where}: unknown offer kind {offer!r}")
    for index, turn in enumerate(scenario.turns, 1):
        actions = [a for a in ACTIONS if a in turn]
        if len(actions) != 1:
            raise ScenarioError(f"{where} turn {index}: needs exactly one of {ACTIONS}, has {actions}")
        expect = turn.get("expect") or {}
        if not expect:
            raise ScenarioError(f"{where} turn {index}: expects nothing")
        extra = set(expect) - set(EXPECTATIONS)
        if extra:
            raise ScenarioError(f"{where} turn {index}: unknown expectations {sorted(extra)}")
        if "topic" in expect and expect["topic"] not in labels:
            raise ScenarioError(f"{where} turn {index}: unknown topic {expect['topic']!r}")
        if "reply" in expect and expect["reply"] not in kinds:
            raise ScenarioError(f"{where} turn {index}: unknown reply kind {expect['reply']!r}")
        if expect.get("safety") not in (None, "emergency", "crisis", "none"):
            raise ScenarioError(f"{where} turn {index}: safety must be emergency, crisis or none")


# -- recognising replies -------------------------------------------------------------------------

# reply kind -> where its texts are: (file, dotted path with * for any key); every language's text.
REPLY_KINDS: dict[str, list[tuple[str, str]]] = {
    "greeting": [("domain", "utter_greet")],
    "goodbye": [("domain", "utter_goodbye")],
    "thanks": [("domain", "utter_thank")],
    "help": [("domain", "utter_help")],
    "i_am_a_bot": [("domain", "utter_bot_challenge")],
    "out_of_scope": [("domain", "utter_out_of_scope")],
    "language_changed": [("domain", "utter_language_changed")],
    "not_understood": [("domain", "utter_default"), ("handoff", "texts.lead_not_understood")],
    "clarify": [("domain", "utter_clarify")],
    "service_answer": [("faq", "*.answer"), ("faq", "*.entries.*.answer"), ("waste", "answer")],
    "opening_hours": [("domain", "utter_hours_*")],
    "handoff_waiting": [("handoff", "texts.queued"), ("handoff", "texts.still_queued")],
    "handoff_unavailable": [
        ("handoff", "texts.closed"),
        ("handoff", "texts.closed_no_opening"),
        ("handoff", "texts.nobody_online"),
    ],
    "message_saved": [("handoff", "texts.message_saved")],
    "agent_joined": [("handoff", "texts.agent_joined")],
    "handoff_ended": [("handoff", "texts.ended")],
    "handoff_cancelled": [("handoff", "texts.cancelled")],
    "rating_question": [("handoff", "texts.rating_question")],
    "offer_accepted": [("offers", "kinds.*.accepted")],
    "offer_declined": [("offers", "kinds.*.declined")],
    "change_question": [("offers", "kinds.*.change_question")],
    "change_recorded": [("offers", "kinds.*.change_recorded")],
    "offer_why": [("offers", "kinds.*.why")],
    "which_offer": [("offers", "common.which_offer")],
    "no_open_offer": [("offers", "common.no_open_offer")],
    "my_data_overview": [("mydata", "texts.my_data"), ("mydata", "texts.anonymous_my_data")],
    "delete_question": [("mydata", "texts.delete_question"), ("mydata", "texts.anonymous_delete")],
    "deleted": [("mydata", "texts.deleted"), ("mydata", "texts.deleted_anonymous")],
    "delete_cancelled": [("mydata", "texts.delete_cancelled")],
    "opted_out": [
        ("mydata", "texts.opted_out"),
        ("mydata", "texts.already_out"),
        ("mydata", "texts.anonymous_opt_out"),
    ],
    "opted_in": [("mydata", "texts.opted_in"), ("mydata", "texts.already_in"), ("mydata", "texts.anonymous_opt_in")],
    "emergency": [("safety", "texts.emergency")],
    "crisis": [("safety", "texts.crisis")],
}


def _texts_at(data: Any, path: list[str]) -> Iterable[str]:
    if not path:
        if isinstance(data, str):
            yield data
        elif isinstance(data, dict):  # {fi, sv, en}
            for value in data.values():
                yield from _texts_at(value, [])
        elif isinstance(data, list):  # domain responses: [{condition, text}]
            for item in data:
                if isinstance(item, dict) and isinstance(item.get("text"), str):
                    yield item["text"]
        return
    head, rest = path[0], path[1:]
    if not isinstance(data, dict):
        return
    for key, value in data.items():
        if head == key or (head.endswith("*") and str(key).startswith(head[:-1])):
            yield from _texts_at(value, rest)


def _pattern(template: str) -> re.Pattern[str]:
    """A reply starts with the template; its ``{placeholders}`` match any text."""
    parts = re.split(r"\{[a-z_]+\}", template.strip())
    return re.compile("^" + "(.+?)".join(re.escape(p) for p in parts), re.DOTALL)


class ReplyKinds:
    """Names the kinds of a reply by the texts it was made from."""

    def __init__(self) -> None:
        sources = {
            "domain": yaml.safe_load(DOMAIN_FILE.read_text(encoding="utf-8"))["responses"],
            **{
                name: yaml.load((knowledge_dir() / f"{name}.yml").read_text(encoding="utf-8"), Loader=WordsLoader)
                for name in ("handoff", "offers", "mydata", "safety")
            },
            "faq": {  # a topic's overview and each entry's answer
                topic: {"answer": faq.answer, "entries": {e.id: {"answer": e.answer} for e in faq.entries}}
                for topic, faq in load_faq().items()
            },
            "waste": yaml.load((knowledge_dir() / "waste_items.yml").read_text(encoding="utf-8"), Loader=WordsLoader),
        }
        self.patterns: dict[str, list[re.Pattern[str]]] = {}
        for kind, places in REPLY_KINDS.items():
            templates = [t for source, path in places for t in _texts_at(sources[source], path.split("."))]
            if not templates:
                raise ScenarioError(f"no texts found for reply kind {kind!r}")
            self.patterns[kind] = [_pattern(t) for t in templates]

    def of(self, text: str) -> set[str]:
        """Every kind whose text this reply starts with."""
        text = text.strip()
        return {kind for kind, patterns in self.patterns.items() if any(p.match(text) for p in patterns)}


# -- the city around the stack -------------------------------------------------------------------


def _handoff_file(open_: bool) -> Path:
    """knowledge/handoff.yml with every queue open around the clock, or every queue closed."""
    return write_handoff_variant(Path(tempfile.mkdtemp(prefix="citybot-scenarios-")) / "handoff.yml", open_=open_)


@dataclass
class World:
    """Gateways for open and closed customer service, and the back office's side of the city."""

    settings: Settings
    api_token: str
    gateways: dict[str, str]  # "open" / "closed" -> base URL
    kinds: ReplyKinds = field(default_factory=ReplyKinds)
    http: aiohttp.ClientSession | None = None

    async def call(self, method: str, path: str, body: Any = None) -> tuple[int, Any]:
        assert self.http is not None
        headers = {"Authorization": f"Bearer {self.api_token}"}
        async with self.http.request(method, f"{self.gateways['open']}{path}", json=body, headers=headers) as response:
            return response.status, await response.json()

    def identity_token(self, citizen: str) -> str:
        return development_token(self.settings.identity_keys_file, citizen, self.settings.identity_audience, 60)

    async def send_offer(self, citizen: str, kind: str) -> str:
        body = {
            "offer_id": f"scenario-offer-{next(_ids)}-{time.time_ns()}",
            "citizen_id": citizen,
            "kind": kind,
            "details": OFFER_DETAILS[kind],
            "respond_by": (datetime.now(timezone.utc) + timedelta(days=14)).isoformat(),
            "on_silence": "none",
        }
        status, created = await self.call("POST", "/api/v1/offers", body)
        if status != 201:
            raise AssertionError(f"the back office could not send a {kind} offer: {status} {created}")
        return str(created["offer_id"])

    async def offer(self, offer_id: str) -> dict[str, Any]:
        status, offer = await self.call("GET", f"/api/v1/offers/{offer_id}")
        assert status == 200, offer
        return dict(offer)


@contextlib.asynccontextmanager
async def open_world(settings: Settings, api_token: str, callback_port: int | None = None) -> AsyncIterator[World]:
    """Start the two gateways on ``settings``' Redis and Rasa; stop them afterwards.

    With ``callback_port``, a back office that accepts every callback listens there (the offers'
    status callbacks are not what the scenarios check; this keeps them from being retried).
    """
    runners: list[web.AppRunner] = []
    if callback_port is not None:
        receiver = web.Application()
        receiver.router.add_post("/callbacks", lambda _: _accepted())
        runner = web.AppRunner(receiver)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", callback_port).start()
        runners.append(runner)
    gateways: dict[str, str] = {}
    settings = dataclasses.replace(settings, agent_grace_seconds=1, max_messages_per_minute=10_000)
    for name, open_ in (("open", True), ("closed", False)):
        previous = os.environ.get(HANDOFF_FILE_ENV)
        os.environ[HANDOFF_FILE_ENV] = str(_handoff_file(open_))
        try:
            runner = web.AppRunner(create_app(settings, [setup_webchat, setup_console, setup_backoffice]))
            await runner.setup()  # the services (and the handoff configuration) are built here
        finally:
            if previous is None:
                os.environ.pop(HANDOFF_FILE_ENV, None)
            else:
                os.environ[HANDOFF_FILE_ENV] = previous
        port = free_port()
        await web.TCPSite(runner, "127.0.0.1", port).start()
        runners.append(runner)
        gateways[name] = f"http://127.0.0.1:{port}"
    async with aiohttp.ClientSession() as http:
        try:
            yield World(settings, api_token, gateways, http=http)
        finally:
            for runner in runners:
                await runner.cleanup()


async def _accepted() -> web.Response:
    return web.Response(status=204)


# -- playing a scenario --------------------------------------------------------------------------


@dataclass
class TurnResult:
    """One turn: what was done, what came back, and which expectations failed."""

    scenario: str
    language: str
    index: int
    action: str
    expect: dict[str, Any]
    replies: list[dict[str, Any]] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    alarm: str | None = None  # "emergency" / "crisis" when the answer was the safety answer
    topic_answer: bool = False  # the bot answered a service topic

    @property
    def passed(self) -> bool:
        return not self.failures


@dataclass
class ScenarioResult:
    scenario: Scenario
    turns: list[TurnResult]
    error: str | None = None  # the scenario could not be played to its end

    @property
    def passed(self) -> bool:
        return self.error is None and all(t.passed for t in self.turns)

    def report(self) -> str:
        lines = [f"{self.scenario.id} ({self.scenario.path.name}): {self.scenario.description}"]
        for turn in self.turns:
            mark = "ok  " if turn.passed else "FAIL"
            lines.append(f"  {mark} {turn.index}. {turn.action}")
            for failure in turn.failures:
                lines.append(f"         - {failure}")
            if not turn.passed:
                for reply in turn.replies:
                    lines.append(f"         > {reply.get('text', '')[:160]!r}")
        if self.error:
            lines.append(f"  ERROR {self.error}")
        return "\n".join(lines)


class _Play:
    """The state of one scenario being played."""

    def __init__(self, world: World, scenario: Scenario) -> None:
        self.world = world
        self.scenario = scenario
        self.language = scenario.setup.get("page_language", scenario.language)
        self.base = world.gateways["closed" if scenario.setup.get("queue") == "closed" else "open"]
        self.citizen = Citizen()
        self.console: Console | None = None
        self.agent: str | None = None
        self.session_id = ""
        self.citizen_id: str | None = None
        self.offers: dict[str, str] = {}  # kind -> offer id
        self.offer_buttons: dict[str, list[dict[str, Any]]] = {}  # kind -> its message's quick replies
        self.history: list[dict[str, Any]] = []  # every reply the citizen got, in order
        self.redis = connect(world.settings.redis)

    @property
    def conversation(self) -> str:
        return f"webchat:{self.session_id}"

    async def start(self) -> None:
        agents = Agents(self.redis)
        await Handoff(self.redis, load_handoff_config(), agents).reset()
        await agents.reset_presence()
        if self.scenario.setup.get("agent") == "online":
            self.agent = f"scenario-agent-{next(_ids)}-{os.getpid()}"
            await agents.create(self.agent, "Aino Agent", AGENT_PASSWORD, (self.scenario.language,))
            self.console = Console(self.base)
            if await self.console.sign_in(self.agent, AGENT_PASSWORD) != 200:
                raise AssertionError("the scenario's agent could not sign in")
            await self.console.connect()
        request: dict[str, Any] = {"session_id": None, "protocol": "citybot", "language": self.language}
        signed_in = bool(self.scenario.setup.get("signed_in") or self.scenario.setup.get("offers"))
        if signed_in:
            self.citizen_id = f"scenario-citizen-{next(_ids)}-{time.time_ns()}"
            request["identity_token"] = self.world.identity_token(self.citizen_id)
        await self.citizen.client.connect(self.base, transports=["websocket"], socketio_path="socket.io")
        await self.citizen.client.emit("session_request", request)
        name, confirmed = await self.citizen.next()
        assert name == "session_confirm", (name, confirmed)
        self.session_id = str(confirmed["session_id"])
        if signed_in:
            await self._collect(until=lambda got: bool(got))  # "this chat is linked to your account"
            status, _ = await self.world.call(
                "PUT", f"/api/v1/citizens/{self.citizen_id}/consent/proactive_offers", {"granted": True}
            )
            assert status == 200
        for kind in self.scenario.setup.get("offers") or []:
            await self._offer_arrives(kind)

    async def close(self) -> None:
        if self.citizen.client.connected:
            await self.citizen.client.disconnect()
        if self.console is not None:
            await self.console.close()
        await self.redis.aclose()

    async def _collect(
        self, until: Any = None, first_timeout: float = 15.0, quiet: float = 0.4
    ) -> list[dict[str, Any]]:
        """Replies that arrive now: until ``until(replies)`` holds, then for ``quiet`` more seconds."""
        got: list[dict[str, Any]] = []
        deadline = time.monotonic() + first_timeout
        while True:
            done = until(got) if until else bool(got)
            timeout = quiet if done else max(0.01, deadline - time.monotonic())
            try:
                name, data = await self.citizen.next(timeout)
            except asyncio.TimeoutError:
                break
            if name == "bot_uttered":
                got.append(data)
        self.history.extend(got)
        return got

    async def _drain(self) -> list[dict[str, Any]]:
        got = []
        while not self.citizen.events.empty():
            name, data = self.citizen.events.get_nowait()
            if name == "bot_uttered":
                got.append(data)
        self.history.extend(got)
        return got

    async def _offer_arrives(self, kind: str) -> list[dict[str, Any]]:
        assert self.citizen_id, "offers need a signed-in citizen"
        offer_id = await self.world.send_offer(self.citizen_id, kind)
        self.offers[kind] = offer_id
        replies = await self._collect(
            until=lambda got: any(offer_id in q["payload"] for r in got for q in r.get("quick_replies", [])),
            quiet=0.1,
        )
        for reply in replies:
            if any(offer_id in q["payload"] for q in reply.get("quick_replies", [])):
                self.offer_buttons[kind] = reply["quick_replies"]
        if kind not in self.offer_buttons:
            raise AssertionError(f"the {kind} offer never reached the chat")
        return replies

    async def _say(self, text: str, **custom: Any) -> list[dict[str, Any]]:
        data = {
            "message": text,
            "session_id": self.session_id,
            "customData": {"language": self.language, **custom},
        }
        ack = await self.citizen.client.call("user_uttered", data, timeout=60)
        replies = await self._drain()
        if not isinstance(ack, dict) or not ack.get("ok"):
            raise AssertionError(f"the message was refused: {ack}")
        return replies

    def _button(self, turn: dict[str, Any]) -> str:
        """The payload of the button the turn presses."""
        which = {True: "yes", False: "no"}.get(turn["press"], str(turn["press"]))  # YAML's bare yes/no
        if which in ("accept", "change", "person", "why"):
            kind = turn.get("offer") or (next(iter(self.offers)) if len(self.offers) == 1 else None)
            if kind not in self.offer_buttons:
                raise ScenarioError(f"press {which}: no offer {kind!r} was shown")
            wanted = {"accept": "/offer:accept:", "change": "/offer:change:", "why": "/offer:why:"}
            for button in self.offer_buttons[str(kind)]:
                payload = str(button["payload"])
                if which == "person" and payload.startswith("/request_human"):
                    return payload
                if which != "person" and payload.startswith(wanted[which]):
                    return payload
            raise AssertionError(f"the {kind} offer has no {which} button")
        for reply in reversed(self.history):
            for button in reply.get("quick_replies", []):
                payload = str(button["payload"])
                picked = self.offers.get(str(turn.get("offer")))
                if which == "pick" and picked is not None and picked in payload:
                    return payload
                if which == "yes" and re.search(r"_yes(:|$)|^/affirm", payload):
                    return payload
                if which == "no" and re.search(r"_no(:|$)|^/deny", payload):
                    return payload
                if which == "cancel" and payload == "/handoff_cancel":
                    return payload
        raise AssertionError(f"no {which} button was shown")

    async def play(self, index: int, turn: dict[str, Any]) -> TurnResult:
        expect = dict(turn.get("expect") or {})
        action = next(a for a in ACTIONS if a in turn)
        label = f"{action}: {turn[action]}" + (f" ({turn['offer']})" if "offer" in turn else "")
        result = TurnResult(self.scenario.id, self.scenario.language, index, label, expect)
        before = await self._transcript_length()
        console_seen: list[dict[str, Any]] = []
        if action == "say":
            result.replies = await self._say(str(turn["say"]))
            if self.console is not None and "agent_sees" in expect:
                console_seen = await self._agent_entries()
        elif action == "press":
            result.replies = await self._say(self._button(turn))
        elif action == "offer_arrives":
            result.replies = await self._offer_arrives(str(turn["offer_arrives"]))
        else:
            result.replies = await self._agent(str(turn["agent"]))
        await self._check(result, before, console_seen)
        return result

    async def _agent(self, command: str) -> list[dict[str, Any]]:
        if self.console is None:
            raise ScenarioError("agent turns need setup.agent: online")
        console = self.console
        if command == "join":
            await console.waiting_for(self.conversation)
            await console.send(type="claim", conversation=self.conversation)
            await console.expect("claimed", lambda m: m["conversation"] == self.conversation)
            return await self._collect()
        if command == "end":
            await console.send(type="end", conversation=self.conversation)
            return await self._collect(until=lambda got: len(got) >= 2)
        if command.startswith("say "):
            text = command[4:].strip().strip('"')
            await console.send(type="send", conversation=self.conversation, text=text)
            return await self._collect(until=lambda got: any(r.get("sender") == "agent" for r in got))
        raise ScenarioError(f"unknown agent action {command!r}")

    async def _agent_entries(self) -> list[dict[str, Any]]:
        assert self.console is not None
        try:
            entry = await self.console.entry(self.conversation, "citizen", timeout=5)
        except asyncio.TimeoutError:
            return []
        return [entry]

    async def _transcript_length(self) -> int:
        return int(await self.redis.xlen(keys.transcript(self.conversation))) if self.session_id else 0

    async def _citizen_entry(self, before: int) -> dict[str, str] | None:
        entries = await self.redis.xrange(keys.transcript(self.conversation))
        for _, data in entries[before:]:
            if data.get("from") == "citizen":
                return dict(data)
        return None

    async def _check(self, result: TurnResult, before: int, console_seen: list[dict[str, Any]]) -> None:
        expect, replies, fail = result.expect, result.replies, result.failures.append
        kinds = [self.world.kinds.of(str(r.get("text", ""))) for r in replies]
        every = set().union(*kinds) if kinds else set()
        entry = await self._citizen_entry(before)
        if replies and kinds[0] & {"emergency", "crisis"}:
            result.alarm = "emergency" if "emergency" in kinds[0] else "crisis"
        intent = (entry or {}).get("intent")
        result.topic_answer = "service_answer" in every or "opening_hours" in every
        if "topic" in expect:
            got = intent_to_label(intent) if intent else None
            if got != expect["topic"]:
                fail(f"topic: expected {expect['topic']}, the bot took it for {got}")
        if "safety" in expect:
            wanted = expect["safety"]
            first = str(replies[0].get("text", "")) if replies else ""
            leads_112 = "112" in re.split(r"(?<=[.!?])\s", first, maxsplit=1)[0]
            if wanted == "none" and result.alarm:
                fail(f"safety: a false alarm ({result.alarm} answer)")
            elif wanted == "emergency" and not (result.alarm == "emergency" and leads_112):
                fail(f"safety: expected the emergency answer (112 first), got {result.alarm or 'no alarm'}")
            elif wanted == "crisis" and not (result.alarm and leads_112):
                fail(f"safety: expected the crisis answer (112 and crisis lines), got {result.alarm or 'no alarm'}")
        if expect.get("repeats_112"):
            first = str(replies[0].get("text", "")) if replies else ""
            if "112" not in re.split(r"(?<=[.!?])\s", first, maxsplit=1)[0] or result.alarm:
                fail("repeats_112: the reply does not start by repeating 112 (or is a new alarm)")
        if expect.get("understood") is False:
            if "not_understood" not in every or result.topic_answer:
                fail(f"understood: expected 'not understood', got {sorted(every) or 'no known reply'}")
        elif expect.get("understood") is True and "not_understood" in every:
            fail("understood: the bot said it did not understand")
        if "language" in expect:
            langs = {r.get("lang") for r in replies if r.get("sender") != "agent"}
            if langs != {expect["language"]}:
                fail(f"language: expected {expect['language']}, replies were in {sorted(map(str, langs))}")
        if "reply" in expect and expect["reply"] not in every:
            fail(f"reply: expected {expect['reply']}, got {sorted(every) or 'no known reply'}")
        for kind, status in (expect.get("offers") or {}).items():
            if kind not in self.offers:
                fail(f"offers: no {kind} offer was sent")
                continue
            got = (await self.world.offer(self.offers[kind]))["status"]
            if got != status:
                fail(f"offers: expected {kind} {status}, it is {got}")
        if "change_request" in expect:
            requests = [(await self.world.offer(i)).get("change_request") for i in self.offers.values()]
            if expect["change_request"] not in requests:
                fail(f"change_request: expected {expect['change_request']!r}, recorded {requests}")
        if "agent_sees" in expect:
            seen = [e for e in console_seen if e.get("text") == result.action.split(": ", 1)[1]]
            if not seen:
                fail("agent_sees: the agent's console did not show the message")
            elif expect["agent_sees"] == "emergency" and not seen[0].get("safety"):
                fail("agent_sees: the console did not mark the message as an emergency")
        if expect.get("citizen_sees") == "agent" and not any(r.get("sender") == "agent" for r in replies):
            fail("citizen_sees: the agent's message did not reach the citizen")
        if expect.get("bot_silent") and any(r.get("sender") != "agent" for r in replies):
            fail(f"bot_silent: the bot answered {[r.get('text', '')[:60] for r in replies]}")


async def run_scenario(world: World, scenario: Scenario) -> ScenarioResult:
    """Play ``scenario`` in a fresh web chat session; every turn is played and checked."""
    play = _Play(world, scenario)
    results: list[TurnResult] = []
    try:
        await play.start()
        for index, turn in enumerate(scenario.turns, 1):
            results.append(await play.play(index, turn))
    except (AssertionError, ScenarioError, asyncio.TimeoutError) as error:
        return ScenarioResult(scenario, results, error=f"{type(error).__name__}: {error}")
    finally:
        await play.close()
    return ScenarioResult(scenario, results)


# -- figures -------------------------------------------------------------------------------------


def summarise(results: list[ScenarioResult]) -> dict[str, dict[str, Any]]:
    """Per language: scenarios and turns right, and the safety figures over the turns.

    Safety: ``emergency_recall`` is the share of turns expecting the emergency answer that got an
    answer leading with 112 (the emergency or the crisis answer);
    ``crisis_recall`` of turns expecting a crisis answer that got an answer leading with 112;
    ``false_alarms`` the share of the citizen's other messages (not expecting an alarm) that got
    one; ``nonsense_not_answered`` the share of turns expecting "not understood" that got no
    topic answer.
    """
    tally: dict[str, dict[str, list[int]]] = defaultdict(lambda: defaultdict(lambda: [0, 0]))
    for result in results:
        lang = result.scenario.language
        tally[lang]["scenarios"][0] += result.passed
        tally[lang]["scenarios"][1] += 1
        for turn in result.turns:
            tally[lang]["turns"][0] += turn.passed
            tally[lang]["turns"][1] += 1
            wanted = turn.expect.get("safety")
            if wanted == "emergency":  # either answer leads with 112 (the measure)
                tally[lang]["emergency_recall"][0] += turn.alarm is not None
                tally[lang]["emergency_recall"][1] += 1
            elif wanted == "crisis":
                tally[lang]["crisis_recall"][0] += turn.alarm is not None
                tally[lang]["crisis_recall"][1] += 1
            elif turn.action.startswith("say:"):
                tally[lang]["false_alarms"][0] += turn.alarm is not None
                tally[lang]["false_alarms"][1] += 1
            if turn.expect.get("understood") is False:
                tally[lang]["nonsense_not_answered"][0] += not turn.topic_answer and turn.alarm is None
                tally[lang]["nonsense_not_answered"][1] += 1
    return {
        lang: {name: {"share": round(ok / n, 3) if n else None, "of": n} for name, (ok, n) in figures.items()}
        for lang, figures in sorted(tally.items())
    }
