"""Requests into the engine's applications: geometries parsed where the member that is wrong
can be named, the CRS's axis order honoured when the client names a CRS."""

from __future__ import annotations

from typing import Any

from shapely.geometry.base import BaseGeometry

from api.errors import Problem
from api.schemas import CheckRequest
from gis.errors import CRSError, GeometryError, SimtaruError
from gis.parse import parse_geometry, resolve_crs
from permits.application import Application, Building


def geometry(value: Any, member: str) -> BaseGeometry:
    """A GeoJSON geometry member, or a 422 problem pointing at it."""
    try:
        return parse_geometry(value, fmt="geojson")
    except GeometryError as exc:
        raise as_problem(exc, member) from None


def as_problem(exc: SimtaruError, member: str) -> Problem:
    """A domain error about one member of the body, with its JSON Pointer."""
    detail = str(exc) if str(exc).startswith(member) else f"{member}: {exc}"
    return Problem(
        exc.code,
        exc.title,
        detail,
        errors=[{"pointer": "#/" + member.replace(".", "/"), "detail": detail}],
    )


def engine_problem(exc: GeometryError) -> Problem:
    """A geometry the engine refused, pointed at the member its message names."""
    text = str(exc)
    member = next(
        (m for m in ("building.footprint", "frontage", "point") if text.startswith(m)), "parcel"
    )
    return as_problem(exc, member)


def crs_of(name: str, member: str = "crs") -> str:
    """The CRS name after checking pyproj knows it (422 pointing at ``crs`` if not)."""
    try:
        resolve_crs(name)
    except CRSError as exc:
        raise as_problem(exc, member) from None
    return name


def application(body: CheckRequest) -> Application:
    """The engine's application for a check request. A CRS the client names explicitly is read
    in its authority's axis order (EPSG:4326: latitude first), as OGC APIs do; without one the
    coordinates are GeoJSON's lon, lat."""
    building = body.building
    return Application(
        parcel=geometry(body.parcel, "parcel"),
        activity=body.activity,
        building=Building(
            footprint_m2=building.footprint_m2,
            footprint=(
                geometry(building.footprint, "building.footprint")
                if building.footprint is not None
                else None
            ),
            floor_area_m2=building.floor_area_m2,
            height_m=building.height_m,
            floors=building.floors,
            green_area_m2=building.green_area_m2,
            basement_m2=building.basement_m2,
            ground_elevation_m=building.ground_elevation_m,
        ),
        crs=crs_of(body.crs),
        road_class=body.road_class,
        frontage=geometry(body.frontage, "frontage") if body.frontage is not None else None,
        applied_on=body.applied_on,
        application_id=body.application_id,
        authority_order="crs" in body.model_fields_set,
    )
