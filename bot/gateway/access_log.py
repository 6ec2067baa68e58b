"""The gateway's access log: route templates, never the ids in a path or a query string.

aiohttp's default line has the request line: ``GET /api/v1/citizens/131052-308T`` put a citizen's
identity code in the log 13 times in one test (issue 14). This logger writes the method, the
route's template (``/api/v1/citizens/{citizen_id}``), the status, the time and the size; a path
no route matched is written as ``(no route)``. Client addresses are not logged either.
"""

from __future__ import annotations

from aiohttp import web
from aiohttp.abc import AbstractAccessLogger


def route_template(request: web.BaseRequest) -> str:
    """The template of the route that served ``request``, or ``(no route)``."""
    match_info = getattr(request, "match_info", None)
    resource = match_info.route.resource if match_info is not None else None
    return resource.canonical if resource is not None else "(no route)"


class TemplateAccessLogger(AbstractAccessLogger):
    """One line per request: method, route template, status, milliseconds, bytes."""

    def log(self, request: web.BaseRequest, response: web.StreamResponse, time: float) -> None:
        self.logger.info(
            "%s %s %s %.1f ms %s bytes",
            request.method,
            route_template(request),
            response.status,
            time * 1000,
            response.body_length,
        )


__all__ = ["TemplateAccessLogger", "route_template"]
