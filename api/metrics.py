"""Prometheus metrics with low-cardinality labels: route templates, outcomes, never ids.

Under several worker processes (the serve command), ``PROMETHEUS_MULTIPROC_DIR`` is set and each
scrape sums what every worker wrote there (prometheus_client's multiprocess mode).
"""

from __future__ import annotations

import os

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)
from prometheus_client.multiprocess import MultiProcessCollector

REQUESTS = Counter("simtaru_http_requests_total", "HTTP requests", ["method", "route", "status"])
LATENCY = Histogram(
    "simtaru_http_request_seconds",
    "HTTP request duration",
    ["route"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10),
)
DECISIONS = Counter("simtaru_decisions_total", "Decisions made", ["kind", "outcome"])
ENGINES = Gauge(
    "simtaru_engines_in_force",
    "Engines of plan versions in force held by a worker",
    multiprocess_mode="liveall",
)
ENGINE_BUILD = Histogram(
    "simtaru_engine_refresh_seconds",
    "Time to refresh the engines in force (building new ones included)",
    buckets=(0.01, 0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 120),
)


def observe_request(method: str, route: str, status: int, seconds: float) -> None:
    REQUESTS.labels(method, route, str(status)).inc()
    LATENCY.labels(route).observe(seconds)


def exposition() -> tuple[bytes, str]:
    """The metrics page: this process's, or every worker's in multiprocess mode."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        MultiProcessCollector(registry)
        return generate_latest(registry), CONTENT_TYPE_LATEST
    return generate_latest(), CONTENT_TYPE_LATEST
