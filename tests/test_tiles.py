"""Encoding a layer as a Mapbox Vector Tile: placement on the tile grid, clipping to the tile and
its buffer, properties, and tile addresses outside the grid."""

from __future__ import annotations

import numpy as np
import pytest
import shapely

from gis.tiles import BUFFER, EXTENT, TileError, encode, tile_at
from tests.tile_grid import decoded

#: A tile's bounds in web Mercator metres: 4096 m a side, so one tile unit is one metre.
BOUNDS = (1000.0, 2000.0, 1000.0 + EXTENT, 2000.0 + EXTENT)


def test_a_polygon_lands_on_the_tile_grid_with_y_up() -> None:
    square = shapely.box(1100.0, 2200.0, 1300.0, 2300.0)  # 100..300 east, 200..300 north
    layers = decoded(encode("zones", np.array([square]), [{"code": "R-3"}], [7], BOUNDS))
    properties, geom = layers["zones"][7]
    assert properties == {"code": "R-3"}
    assert geom.equals(shapely.box(100, 200, 300, 300))


def test_geometries_are_clipped_to_the_tile_and_its_buffer() -> None:
    huge = shapely.box(-1e6, -1e6, 1e6, 1e6)
    outside = shapely.box(BOUNDS[2] + 2 * BUFFER, BOUNDS[1], BOUNDS[2] + 3 * BUFFER, BOUNDS[3])
    mvt = encode("zones", np.array([huge, outside]), [{}, {}], [1, 2], BOUNDS)
    layers = decoded(mvt)
    assert set(layers["zones"]) == {1}
    assert layers["zones"][1][1].bounds == (-BUFFER, -BUFFER, EXTENT + BUFFER, EXTENT + BUFFER)


def test_empty_values_are_left_out_and_nothing_is_an_empty_tile() -> None:
    square = shapely.box(1100.0, 2100.0, 1200.0, 2200.0)
    props = [{"name": "LP2B", "klass": None, "ceiling_m": float("nan"), "height": 45.5}]
    layers = decoded(encode("overlays", np.array([square]), props, [3], BOUNDS))
    assert layers["overlays"][3][0] == {"name": "LP2B", "height": 45.5}
    far = shapely.box(1e6, 1e6, 1e6 + 10, 1e6 + 10)
    assert encode("overlays", np.array([far]), [{}], [1], BOUNDS) == b""


@pytest.mark.parametrize(
    ("z", "x", "y", "field"),
    [(25, 0, 0, "z"), (-1, 0, 0, "z"), (3, 8, 0, "x"), (3, 0, -1, "y"), (0, 0, 1, "y")],
)
def test_tile_addresses_outside_the_grid_say_which_coordinate(
    z: int, x: int, y: int, field: str
) -> None:
    with pytest.raises(TileError) as caught:
        tile_at(z, x, y)
    assert caught.value.field == field
    assert str(caught.value).startswith("zoom" if field == "z" else field)
