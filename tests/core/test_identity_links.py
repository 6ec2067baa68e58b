"""Links between conversations and citizens on a real Redis: a sign-in's link ends with its token."""

from __future__ import annotations

import time

from bot.privacy.sessions import WebSessions
from bot.store import keys
from tests.core.conftest import Core
from tests.core.test_offers import CITIZEN, school_offer


async def test_a_link_made_by_a_sign_in_ends_when_its_token_expires(core: Core) -> None:
    links = core.services.links
    await core.services.consents.set(CITIZEN, "proactive_offers", True, "backoffice")
    await links.link("webchat:expired", CITIZEN, "webchat token", expires_at=time.time() - 1)
    await links.link("webchat:valid", CITIZEN, "webchat token", expires_at=time.time() + 600)
    await core.services.conversations.touch("webchat:expired", "webchat", "fi")
    assert await links.citizen_of("webchat:expired") is None
    assert await links.conversations_of(CITIZEN) == ["webchat:valid"]
    stored, _ = await core.services.offers.create(school_offer())
    assert stored.status == "delivered"
    assert core.delivered.to("webchat:expired") == [] and len(core.delivered.to("webchat:valid")) == 1
    # Export and erasure still find the conversation whose sign-in ended.
    assert await links.known_conversations(CITIZEN) == ["webchat:expired", "webchat:valid"]
    await core.services.rights.erase(CITIZEN, "test-office")
    assert await core.redis.exists(keys.conversation("webchat:expired"), keys.transcript("webchat:valid")) == 0


async def test_sessions_resume_only_with_their_secret_and_their_citizen(core: Core) -> None:
    sessions: WebSessions = core.services.web_sessions
    session = await sessions.start()
    assert session.secret and len(session.session_id) >= 32
    assert await sessions.resume(session.session_id, session.secret)
    assert not await sessions.resume(session.session_id, "x" * 43)
    assert not await sessions.resume(session.session_id, None)
    assert not await sessions.resume("a" * 32, session.secret)
    stored = await core.redis.hgetall(keys.web_session(session.session_id))
    assert session.secret not in str(stored)  # only its hash is kept
    await sessions.sign_in(session.session_id, "citizen-1")
    assert not await sessions.resume(session.session_id, session.secret)  # the sign-in is needed now
    assert not await sessions.resume(session.session_id, session.secret, "citizen-2")
    assert await sessions.resume(session.session_id, session.secret, "citizen-1")
    await core.services.rights.forget_conversation(f"webchat:{session.session_id}")
    assert not await sessions.resume(session.session_id, session.secret, "citizen-1")
