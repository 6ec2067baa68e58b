"""The action server: rasa-sdk's, with ``GET /metrics`` and each action counted and timed.

``python -m actions --port 5055`` takes rasa-sdk's own options (``--actions`` defaults to this
package). Labels are action names and outcomes only, never a sender id or a slot's value.
"""

from __future__ import annotations

import logging
import os
import time
from functools import partial
from typing import Any

from prometheus_client import Counter, Histogram
from rasa_sdk import utils
from rasa_sdk.constants import APPLICATION_ROOT_LOGGER_NAME
from rasa_sdk.endpoint import DEFAULT_KEEP_ALIVE_TIMEOUT, create_app_for_serve, create_argument_parser
from rasa_sdk.executor import ActionExecutor
from rasa_sdk.interfaces import ActionExecutionRejection
from sanic import Sanic, response
from sanic.request import Request
from sanic.response import HTTPResponse
from sanic.worker.loader import AppLoader

from bot.core.prometheus import exposition

logger = logging.getLogger(__name__)

RUNS = Counter("citybot_actions_runs", "Actions run, by outcome (ok, rejected, error)", ["action", "outcome"])
RUN_SECONDS = Histogram(
    "citybot_actions_run_seconds",
    "Time an action took",
    ["action"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0),
)


class MeasuredExecutor(ActionExecutor):
    """rasa-sdk's executor, counting and timing each action it runs."""

    async def run(self, action_call: dict[str, Any], *args: Any, **kwargs: Any) -> Any:
        action = action_call.get("next_action")
        label = action if isinstance(action, str) and action in self.actions else "unknown"
        started, outcome = time.perf_counter(), "error"
        try:
            result = await super().run(action_call, *args, **kwargs)
            outcome = "ok"
            return result
        except ActionExecutionRejection:
            outcome = "rejected"
            raise
        finally:
            RUNS.labels(label, outcome).inc()
            RUN_SECONDS.labels(label).observe(time.perf_counter() - started)


async def metrics(_: Request) -> HTTPResponse:
    """The action server's counters in Prometheus' text format."""
    body, content_type = exposition()
    return response.raw(body, content_type=content_type)


def create_app(executor: ActionExecutor, endpoints: str, cors: Any) -> Sanic:
    """rasa-sdk's app with ``/metrics``; module-level so that Sanic's workers can rebuild it."""
    app = create_app_for_serve(
        executor, cors_origins=cors, endpoints=endpoints, keep_alive_timeout=DEFAULT_KEEP_ALIVE_TIMEOUT
    )
    app.add_route(metrics, "/metrics", methods=["GET"])
    return app


def main(argv: list[str] | None = None) -> None:
    """Parse rasa-sdk's options and serve the actions (``SANIC_WORKERS`` workers)."""
    args = create_argument_parser().parse_args(argv)
    utils.configure_colored_logging(args.loglevel)
    utils.configure_file_logging(
        logging.getLogger(APPLICATION_ROOT_LOGGER_NAME), args.log_file, args.loglevel, args.logging_config_file
    )
    utils.update_sanic_log_level()
    executor = MeasuredExecutor()
    executor.register_package(args.actions_module or args.actions or "actions")
    loader = AppLoader(factory=partial(create_app, executor, args.endpoints, args.cors))
    app = loader.load()
    host = os.environ.get("SANIC_HOST", "0.0.0.0")
    logger.info("action server on %s:%s", host, args.port)
    app.prepare(host=host, port=args.port, workers=utils.number_of_sanic_workers())
    Sanic.serve(primary=app, app_loader=loader)
