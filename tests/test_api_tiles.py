"""Vector tiles over HTTP as MapLibre reads them: a TileJSON that leads to the tiles, tiles that
decode (mapbox-vector-tile) to exactly the zones a shapely query puts in them, empty tiles,
ETags, and tile addresses outside the grid as problems."""

from __future__ import annotations

import mapbox_vector_tile
import numpy as np
import pytest
from shapely.geometry import box

from layers.model import ZONE_COLUMNS
from tests.tile_grid import assert_same_shape_in_tile, decoded, lonlat_bounds, tile_for

MVT = "application/vnd.mapbox-vector-tile"
PROBLEM = "application/problem+json"
#: A zoom-15 tile (about 1.2 km) in the middle of the demo town: many zones, not all.
Z = 15
X, Y = tile_for(117.48, 0.13, Z)


def expected_in_tile(frame, z: int, x: int, y: int) -> set[int]:
    """The fids of the features of a lon/lat frame (in fid order) that meet the tile."""
    return {int(i) + 1 for i in np.flatnonzero(frame.intersects(box(*lonlat_bounds(z, x, y))))}


def test_a_tile_decodes_to_exactly_the_zones_it_covers(service):
    stored = service.store.zones(service.demo.id)
    lonlat = stored.to_crs(4326)
    expected = expected_in_tile(lonlat, Z, X, Y)
    assert 10 < len(expected) < len(stored)
    with service.client() as http:
        answer = http.get(f"/v1/tiles/zones_v{service.demo.id}/{Z}/{X}/{Y}.mvt")
    assert answer.status_code == 200
    assert answer.headers["content-type"] == MVT
    layers = decoded(answer.content)
    assert set(layers) == {"zones"}
    assert set(layers["zones"]) == expected
    for fid, (properties, geom) in layers["zones"].items():
        row = stored.iloc[fid - 1]
        assert properties == {c: row[c] for c in ZONE_COLUMNS if c != "attrs" and row[c]}
        assert_same_shape_in_tile(geom, lonlat.geometry[fid - 1], Z, X, Y)


def test_an_overlay_tile_holds_the_overlays_it_covers(service):
    stored = service.store.overlays(service.demo.id)
    lonlat = stored.to_crs(4326)
    west, south, east, north = lonlat.total_bounds
    z = 13
    x, y = tile_for((west + east) / 2, (south + north) / 2, z)
    with service.client() as http:
        mvt = http.get(f"/v1/tiles/overlays_v{service.demo.id}/{z}/{x}/{y}.mvt").content
    overlays = decoded(mvt)["overlays"]
    assert set(overlays) == expected_in_tile(lonlat, z, x, y)
    for fid, (properties, _) in overlays.items():
        assert properties["kind"] == stored["kind"][fid - 1]
        assert "attrs" not in properties


def test_tilejson_leads_maplibre_to_the_tiles(service):
    collection = f"zones_v{service.demo.id}"
    with service.client() as http:
        doc = http.get(f"/v1/tiles/{collection}/tilejson.json").json()
        template = doc["tiles"][0]
        tile = http.get(template.format(z=Z, x=X, y=Y))
        direct = http.get(f"/v1/tiles/{collection}/{Z}/{X}/{Y}.mvt")
    assert doc["tilejson"] == "3.0.0"
    assert template.startswith(service.url) and template.endswith("/{z}/{x}/{y}.mvt")
    assert tile.content == direct.content and tile.content
    assert 0 <= doc["minzoom"] < Z < doc["maxzoom"] <= 24
    (layer,) = doc["vector_layers"]
    assert layer["id"] == "zones"
    assert set(layer["fields"]) == set(ZONE_COLUMNS) - {"attrs"}
    tight = service.store.zones(service.demo.id).to_crs(4326).total_bounds
    assert doc["bounds"] == pytest.approx(list(tight), abs=1e-5)


def test_a_tile_with_nothing_in_it_is_empty(service):
    with service.client() as http:
        answer = http.get(f"/v1/tiles/zones_v{service.demo.id}/{Z}/0/0.mvt")
    assert answer.status_code == 200
    assert answer.headers["content-type"] == MVT
    assert answer.content == b""
    assert mapbox_vector_tile.decode(answer.content) == {}


def test_tiles_answer_304_while_the_etag_holds(service):
    url = f"/v1/tiles/zones_v{service.demo.id}/{Z}/{X}/{Y}.mvt"
    with service.client() as http:
        first = http.get(url)
        again = http.get(url, headers={"If-None-Match": first.headers["etag"]})
        neighbour = http.get(f"/v1/tiles/zones_v{service.demo.id}/{Z}/{X + 1}/{Y}.mvt")
        tilejson = http.get(f"/v1/tiles/zones_v{service.demo.id}/tilejson.json")
        tilejson_again = http.get(tilejson.url, headers={"If-None-Match": tilejson.headers["etag"]})
    assert (again.status_code, again.content) == (304, b"")
    assert neighbour.headers["etag"] != first.headers["etag"]
    assert tilejson_again.status_code == 304


@pytest.mark.parametrize(
    ("z", "x", "y", "pointer"),
    [(25, 0, 0, "path:z"), (Z, 2**Z, 0, "path:x"), (Z, 0, -1, "path:y"), (Z, 0, "top", "path:y")],
)
def test_a_tile_outside_the_grid_is_a_422_problem(service, z, x, y, pointer):
    with service.client() as http:
        answer = http.get(f"/v1/tiles/zones_v{service.demo.id}/{z}/{x}/{y}.mvt")
    assert answer.status_code == 422, answer.text
    assert answer.headers["content-type"] == PROBLEM
    body = answer.json()
    assert body["type"] == "urn:simtaru:problem:validation-failed"
    assert body["errors"][0]["pointer"] == pointer


@pytest.mark.parametrize(
    "path", ["/v1/tiles/parcels_v1/15/0/0.mvt", "/v1/tiles/zones_v999999/tilejson.json"]
)
def test_an_unknown_collection_is_a_404_problem(service, path):
    with service.client() as http:
        answer = http.get(path)
    assert answer.status_code == 404
    assert answer.headers["content-type"] == PROBLEM
    assert answer.json()["type"] == "urn:simtaru:problem:not-found"
