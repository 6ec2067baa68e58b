"""One scrape of a process's Prometheus metrics, whether it runs one worker or several.

Rasa and the action server may run several Sanic worker processes behind one port; a scrape
reaches one of them. With ``PROMETHEUS_MULTIPROC_DIR`` set (the supervisor and the Kubernetes
manifests set it, one folder per process kind, emptied when the process kind starts), every
worker writes its counters there and a scrape of any worker reports the sum of all of them
(prometheus-client's multiprocess mode). Without it, the process's own registry is served.
"""

from __future__ import annotations

import os

from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, generate_latest, multiprocess

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"


def exposition() -> tuple[bytes, str]:
    """The metrics in Prometheus' text format, and their content type."""
    if os.environ.get(MULTIPROC_ENV):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        return generate_latest(registry), CONTENT_TYPE_LATEST
    return generate_latest(REGISTRY), CONTENT_TYPE_LATEST


__all__ = ["MULTIPROC_ENV", "exposition"]
