"""Web Mercator tiles worked out from the slippy-map formulas, independently of the code under
test (which uses morecantile and PostGIS's ST_TileEnvelope), and tiles decoded back into
polygons in tile units, to compare with the features they should hold."""

from __future__ import annotations

import math
from typing import Any

import mapbox_vector_tile
import pyproj
import shapely
from shapely.geometry import shape

EXTENT = 4096
_TO_MERCATOR = pyproj.Transformer.from_crs(4326, 3857, always_xy=True)


def tile_for(lon: float, lat: float, z: int) -> tuple[int, int]:
    """The x, y of the zoom-``z`` tile holding a lon/lat point."""
    n = 2**z
    x = int((lon + 180) / 360 * n)
    y = int((1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * n)
    return x, y


def lonlat_bounds(z: int, x: int, y: int) -> tuple[float, float, float, float]:
    """West, south, east, north of a tile: a lon/lat rectangle, as Mercator keeps meridians and
    parallels straight."""
    n = 2**z

    def lat(row: int) -> float:
        return math.degrees(math.atan(math.sinh(math.pi * (1 - 2 * row / n))))

    return x / n * 360 - 180, lat(y + 1), (x + 1) / n * 360 - 180, lat(y)


def in_tile_units(geom: Any, z: int, x: int, y: int) -> Any:
    """A lon/lat geometry in the tile's coordinates (0 to EXTENT, y up, as decode gives them)."""
    west, south, east, north = lonlat_bounds(z, x, y)
    (x0, x1), (y0, y1) = _TO_MERCATOR.transform([west, east], [south, north])

    def scale(coords: Any) -> Any:
        mx, my = _TO_MERCATOR.transform(coords[:, 0], coords[:, 1])
        out = coords.copy()
        out[:, 0] = (mx - x0) / (x1 - x0) * EXTENT
        out[:, 1] = (my - y0) / (y1 - y0) * EXTENT
        return out

    return shapely.transform(geom, scale)


def decoded(mvt: bytes) -> dict[str, dict[int, tuple[dict[str, Any], Any]]]:
    """Each layer of a tile as {feature id: (properties, polygon in tile units)}."""
    return {
        name: {f["id"]: (f["properties"], shape(f["geometry"])) for f in layer["features"]}
        for name, layer in mapbox_vector_tile.decode(mvt).items()
    }


def assert_same_shape_in_tile(got: Any, expected_lonlat: Any, z: int, x: int, y: int) -> None:
    """The decoded polygon covers what the feature covers of the tile, up to the tile grid's
    rounding (half a unit along every edge)."""
    square = shapely.box(0, 0, EXTENT, EXTENT)
    want = shapely.intersection(in_tile_units(expected_lonlat, z, x, y), square)
    have = shapely.intersection(shapely.make_valid(got), square)
    differs = shapely.symmetric_difference(have, want).area
    assert differs <= 0.5 * want.length + 1, (differs, want.area)
