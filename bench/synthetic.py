"""Generated plans of any size for benchmarks: a jittered grid coverage in UTM 50N.

Neighbouring zones share their edges exactly (a true coverage, as a good RDTR is), each edge has
``vertices_per_edge`` vertices, and sub-zone codes are drawn from a realistic mix.
"""

from __future__ import annotations

import json
import math

import geopandas as gpd
import numpy as np
import shapely

from layers.demo import build_demo_plan
from layers.model import PlanData, empty_overlays

CODES = np.array(["R-2", "R-3", "R-4", "K-1", "K-2", "KT", "SPU-1", "RTH-2", "P-1", "BJ", "KPI"])
WEIGHTS = np.array([10, 25, 20, 6, 8, 4, 4, 5, 10, 6, 2], dtype=float)


def grid_zones(
    n_zones: int,
    *,
    cell_m: float = 120.0,
    vertices_per_edge: int = 6,
    seed: int = 1,
    crs_epsg: int = 32650,
) -> gpd.GeoDataFrame:
    """About ``n_zones`` zones (the next square number) with the model's zone columns."""
    rng = np.random.default_rng(seed)
    side = math.isqrt(n_zones - 1) + 1
    xs, ys = np.meshgrid(np.arange(side + 1) * cell_m, np.arange(side + 1) * cell_m)
    jitter = rng.uniform(-0.3, 0.3, size=(2, side + 1, side + 1)) * cell_m
    jitter[:, [0, -1], :] = 0
    jitter[:, :, [0, -1]] = 0
    gx, gy = xs + jitter[0] + 500_000.0, ys + jitter[1] + 10_000.0
    rows, cols = np.meshgrid(np.arange(side), np.arange(side), indexing="ij")
    i, j = rows.ravel(), cols.ravel()
    corners = [(i, j), (i, j + 1), (i + 1, j + 1), (i + 1, j), (i, j)]
    ring = np.stack([np.stack([gx[a, b], gy[a, b]], axis=-1) for a, b in corners], axis=1)
    polygons = shapely.segmentize(shapely.polygons(ring), cell_m / vertices_per_edge)
    codes = rng.choice(CODES, size=len(polygons), p=WEIGHTS / WEIGHTS.sum())
    ids = [str(k + 1) for k in range(len(polygons))]
    return gpd.GeoDataFrame(
        {
            "zone_id": ids,
            "subzone_code": codes,
            "subzone_name": codes,
            "subzone_num": None,
            "zone_code": [c.split("-")[0] for c in codes],
            "zone_num": None,
            "block": [f"B.{k // 1000}" for k in range(len(polygons))],
            "flags": "{}",
            "attrs": [json.dumps({"OBJECTID": k}) for k in ids],
        },
        geometry=shapely.multipolygons(polygons[:, None]),
        crs=crs_epsg,
    )


def grid_plan(n_zones: int, **kwargs: float | int) -> PlanData:
    """A generated plan with the demo city's rule tables (every code drawn here is among them),
    so checks on it do the work a real plan asks for."""
    zones = grid_zones(n_zones, **kwargs)  # type: ignore[arg-type]
    crs = int(zones.crs.to_epsg())
    rules = build_demo_plan(n_target_zones=60).rules
    return PlanData(zones=zones, overlays=empty_overlays(crs), rules=rules, crs_epsg=crs)
