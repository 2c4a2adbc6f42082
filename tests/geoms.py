"""A catalogue of tricky geometries for tests, in UTM 49N metres near Jagoi Babang.

Coordinates are given relative to ``ORIGIN`` so that expected areas read off the numbers:
``rect(0, 0, 100, 100)`` is a 100 m square of 10,000 m2.
"""

from __future__ import annotations

from collections.abc import Sequence

import geopandas as gpd
import numpy as np
import shapely
from shapely.geometry.base import BaseGeometry

from gis.geometry import to_multipolygon
from layers.model import ZONE_COLUMNS
from layers.zoning import zone_family

#: UTM zone 49N, the metric CRS of Jagoi Babang.
EPSG = 32649
#: Near Jagoi Babang (about 109.89E, 1.29N).
ORIGIN = (377_000.0, 143_000.0)


def rect(x0: float, y0: float, x1: float, y1: float) -> shapely.Polygon:
    """An axis-parallel rectangle, corners relative to ``ORIGIN`` (m)."""
    ox, oy = ORIGIN
    return shapely.box(ox + x0, oy + y0, ox + x1, oy + y1)


def at(x: float, y: float) -> tuple[float, float]:
    """The absolute coordinates of a point relative to ``ORIGIN``."""
    return ORIGIN[0] + x, ORIGIN[1] + y


#: Two 100 m zones sharing the edge x = 100 (10,000 m2 each).
ZONE_WEST = rect(0, 0, 100, 100)
ZONE_EAST = rect(100, 0, 200, 100)
#: A 30 m x 20 m parcel across that edge: 360 m2 west, 240 m2 east.
PARCEL_ON_EDGE = rect(82, 40, 112, 60)
#: A parcel that only touches the edge from the west: no area east.
PARCEL_TOUCHING_EDGE = rect(70, 40, 100, 60)
#: A 0.1 m x 5 m sliver (0.5 m2) east of ZONE_EAST.
SLIVER = rect(200, 0, 200.1, 5)
#: A 0.5 m x 100 m strip (50 m2): big enough, but thin (mean width about 0.5 m).
THIN_STRIP = rect(200, 0, 200.5, 100)
#: The 10 m x 10 m hole (100 m2) of ZONE_WITH_HOLE.
HOLE = rect(45, 145, 55, 155)
#: A 100 m zone north of ZONE_WEST with HOLE cut out (9,900 m2).
ZONE_WITH_HOLE = shapely.Polygon(rect(0, 100, 100, 200).exterior, [HOLE.exterior])
#: A bow-tie whose edges cross at ``at(50, 50)``: invalid; repaired, two triangles of 2,500 m2.
BOWTIE = shapely.Polygon([at(0, 0), at(100, 100), at(100, 0), at(0, 100)])
BOWTIE_CROSSING = at(50, 50)
#: Two 10 m squares 50 m apart as one feature (200 m2).
MULTIPOLYGON = shapely.MultiPolygon([rect(300, 0, 310, 10), rect(360, 0, 370, 10)])
#: A polygon collapsed onto a line: invalid and not repairable into any area.
COLLAPSED = shapely.Polygon([at(0, 0), at(10, 0), at(20, 0), at(0, 0)])
#: A lon/lat square near Jagoi Babang, and the same square with lon and lat swapped.
LONLAT_SQUARE = shapely.box(109.90, 1.30, 109.91, 1.31)
SWAPPED_SQUARE = shapely.box(1.30, 109.90, 1.31, 109.91)
#: A 100 m square with Z coordinates (elevations 10 m).
SQUARE_Z = shapely.Polygon([(*at(x, y), 10.0) for x, y in ((0, 0), (100, 0), (100, 100), (0, 100))])
#: A ring through ``at(50, 50)`` twice: two triangles touching at a vertex (invalid: ring
#: self-intersection); repaired, 5,000 m2.
FIGURE_EIGHT = shapely.Polygon(
    [at(0, 0), at(50, 50), at(100, 0), at(100, 100), at(50, 50), at(0, 100)]
)
FIGURE_EIGHT_TOUCH = at(50, 50)
#: Lon/lat near Bontang (UTM zone 50N): valid in degrees, but the notch at (117.51, 0.13 + 1e-9)
#: dips 0.1 mm short of the bottom edge, and the parallel the edge follows bows about 0.2 mm
#: south of its chord in metres: the ring crosses itself once projected.
NEAR_TOUCH_LONLAT = shapely.Polygon(
    [(117.50, 0.13), (117.52, 0.13), (117.52, 0.14), (117.51, 0.13 + 1e-9), (117.50, 0.14)]
)


def zones_frame(
    geoms: Sequence[BaseGeometry],
    codes: Sequence[str | None],
    *,
    names: Sequence[str | None] | None = None,
    nums: Sequence[str | None] | None = None,
    ids: Sequence[str] | None = None,
    epsg: int = EPSG,
) -> gpd.GeoDataFrame:
    """A zones GeoDataFrame with ``ZONE_COLUMNS``; ids default to 1, 2, ..."""
    size = len(geoms)
    multi, _ = to_multipolygon(np.array(geoms, dtype=object))
    data = {
        "zone_id": list(ids) if ids else [str(n) for n in range(1, size + 1)],
        "subzone_code": list(codes),
        "subzone_name": list(names) if names else [None] * size,
        "subzone_num": list(nums) if nums else [None] * size,
        "zone_code": [zone_family(code) for code in codes],
        "zone_num": [None] * size,
        "block": [None] * size,
        "flags": ["{}"] * size,
        "attrs": ["{}"] * size,
    }
    return gpd.GeoDataFrame(
        {column: data[column] for column in ZONE_COLUMNS}, geometry=multi, crs=epsg
    )


def lots_over(
    bounds: Sequence[float], n: int, sides: tuple[float, float], seed: int = 11
) -> tuple[np.ndarray, np.random.Generator]:
    """``n`` square lots at random over ``bounds`` (minx, miny, maxx, maxy), sides drawn from
    ``sides`` (m), and the generator that drew them for whatever else a test draws."""
    rng = np.random.default_rng(seed)
    minx, miny, maxx, maxy = bounds
    xs, ys = rng.uniform(minx, maxx, n), rng.uniform(miny, maxy, n)
    side = rng.uniform(*sides, n)
    return shapely.box(xs, ys, xs + side, ys + side), rng
