"""Plan management: regions and plans, versions with their quality reports, uploads into a draft,
activation, a version's sub-zones and their rules, and the comparison of two versions.

Reads answer from the store with an ETag: a version never changes once stored except for its
status and validity, so its content hash and those make the tag. Writes need an admin's key. An
upload is saved into a private temporary folder under the base names the client gave (a name
with a path is refused), imported as ``simtaru import`` does, and removed afterwards; input
Simtaru cannot use is a 422 problem pointing at the form field, and nothing is stored.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from functools import partial
from typing import Annotated, Any

import geopandas as gpd
from fastapi import APIRouter, Depends, File, Query, Request
from fastapi import Path as PathParam
from starlette.responses import Response

from api.auth import ServicesDep, require
from api.errors import Problem
from api.keys import Permission
from api.plan_schemas import (
    REGION_CODE,
    ActivateIn,
    ComparisonOut,
    PlanIn,
    PlanList,
    PlanOut,
    RasterList,
    RasterName,
    RegionIn,
    RegionOut,
    ReportOut,
    SubzoneList,
    SubzoneRules,
    UploadForm,
    VersionList,
    VersionOut,
)
from api.responses import cached, etag_of, json_bytes, version_tag
from api.routes import problems
from api.schemas import TEXT
from api.uploads import Upload, pairs
from gis.crs import transformer
from gis.errors import CRSError
from layers.compare import MIN_AREA_M2, compare
from layers.errors import NotFoundError, PlanInputError
from layers.importer import PlanSources, import_plan
from layers.model import (
    ItbxClass,
    Plan,
    PlanKind,
    PlanVersion,
    RasterInfo,
    Region,
    RuleSet,
    plain,
)
from layers.store import PlanStore
from permits.compiled import strictest

router = APIRouter(prefix="/v1", tags=["plans"])

Reader = Annotated[Any, Depends(require(Permission.READ))]
Admin = Annotated[Any, Depends(require(Permission.MANAGE_PLANS))]
PlanId = Annotated[int, PathParam(ge=1, le=2**31 - 1, description="A plan's id")]
VersionId = Annotated[int, PathParam(ge=1, le=2**31 - 1, description="A plan version's id")]

_READ_ERRORS = problems(304, 401, 403, 404, 503)
_WRITE_ERRORS = problems(401, 403, 404, 409, 413, 422, 503)

# -- regions and plans -------------------------------------------------------------------------


@router.post(
    "/regions",
    summary="Add a region (kabupaten/kota) by its BPS code",
    status_code=201,
    response_model=None,
    responses={
        201: {"model": RegionOut, "description": "Added"},
        200: {"model": RegionOut, "description": "The region was there already, the same"},
        **problems(401, 403, 409, 413, 422, 503),
    },
)
def add_region(body: RegionIn, services: ServicesDep, _who: Admin) -> Response:
    bbox = (body.bbox[0], body.bbox[1], body.bbox[2], body.bbox[3]) if body.bbox else None
    wanted = Region(body.code, body.name, bbox)
    try:
        found = services.store.region(body.code)
    except NotFoundError:
        found = None
    if found is not None and found != wanted:
        raise Problem(
            "conflict",
            "Conflict",
            f"region {found.code} is stored as {found.name!r} with extent {found.bbox}; "
            "it is not changed by adding it again",
            status=409,
            errors=[{"pointer": "#/code", "detail": "a region with this code exists"}],
        )
    stored = found or services.store.ensure_region(wanted)
    return Response(
        json_bytes(_region(stored)),
        status_code=200 if found else 201,
        media_type="application/json",
        headers={"Location": f"/v1/regions/{stored.code}"},
    )


@router.get(
    "/regions/{code}",
    summary="A region",
    response_model=None,
    responses={200: {"model": RegionOut}, **_READ_ERRORS},
)
def read_region(
    code: Annotated[str, PathParam(pattern=REGION_CODE)],
    request: Request,
    services: ServicesDep,
    _who: Reader,
) -> Response:
    region = _region(services.store.region(code))
    return cached(request, etag_of("region", json_bytes(region)), lambda: region)


@router.post(
    "/plans",
    summary="Add a plan (RDTR or RTRW) of a stored region",
    status_code=201,
    response_model=None,
    responses={
        201: {"model": PlanOut, "description": "Added"},
        **problems(401, 403, 413, 422, 503),
    },
)
def add_plan(body: PlanIn, services: ServicesDep, _who: Admin) -> Response:
    store = services.store
    try:
        store.region(body.region_code)
    except NotFoundError as exc:
        raise Problem(
            "validation-failed",
            "Invalid request",
            f"{exc}; add it first (POST /v1/regions)",
            errors=[{"pointer": "#/region_code", "detail": str(exc)}],
        ) from None
    plan = store.create_plan(
        body.region_code,
        body.name,
        body.legal_basis,
        kind=PlanKind(body.kind),
        enacted_on=body.enacted_on,
    )
    return Response(
        json_bytes(_plan(store, plan)),
        status_code=201,
        media_type="application/json",
        headers={"Location": f"/v1/plans/{plan.id}"},
    )


@router.get(
    "/plans",
    summary="The plans, each with its versions",
    response_model=None,
    responses={200: {"model": PlanList}, **_READ_ERRORS},
)
def list_plans(
    request: Request,
    services: ServicesDep,
    _who: Reader,
    region: Annotated[
        str | None, Query(pattern=REGION_CODE, description="Only this region's plans")
    ] = None,
) -> Response:
    store = services.store
    plans = [_plan(store, p) for p in store.plans(region)]
    return cached(request, etag_of("plans", json_bytes(plans)), lambda: {"plans": plans})


@router.get(
    "/plans/{plan_id}",
    summary="A plan with its versions",
    response_model=None,
    responses={200: {"model": PlanOut}, **_READ_ERRORS},
)
def read_plan(plan_id: PlanId, request: Request, services: ServicesDep, _who: Reader) -> Response:
    plan = _plan(services.store, services.store.plan(plan_id))
    return cached(request, etag_of("plan", json_bytes(plan)), lambda: plan)


# -- versions ----------------------------------------------------------------------------------


@router.get(
    "/plans/{plan_id}/versions",
    summary="A plan's versions, oldest first",
    response_model=None,
    responses={200: {"model": VersionList}, **_READ_ERRORS},
)
def list_versions(
    plan_id: PlanId, request: Request, services: ServicesDep, _who: Reader
) -> Response:
    store = services.store
    store.plan(plan_id)
    versions = store.versions(plan_id)
    return cached(
        request,
        etag_of("versions", *map(version_tag, versions)),
        lambda: {"versions": [_summary(v) for v in versions]},
    )


@router.get(
    "/versions/{version_id}",
    summary="A plan version with its quality report",
    response_model=None,
    responses={200: {"model": VersionOut}, **_READ_ERRORS},
)
def read_version(
    version_id: VersionId, request: Request, services: ServicesDep, _who: Reader
) -> Response:
    version = services.store.version(version_id)
    return cached(request, etag_of("version", version_tag(version)), lambda: _version(version))


@router.get(
    "/versions/{version_id}/report",
    summary="A version's quality report: JSON, or text for a person (Accept: text/plain)",
    response_model=None,
    responses={
        200: {
            "model": ReportOut,
            "content": {"text/plain": {"schema": {"type": "string"}}},
            "description": "The report; errors block activation, warnings do not",
        },
        **_READ_ERRORS,
    },
)
def read_report(
    version_id: VersionId, request: Request, services: ServicesDep, _who: Reader
) -> Response:
    version = services.store.version(version_id)
    accept = request.headers.get("accept", "")
    if "text/plain" in accept and "application/json" not in accept:
        return cached(
            request,
            etag_of("report.txt", version_tag(version)),
            lambda: version.report.to_text(limit=len(version.report.issues)).encode(),
            media_type="text/plain; charset=utf-8",
            headers={"Vary": "Accept"},
        )
    return cached(
        request,
        etag_of("report", version_tag(version)),
        lambda: version.report.to_dict(),
        headers={"Vary": "Accept"},
    )


@router.post(
    "/plans/{plan_id}/versions",
    summary="Upload a plan's files into a new draft version, with its quality report",
    description=(
        "A multipart form (`UploadForm`): the zoning layer, the rule tables, overlay layers and "
        "rasters with their specs, as `simtaru import` takes them. File names are base names; "
        "a name with a path is refused. Input Simtaru cannot use is a 422 problem naming the "
        "file and the row or feature, pointing at the form field, and nothing is stored."
    ),
    status_code=201,
    response_model=None,
    responses={
        201: {"model": VersionOut, "description": "The draft and its report"},
        **_WRITE_ERRORS,
    },
)
def upload_version(
    plan_id: PlanId,
    form: Annotated[UploadForm, File()],
    services: ServicesDep,
    _who: Admin,
) -> Response:
    store = services.store
    store.plan(plan_id)
    with Upload.private() as upload:
        zoning = upload.zoning(form.zoning)
        sources = PlanSources(
            zoning=zoning,
            layer=form.layer,
            mapping=dict(pairs(form.mapping, "map")),
            crs_epsg=form.crs,
            allow_z=form.allow_z,
            itbx=upload.file("itbx", form.itbx),
            itbx_sheet=form.itbx_sheet,
            legend=upload.file("legend", form.legend),
            intensity=upload.file("intensity", form.intensity),
            crosswalk=upload.file("crosswalk", form.crosswalk),
            provisions=upload.file("provisions", form.provisions),
            overlays=upload.overlays(form.overlay, form.overlay_files),
            rasters=upload.rasters(form.raster, form.raster_files),
            raster_rules=upload.file("raster_rules", form.raster_rules),
        )
        try:
            version = import_plan(store, plan_id, sources, form.label or zoning.stem)
        except CRSError as exc:
            raise upload.refusal(exc, "crs" if form.crs is not None else None) from None
        except PlanInputError as exc:
            raise upload.refusal(exc) from None
    return Response(
        json_bytes(_version(version)),
        status_code=201,
        media_type="application/json",
        headers={"Location": f"/v1/versions/{version.id}"},
    )


@router.post(
    "/versions/{version_id}/activate",
    summary="Put a draft in force (the version in force until then is retired)",
    description=(
        "Refused (409) when the draft's report has errors, when it is not a draft, or when it "
        "would start on or before the day the version in force started. The worker that "
        "answers swaps its engines at once; the others within the refresh interval."
    ),
    response_model=None,
    responses={
        200: {"model": VersionOut, "description": "The version, now active"},
        **_WRITE_ERRORS,
    },
)
def activate(
    version_id: VersionId,
    services: ServicesDep,
    _who: Admin,
    body: ActivateIn | None = None,
) -> Response:
    version = services.store.activate(version_id, body.valid_from if body else None)
    services.refresh()
    return Response(json_bytes(_version(version)), media_type="application/json")


# -- sub-zones and comparison ------------------------------------------------------------------


@router.get(
    "/versions/{version_id}/subzones",
    summary="A version's sub-zones: codes, names, zones and their area, rules",
    response_model=None,
    responses={200: {"model": SubzoneList}, **_READ_ERRORS},
)
def list_subzones(
    version_id: VersionId, request: Request, services: ServicesDep, _who: Reader
) -> Response:
    store = services.store
    version = store.version(version_id)
    return cached(
        request,
        etag_of("subzones", version_tag(version)),
        lambda: {"version_id": version.id, "subzones": _subzones(store, version)},
    )


@router.get(
    "/versions/{version_id}/rasters",
    summary="A version's rasters: what each measures, its grid and source, its rules, its file",
    response_model=None,
    responses={200: {"model": RasterList}, **_READ_ERRORS},
)
def list_rasters(
    version_id: VersionId, request: Request, services: ServicesDep, _who: Reader
) -> Response:
    store = services.store
    version = store.version(version_id)

    def render() -> dict[str, Any]:
        rules = Counter(rule.raster for rule in store.rules(version_id).raster_rules)
        return {
            "version_id": version.id,
            "rasters": [
                _raster(version, info, rules[info.kind.value])
                for info in store.raster_list(version_id)
            ],
        }

    return cached(request, etag_of("rasters", version_tag(version)), render)


@router.get(
    "/versions/{version_id}/rasters/{kind}.tif",
    summary="One of a version's rasters as stored: the GeoTIFF its decisions measured",
    response_model=None,
    responses={
        200: {"content": {"image/tiff": {}}, "description": "float32, NaN for nodata"},
        **_READ_ERRORS,
    },
)
def raster_file(
    version_id: VersionId,
    kind: Annotated[RasterName, PathParam(description="What the raster measures")],
    request: Request,
    services: ServicesDep,
    _who: Reader,
) -> Response:
    store = services.store
    info = next((r for r in store.raster_list(version_id) if r.kind.value == kind), None)
    if info is None:
        raise NotFoundError(f"version {version_id} has no {kind} raster")
    name = f"simtaru_v{version_id}_{kind}.tif"
    return cached(
        request,
        f'"{info.sha256[:32]}"',
        lambda: store.raster(version_id, info.kind).data,
        media_type="image/tiff",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


@router.get(
    "/versions/{version_id}/subzones/{code}",
    summary="A sub-zone's rules: ITBX with activities, KBLI and legend, intensity, provisions",
    response_model=None,
    responses={200: {"model": SubzoneRules}, **_READ_ERRORS},
)
def read_subzone(
    version_id: VersionId,
    code: Annotated[str, PathParam(min_length=1, max_length=100, pattern=TEXT, examples=["R-3"])],
    request: Request,
    services: ServicesDep,
    _who: Reader,
) -> Response:
    store = services.store
    version = store.version(version_id)
    return cached(
        request,
        etag_of("subzone", version_tag(version), code),
        lambda: _subzone_rules(store, version, code),
    )


@router.get(
    "/versions/{a}/compare/{b}",
    summary="What changed from version a to version b: land by sub-zone (on a map), rules",
    description=(
        "The zoning layers are overlaid in a's metric CRS (b reprojected if it differs): every "
        "piece of land whose sub-zone differs, with its from/to codes and area in m2, as GeoJSON "
        "in lon/lat; the area by (from, to); and the ITBX cells, intensity rows, provisions and "
        "legend codes that were added, removed or changed."
    ),
    response_model=None,
    responses={200: {"model": ComparisonOut}, **_READ_ERRORS},
)
def compare_versions(
    a: VersionId,
    b: VersionId,
    request: Request,
    services: ServicesDep,
    _who: Reader,
    min_area_m2: Annotated[
        float, Query(ge=0, le=1e6, description="Pieces under this area (m2) are only counted")
    ] = MIN_AREA_M2,
) -> Response:
    store = services.store
    va, vb = store.version(a), store.version(b)
    etag = etag_of("compare", version_tag(va), version_tag(vb), repr(min_area_m2))
    render = partial(_comparison, store, va, vb, min_area_m2)
    return cached(request, etag, lambda: services.renders.get(etag, render))


# -- helpers -----------------------------------------------------------------------------------


def _region(region: Region) -> dict[str, Any]:
    return {
        "code": region.code,
        "name": region.name,
        "bbox": list(region.bbox) if region.bbox else None,
    }


def _plan(store: PlanStore, plan: Plan) -> dict[str, Any]:
    return {
        "id": plan.id,
        "region": _region(store.region(plan.region_code)),
        "kind": plan.kind.value,
        "name": plan.name,
        "legal_basis": plan.legal_basis,
        "enacted_on": plan.enacted_on,
        "versions": [_summary(v) for v in store.versions(plan.id)],
    }


def _summary(version: PlanVersion) -> dict[str, Any]:
    return {
        "id": version.id,
        "plan_id": version.plan_id,
        "label": version.label,
        "status": version.status.value,
        "crs_epsg": version.crs_epsg,
        "content_hash": version.content_hash,
        "ruleset_hash": version.ruleset_hash,
        "created_at": version.created_at,
        "valid_from": version.valid_from,
        "valid_to": version.valid_to,
        "zone_count": version.zone_count,
        "errors": len(version.report.errors),
        "warnings": len(version.report.warnings),
    }


def _version(version: PlanVersion) -> dict[str, Any]:
    return {**_summary(version), "report": version.report.to_dict()}


def _raster(version: PlanVersion, info: RasterInfo, rules: int) -> dict[str, Any]:
    bbox = transformer(version.crs_epsg, 4326).transform_bounds(*info.bounds)
    return {
        "kind": info.kind.value,
        "unit": info.kind.unit,
        "source": info.source,
        "source_sha256": info.source_sha256,
        "sha256": info.sha256,
        "width": info.width,
        "height": info.height,
        "cell_m": info.cell_m,
        "crs_epsg": version.crs_epsg,
        "bounds": list(info.bounds),
        "bbox": [round(v, 7) for v in bbox],
        "rules": rules,
        "href": f"/v1/versions/{version.id}/rasters/{info.kind.value}.tif",
    }


def _subzones(store: PlanStore, version: PlanVersion) -> list[dict[str, Any]]:
    """Every sub-zone code of the zones, then those only the rules know, then zones without a
    code; each with its zones' count and area and its rule rows."""
    zones = store.zones(version.id)
    rules = store.rules(version.id)
    counts = _RuleCounts.of(rules)
    codes = zones["subzone_code"]
    out = [
        _subzone_entry(code, zones[codes == code], rules, counts)
        for code in dict.fromkeys([*codes.dropna(), *rules.subzones])
    ]
    if codes.isna().any():
        out.append(_subzone_entry(None, zones[codes.isna()], rules, counts))
    return out


@dataclass(frozen=True)
class _RuleCounts:
    """ITBX cells and intensity rows per sub-zone code."""

    cells: Counter[str]
    rows: Counter[str]

    @classmethod
    def of(cls, rules: RuleSet) -> _RuleCounts:
        return cls(
            Counter(c.subzone_code for c in rules.cells),
            Counter(r.subzone_code for r in rules.intensity),
        )


def _subzone_entry(
    code: str | None, zones: gpd.GeoDataFrame, rules: RuleSet, counts: _RuleCounts
) -> dict[str, Any]:
    names = zones["subzone_name"].dropna()
    families = zones["zone_code"].dropna()
    return {
        "code": code,
        "name": names.iloc[0] if len(names) else rules.subzones.get(code or ""),
        "zone_code": families.iloc[0] if len(families) else None,
        "zones": len(zones),
        "area_m2": float(zones.geometry.area.sum()),
        "itbx_cells": counts.cells[code] if code else 0,
        "intensity_rows": counts.rows[code] if code else 0,
    }


def _subzone_rules(store: PlanStore, version: PlanVersion, code: str) -> dict[str, Any]:
    """One sub-zone's rules, or a 404 problem naming the version's codes."""
    zones = store.zones(version.id)
    rules = store.rules(version.id)
    mine = zones[zones["subzone_code"] == code]
    cells = [c for c in rules.cells if c.subzone_code == code]
    intensity = [plain(r) for r in rules.intensity if r.subzone_code == code]
    if mine.empty and not cells and not intensity and code not in rules.subzones:
        known = sorted({*zones["subzone_code"].dropna(), *rules.subzones})
        raise Problem(
            "not-found",
            "Not found",
            f"sub-zone {code!r} is not in plan version {version.id}; its sub-zones: "
            f"{', '.join(known) or 'none'}",
        )
    entry = _subzone_entry(code, mine, rules, _RuleCounts.of(rules))
    legend = {e.code: e for e in rules.legend}
    activities = {a.id: a for a in rules.activities}

    def klass(c: str) -> ItbxClass:
        return legend[c].klass if c in legend else ItbxClass(c[0])

    itbx = []
    for cell in cells:
        act = activities.get(cell.activity_id)
        itbx.append(
            {
                "activity_id": cell.activity_id,
                "name": act.name if act else cell.activity_id,
                "group": act.group if act else None,
                "kbli": list(act.kbli) if act else [],
                "codes": list(cell.codes),
                "raw": cell.raw,
                "klass": strictest([klass(c) for c in cell.codes]).value,
                "legend": [
                    {
                        "code": c,
                        "klass": klass(c).value,
                        "text": legend[c].text if c in legend else None,
                    }
                    for c in cell.codes
                ],
            }
        )
    return {
        "version_id": version.id,
        "code": code,
        "name": entry["name"],
        "zone_code": entry["zone_code"],
        "zones": entry["zones"],
        "area_m2": entry["area_m2"],
        "blocks": list(dict.fromkeys(mine["block"].dropna())),
        "itbx": itbx,
        "intensity": intensity,
        "provisions": [plain(p) for p in rules.provisions if p.subzone_code in (None, code)],
    }


def _comparison(store: PlanStore, a: PlanVersion, b: PlanVersion, min_area_m2: float) -> bytes:
    result = compare(store.load(a.id), store.load(b.id), min_area_m2=min_area_m2)
    pieces = result.pieces.to_crs("OGC:CRS84").to_geo_dict(drop_id=True)
    return json_bytes({"a": _summary(a), "b": _summary(b), **result.to_dict(), "pieces": pieces})
