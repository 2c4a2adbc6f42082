"""A version's activities (the kegiatan of its ITBX matrix), searched by KBLI code or by name,
as a planner types them; and the pieces a parcel is cut into by the version's zones and
overlays, which the map highlights after a check."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Depends, Query, Request
from fastapi import Path as PathParam
from starlette.responses import Response

from api.applications import as_problem, crs_of, geometry
from api.auth import ServicesDep, require
from api.errors import Problem
from api.keys import Permission
from api.map_schemas import ActivityList, PiecesOut, PiecesRequest
from api.places import pieces
from api.responses import cached, etag_of
from api.routes import problems
from api.routes.plans import version_tag
from api.schemas import TEXT
from api.services import Services
from gis.errors import GeometryError
from gis.parse import ParcelLimits, prepare_parcel
from layers.model import Activity, norm

router = APIRouter(prefix="/v1", tags=["plans"])

Reader = Annotated[Any, Depends(require(Permission.READ))]
VersionId = Annotated[int, PathParam(ge=1, le=2**31 - 1, description="A plan version's id")]


@dataclass(frozen=True)
class Entry:
    """An activity with every KBLI code linked to it, and its name as compared."""

    activity: Activity
    kbli: tuple[str, ...]
    key: str


@router.get(
    "/versions/{version_id}/activities",
    summary="A version's activities matching a KBLI code or a name, best first",
    response_model=None,
    responses={200: {"model": ActivityList}, **problems(304, 401, 403, 404, 422, 503)},
)
def activities(
    version_id: VersionId,
    request: Request,
    services: ServicesDep,
    _who: Reader,
    q: Annotated[
        str,
        Query(
            max_length=200,
            pattern=TEXT,
            description="Digits: a KBLI code or its start; else words of the name",
            examples=["4711"],
        ),
    ] = "",
    limit: Annotated[int, Query(ge=1, le=200)] = 20,
) -> Response:
    version = services.store.version(version_id)

    def render() -> dict[str, Any]:
        found = search(catalogue(services, version_id), q)
        return {
            "version_id": version_id,
            "q": q,
            "number_matched": len(found),
            "activities": [
                {
                    "id": e.activity.id,
                    "name": e.activity.name,
                    "group": e.activity.group,
                    "kbli": list(e.kbli),
                }
                for e in found[:limit]
            ],
        }

    return cached(request, etag_of("activities", version_tag(version), q, str(limit)), render)


@router.post(
    "/versions/{version_id}/pieces",
    summary="A parcel cut by the version's zones and overlays (lon/lat GeoJSON, m2)",
    description=(
        "What the map highlights after a check: each piece of the parcel in a zone, with the "
        "zone's codes, its area (m2, in the version's metric CRS) and share; and each piece in "
        "a special-provision overlay. The parcel is read as a check reads it."
    ),
    response_model=None,
    responses={200: {"model": PiecesOut}, **problems(401, 403, 404, 413, 422, 503)},
)
def parcel_pieces(
    version_id: VersionId, body: PiecesRequest, services: ServicesDep, _who: Reader
) -> Response:
    version = services.store.version(version_id)
    limits = services.settings.limits
    try:
        prepared = prepare_parcel(
            geometry(body.parcel, "parcel"),
            crs_of(body.crs),
            version.crs_epsg,
            limits=ParcelLimits(limits.max_vertices, limits.max_parts),
            authority_order="crs" in body.model_fields_set,
        )
    except GeometryError as exc:
        raise as_problem(exc, "parcel") from None
    if prepared.geometry is None:
        detail = f"parcel: {prepared.notes[-1].message}"
        raise Problem(
            "invalid-geometry",
            "Invalid geometry",
            detail,
            errors=[{"pointer": "#/parcel", "detail": detail}],
        )
    found = pieces(services.store, version, prepared.geometry)
    body_out = {**found, "version_id": version_id, "parcel_area_m2": prepared.geometry.area}
    return Response(orjson.dumps(body_out), media_type="application/json")


def catalogue(services: Services, version_id: int) -> list[Entry]:
    """The version's activities, from its engine when it is in force (in memory), else from
    the store."""
    engine = next(
        (e for e in services.plans.current.engines if e.ref.version_id == version_id), None
    )
    if engine is not None:
        plan = engine.plan
        links = [(kbli, a) for kbli, ids in plan.by_kbli.items() for a in ids]
        return entries(plan.activities.values(), links)
    rules = services.store.rules(version_id)
    return entries(rules.activities, [(c.kbli, c.activity_id) for c in rules.crosswalk])


def entries(activities: Iterable[Activity], links: Iterable[tuple[str, str]]) -> list[Entry]:
    """Activities with their KBLI codes: those the matrix row names and the crosswalk's."""
    linked: defaultdict[str, list[str]] = defaultdict(list)
    for kbli, activity_id in links:
        linked[activity_id].append(kbli)
    return [
        Entry(a, tuple(sorted({*a.kbli, *linked[a.id]})), norm(f"{a.name} {a.group or ''}"))
        for a in activities
    ]


def search(found: list[Entry], q: str) -> list[Entry]:
    """Digits match KBLI codes by prefix and ids exactly; words must all be in the name (or
    group). An exact code or name comes first, then names that start with the query."""
    text = norm(q)
    if not text:
        return sorted(found, key=lambda e: norm(e.activity.name))
    if text.isdigit():
        hits = [
            e for e in found if e.activity.id == text or any(k.startswith(text) for k in e.kbli)
        ]
        return sorted(hits, key=lambda e: (text not in e.kbli, e.kbli, norm(e.activity.name)))
    words = text.split()
    hits = [e for e in found if all(w in e.key for w in words)]
    return sorted(
        hits,
        key=lambda e: (
            norm(e.activity.name) != text,
            not norm(e.activity.name).startswith(text),
            norm(e.activity.name),
        ),
    )
