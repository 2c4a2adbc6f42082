"""OGC API - Features (Part 1, Core, GeoJSON) over the layers of every plan version, so that QGIS,
GDAL and web maps read the plan as the store holds it: one collection a version and layer
(``zones_v<id>``, ``overlays_v<id>``, the store's own layer names), features in lon/lat
(OGC:CRS84) with their ``fid`` as id.

A version's layers never change once imported, so an ETag made of its content hash and the
request stays true as long as the version exists; the collection documents add the version's
status and validity, which activation changes.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import UTC, date
from typing import Annotated, Any, NoReturn

from fastapi import APIRouter, Depends, Path, Query, Request
from starlette.responses import Response

from api.auth import ServicesDep, require
from api.errors import Problem
from api.keys import Permission
from api.responses import GEOJSON, cached, etag_of, version_tag
from api.routes import problems
from api.services import Services
from layers.model import Plan, PlanVersion
from layers.store import LAYER_COLUMNS, layer_name

router = APIRouter(prefix="/v1/ogc", tags=["ogc"])

JSON = "application/json"
CRS84 = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"
GREGORIAN = "http://www.opengis.net/def/uom/ISO-8601/0/Gregorian"
#: Core and GeoJSON; not "oas30", as FastAPI describes the API in OpenAPI 3.1.
CONFORMANCE = [
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson",
]
#: What each layer of a version holds, for titles.
LAYER_TITLES = {"zones": "zones (pola ruang)", "overlays": "special-provision overlays"}

_COLLECTION_ID = re.compile(r"(zones|overlays)_v([1-9][0-9]{0,9})")
_FEATURE_ID = re.compile(r"[1-9][0-9]{0,17}")

Reader = Annotated[Any, Depends(require(Permission.READ))]
CollectionId = Annotated[
    str,
    Path(
        alias="collectionId",
        description="A version's layer: `zones_v<version id>` or `overlays_v<version id>`",
        examples=["zones_v1"],
    ),
]


@dataclass(frozen=True)
class Collection:
    """A version's layer as a collection: what its documents and ETags are made of."""

    id: str
    layer: str
    version: PlanVersion
    plan: Plan

    @property
    def title(self) -> str:
        return f"{self.plan.name}, {self.version.label} ({self.version.status.value}): {self.layer}"

    def fingerprint(self) -> str:
        """What the collection's documents are made of: the layer's content, and the version's
        status and validity, which its title and extent show."""
        return f"{self.id}|{self.plan.name}|{self.version.label}|{version_tag(self.version)}"


def collection(services: Services, collection_id: str) -> Collection:
    """The collection a path names; a 404 problem for a name that is not one or a version the
    store does not hold (or holds only while it is being imported)."""
    match = _COLLECTION_ID.fullmatch(collection_id)
    if match is None:
        raise Problem(
            "not-found",
            "Not found",
            f"there is no collection {collection_id!r}: collections are named "
            "zones_v<version id> and overlays_v<version id> (see /v1/ogc/collections)",
        )
    version = services.store.version(int(match[2]))
    return Collection(collection_id, match[1], version, services.store.plan(version.plan_id))


def _link(href: Any, rel: str, kind: str, title: str) -> dict[str, str]:
    return {"href": str(href), "rel": rel, "type": kind, "title": title}


@router.get(
    "",
    name="ogc-landing",
    summary="Landing page of the OGC API - Features of the plan layers",
    response_model=None,
    responses=problems(401, 403),
)
def landing(request: Request, _who: Reader) -> dict[str, Any]:
    base = str(request.base_url).rstrip("/")
    return {
        "title": "Simtaru plan layers",
        "description": "The zones and special-provision overlays of every version of the "
        "city's spatial plans (RDTR), as OGC API - Features and vector tiles.",
        "links": [
            _link(request.url_for("ogc-landing"), "self", JSON, "This document"),
            _link(
                base + request.app.openapi_url,
                "service-desc",
                "application/vnd.oai.openapi+json;version=3.1",
                "The API definition",
            ),
            _link(base + request.app.docs_url, "service-doc", "text/html", "The API documentation"),
            _link(request.url_for("ogc-conformance"), "conformance", JSON, "Conformance classes"),
            _link(
                request.url_for("ogc-collections"), "data", JSON, "The layers of every plan version"
            ),
        ],
    }


@router.get(
    "/conformance",
    name="ogc-conformance",
    summary="The conformance classes this API implements",
    response_model=None,
    responses=problems(401, 403),
)
def conformance(_who: Reader) -> dict[str, Any]:
    return {"conformsTo": CONFORMANCE}


@router.get(
    "/collections",
    name="ogc-collections",
    summary="One collection per plan version and layer",
    response_model=None,
    responses={
        200: {"content": {JSON: {}}, "description": "The collections"},
        **problems(304, 401, 403, 503),
    },
)
def collections(request: Request, services: ServicesDep, _who: Reader) -> Response:
    store = services.store
    found = [
        Collection(layer_name(layer, version.id), layer, version, plan)
        for plan in store.plans()
        for version in store.versions(plan.id)
        for layer in LAYER_COLUMNS
    ]
    etag = etag_of(str(request.url), *(c.fingerprint() for c in found))

    def render() -> dict[str, Any]:
        return {
            "links": [_link(request.url_for("ogc-collections"), "self", JSON, "This document")],
            "collections": [_collection_doc(request, services, c) for c in found],
        }

    return cached(request, etag, render)


@router.get(
    "/collections/{collectionId}",
    name="ogc-collection",
    summary="A plan version's layer: its title, extent and links",
    response_model=None,
    responses={
        200: {"content": {JSON: {}}, "description": "The collection"},
        **problems(304, 401, 403, 404, 503),
    },
)
def one_collection(
    request: Request, services: ServicesDep, _who: Reader, collection_id: CollectionId
) -> Response:
    found = collection(services, collection_id)
    etag = etag_of(str(request.url), found.fingerprint())
    return cached(request, etag, lambda: _collection_doc(request, services, found))


@router.get(
    "/collections/{collectionId}/items",
    name="ogc-items",
    summary="The features of a layer, a page at a time (GeoJSON, lon/lat)",
    response_model=None,
    responses={
        200: {"content": {GEOJSON: {}}, "description": "A FeatureCollection with paging links"},
        **problems(304, 400, 401, 403, 404, 422, 503),
    },
)
def items(
    request: Request,
    services: ServicesDep,
    _who: Reader,
    collection_id: CollectionId,
    bbox: Annotated[
        str | None,
        Query(
            max_length=400,
            description="Only features meeting this lon/lat box (OGC:CRS84): "
            "`minLon,minLat,maxLon,maxLat` (six numbers with heights are read as such)",
            examples=["117.47,0.12,117.48,0.13"],
        ),
    ] = None,
    limit: Annotated[
        int,
        Query(
            ge=1,
            description="Features a page; more than the service's maximum page "
            "(SIMTARU_LIMIT_MAX_PAGE, 10,000 unless set) gives the maximum",
        ),
    ] = 100,
    offset: Annotated[int, Query(ge=0, description="Features to skip (the next link has it)")] = 0,
) -> Response:
    found = collection(services, collection_id)
    box = parse_bbox(bbox) if bbox is not None else None
    limit = min(limit, services.settings.limits.max_page)
    etag = etag_of(str(request.url), found.version.content_hash)

    def render() -> dict[str, Any]:
        page = services.store.feature_page(
            found.version.id, found.layer, box, limit=limit, offset=offset
        )
        returned = len(page.features)
        links = [
            _link(request.url, "self", GEOJSON, "This page"),
            _link(_collection_url(request, found), "collection", JSON, "The collection"),
        ]
        if offset + returned < page.number_matched:
            after = request.url.include_query_params(offset=offset + returned, limit=limit)
            links.append(_link(after, "next", GEOJSON, "The next page"))
        if offset > 0:
            before = request.url.include_query_params(offset=max(0, offset - limit), limit=limit)
            links.append(_link(before, "prev", GEOJSON, "The previous page"))
        return {
            "type": "FeatureCollection",
            "features": page.features,
            "numberMatched": page.number_matched,
            "numberReturned": returned,
            "timeStamp": _time_stamp(found.version),
            "links": links,
        }

    return cached(request, etag, render, media_type=GEOJSON)


@router.get(
    "/collections/{collectionId}/items/{featureId}",
    name="ogc-item",
    summary="One feature of a layer by its id (the fid)",
    response_model=None,
    responses={
        200: {"content": {GEOJSON: {}}, "description": "A GeoJSON Feature"},
        **problems(304, 401, 403, 404, 503),
    },
)
def item(
    request: Request,
    services: ServicesDep,
    _who: Reader,
    collection_id: CollectionId,
    feature_id: Annotated[str, Path(alias="featureId", description="The feature's id (fid)")],
) -> Response:
    found = collection(services, collection_id)
    if _FEATURE_ID.fullmatch(feature_id) is None:
        raise Problem(
            "not-found",
            "Not found",
            f"there is no feature {feature_id!r} in {collection_id}: feature ids are positive "
            "integers",
        )
    etag = etag_of(str(request.url), found.version.content_hash)

    def render() -> dict[str, Any]:
        feature = services.store.feature(found.version.id, found.layer, int(feature_id))
        feature["links"] = [
            _link(request.url, "self", GEOJSON, "This feature"),
            _link(_collection_url(request, found), "collection", JSON, "The collection"),
        ]
        return feature

    return cached(request, etag, render, media_type=GEOJSON)


def parse_bbox(text: str) -> tuple[float, float, float, float]:
    """``minLon,minLat,maxLon,maxLat`` (or with heights: six numbers) as a lon/lat box; a 400
    problem pointing at ``bbox`` that says what is wrong."""
    parts = text.split(",")
    try:
        numbers = [float(p) for p in parts]
    except ValueError:
        _bad_bbox(f"{text!r} is not numbers separated by commas (minLon,minLat,maxLon,maxLat)")
    if len(numbers) not in (4, 6):
        _bad_bbox(f"has {len(numbers)} numbers; give 4 (minLon,minLat,maxLon,maxLat) or 6")
    if not all(math.isfinite(n) for n in numbers):
        _bad_bbox("has a number that is not finite")
    minx, miny, maxx, maxy = numbers[:2] + numbers[-3:-1] if len(numbers) == 6 else numbers
    if not (
        -180 <= minx <= 180 and -180 <= maxx <= 180 and -90 <= miny <= 90 and -90 <= maxy <= 90
    ):
        _bad_bbox(
            f"({minx}, {miny}, {maxx}, {maxy}) is not lon/lat in OGC:CRS84 (longitude -180 to "
            "180 first, latitude -90 to 90 second)"
        )
    if miny > maxy:
        _bad_bbox(f"its south edge {miny} lies north of its north edge {maxy}")
    if minx > maxx:
        _bad_bbox(
            f"its west edge {minx} lies east of its east edge {maxx}; boxes across the "
            "antimeridian are not supported"
        )
    return (minx, miny, maxx, maxy)


def _bad_bbox(why: str) -> NoReturn:
    detail = f"bbox {why}"
    raise Problem(
        "invalid-parameter",
        "Invalid parameter",
        detail,
        status=400,
        errors=[{"pointer": "query:bbox", "detail": detail}],
    )


def _collection_url(request: Request, found: Collection) -> str:
    return str(request.url_for("ogc-collection", collectionId=found.id))


def _collection_doc(request: Request, services: Services, found: Collection) -> dict[str, Any]:
    """The collection document: title, extent in space (CRS84) and time (validity), links."""
    version = found.version
    extent: dict[str, Any] = {}
    bbox = services.store.layer_extent(version.id, found.layer)
    if bbox is not None:
        extent["spatial"] = {"bbox": [list(bbox)], "crs": CRS84}
    if version.valid_from is not None:
        interval = [_instant(version.valid_from), _instant(version.valid_to)]
        extent["temporal"] = {"interval": [interval], "trs": GREGORIAN}
    items_url = request.url_for("ogc-items", collectionId=found.id)
    return {
        "id": found.id,
        "title": found.title,
        "description": f"The {LAYER_TITLES[found.layer]} of version {version.id} "
        f"({version.label}, {version.status.value}) of {found.plan.name}; legal basis: "
        f"{found.plan.legal_basis}. Stored in EPSG:{version.crs_epsg}, served in lon/lat.",
        "itemType": "feature",
        "crs": [CRS84],
        "extent": extent,
        "links": [
            _link(_collection_url(request, found), "self", JSON, "This collection"),
            _link(items_url, "items", GEOJSON, "Its features"),
            _link(
                request.url_for("tiles-tilejson", collectionId=found.id),
                "related",
                JSON,
                "Its vector tiles (TileJSON, for MapLibre)",
            ),
        ],
    }


def _instant(day: date | None) -> str | None:
    return None if day is None else f"{day.isoformat()}T00:00:00Z"


def _time_stamp(version: PlanVersion) -> str:
    """When the features were made: the version's import, after which they never change (so a
    page reads the same every time, as its strong ETag promises)."""
    return version.created_at.astimezone(UTC).isoformat().replace("+00:00", "Z")
