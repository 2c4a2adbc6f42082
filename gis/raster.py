"""Rasters over parcels: a grid in a metric CRS, slope from a DEM, and coverage-weighted
statistics over a polygon.

A pixel counts by the share of it the parcel covers (the exact area of pixel ∩ parcel), not by
whether its centre falls inside: a 500 m2 lot on 25 m cells touches a handful of pixels, and
centre sampling would swing its figures by whole pixels. Nodata stays nodata: its pixels are left
out of every statistic and their share of the parcel is reported, never read as zero.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import rasterio
import shapely
from affine import Affine
from numpy.typing import NDArray
from rasterio.crs import CRS
from rasterio.errors import RasterioIOError
from rasterio.warp import Resampling, calculate_default_transform, reproject
from shapely.geometry.base import BaseGeometry

from gis.errors import CRSError, SimtaruError


class RasterError(SimtaruError):
    """A raster that cannot be used: unreadable, without a CRS, without any valid pixel."""

    code = "invalid-raster"
    title = "Invalid raster"


@dataclass(frozen=True)
class Grid:
    """One band in memory, north up: values as float64 with NaN where the source had nodata,
    the affine transform of the upper-left corner, and the EPSG code of its (metric) CRS."""

    values: NDArray[np.float64]
    transform: Affine
    crs_epsg: int

    @property
    def cell_area_m2(self) -> float:
        return abs(self.transform.a * self.transform.e - self.transform.b * self.transform.d)

    @property
    def bounds(self) -> tuple[float, float, float, float]:
        rows, cols = self.values.shape
        return _edges(self.transform, cols, rows)


@dataclass(frozen=True)
class Stats:
    """Coverage-weighted statistics of a grid over a polygon. ``covered`` is the share of the
    polygon's area over valid pixels; ``nodata`` the share over nodata pixels; the rest lies
    outside the grid. Values are None when no valid pixel is under the polygon."""

    mean: float | None
    max: float | None
    percentile: float | None
    q: float
    covered: float
    nodata: float
    pixels: int


def read_grid(path: str | Path, target_epsg: int, *, band: int = 1) -> Grid:
    """A GeoTIFF (or Cloud-Optimised GeoTIFF) band in ``target_epsg``, north up, reprojected
    (bilinear) when it comes in another CRS or rotated. Refused: a file rasterio cannot read,
    one without a CRS, a band with no valid pixel."""
    try:
        with rasterio.open(path) as src:
            if src.crs is None:
                raise CRSError(f"{Path(path).name}: the raster has no CRS; give it one (GDAL)")
            if not 1 <= band <= src.count:
                raise RasterError(f"{Path(path).name}: no band {band} (it has {src.count})")
            data = src.read(band, masked=True).astype(np.float64).filled(np.nan)
            north_up = src.transform.b == 0 and src.transform.d == 0
            if src.crs == CRS.from_epsg(target_epsg) and north_up:
                grid = Grid(data, src.transform, target_epsg)
            else:
                grid = _reproject(data, src.transform, src.crs, src.width, src.height, target_epsg)
    except RasterioIOError as exc:
        raise RasterError(f"{Path(path).name}: not a raster rasterio can read ({exc})") from None
    if not np.isfinite(grid.values).any():
        raise RasterError(f"{Path(path).name}: band {band} has no valid pixel")
    return grid


def _reproject(
    data: NDArray[np.float64],
    transform: Affine,
    crs: CRS,
    width: int,
    height: int,
    target_epsg: int,
) -> Grid:
    target = CRS.from_epsg(target_epsg)
    out_transform, cols, rows = calculate_default_transform(
        crs, target, width, height, *_edges(transform, width, height)
    )
    out = np.full((rows, cols), np.nan, dtype=np.float64)
    reproject(
        data,
        out,
        src_transform=transform,
        src_crs=crs,
        src_nodata=np.nan,
        dst_transform=out_transform,
        dst_crs=target,
        dst_nodata=np.nan,
        resampling=Resampling.bilinear,
    )
    return Grid(out, out_transform, target_epsg)


def _edges(transform: Affine, width: int, height: int) -> tuple[float, float, float, float]:
    (x0, y0), (x1, y1) = transform @ (0, 0), transform @ (width, height)
    return min(x0, x1), min(y0, y1), max(x0, x1), max(y0, y1)


def slope(dem: Grid) -> tuple[Grid, Grid]:
    """Slope of a DEM in a metric CRS: (percent, degrees), by central differences (Horn's
    method would smooth more; central differences keep a lot's own cells' relief). Cells next
    to nodata, and the grid's border, are nodata."""
    x_size, y_size = abs(dem.transform.a), abs(dem.transform.e)
    z = dem.values
    dz_dy, dz_dx = np.gradient(z, y_size, x_size)  # rows run south: the sign drops in hypot
    rise = np.hypot(dz_dx, dz_dy)
    rise[[0, -1], :] = np.nan
    rise[:, [0, -1]] = np.nan
    pct = 100.0 * rise
    deg = np.degrees(np.arctan(rise))
    return Grid(pct, dem.transform, dem.crs_epsg), Grid(deg, dem.transform, dem.crs_epsg)


def coverage_stats(grid: Grid, polygon: BaseGeometry, q: float = 95.0) -> Stats:
    """Statistics of ``grid`` over ``polygon`` (in the grid's CRS), each pixel weighted by the
    area of it the polygon covers; ``q`` names the percentile (weighted, by covered area)."""
    area = float(polygon.area)
    if area <= 0:
        raise RasterError("a polygon without area has no raster statistics")
    rows, cols, boxes = _pixels_under(grid, polygon)
    if not len(rows):
        return Stats(None, None, None, q, 0.0, 0.0, 0)
    weights = shapely.area(shapely.intersection(boxes, polygon))
    values = grid.values[rows, cols]
    valid = np.isfinite(values) & (weights > 0)
    nodata = float(weights[~np.isfinite(values)].sum()) / area
    if not valid.any():
        return Stats(None, None, None, q, 0.0, nodata, 0)
    w, v = weights[valid], values[valid]
    return Stats(
        mean=float(np.average(v, weights=w)),
        max=float(v.max()),
        percentile=_weighted_percentile(v, w, q),
        q=q,
        covered=float(w.sum()) / area,
        nodata=nodata,
        pixels=int(valid.sum()),
    )


def _pixels_under(
    grid: Grid, polygon: BaseGeometry
) -> tuple[NDArray[np.intp], NDArray[np.intp], NDArray[np.object_]]:
    """Rows, columns and boxes of the pixels whose extent meets the polygon's bounds."""
    inverse = ~grid.transform
    minx, miny, maxx, maxy = polygon.bounds
    corners = [inverse @ (x, y) for x in (minx, maxx) for y in (miny, maxy)]
    cs, rs = zip(*corners, strict=True)
    n_rows, n_cols = grid.values.shape
    c0, c1 = max(math.floor(min(cs)), 0), min(math.ceil(max(cs)), n_cols)
    r0, r1 = max(math.floor(min(rs)), 0), min(math.ceil(max(rs)), n_rows)
    if c0 >= c1 or r0 >= r1:
        empty = np.empty(0, np.intp)
        return empty, empty, np.empty(0, dtype=object)
    rr, cc = np.meshgrid(np.arange(r0, r1), np.arange(c0, c1), indexing="ij")
    rr, cc = rr.ravel(), cc.ravel()
    t = grid.transform
    x0, y0 = t.c + cc * t.a, t.f + rr * t.e
    x1, y1 = x0 + t.a, y0 + t.e
    boxes = shapely.box(
        np.minimum(x0, x1), np.minimum(y0, y1), np.maximum(x0, x1), np.maximum(y0, y1)
    )
    return rr.astype(np.intp), cc.astype(np.intp), boxes


def _weighted_percentile(
    values: NDArray[np.float64], weights: NDArray[np.float64], q: float
) -> float:
    """The value below which ``q`` % of the covered area lies (the lower value at a tie)."""
    order = np.argsort(values, kind="stable")
    cumulative = np.cumsum(weights[order])
    cut = q / 100.0 * cumulative[-1]
    index = int(np.searchsorted(cumulative, cut - 1e-12 * cumulative[-1], side="left"))
    return float(values[order][min(index, len(values) - 1)])
