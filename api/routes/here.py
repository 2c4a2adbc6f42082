"""What can I build here? The zones, ITBX rows, intensity limits and special provisions in
force at a point or over a parcel, from the same engines the checks use."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

import orjson
import shapely
from fastapi import APIRouter, Depends, Query
from shapely.geometry.base import BaseGeometry
from starlette.responses import Response

from api.applications import as_problem, crs_of, geometry
from api.auth import ServicesDep, require
from api.keys import Permission
from api.routes import problems
from api.schemas import TEXT, HereList, HereRequest
from api.services import Services
from gis.errors import GeometryError
from permits.lookup import what_applies

router = APIRouter(prefix="/v1", tags=["here"])

_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"model": HereList, "description": "Per plan in force there (none: outside them)"},
    **problems(401, 403, 422, 503),
}


@router.get(
    "/here",
    summary="The rules in force at a point (lon, lat)",
    response_model=None,
    responses=_RESPONSES,
)
def here_point(
    services: ServicesDep,
    _who: Annotated[Any, Depends(require(Permission.READ))],
    lon: Annotated[float, Query(ge=-180, le=180, examples=[117.47475])],
    lat: Annotated[float, Query(ge=-90, le=90, examples=[0.13718])],
    activity: Annotated[
        str | None, Query(min_length=1, max_length=200, pattern=TEXT, examples=["47112"])
    ] = None,
    on: Annotated[
        date | None, Query(description="Day whose plan is asked (default: today)")
    ] = None,
    plan_id: Annotated[int | None, Query(ge=1)] = None,
) -> Response:
    return _answer(services, shapely.Point(lon, lat), "OGC:CRS84", False, activity, on, plan_id)


@router.post(
    "/here",
    summary="The rules in force at a point or over a parcel",
    response_model=None,
    responses=_RESPONSES,
)
def here_geometry(
    body: HereRequest,
    services: ServicesDep,
    _who: Annotated[Any, Depends(require(Permission.READ))],
) -> Response:
    place = geometry(body.geometry, "geometry")
    crs = crs_of(body.crs)
    explicit = "crs" in body.model_fields_set
    return _answer(services, place, crs, explicit, body.activity, body.on, body.plan_id)


def _answer(
    services: Services,
    place: BaseGeometry,
    crs: str,
    authority_order: bool,
    activity: str | None,
    on: date | None,
    plan_id: int | None,
) -> Response:
    engines = services.plans.on(on).engines
    if plan_id is not None:
        engines = tuple(e for e in engines if e.ref.plan_id == plan_id)
    try:
        found = [
            what_applies(e, place, crs, activity=activity, authority_order=authority_order)
            for e in engines
        ]
    except GeometryError as exc:
        raise as_problem(exc, "geometry") from None
    places = [f.to_dict() for f in found if f.subzones]
    return Response(orjson.dumps({"places": places}), media_type="application/json")
