"""Stopping in bounded time: one step of a shutdown never blocks the rest."""

from __future__ import annotations

import asyncio
import logging
from typing import Any, Awaitable

import aiohttp
from redis.exceptions import RedisError

logger = logging.getLogger(__name__)


async def shut(closing: Awaitable[Any], what: str, seconds: float = 5.0) -> None:
    """Await one step of shutting down, at most ``seconds``: a stuck client never blocks a stop."""
    try:
        await asyncio.wait_for(closing, seconds)
    except asyncio.CancelledError:
        pass
    except asyncio.TimeoutError:
        logger.warning("shutting down: %s did not close in %.0f s", what, seconds)
    except (RedisError, OSError, aiohttp.ClientError) as error:
        logger.info("shutting down: %s: %s", what, error.__class__.__name__)
