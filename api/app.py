"""The HTTP service: ``create_app(settings)`` builds it; nothing is read or opened at import.

The lifespan opens the store, builds and warms the engine of every plan version in force, loads
the API keys, and then looks at the store every ``refresh_seconds`` so that a version activated
anywhere (another worker, another replica, the command line) is swapped in here too.

    uvicorn --factory api.app:app_from_env     # what ``simtaru serve`` runs, with workers
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from importlib.metadata import version as package_version
from typing import Any

from fastapi import FastAPI
from fastapi.concurrency import run_in_threadpool
from fastapi.middleware.cors import CORSMiddleware
from starlette.datastructures import Headers
from starlette.types import Scope

from api import errors
from api.auth import document_security, may
from api.keys import Permission
from api.middleware import BodyLimit, Metrics
from api.responses import OrjsonResponse
from api.routes import (
    activities,
    checks,
    decisions,
    documents,
    health,
    here,
    ogc,
    parcels,
    plans,
    problems,
    tiles,
    web,
)
from api.services import Services
from api.settings import Settings

log = logging.getLogger("simtaru.api")

#: Every route of the service, by resource.
ROUTERS = tuple(
    m.router
    for m in (
        checks,
        decisions,
        documents,
        here,
        plans,
        activities,
        parcels,
        ogc,
        tiles,
        health,
        web,
    )
)

DESCRIPTION = """
Simtaru checks permit applications against the city's spatial plan (RDTR) in force and explains
its decision rule by rule; it serves the plan's versions and layers to planners, QGIS and maps.

**Keys.** Send an API key in `X-API-Key` (or as a bearer token). The permit system's key checks
and records; a planner's reads and checks; an admin's also manages plans.

**Errors** are RFC 9457 `application/problem+json`; validation errors point at the member.

**Coordinates** are GeoJSON's lon, lat (`OGC:CRS84`) unless the request names a CRS; a named
`EPSG:4326` is read latitude first, as its authority orders it.
"""


def create_app(settings: Settings | None = None) -> FastAPI:
    """The service for ``settings`` (read from the environment when not given)."""
    settings = settings or Settings.from_env()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[dict[str, Any]]:
        services = await run_in_threadpool(Services.open, settings)
        app.state.services = services
        # The engines are built and stay for the worker's life: the collector need not walk
        # their objects again on every full collection.
        gc.freeze()
        refresher = asyncio.create_task(_refresh_forever(services, settings.api.refresh_seconds))
        try:
            yield {}
        finally:
            refresher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await refresher
            services.close()

    app = FastAPI(
        title="Simtaru",
        summary="Spatial-plan checks for permits (Sistem Informasi Tata Ruang)",
        description=DESCRIPTION,
        version=package_version("simtaru"),
        openapi_url="/v1/openapi.json",
        docs_url="/v1/docs",
        redoc_url=None,
        default_response_class=OrjsonResponse,
        responses=problems(400, 422),  # any route: a malformed request, or an invalid one
        lifespan=lifespan,
    )
    errors.install(app)
    for router in ROUTERS:
        app.include_router(router)
    generate = app.openapi
    routes = [route for router in ROUTERS for route in router.routes]
    app.openapi = lambda: document_security(  # type: ignore[method-assign]
        generate(), routes, open_reads=settings.api.open_reads
    )
    app.add_middleware(BodyLimit, limit_for=_limits(settings))
    if settings.api.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.api.cors_origins,
            allow_methods=["GET", "POST", "OPTIONS"],
            allow_headers=[
                "Authorization",
                "X-API-Key",
                "Content-Type",
                "Idempotency-Key",
                "If-None-Match",
            ],
            expose_headers=["ETag", "Location", "Retry-After", "Idempotent-Replayed"],
        )
    app.add_middleware(Metrics)
    return app


def app_from_env() -> FastAPI:
    """The factory uvicorn calls in each worker process."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    return create_app(Settings.from_env())


def _limits(settings: Settings) -> Any:
    """The body limit of a request: plan uploads may be large, but only for a key that may
    manage plans; anyone else's upload is cut at the JSON limit before more is read."""
    body, upload = settings.limits.max_body_bytes, settings.limits.max_upload_bytes

    def limit_for(scope: Scope) -> int:
        path: str = scope.get("path", "")
        if (
            scope.get("method") == "POST"
            and path.startswith("/v1/plans/")
            and path.endswith("/versions")
            and may(
                scope["app"].state.services,
                Headers(scope=scope),
                Permission.MANAGE_PLANS,
            )
        ):
            return upload
        return body

    return limit_for


async def _refresh_forever(services: Services, every_s: float) -> None:
    """Look for activated versions and changed keys until the worker stops."""
    while True:
        await asyncio.sleep(every_s)
        await run_in_threadpool(services.refresh)
