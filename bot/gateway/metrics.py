"""``GET /metrics``: the service's counters (bot/core/metrics.py) in Prometheus' text format,
with the handoff queues read from Redis at each scrape, so that every replica reports the same
queues, and the supervisor's restarts (``python -m bot run`` records them in Redis; under
Kubernetes the kubelet counts them). Keep it off the public ingress (docs/operations.md)."""

from __future__ import annotations

from aiohttp import web

from bot.core.metrics import QUEUE_LENGTH, QUEUE_OLDEST, RESTARTS
from bot.core.prometheus import exposition
from bot.gateway.typedefs import HANDOFF, REDIS
from bot.store.restarts import restart_counts


async def metrics(request: web.Request) -> web.Response:
    """The counters, and the handoff queues as they are now."""
    for queue, (count, longest) in (await request.app[HANDOFF].queue_state()).items():
        QUEUE_LENGTH.labels(queue).set(count)
        QUEUE_OLDEST.labels(queue).set(longest)
    for process, count in (await restart_counts(request.app[REDIS])).items():
        RESTARTS.labels(process).set(count)
    body, content_type = exposition()
    return web.Response(body=body, headers={"Content-Type": content_type})
