"""Dry-run checks: one application, or a batch streamed back line by line. Nothing recorded;
answered from the engines in memory, so they keep working while the database is down."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Depends, Query, Request
from fastapi.concurrency import run_in_threadpool
from pydantic import ValidationError
from starlette.responses import Response, StreamingResponse

from api.applications import application, engine_problem
from api.auth import ServicesDep, require
from api.errors import Problem
from api.keys import Permission
from api.metrics import DECISIONS
from api.routes import component_schema, problems
from api.schemas import TEXT, BatchLine, CheckRequest, DecisionOut, json_body
from api.services import Services
from gis.errors import GeometryError, SimtaruError
from layers.errors import StoreError
from permits.application import Application
from permits.batch import BUILDING_COLUMNS
from permits.decision import Decision

router = APIRouter(prefix="/v1", tags=["checks"])
NDJSON = "application/x-ndjson"
#: Applications checked per trip to the thread pool while a batch streams.
CHUNK = 100


def decide(services: Services, app: Application, plan_id: int | None) -> Decision:
    """A dry-run decision. The T3 distance rule reads approved decisions from the log, a query
    of a fraction of a millisecond; while the store is known to be unreachable it is not asked
    (no check waits on a dead database) and the rule is not assessed: its distance stands as a
    condition and the rest of the decision stands."""
    neighbours = services.decisions if services.health.store_reachable else None
    try:
        try:
            return services.plans.check(app, plan_id=plan_id, neighbours=neighbours)
        except StoreError as exc:
            services.health.unreachable(str(exc))
            return services.plans.check(app, plan_id=plan_id, neighbours=None)
    except GeometryError as exc:
        raise engine_problem(exc) from None


@router.post(
    "/checks",
    summary="Check an application (dry run, nothing recorded)",
    response_model=None,
    openapi_extra={"requestBody": json_body(CheckRequest)},
    responses={
        200: {"model": DecisionOut, "description": "The decision"},
        **problems(401, 403, 413, 422, 503),
    },
)
async def check(
    request: Request,
    services: ServicesDep,
    _who: Annotated[Any, Depends(require(Permission.CHECK))],
) -> Response:
    """Checks are CPU-bound and cost less than a trip to the thread pool (whose GIL hand-offs
    with every GEOS call cost more than the check), so one against the engines of today runs
    right here: each worker process has its own engines and core. A past date's plan may have
    to be read from the store first: that check goes to the thread pool. The body is read
    straight into its model (pydantic's JSON mode), the cheapest way on the hot path."""
    body = CheckRequest.model_validate_json(await request.body())
    app = application(body)
    if body.applied_on is None or body.applied_on == services.plans.current.day:
        decision = decide(services, app, body.plan_id)
    else:
        decision = await run_in_threadpool(decide, services, app, body.plan_id)
    DECISIONS.labels("dry-run", decision.outcome.value).inc()
    return Response(decision.to_json_bytes(), media_type="application/json")


@router.post(
    "/checks/batch",
    summary="Check many applications; the decisions stream back as NDJSON",
    response_model=None,
    response_class=StreamingResponse,
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "application/geo+json": {
                    "schema": {
                        "type": "object",
                        "description": "A FeatureCollection: each feature's geometry is a "
                        "parcel, its properties the rest of a check request (activity, "
                        "building or its figures as flat properties, road_class, "
                        "application_id, applied_on).",
                        "required": ["type", "features"],
                        "properties": {
                            "type": {"type": "string", "enum": ["FeatureCollection"]},
                            "features": {
                                "type": "array",
                                "items": {
                                    "description": "A GeoJSON Feature; anything else is "
                                    "answered with a problem line, the batch goes on"
                                },
                            },
                        },
                    }
                },
                NDJSON: {"schema": {"type": "string", "description": "One check request a line"}},
            },
        }
    },
    responses={
        200: {
            "description": "One line a request, in order: its decision or its problem",
            "content": {NDJSON: {"schema": component_schema(BatchLine)}},
        },
        **problems(401, 403, 413, 415, 422),
    },
)
async def batch(
    request: Request,
    services: ServicesDep,
    _who: Annotated[Any, Depends(require(Permission.CHECK))],
    activity: Annotated[
        str | None,
        Query(max_length=200, pattern=TEXT, description="Activity for features without one"),
    ] = None,
    crs: Annotated[
        str | None,
        Query(max_length=200, pattern=TEXT, description="CRS of a FeatureCollection's geometries"),
    ] = None,
) -> StreamingResponse:
    raw = await request.body()
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    items = _items(raw, kind, activity, crs)
    limit = services.settings.limits.max_batch
    if len(items) > limit:
        raise Problem(
            "body-too-large",
            "Batch too large",
            f"{len(items):,} applications; a batch takes at most {limit:,}",
            status=413,
        )

    async def lines() -> AsyncIterator[bytes]:
        for start in range(0, len(items), CHUNK):
            chunk = items[start : start + CHUNK]
            yield await run_in_threadpool(_answer, services, start, chunk)

    return StreamingResponse(lines(), media_type=NDJSON)


def _items(raw: bytes, kind: str, activity: str | None, crs: str | None) -> list[Any]:
    """The batch's requests, as dicts (or the bytes of a line that is not JSON)."""
    if kind == NDJSON or kind == "application/ndjson":
        out: list[Any] = []
        for line in raw.splitlines():
            if line.strip():
                try:
                    out.append(orjson.loads(line))
                except orjson.JSONDecodeError:
                    out.append(line)
        return out
    if kind not in ("application/geo+json", "application/json"):
        raise Problem(
            "unsupported-media-type",
            "Unsupported media type",
            f"send a GeoJSON FeatureCollection (application/geo+json) or NDJSON ({NDJSON}), "
            f"not {kind or 'a body without a Content-Type'}",
            status=415,
        )
    try:
        data = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise Problem("malformed-json", "Malformed JSON", f"the body is not JSON ({exc})") from None
    if not isinstance(data, dict) or data.get("type") != "FeatureCollection":
        raise Problem(
            "validation-failed",
            "Invalid request",
            "a batch in GeoJSON is a FeatureCollection",
            errors=[{"pointer": "#/type", "detail": "must be 'FeatureCollection'"}],
        )
    features = data.get("features")
    if not isinstance(features, list):
        raise Problem(
            "validation-failed",
            "Invalid request",
            "the FeatureCollection has no 'features' array",
            errors=[{"pointer": "#/features", "detail": "must be an array"}],
        )
    return [_from_feature(f, activity, crs) for f in features]


def _from_feature(feature: Any, activity: str | None, crs: str | None) -> Any:
    """A feature as a check request: geometry as the parcel, properties as the rest (building
    figures may be flat properties, as GIS exports have them)."""
    if not isinstance(feature, dict):
        return feature
    props = dict(feature.get("properties") or {})
    building = dict(props.pop("building", None) or {})
    for name in BUILDING_COLUMNS:
        if name in props:
            value = props.pop(name)
            if value is not None:
                building[name] = value
    item = {"parcel": feature.get("geometry"), **props}
    if building:
        item["building"] = building
    if activity is not None:
        item.setdefault("activity", activity)
    if crs is not None:
        item.setdefault("crs", crs)
    return item


def _answer(services: Services, start: int, items: Iterable[Any]) -> bytes:
    out = bytearray()
    for offset, item in enumerate(items):
        out += _line(services, start + offset, item)
        out += b"\n"
    return bytes(out)


def _line(services: Services, index: int, item: Any) -> bytes:
    app_id = item.get("application_id") if isinstance(item, dict) else None
    head = {"index": index, "application_id": app_id if isinstance(app_id, str) else None}
    try:
        if not isinstance(item, dict):
            raise Problem("malformed-json", "Malformed JSON", "this line is not a JSON object")
        body = CheckRequest.model_validate(item)
        decision = decide(services, application(body), body.plan_id)
    except ValidationError as exc:
        return orjson.dumps({**head, "problem": Problem.invalid(exc.errors()).body()})
    except Problem as exc:
        return orjson.dumps({**head, "problem": exc.body()})
    except SimtaruError as exc:
        return orjson.dumps({**head, "problem": Problem.of(exc).body()})
    DECISIONS.labels("batch", decision.outcome.value).inc()
    return orjson.dumps(head)[:-1] + b',"decision":' + decision.to_json_bytes() + b"}"
