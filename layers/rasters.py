"""A plan's rasters at import: each GeoTIFF read into the plan's metric CRS, checked against the
plan, cut to the plan's extent, and a DEM's slope derived (in % and degrees).

Refused (``PlanInputError`` naming the file): a file rasterio cannot read, one without a CRS, a
band without a valid pixel, a raster with no valid pixel over the plan, a hazard raster whose
values are not whole class numbers. The quality report notes each raster (cells, cell size,
CRS), the part of the plan it leaves without data (checks there need review), the part of it
beyond the plan (left out) and flood depths below zero.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import shapely
from shapely.geometry.base import BaseGeometry

from gis.crs import to_lonlat
from gis.errors import CRSError
from gis.raster import Grid, RasterError, read_grid, slope, uncovered
from layers.errors import PlanInputError
from layers.model import PlanRaster, RasterKind
from layers.report import Issue, Severity

#: What the report calls each raster.
NAMES = {
    RasterKind.DEM: "DEM (elevation)",
    RasterKind.FLOOD_DEPTH: "flood depth",
    RasterKind.HAZARD_CLASS: "hazard class",
    RasterKind.SLOPE_PCT: "slope (%)",
    RasterKind.SLOPE_DEG: "slope (degrees)",
}


def read_raster(
    kind: RasterKind, path: Path, plan: BaseGeometry, crs_epsg: int
) -> tuple[tuple[PlanRaster, ...], list[Issue]]:
    """The raster of ``path`` over ``plan`` (the union of its zones, in ``crs_epsg``) as stored
    rasters (a DEM with its slopes), and what the report says of them."""
    name = path.name
    try:
        grid = read_grid(path, crs_epsg, categorical=kind is RasterKind.HAZARD_CLASS)
    except (RasterError, CRSError) as exc:
        raise PlanInputError(str(exc)) from None
    issues = _check_values(kind, grid, name)
    cropped = grid.crop(plan.bounds)
    if not cropped.values.size or uncovered(cropped, plan).area >= plan.area * (1 - 1e-9):
        raise PlanInputError(
            f"{name}: the {NAMES[kind]} raster has no valid pixel over the plan (raster "
            f"{_lonlat_box(grid.bounds, crs_epsg)}, plan {_lonlat_box(plan.bounds, crs_epsg)}, "
            "lon/lat): a raster of another place, or in a wrong CRS"
        )
    source_sha256 = hashlib.sha256(path.read_bytes()).hexdigest()
    stored = PlanRaster.of(kind, cropped, name, source_sha256)
    rasters = [stored]
    if kind is RasterKind.DEM:
        pct, deg = slope(stored.grid())
        rasters += [
            PlanRaster.of(RasterKind.SLOPE_PCT, pct, name, source_sha256),
            PlanRaster.of(RasterKind.SLOPE_DEG, deg, name, source_sha256),
        ]
    issues.append(_summary(kind, cropped, name))
    issues += _outside(grid, cropped, name)
    for raster in rasters[:2]:  # the slope in degrees has the same gaps as in %
        issues += _missing(raster, plan, crs_epsg)
    return tuple(rasters), issues


def _check_values(kind: RasterKind, grid: Grid, name: str) -> list[Issue]:
    valid = grid.values[np.isfinite(grid.values)]
    if kind is RasterKind.HAZARD_CLASS:
        odd = valid[valid != np.round(valid)]
        if odd.size:
            raise PlanInputError(
                f"{name}: a hazard class raster holds whole class numbers; {odd.size} cells do "
                f"not (e.g. {odd[0]:g}): give the class raster, not a hazard index"
            )
    if kind is RasterKind.FLOOD_DEPTH and valid.min() < 0:
        below = int((valid < 0).sum())
        return [
            Issue(
                Severity.WARNING,
                "raster-values",
                f"{below} cells of the flood depth raster are below 0 m (lowest "
                f"{valid.min():.2f} m); a depth is read as it is, so check the file holds "
                "depths (0 m where dry), not levels",
                source=name,
                details={"cells": below, "min_m": float(valid.min())},
            )
        ]
    return []


def _summary(kind: RasterKind, cropped: Grid, name: str) -> Issue:
    rows, cols = cropped.values.shape
    derived = " (slope derived in % and degrees)" if kind is RasterKind.DEM else ""
    return Issue(
        Severity.INFO,
        "raster",
        f"{NAMES[kind]}: {cols} x {rows} cells of {cropped.cell_m:.1f} m in "
        f"EPSG:{cropped.crs_epsg}{derived}",
        source=name,
        details={"kind": kind.value, "cell_m": cropped.cell_m, "width": cols, "height": rows},
    )


def _outside(grid: Grid, cropped: Grid, name: str) -> list[Issue]:
    """The raster's cells with data beyond the plan's extent, which are not stored."""
    total = int(np.isfinite(grid.values).sum())
    kept = int(np.isfinite(cropped.values).sum())
    if kept == total:
        return []
    share = 100.0 * (total - kept) / total
    return [
        Issue(
            Severity.INFO,
            "raster-outside-plan",
            f"{share:.1f} % of the raster's cells with data lie beyond the plan's extent and "
            "were left out",
            source=name,
            area_m2=(total - kept) * grid.cell_area_m2,
            details={"share_pct": share},
        )
    ]


def _missing(raster: PlanRaster, plan: BaseGeometry, crs_epsg: int) -> list[Issue]:
    """The part of the plan the raster leaves without data: checks there need review."""
    part = uncovered(raster.grid(), plan)
    if part.is_empty or part.area < 1.0:
        return []
    share = 100.0 * part.area / plan.area
    point = shapely.point_on_surface(part)
    return [
        Issue(
            Severity.WARNING,
            "raster-nodata",
            f"{share:.1f} % of the plan has no {NAMES[raster.kind]} data (nodata, or beyond the "
            "raster); checks of parcels there will need review",
            source=raster.source,
            location=to_lonlat(point.x, point.y, crs_epsg),
            area_m2=float(part.area),
            details={"kind": raster.kind.value, "share_pct": share},
        )
    ]


def _lonlat_box(bounds: tuple[float, float, float, float], epsg: int) -> str:
    x0, y0 = to_lonlat(bounds[0], bounds[1], epsg)
    x1, y1 = to_lonlat(bounds[2], bounds[3], epsg)
    return f"{x0:.4f},{y0:.4f} to {x1:.4f},{y1:.4f}"
