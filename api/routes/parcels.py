"""Parcels for the planners' map: a parcel file an applicant brings (GeoJSON, zipped Shapefile,
KML) read into lon/lat GeoJSON, and a region's land parcels found by NIB where
``simtaru parcels-import`` loaded them. Nothing here is stored."""

from __future__ import annotations

import re
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Depends, File, Query
from fastapi import Path as PathParam
from shapely.geometry import mapping
from starlette.responses import Response

from api.auth import ServicesDep, require
from api.errors import Problem
from api.keys import Permission
from api.map_schemas import ParcelFileForm, ParcelFileOut, ParcelsOut, ParcelSummaryOut
from api.plan_schemas import REGION_CODE
from api.routes import problems
from api.uploads import Upload
from gis.crs import LONLAT_EPSG
from layers.errors import NotFoundError
from layers.parcels import ParcelFileError, ParcelLayer, read_parcels

router = APIRouter(prefix="/v1", tags=["parcels"])

Reader = Annotated[Any, Depends(require(Permission.READ))]
RegionCode = Annotated[str, PathParam(pattern=REGION_CODE, description="The region's BPS code")]
#: A NIB as the land office writes it.
_NIB = re.compile(r"[0-9A-Za-z._-]{1,64}")
#: NIBs asked for in one request at most.
MAX_NIBS = 50


@router.post(
    "/parcels/parse",
    summary="Read an uploaded parcel file (GeoJSON, zipped Shapefile, KML) into lon/lat GeoJSON",
    description=(
        "A multipart form with one `file`. A file that holds no parcel is a 422 problem "
        "`invalid-parcel-file` pointing at `#/file`, with a `reason` a page can word in its "
        "own language: `unreadable` (not a file GDAL reads, a zip that is unsafe or holds no "
        "one dataset), `no-crs` (a Shapefile without its .prj), `not-polygon` (points or "
        "lines; `geometry` names the type), `too-many` (more parcels than one answer holds), "
        "`invalid` (anything else the zoning reader refuses: swapped axes, geometry that "
        "cannot be repaired). Nothing is stored."
    ),
    response_model=None,
    responses={200: {"model": ParcelFileOut}, **problems(401, 403, 413, 422)},
)
def parse(form: Annotated[ParcelFileForm, File()], services: ServicesDep, _who: Reader) -> Response:
    with Upload.private() as upload:
        try:
            path = upload.files("file", [form.file])[0]
        except Problem as exc:
            raise _refusal(exc.detail, "unreadable") from None
        try:
            layer = read_parcels(path)
        except ParcelFileError as exc:
            detail = str(exc).replace(f"{upload.folder}/", "")
            raise _refusal(detail, exc.reason, **exc.params) from None
    limit = services.settings.limits.max_page
    if len(layer.frame) > limit:
        raise _refusal(
            f"{layer.source}: holds {len(layer.frame):,} parcels; one upload takes at most "
            f"{limit:,}",
            "too-many",
            count=str(len(layer.frame)),
        )
    return Response(orjson.dumps(_file_answer(layer)), media_type="application/json")


@router.get(
    "/regions/{code}/parcels",
    summary="A region's land parcels: how many are loaded (0: none), their CRS and extent",
    response_model=None,
    responses={200: {"model": ParcelSummaryOut}, **problems(401, 403, 404, 503)},
)
def summary(code: RegionCode, services: ServicesDep, _who: Reader) -> Response:
    services.store.region(code)
    found = services.store.parcel_summary(code)
    body = {
        "region_code": code,
        "count": found.count if found else 0,
        "crs_epsg": found.crs_epsg if found else None,
        "bbox": list(found.bbox) if found and found.bbox else None,
    }
    return Response(orjson.dumps(body), media_type="application/json")


@router.get(
    "/regions/{code}/parcels/items",
    summary="A region's land parcels by NIB, as lon/lat GeoJSON",
    response_model=None,
    responses={200: {"model": ParcelsOut}, **problems(401, 403, 404, 422, 503)},
)
def by_nib(
    code: RegionCode,
    services: ServicesDep,
    _who: Reader,
    nib: Annotated[
        list[str],
        Query(description=f"A parcel's NIB; repeat it for several (at most {MAX_NIBS})"),
    ],
) -> Response:
    wanted = list(dict.fromkeys(n.strip() for n in nib))
    bad = [n for n in wanted if not _NIB.fullmatch(n)]
    if bad or not wanted or len(wanted) > MAX_NIBS:
        why = (
            f"not a NIB (letters, digits, '.', '_' or '-'): {bad[0]!r}"
            if bad
            else f"give 1 to {MAX_NIBS} NIBs"
        )
        raise Problem(
            "validation-failed",
            "Invalid request",
            f"nib: {why}",
            errors=[{"pointer": "query:nib", "detail": why}],
        )
    services.store.region(code)
    try:
        features = services.store.parcels(code, wanted)
    except NotFoundError as exc:
        raise Problem("not-found", "Not found", str(exc)) from None
    missing = sorted(set(wanted) - {f["properties"]["parcel_id"] for f in features})
    if missing:
        detail = f"no parcel of region {code} has the NIB {', '.join(missing)}"
        raise Problem(
            "not-found",
            "Not found",
            detail,
            errors=[{"pointer": "query:nib", "detail": detail}],
            extra={"missing": missing},
        )
    body = {"type": "FeatureCollection", "region_code": code, "features": features}
    return Response(orjson.dumps(body), media_type="application/json")


def _refusal(detail: str, reason: str, **params: str) -> Problem:
    return Problem(
        "invalid-parcel-file",
        "Not a parcel file",
        detail,
        status=422,
        errors=[{"pointer": "#/file", "detail": detail}],
        extra={"reason": reason, **params},
    )


def _file_answer(layer: ParcelLayer) -> dict[str, Any]:
    frame = layer.frame
    areas = frame.geometry.area.tolist()
    lonlat = frame.to_crs(LONLAT_EPSG)
    features = [
        {
            "type": "Feature",
            "id": index,
            "geometry": geometry,
            "properties": {
                "parcel_id": parcel_id,
                "area_m2": area,
                "attrs": orjson.loads(attrs),
            },
        }
        for index, (parcel_id, attrs, area, geometry) in enumerate(
            zip(
                frame["parcel_id"],
                frame["attrs"],
                areas,
                map(mapping, lonlat.geometry),
                strict=True,
            )
        )
    ]
    return {
        "type": "FeatureCollection",
        "source": layer.source,
        "id_column": layer.id_column,
        "crs_epsg": layer.crs_epsg,
        "features": features,
        "notes": [issue.line() for issue in layer.report.issues],
    }
