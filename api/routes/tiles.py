"""Vector tiles (Mapbox Vector Tiles in the WebMercatorQuad grid) of every plan version's layers,
and a TileJSON document for each, so MapLibre (or QGIS's vector tile layer) draws the plan.

The collections are those of the OGC API (``zones_v<id>``, ``overlays_v<id>``); a tile holds one
layer named ``zones`` or ``overlays`` whose feature ids are the features' ``fid``. A tile where
the layer has nothing is an empty 200 (a valid tile of no layers, which MapLibre draws as
nothing). Tiles of a version never change, so their ETag is the version's content and the
tile's address.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from starlette.responses import Response

from api.auth import ServicesDep
from api.errors import Problem
from api.responses import cached, etag_of
from api.routes import problems
from api.routes.ogc import CollectionId, Reader, collection
from gis.tiles import MEDIA_TYPE, TileError, tile_at
from layers.store import TILE_FIELDS

router = APIRouter(prefix="/v1/tiles", tags=["tiles"])

#: Zoom levels a TileJSON announces: from the whole world down to street level; MapLibre zooms
#: the finest tiles further in itself (a z18 tile's grid is 4 cm on the ground).
MIN_ZOOM = 0
MAX_ZOOM = 18


@router.get(
    "/{collectionId}/{z}/{x}/{y}.mvt",
    name="tiles-tile",
    summary="A vector tile of a plan version's layer (WebMercatorQuad z/x/y)",
    response_model=None,
    responses={
        200: {
            "content": {MEDIA_TYPE: {}},
            "description": "The tile; an empty body where the layer has no features",
        },
        **problems(304, 401, 403, 404, 422, 503),
    },
)
def tile(
    request: Request,
    services: ServicesDep,
    _who: Reader,
    collection_id: CollectionId,
    z: int,
    x: int,
    y: int,
) -> Response:
    found = collection(services, collection_id)
    try:
        tile_at(z, x, y)
    except TileError as exc:
        raise Problem(
            "validation-failed",
            "Invalid tile",
            f"tile {z}/{x}/{y}: {exc}",
            errors=[{"pointer": f"path:{exc.field}", "detail": str(exc)}],
        ) from None
    etag = etag_of(found.version.content_hash, found.id, f"{z}/{x}/{y}")
    return cached(
        request,
        etag,
        lambda: services.store.tile(found.version.id, found.layer, z, x, y),
        media_type=MEDIA_TYPE,
    )


@router.get(
    "/{collectionId}/tilejson.json",
    name="tiles-tilejson",
    summary="TileJSON of a plan version's layer, for MapLibre",
    response_model=None,
    responses={
        200: {"content": {"application/json": {}}, "description": "TileJSON 3.0"},
        **problems(304, 401, 403, 404, 503),
    },
)
def tilejson(
    request: Request, services: ServicesDep, _who: Reader, collection_id: CollectionId
) -> Response:
    found = collection(services, collection_id)
    etag = etag_of(str(request.url), found.fingerprint())

    def render() -> dict[str, Any]:
        url = str(request.url_for("tiles-tile", collectionId=found.id, z="{z}", x="{x}", y="{y}"))
        bounds = services.store.layer_extent(found.version.id, found.layer)
        doc: dict[str, Any] = {
            "tilejson": "3.0.0",
            "name": found.id,
            "description": found.title,
            "attribution": found.plan.legal_basis,
            "scheme": "xyz",
            "tiles": [url],
            "minzoom": MIN_ZOOM,
            "maxzoom": MAX_ZOOM,
            "vector_layers": [
                {
                    "id": found.layer,
                    "fields": dict(TILE_FIELDS[found.layer]),
                    "minzoom": MIN_ZOOM,
                    "maxzoom": MAX_ZOOM,
                }
            ],
        }
        if bounds is not None:
            doc["bounds"] = list(bounds)
        return doc

    return cached(request, etag, render)
