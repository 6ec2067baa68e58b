"""Issue 13, item 6: scale-out on one machine. Two gateways, two Rasa processes and two action
servers share one Redis on loopback, behind balancers that stand for Kubernetes Services
(tests/balancer.py: round robin, no stickiness). Citizens chat through the gateways' balancer as
our widget does (websocket transport, their own message ids, unacknowledged messages resent after
a reconnect, each reply shown once) while one process of each kind is killed in turn (`kill -9`):
an action server, a Rasa process, a gateway.

Shown: no message is lost (each is acknowledged: answered, or refused with a clear error the
citizen can act on), none is answered twice (the transcript holds each answered message once,
in order), and every conversation is answered within 10 s of each kill.
"""

from __future__ import annotations

import asyncio
import os
import signal
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import socketio

from bot.cli.supervisor import Stack, free_port
from bot.conversation.transcripts import Transcripts
from bot.core.settings import RedisAddress, Settings
from bot.store.redis import connect
from tests.balancer import Balancer
from tests.conversations.runner import FIXED_NOW

pytestmark = pytest.mark.integration

QUESTIONS = ("milloin Oodi on auki?", "how do I renew my library loans?", "var kan jag boka tid till tandläkaren?")
CITIZENS = 8
AFTER_KILL = 10.0  # every conversation answered within this many seconds of each kill


@dataclass
class Cluster:
    stacks: tuple[Stack, Stack]
    gateways: Balancer
    actions: Balancer
    redis: RedisAddress

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.gateways.port}"

    def kill(self, process: str) -> None:
        """``kill -9`` the first stack's ``process``; it is not restarted: the other carries on."""
        [managed] = [m for m in self.stacks[0].processes if m.name == process]
        os.killpg(managed.process.pid, signal.SIGKILL)
        managed.process.wait()


@pytest.fixture(scope="module")
def cluster(model_path: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    ports = {name: [free_port(), free_port()] for name in ("rasa", "actions", "gateway")}
    redis = RedisAddress("127.0.0.1", free_port(), password="test-redis-password-not-secret", embedded=True)
    shared = tmp_path_factory.mktemp("shared-secrets")
    env = {
        "CITYBOT_FIXED_NOW": FIXED_NOW,
        "CITYBOT_MAX_MESSAGES_PER_MINUTE": "600",  # the citizens here write every 0.3 s
        "CITYBOT_RASA_URLS": ",".join(f"http://127.0.0.1:{port}" for port in ports["rasa"]),
        # What Kubernetes Secrets give every gateway replica: the same keys.
        "CITYBOT_IDENTITY_KEYS": str(shared / "identity.yml"),
        "CITYBOT_BACKOFFICE_FILE": str(shared / "backoffice.yml"),
    }
    with Balancer(ports["actions"]) as actions, Balancer(ports["gateway"]) as gateways:

        def settings(index: int, redis: RedisAddress) -> Settings:
            return Settings(
                data_dir=tmp_path_factory.mktemp(f"replica{index}"),
                redis=redis,
                rasa_port=ports["rasa"][index],
                actions_port=ports["actions"][index],
                rasa_token="test-token-not-secret",
                gateway_port=ports["gateway"][index],
                actions_webhook=f"http://127.0.0.1:{actions.port}/webhook",
            )

        external = RedisAddress(redis.host, redis.port, password=redis.password, embedded=False)
        with (
            Stack(settings(0, redis), model=model_path, extra_env=env) as first,
            Stack(settings(1, external), model=model_path, extra_env=env) as second,
        ):
            yield Cluster((first, second), gateways, actions, redis)


@dataclass
class Message:
    id: str
    text: str
    sent: float
    ack: dict[str, Any] | None = None
    answered: float | None = None


@dataclass
class WidgetCitizen:
    """A citizen in our widget: its own message ids, resends what was not acknowledged after a
    reconnect, shows each reply once (by ``reply_to`` and ``index``)."""

    url: str
    session_id: str | None = None
    secret: str | None = None
    client: socketio.AsyncClient | None = None
    messages: list[Message] = field(default_factory=list)
    shown: dict[tuple[str, int], str] = field(default_factory=dict)
    reconnects: int = 0
    errors: int = 0
    failures: list[str] = field(default_factory=list)  # why a reconnect failed

    async def connect(self) -> None:
        client = socketio.AsyncClient(reconnection=False)
        confirmed: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        client.on("session_confirm", lambda data: confirmed.done() or confirmed.set_result(data))
        client.on("bot_uttered", self._shown)
        await client.connect(self.url, transports=["websocket"], socketio_path="socket.io", wait_timeout=5)
        request = {"session_id": self.session_id, "resume_secret": self.secret, "protocol": "citybot"}
        await client.emit("session_request", request)
        data = await asyncio.wait_for(confirmed, 10)
        # A resumed session is confirmed by its id alone; a new one comes with its resume secret.
        session_id = data if isinstance(data, str) else data["session_id"]
        if self.session_id is not None:
            assert session_id == self.session_id, "the conversation was not resumed on the other gateway"
            self.reconnects += 1
        else:
            self.session_id, self.secret = session_id, data["resume_secret"]
        self.client = client

    async def _shown(self, reply: dict[str, Any]) -> None:
        self.shown.setdefault((reply["reply_to"], reply["index"]), reply["text"])

    async def ask(self, text: str) -> Message:
        """Send ``text`` until it is acknowledged; a refused one is written again (a new message)."""
        while True:
            message = Message(uuid.uuid4().hex, text, time.monotonic())
            self.messages.append(message)
            while message.ack is None:
                if self.client is None or not self.client.connected:
                    try:
                        await self.connect()
                    except Exception as error:  # noqa: BLE001 - the gateway's balancer may point at the dead one
                        self.failures.append(repr(error))
                        await asyncio.sleep(0.2)
                        continue
                acked: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
                body = {"message": text, "session_id": self.session_id, "message_id": message.id}
                try:
                    await self.client.emit("user_uttered", body, callback=acked.set_result)
                    while not acked.done() and self.client.connected:
                        await asyncio.sleep(0.05)
                except socketio.exceptions.SocketIOError:
                    pass
                if acked.done():
                    message.ack = acked.result()
            if message.ack.get("ok"):
                message.answered = time.monotonic()
                return message
            self.errors += 1  # "try again in a moment", the text back in the input: the citizen does
            await asyncio.sleep(0.5)

    async def chat(self, until: asyncio.Event) -> None:
        turn = 0
        while not until.is_set():
            await self.ask(QUESTIONS[turn % len(QUESTIONS)])
            turn += 1
            await asyncio.sleep(0.3)

    async def close(self) -> None:
        if self.client is not None and self.client.connected:
            await self.client.disconnect()


async def test_two_of_each_survive_a_kill_of_each_kind(cluster: Cluster) -> None:
    citizens = [WidgetCitizen(cluster.url) for _ in range(CITIZENS)]
    stop = asyncio.Event()
    chats = [asyncio.create_task(c.chat(stop)) for c in citizens]
    kills: list[tuple[str, float]] = []
    try:
        await asyncio.sleep(4)
        assert all(c.messages and c.messages[0].answered for c in citizens), "not answered before any kill"
        for process in ("actions", "rasa", "gateway"):
            cluster.kill(process)
            kills.append((process, time.monotonic()))
            await asyncio.sleep(AFTER_KILL + 2)
        assert all(not task.done() for task in chats), [task.exception() for task in chats if task.done()]
    finally:
        stop.set()
        done, pending = await asyncio.wait(chats, timeout=45)
        stuck = [
            (c.messages[-1], c.client is not None and c.client.connected, c.reconnects, c.errors, c.failures[-3:])
            for c, task in zip(citizens, chats, strict=True)
            if task in pending
        ]
        for task in pending:
            task.cancel()
        assert not stuck, f"messages never acknowledged: {stuck}"
        for citizen in citizens:
            await citizen.close()

    # Every conversation is answered within 10 s of each kill.
    worst: dict[str, float] = {}
    for process, killed in kills:
        for citizen in citizens:
            first = min((m.answered for m in citizen.messages if m.answered and m.answered > killed), default=None)
            assert first is not None and first - killed <= AFTER_KILL, (process, first and first - killed)
            worst[process] = max(worst.get(process, 0.0), first - killed)
    # Both replicas of each kind took conversations before the kills.
    assert all(cluster.gateways.connections) and all(cluster.actions.connections)
    assert sum(c.reconnects for c in citizens) >= 1  # the gateway's kill dropped sockets, resumed on the other

    # Nothing lost: every message acknowledged (answered, or refused with a clear error), and
    # every answered message's replies shown; nothing twice: the transcript holds each answered
    # message once, in the order the citizen wrote them.
    redis = connect(cluster.redis)
    try:
        transcripts = Transcripts(redis)
        for citizen in citizens:
            assert all(m.ack is not None for m in citizen.messages)
            answered = [m for m in citizen.messages if m.ack and m.ack["ok"]]
            for message in answered:
                shown = [key for key in citizen.shown if key[0] == message.id]
                assert len(shown) == message.ack["replies"] >= 1, message
            entries = await transcripts.read(f"webchat:{citizen.session_id}")
            said = [e["text"] for e in entries if e["from"] == "citizen"]
            assert said == [m.text for m in answered]
    finally:
        await redis.aclose()
    refused = sum(c.errors for c in citizens)
    total = sum(len(c.messages) for c in citizens)
    print(
        f"\n{total} messages, {refused} refused with 'try again', {sum(c.reconnects for c in citizens)} reconnects;"
        " slowest first answer after the kill of " + ", ".join(f"{p}: {s:.1f} s" for p, s in worst.items())
    )
