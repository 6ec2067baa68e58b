"""Issue 14 against the running stack: what a citizen writes is masked before it is stored, and
the logs name routes, not citizens.

Before: transcripts and Rasa's trackers held every identity code, phone, email and IBAN a citizen
wrote; the gateway's access log had the citizen id ``131052-308T`` in 13 URLs.
"""

from __future__ import annotations

import urllib.error
import urllib.request

import pytest
import redis

from bot.cli.supervisor import Stack
from tests.clients import Citizen, logs, redis_text

pytestmark = pytest.mark.integration

RAW = {
    "identity_code": "131052-308T",
    "new_sign": "010594Y9032",
    "2000s": "020504B904H",
    "phone": "040 765 4321",
    "email": "maija.meikalainen@example.fi",
    "iban": "FI21 1234 5600 0007 85",
}


async def test_what_a_citizen_writes_is_stored_and_logged_masked(stack: Stack) -> None:
    url = f"http://127.0.0.1:{stack.settings.gateway_port}"
    citizen = Citizen()
    try:
        sid = await citizen.start(url)
        for text in (
            f"henkilötunnukseni on {RAW['identity_code']}, lapsen {RAW['2000s']} ja äidin {RAW['new_sign']}",
            f"soita {RAW['phone']} tai kirjoita {RAW['email']}",
            f"maksoin tililtä {RAW['iban']}, miten päivähoitomaksu palautetaan?",
        ):
            await citizen.say(text, sid, language="fi")
            await citizen.replies(1, timeout=30)
    finally:
        await citizen.client.disconnect()
    stored, logged = redis_text(stack), logs(stack)
    # The values are kept only in the conversation's vault, for an agent's reveal, for 7 days.
    client = redis.Redis.from_url(stack.settings.redis.url, decode_responses=True)
    try:
        assert 6 * 86400 < client.ttl(f"citybot:vault:webchat:{sid}") <= 7 * 86400
        assert RAW["phone"] in str(client.hgetall(f"citybot:vault:webchat:{sid}"))
    finally:
        client.close()
    assert "[henkilötunnus]" in stored and "[puhelinnumero]" in stored  # the masked forms are there
    for kind, value in RAW.items():
        assert value not in stored, f"{kind} raw in Redis"
        assert value not in logged, f"{kind} raw in a log"


def test_the_gateways_access_log_has_route_templates(stack: Stack) -> None:
    base = f"http://127.0.0.1:{stack.settings.gateway_port}"
    for method, path in (
        ("DELETE", f"/api/v1/citizens/{RAW['identity_code']}"),
        ("GET", f"/api/v1/citizens/{RAW['identity_code']}/export"),
        ("GET", f"/api/v1/citizens/{RAW['identity_code']}"),  # no such method: 405
        ("GET", f"/no/such/page/{RAW['new_sign']}"),
        ("GET", f"/webchat/?citizen={RAW['2000s']}"),
    ):
        try:
            urllib.request.urlopen(urllib.request.Request(base + path, method=method), timeout=10).close()
        except urllib.error.HTTPError as error:
            assert error.code in (401, 403, 404, 405)
    [gateway] = [m for m in stack.processes if m.name == "gateway"]
    log = gateway.log_path.read_text(encoding="utf-8")
    assert "DELETE /api/v1/citizens/{citizen_id} 401" in log
    assert "GET /api/v1/citizens/{citizen_id}/export 401" in log
    assert "GET (no route) 404" in log and "GET (no route) 405" in log
    for value in (RAW["identity_code"], RAW["new_sign"], RAW["2000s"]):
        assert value not in log
