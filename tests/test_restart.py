"""Restarting a process mid-conversation loses nothing: the state is in Redis.

Runs last among the integration tests (file name order is not relied on: the stack is healthy
again when each test ends).
"""

from __future__ import annotations

import pytest

from bot.cli.supervisor import Stack
from bot.knowledge.files import load_faq
from tests.clients import Citizen

pytestmark = pytest.mark.integration


@pytest.mark.parametrize("process", ["gateway", "rasa", "actions"])
async def test_restart_mid_conversation_loses_nothing(stack: Stack, process: str) -> None:
    url = f"http://127.0.0.1:{stack.settings.gateway_port}"
    before = Citizen()
    session_id = await before.start(url)
    await before.client.emit(
        "user_uttered", {"message": "Var kan jag boka tid till tandläkaren?", "session_id": session_id}
    )
    _, first = await before.next()
    assert first["lang"] == "sv"
    await before.client.emit("user_uttered", {"message": "in English please", "session_id": session_id})
    _, switched = await before.next()
    assert switched["text"] == "OK, let's continue in English."
    await before.client.disconnect()

    stack.restart(process)

    after = Citizen()
    try:
        assert await after.start(url, session_id, secret=before.secret) == session_id
        await after.client.emit(
            "user_uttered", {"message": "hur förnyar jag mina lån på biblioteket", "session_id": session_id}
        )
        _, reply = await after.next(timeout=60)
        # The explicit language choice made before the restart still holds (the conversation's
        # tracker survived in Redis), and the answer came through the (restarted) action server.
        assert reply["lang"] == "en"
        assert reply["text"].startswith(load_faq()["library"].answer["en"])
    finally:
        await after.client.disconnect()
