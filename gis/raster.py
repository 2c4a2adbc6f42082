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
from typing import Any

import numpy as np
import rasterio
import shapely
from affine import Affine
from numpy.typing import NDArray
from rasterio.crs import CRS
from rasterio.errors import RasterioIOError
from rasterio.features import shapes
from rasterio.io import DatasetReader, MemoryFile
from rasterio.warp import Resampling, calculate_default_transform, reproject
from shapely.geometry import shape
from shapely.geometry.base import BaseGeometry

from gis.errors import CRSError, SimtaruError


class RasterError(SimtaruError):
    """A raster that cannot be used: unreadable, without a CRS, without any valid pixel."""

    code = "invalid-raster"
    title = "Invalid raster"


@dataclass(frozen=True)
class Grid:
    """One band in memory, north up: values as floats with NaN where the source had nodata
    (float64 as read from a source; float32, as stored, for a plan's grid an engine holds),
    the affine transform of the upper-left corner, and the EPSG code of its (metric) CRS."""

    values: NDArray[np.floating[Any]]
    transform: Affine
    crs_epsg: int

    @property
    def cell_area_m2(self) -> float:
        return abs(self.transform.a * self.transform.e - self.transform.b * self.transform.d)

    @property
    def cell_m(self) -> float:
        """The side of a (square) cell in metres; the mean side where they differ."""
        return float(np.sqrt(self.cell_area_m2))

    @property
    def bounds(self) -> tuple[float, float, float, float]:
        rows, cols = self.values.shape
        return _edges(self.transform, cols, rows)

    def crop(self, bounds: tuple[float, float, float, float], margin_cells: int = 2) -> Grid:
        """The part of the grid over ``bounds`` (its CRS) and ``margin_cells`` around it, so
        that a slope at the edge of ``bounds`` still has its neighbours. The grid itself when
        it lies within; an empty grid when it misses ``bounds``."""
        rows, cols = self.values.shape
        inverse = ~self.transform
        corners = [inverse @ (x, y) for x in bounds[::2] for y in bounds[1::2]]
        cs, rs = zip(*corners, strict=True)
        c0 = max(math.floor(min(cs)) - margin_cells, 0)
        c1 = min(math.ceil(max(cs)) + margin_cells, cols)
        r0 = max(math.floor(min(rs)) - margin_cells, 0)
        r1 = min(math.ceil(max(rs)) + margin_cells, rows)
        if (c0, r0, c1, r1) == (0, 0, cols, rows):
            return self
        c1, r1 = max(c1, c0), max(r1, r0)
        window = self.values[r0:r1, c0:c1]
        return Grid(window, self.transform @ Affine.translation(c0, r0), self.crs_epsg)


@dataclass(frozen=True)
class Share:
    """The share of a polygon's area over valid pixels holding one of some values (a hazard
    class), with ``covered`` and ``nodata`` as in :class:`Stats`; None without a valid pixel."""

    share: float | None
    covered: float
    nodata: float
    pixels: int


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


def read_grid(
    path: str | Path, target_epsg: int, *, band: int = 1, categorical: bool = False
) -> Grid:
    """A GeoTIFF (or Cloud-Optimised GeoTIFF) band in ``target_epsg``, north up, reprojected
    when it comes in another CRS or rotated: bilinear for measurements, nearest for
    ``categorical`` bands (a hazard class is 1, 2 or 3, never 2.4). Refused: a file rasterio
    cannot read, one without a CRS, a band with no valid pixel."""
    name = Path(path).name
    try:
        with rasterio.open(path) as src:
            grid = _read(src, name, target_epsg, band, categorical)
    except RasterioIOError as exc:
        raise RasterError(f"{name}: not a raster rasterio can read ({exc})") from None
    if not np.isfinite(grid.values).any():
        raise RasterError(f"{name}: band {band} has no valid pixel")
    return grid


def encode_grid(grid: Grid) -> bytes:
    """The grid as a GeoTIFF: float32, NaN for nodata, deflate-compressed in 256-cell tiles.
    The form a plan's raster is stored in; the same grid always gives the same bytes."""
    rows, cols = grid.values.shape
    with MemoryFile() as memory:
        with memory.open(
            driver="GTiff",
            width=cols,
            height=rows,
            count=1,
            dtype="float32",
            crs=CRS.from_epsg(grid.crs_epsg),
            transform=grid.transform,
            nodata=np.nan,
            compress="deflate",
            predictor=3,
            tiled=True,
            blockxsize=256,
            blockysize=256,
        ) as dst:
            dst.write(grid.values.astype(np.float32), 1)
        return bytes(memory.read())


def decode_grid(data: bytes, name: str) -> Grid:
    """A grid from the GeoTIFF bytes ``encode_grid`` made (``name`` says which in messages),
    float32 as stored: half the memory of float64 in every worker, and the same numbers, since
    statistics widen the cells they read to float64 first."""
    try:
        with MemoryFile(data) as memory, memory.open() as src:
            epsg = src.crs.to_epsg() if src.crs is not None else None
            if epsg is None:
                raise CRSError(f"{name}: the stored raster has no EPSG code")
            return _read(src, name, epsg, 1, False, np.float32)
    except RasterioIOError as exc:
        raise RasterError(f"{name}: the stored raster cannot be read ({exc})") from None


def _read(
    src: DatasetReader,
    name: str,
    target_epsg: int,
    band: int,
    categorical: bool,
    dtype: type[np.floating[Any]] = np.float64,
) -> Grid:
    if src.crs is None:
        raise CRSError(f"{name}: the raster has no CRS; give it one (GDAL)")
    if not 1 <= band <= src.count:
        raise RasterError(f"{name}: no band {band} (it has {src.count})")
    data = src.read(band, masked=True).astype(dtype).filled(np.nan)
    north_up = src.transform.b == 0 and src.transform.d == 0 and src.transform.e < 0
    if src.crs == CRS.from_epsg(target_epsg) and north_up:
        return Grid(data, src.transform, target_epsg)
    resampling = Resampling.nearest if categorical else Resampling.bilinear
    return _reproject(data, src.transform, src.crs, src.width, src.height, target_epsg, resampling)


def _reproject(
    data: NDArray[np.float64],
    transform: Affine,
    crs: CRS,
    width: int,
    height: int,
    target_epsg: int,
    resampling: Resampling,
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
        resampling=resampling,
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
    cover = _cover(grid, polygon)
    if not cover.pixels:
        return Stats(None, None, None, q, 0.0, cover.nodata, 0)
    v, w = cover.values, cover.weights
    return Stats(
        mean=float(np.average(v, weights=w)),
        max=float(v.max()),
        percentile=_weighted_percentile(v, w, q),
        q=q,
        covered=cover.covered,
        nodata=cover.nodata,
        pixels=cover.pixels,
    )


def class_share(grid: Grid, polygon: BaseGeometry, classes: frozenset[float]) -> Share:
    """The share of ``polygon``'s valid area (pixels weighted by the area covered) whose pixels
    hold one of ``classes``: of the part with data, never of the whole, so that nodata is not
    read as "not in the class"."""
    cover = _cover(grid, polygon)
    if not cover.pixels:
        return Share(None, 0.0, cover.nodata, 0)
    inside = np.isin(cover.values, np.fromiter(classes, np.float64, len(classes)))
    share = float(cover.weights[inside].sum() / cover.weights.sum())
    return Share(share, cover.covered, cover.nodata, cover.pixels)


def uncovered(grid: Grid, polygon: BaseGeometry) -> BaseGeometry:
    """The part of ``polygon`` without a valid pixel: beyond the grid, or over nodata (nodata
    pixels traced as polygons, so its area is exact, not counted by pixel centre)."""
    invalid = ~np.isfinite(grid.values)
    holes = [
        shape(geometry)
        for geometry, _value in shapes(
            invalid.astype(np.uint8), mask=invalid, transform=grid.transform
        )
    ]
    beyond = polygon.difference(shapely.box(*grid.bounds))
    return shapely.union(beyond, polygon.intersection(shapely.union_all(holes)))


@dataclass(frozen=True)
class _Cover:
    """The valid pixels under a polygon: their values and the area (m2) of each it covers;
    the polygon's shares over valid and over nodata pixels."""

    values: NDArray[np.float64]
    weights: NDArray[np.float64]
    covered: float
    nodata: float

    @property
    def pixels(self) -> int:
        return len(self.values)


def _cover(grid: Grid, polygon: BaseGeometry) -> _Cover:
    area = float(polygon.area)
    if area <= 0:
        raise RasterError("a polygon without area has no raster statistics")
    rows, cols, boxes = _pixels_under(grid, polygon)
    # Only the cells on the polygon's edge need an intersection; a cell wholly inside counts
    # whole. Preparing the polygon (a parcel of one check) makes the test a few microseconds.
    shapely.prepare(polygon)
    edge = ~shapely.contains_properly(polygon, boxes)
    weights = np.full(len(boxes), grid.cell_area_m2)
    weights[edge] = shapely.area(shapely.intersection(boxes[edge], polygon))
    values = grid.values[rows, cols].astype(np.float64)
    finite = np.isfinite(values)
    valid = finite & (weights > 0)
    nodata = float(weights[~finite].sum()) / area
    w = weights[valid]
    return _Cover(values[valid], w, float(w.sum()) / area, nodata)


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
    grid_rows, grid_cols = np.meshgrid(np.arange(r0, r1), np.arange(c0, c1), indexing="ij")
    rr, cc = grid_rows.ravel(), grid_cols.ravel()
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
