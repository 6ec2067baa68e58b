"""``GET /metrics``: the service's counters (bot/core/metrics.py) in Prometheus' text format,
with the handoff queues read from Redis at each scrape, so that every replica reports the same
queues. Keep it off the public ingress (docs/operations.md)."""

from __future__ import annotations

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, generate_latest

from bot.core.metrics import QUEUE_LENGTH, QUEUE_OLDEST
from bot.gateway.typedefs import HANDOFF


async def metrics(request: web.Request) -> web.Response:
    """The counters, and the handoff queues as they are now."""
    for queue, (count, longest) in (await request.app[HANDOFF].queue_state()).items():
        QUEUE_LENGTH.labels(queue).set(count)
        QUEUE_OLDEST.labels(queue).set(longest)
    return web.Response(body=generate_latest(REGISTRY), headers={"Content-Type": CONTENT_TYPE_LATEST})
