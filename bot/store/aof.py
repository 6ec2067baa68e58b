"""Rewriting Redis's append-only file, so that erased and expired data leaves no copy behind.

Redis appends every write to its append-only file (AOF). A deleted or expired key's value stays
in the file, as an old ``SET``/``XADD``, until Redis rewrites the file from what it holds now.
Redis rewrites when the file has doubled (its default ``auto-aof-rewrite-percentage``), which may
be weeks. So the gateway asks for a rewrite (``BGREWRITEAOF``, in the background) after each
erasure, and once a day for what expired (``rewrite_daily``, one gateway per day across
replicas): an erased value is gone from the file within minutes, an expired one within a day
(docs/privacy.md). A managed Redis that refuses the command does its own rewrites: logged once.
"""

from __future__ import annotations

import logging

from redis.asyncio import Redis
from redis.exceptions import RedisError, ResponseError

from bot.store import keys

logger = logging.getLogger(__name__)
DAY = 24 * 3600


async def rewrite_append_only_file(redis: Redis) -> bool:
    """Ask Redis to rewrite its append-only file now (or right after one in progress); False when
    Redis refuses (no AOF, or a managed Redis without the command)."""
    try:
        await redis.bgrewriteaof()
    except ResponseError as error:
        if "already in progress" in str(error) or "scheduled" in str(error):
            return True
        logger.warning("Redis refused to rewrite its append-only file: %s", error)
        return False
    except RedisError as error:
        logger.warning("could not ask Redis to rewrite its append-only file: %s", error.__class__.__name__)
        return False
    return True


async def rewrite_daily(redis: Redis) -> bool:
    """Rewrite once a day, by whichever gateway asks first; True when this call asked."""
    if not await redis.set(keys.AOF_REWRITTEN, "1", nx=True, ex=DAY):
        return False
    return await rewrite_append_only_file(redis)


async def rewrite_in_progress(redis: Redis) -> bool:
    """Whether a rewrite is running or scheduled (for tests and operators)."""
    info = await redis.info("persistence")
    return bool(info.get("aof_rewrite_in_progress") or info.get("aof_rewrite_scheduled"))


__all__ = ["rewrite_append_only_file", "rewrite_daily", "rewrite_in_progress"]
