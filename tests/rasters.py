"""GeoTIFFs for tests, written with rasterio over the small grid plan (tests/plans.py) or placed
from the real rasters of ../shared/data, and the raster rules that read them."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import rasterio
from rasterio.transform import from_origin

from layers.importer import RasterSource, read_rasters
from layers.model import PlanData
from layers.quality import check_raster_rules
from layers.report import QualityReport
from layers.rules import read_raster_rules
from tests.plans import ORIGIN, grid_plan

#: The grid plan's upper-left corner (3 x 3 blocks of 100 m from ORIGIN, EPSG:32650).
LEFT, TOP = ORIGIN[0], ORIGIN[1] + 300.0
UTM = 32650


def write_tif(
    path: Path,
    values: np.ndarray,
    *,
    crs: int | None = UTM,
    x0: float = LEFT,
    y0: float = TOP,
    cell: float = 10.0,
    nodata: float | None = None,
    dtype: str = "float32",
) -> Path:
    """A one-band GeoTIFF whose upper-left corner is ``x0``, ``y0`` (in ``crs``)."""
    values = np.asarray(values, dtype=dtype)
    with rasterio.open(
        path,
        "w",
        driver="GTiff",
        height=values.shape[0],
        width=values.shape[1],
        count=1,
        dtype=dtype,
        crs=rasterio.crs.CRS.from_epsg(crs) if crs else None,
        transform=from_origin(x0, y0, cell, cell),
        nodata=nodata,
    ) as dst:
        dst.write(values, 1)
    return path


def placed(source: Path, path: Path, *, x0: float = LEFT, y0: float = TOP) -> Path:
    """A real raster moved over the grid plan: its values, cell size (taken as metres) and
    nodata as they are, its upper-left corner at ``x0``, ``y0`` in EPSG:32650."""
    with rasterio.open(source) as src:
        values = src.read(1)
        cell = abs(src.transform.a)
        nodata = src.nodata
    if cell < 1:  # degrees: about 111 km a degree near the equator
        cell *= 111_320.0
    return write_tif(path, values, x0=x0, y0=y0, cell=cell, nodata=nodata, dtype=values.dtype.name)


def flood_columns(path: Path, *, nodata_rows: int = 0) -> Path:
    """A flood depth raster of 10 m cells over the grid plan (and 20 m around it): each cell's
    depth is 0.1 m times its column counted from the plan's west edge (the margin's columns are
    0); the first ``nodata_rows`` rows are nodata."""
    values = np.tile(np.clip(np.arange(-2, 32) * 0.1, 0, None), (34, 1))
    values[:nodata_rows] = -9999
    return write_tif(path, values, x0=LEFT - 20, y0=TOP + 20, nodata=-9999)


def dem_plane(path: Path, rise: float = 0.1) -> Path:
    """A DEM of 10 m cells over the grid plan (and 20 m around it) rising ``rise`` m a metre
    eastwards: a slope of ``100 * rise`` % everywhere."""
    xs = np.arange(34) * 10.0
    return write_tif(path, np.tile(50.0 + rise * xs, (34, 1)), x0=LEFT - 20, y0=TOP + 20)


def hazard_halves(path: Path) -> Path:
    """A hazard class raster: class 1 west of the plan's middle meridian, class 3 east of it."""
    values = np.where(np.arange(34) < 17, 1, 3)
    return write_tif(path, np.tile(values, (34, 1)), x0=LEFT - 20, y0=TOP + 20, dtype="uint8")


def rules_csv(path: Path, rows: list[str]) -> Path:
    """A raster rules table (canonical columns) from CSV lines after its header."""
    header = "raster,maximum,statistic,classes,effect,nodata_max_pct,subzone_code,text,legal_basis"
    path.write_text("\n".join([header, *rows]) + "\n", encoding="utf-8")
    return path


def with_rasters(
    folder: Path, rasters: dict[str, Path], rules: list[str], data: PlanData | None = None
) -> PlanData:
    """The grid plan (or ``data``) with these rasters (kind -> file) and raster rules, read as
    an import reads them."""
    data = data or grid_plan()
    report = QualityReport(list(data.report.issues))
    sources = [
        RasterSource.parse(f"{kind}={path.name}", path.parent) for kind, path in rasters.items()
    ]
    found = read_rasters(sources, data.zones, report)
    table = read_raster_rules(rules_csv(folder / "raster_rules.csv", rules)) if rules else None
    merged = data.rules.merge(table) if table else data.rules
    report.extend(check_raster_rules(merged, found, source="raster_rules.csv"))
    return dataclasses.replace(data, rules=merged, rasters=found, report=report)
