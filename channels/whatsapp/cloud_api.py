"""A small client of the WhatsApp Business Cloud API (Graph API), on the gateway's aiohttp.

Why our own and not ``pywa``: pywa (and the other maintained clients) build on httpx with a
Flask or FastAPI webhook server of their own; the gateway is one aiohttp application whose
session, shutdown and tests we already own, and the channel needs only three calls (send a
message, mark one read, check the number). Each is a JSON POST or GET, so the client is this
module: errors become ``CloudApiError`` with Meta's code, rate limits and Meta's passing
failures are retried with backoff, and the base URL is injected so tests talk to a fake server
on loopback.
"""

from __future__ import annotations

import asyncio
import logging
import random
from dataclasses import dataclass
from typing import Any

import aiohttp

from bot.core.errors import CodedError

logger = logging.getLogger(__name__)
GRAPH_URL = "https://graph.facebook.com"
API_VERSION = "v21.0"
# Meta's codes that mean "not now": throughput (130429 per number, 131056 per recipient, 80007
# per account, 4 per app), and its own passing failures (1, 2, 131000, 131016).
RETRYABLE_CODES = frozenset({1, 2, 4, 80007, 130429, 131000, 131016, 131056})
RATE_LIMIT_CODES = frozenset({4, 80007, 130429, 131056})
OUTSIDE_WINDOW = 131047  # more than 24 hours since the citizen's last message: templates only
# Seconds between attempts (with jitter) while the webhook request waits; then the message is
# kept and sent again by a scheduled job (channels.whatsapp.channel), so Meta gets its 200 soon.
RETRY_DELAYS = (0.5, 1.0, 2.0)
REQUEST_SECONDS = 15.0


class CloudApiError(CodedError):
    """The Cloud API refused a call (``meta_code``: Meta's error code) or could not be reached."""

    def __init__(self, meta_code: int | None, message: str, http_status: int | None = None) -> None:
        super().__init__(str(meta_code) if meta_code is not None else "unreachable", message)
        self.meta_code = meta_code
        self.http_status = http_status

    @property
    def retryable(self) -> bool:
        """Worth trying again later: a rate limit, Meta's passing failure, or no connection."""
        if self.meta_code is None:
            return True
        return self.meta_code in RETRYABLE_CODES or (self.http_status or 0) >= 500


@dataclass(frozen=True)
class CloudApiConfig:
    """Where the API is and who we are there."""

    phone_number_id: str
    access_token: str
    base_url: str = GRAPH_URL
    version: str = API_VERSION


class CloudApi:
    """The calls the channel makes; ``session`` is the gateway's (closed by its owner)."""

    def __init__(
        self, session: aiohttp.ClientSession, config: CloudApiConfig, delays: tuple[float, ...] = RETRY_DELAYS
    ) -> None:
        self._session = session
        self._config = config
        self._delays = delays

    @property
    def _base(self) -> str:
        return f"{self._config.base_url.rstrip('/')}/{self._config.version}/{self._config.phone_number_id}"

    async def _call(self, method: str, url: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
        headers = {"Authorization": f"Bearer {self._config.access_token}"}
        try:
            async with self._session.request(
                method, url, json=body, headers=headers, timeout=aiohttp.ClientTimeout(total=REQUEST_SECONDS)
            ) as response:
                try:
                    data = await response.json(content_type=None)
                except ValueError:
                    data = None
                if response.status == 200 and isinstance(data, dict):
                    return data
                error = data.get("error") if isinstance(data, dict) else None
                if isinstance(error, dict):
                    code = error.get("code")
                    raise CloudApiError(
                        int(code) if isinstance(code, int) else None,
                        str(error.get("message") or "error")[:200],
                        response.status,
                    )
                raise CloudApiError(None, f"HTTP {response.status} without an error body", response.status)
        except (aiohttp.ClientError, asyncio.TimeoutError) as error:
            raise CloudApiError(None, f"the Cloud API could not be reached ({error.__class__.__name__})") from None

    async def _with_retries(self, method: str, url: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
        """The call, tried again after a rate limit or a passing failure (never dropped: the
        last retryable error is raised for the caller to keep the message and try later)."""
        for attempt, delay in enumerate((*self._delays, None)):
            try:
                return await self._call(method, url, body)
            except CloudApiError as error:
                if not error.retryable or delay is None:
                    raise
                logger.info("Cloud API %s (attempt %d); retrying in %.1f s", error.code, attempt + 1, delay)
                await asyncio.sleep(delay * random.uniform(0.8, 1.2))
        raise AssertionError("unreachable")  # pragma: no cover - the loop returns or raises

    async def send(self, message: dict[str, Any]) -> str:
        """Send one message (``to``, ``type`` and its object); returns its id (``wamid``)."""
        body = {"messaging_product": "whatsapp", "recipient_type": "individual", **message}
        data = await self._with_retries("POST", f"{self._base}/messages", body)
        messages = data.get("messages")
        if not isinstance(messages, list) or not messages or not isinstance(messages[0].get("id"), str):
            raise CloudApiError(None, "the Cloud API answered without a message id")
        return str(messages[0]["id"])

    async def mark_read(self, message_id: str, typing: bool = False) -> None:
        """Mark the citizen's message read (blue ticks), and show "typing…" with ``typing``."""
        body: dict[str, Any] = {"messaging_product": "whatsapp", "status": "read", "message_id": message_id}
        if typing:
            body["typing_indicator"] = {"type": "text"}
        await self._call("POST", f"{self._base}/messages", body)

    async def check(self) -> str:
        """The business number's display number: proves the access token and number id work."""
        data = await self._call("GET", f"{self._base}?fields=display_phone_number")
        return str(data.get("display_phone_number", ""))
