"""Liveness, readiness and metrics, for the orchestrator and Prometheus (no key needed)."""

from __future__ import annotations

import time

import orjson
from fastapi import APIRouter
from starlette.responses import Response

from api.auth import ServicesDep
from api.errors import Problem
from api.metrics import exposition
from api.routes import problems
from api.schemas import HealthOut

router = APIRouter(tags=["operations"])


@router.get("/health/live", summary="The process answers", response_model=HealthOut)
async def live() -> HealthOut:
    return HealthOut(status="ok")


@router.get(
    "/health/ready",
    summary="Ready to check: engines in force, and whether the store answers",
    response_model=None,
    responses={
        200: {"model": HealthOut, "description": "Ready (``degraded``: store unreachable)"},
        **problems(503),
    },
)
def ready(services: ServicesDep) -> Response:
    current = services.plans.current
    database = services.database_ok()
    health = services.health
    checks = {
        "database": "ok" if database else "unreachable",
        "plans_in_force": len(current.engines),
        "versions_in_force": [e.ref.version_id for e in current.engines],
        "engines_built_for": current.day.isoformat(),
        "last_refresh_s_ago": (
            round(time.time() - health.refreshed_at, 1) if health.refreshed_at else None
        ),
        "last_refresh_error": health.error,
    }
    if not current.engines:
        raise Problem(
            "not-ready",
            "Not ready",
            "no plan version is in force in this worker: there is nothing to check against",
            status=503,
            extra={"status": "unavailable", "checks": checks},
        )
    body = orjson.dumps({"status": "ok" if database else "degraded", "checks": checks})
    return Response(body, media_type="application/json")


@router.get("/metrics", summary="Prometheus metrics", response_class=Response)
def metrics() -> Response:
    body, media_type = exposition()
    return Response(body, media_type=media_type)
