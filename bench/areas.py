"""Parcel ∩ zone areas: the compiled kernel (``gis.areas``) beside the GEOS floor.

    python -m bench.areas [--parcels 200000] [--repeat 3]

For the Jagoi Babang plan and its 2,784 parcels (when ../shared/data is there) and for generated
plans of 10,000 and 100,000 zones with random lots scattered over them, in one run: the number of
intersecting pairs, the kernel's time (warm, best of ``--repeat``, packing included), the GEOS floor
(shapely ``intersection`` + ``area`` on exactly the same pairs), the speed-up and the largest
difference. First, the kernel's compile time, cold and from numba's on-disk cache, each
measured in a fresh interpreter.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import geopandas as gpd
import numpy as np
import pyogrio
import shapely
from numpy.typing import NDArray

from bench.import_plan import best_of
from bench.synthetic import grid_zones
from gis.areas import intersecting_pairs, intersection_areas
from layers.zoning import read_zoning

SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "data"
JAGOI_EPSG = 32649

_FIRST_CALL = """
import time
started = time.perf_counter()
import numpy as np, shapely
from gis.areas import intersection_areas
intersection_areas(np.array([shapely.box(0, 0, 2, 2)]), np.array([shapely.box(1, 1, 3, 3)]),
                   np.array([0]), np.array([0]))
print(time.perf_counter() - started)
"""


def first_call(cache_dir: str) -> float:
    """Seconds from import to the first answer in a fresh interpreter using ``cache_dir``."""
    env = {"NUMBA_CACHE_DIR": cache_dir, "PATH": ""}
    done = subprocess.run(
        [sys.executable, "-c", _FIRST_CALL], env=env, capture_output=True, text=True, check=True
    )
    return float(done.stdout)


def random_lots(
    n: int, bounds: tuple[float, float, float, float], seed: int = 7
) -> NDArray[np.object_]:
    """``n`` lots of 200-2,000 m2 at random over ``bounds``: rotated, jittered quadrilaterals, one
    in five an L shape (non-convex, so it is triangulated)."""
    rng = np.random.default_rng(seed)
    quad = [[-0.5, -0.5], [0.5, -0.5], [0.5, 0.5], [-0.5, 0.5], [0.0, 0.0], [0.0, 0.0]]
    ell = [[-0.5, -0.5], [0.5, -0.5], [0.5, 0.0], [0.0, 0.0], [0.0, 0.5], [-0.5, 0.5]]
    is_ell = rng.random(n) < 0.2
    shape = np.where(is_ell[:, None, None], np.array(ell), np.array(quad))
    shape += rng.uniform(-0.05, 0.05, (n, 6, 2))
    area = rng.uniform(200.0, 2000.0, n)
    aspect = rng.uniform(0.5, 2.0, n)
    xy = shape * np.stack([np.sqrt(area * aspect), np.sqrt(area / aspect)], axis=-1)[:, None]
    angle = rng.uniform(0.0, np.pi, n)
    cos, sin = np.cos(angle)[:, None], np.sin(angle)[:, None]
    x0, y0, x1, y1 = bounds
    cx, cy = rng.uniform(x0, x1, (n, 1)), rng.uniform(y0, y1, (n, 1))
    x = cx + cos * xy[..., 0] - sin * xy[..., 1]
    y = cy + sin * xy[..., 0] + cos * xy[..., 1]
    ring = np.stack([x, y], axis=-1)
    return np.where(is_ell, shapely.polygons(ring), shapely.polygons(ring[:, :4]))


def measure(
    label: str, parcels: NDArray[np.object_], zones: NDArray[np.object_], repeat: int
) -> None:
    started = time.perf_counter()
    p, z = intersecting_pairs(parcels, zones)
    query = time.perf_counter() - started
    started = time.perf_counter()
    candidates = len(intersecting_pairs(parcels, zones, predicate=None)[0])
    boxes = time.perf_counter() - started
    kernel_areas = intersection_areas(parcels, zones, p, z)
    kernel = best_of(repeat, lambda: intersection_areas(parcels, zones, p, z))
    left, right = parcels[p], zones[z]
    geos = best_of(repeat, lambda: shapely.area(shapely.intersection(left, right)))
    geos_areas = shapely.area(shapely.intersection(left, right))
    diff = np.abs(kernel_areas - geos_areas)
    large = geos_areas >= 1.0
    relative = float(np.max(diff[large] / geos_areas[large], initial=0.0))
    print(f"{label}: {len(zones):,} zones, {len(parcels):,} parcels, {len(p):,} pairs")
    print(f"  pairs query   {query:8.3f} s  (STRtree of zone parts, predicate intersects)")
    print(f"  box query     {boxes:8.3f} s  ({candidates:,} pairs whose boxes meet)")
    print(f"  kernel        {kernel:8.3f} s  ({len(p) / kernel:,.0f} pairs/s, packing included)")
    print(f"  GEOS floor    {geos:8.3f} s  ({len(p) / geos:,.0f} pairs/s)")
    print(f"  speed-up      {geos / kernel:8.1f}x")
    print(f"  difference    {diff.max():.1e} m2 at most, {relative:.1e} relative (pieces >= 1 m2)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--parcels", type=int, default=200_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as cache:
        cold, cached = first_call(cache), first_call(cache)
    print(f"first call: {cold:.1f} s compiling, {cached:.1f} s from numba's on-disk cache")

    if SHARED.is_dir():
        folder = SHARED / "jagoibabang"
        jagoi = read_zoning(folder / "KONSEPPOLARUANG_5.geojson", crs_epsg=JAGOI_EPSG).zones
        parcels = pyogrio.read_dataframe(folder / "HAT_3.geojson").to_crs(JAGOI_EPSG)
        measure("Jagoi Babang", parcels.geometry.values, jagoi.geometry.values, args.repeat)
    for n_zones in (10_000, 100_000):
        zones: gpd.GeoDataFrame = grid_zones(n_zones)
        lots = random_lots(args.parcels, tuple(zones.total_bounds))
        measure(f"grid {n_zones:,}", lots, zones.geometry.values, args.repeat)


if __name__ == "__main__":
    main()
