"""A plan version as one GeoPackage an analyst or QGIS opens as it is: its zones and overlays in
the plan's metric CRS, its rule tables as attribute tables, its rasters as raster tables (float32
gridded coverage, the stored values exactly, NaN for nodata), and a row saying what it is."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import pandas as pd
import pyogrio
import rasterio
from rasterio.io import MemoryFile

from layers.errors import PlanInputError
from layers.model import RULE_TABLES, plain
from layers.store import PlanStore

#: Rule tables written, by the attribute of ``RuleSet`` they come from.
EXPORTED_TABLES = (*RULE_TABLES, "raster_rules")


def export_version(store: PlanStore, version_id: int, target: str | Path) -> list[str]:
    """Write version ``version_id`` to the new GeoPackage ``target``; the layers written."""
    target = Path(target)
    if target.exists():
        raise PlanInputError(f"{target}: exists already; name a new file")
    version = store.version(version_id)
    plan = store.plan(version.plan_id)
    layers = []
    for name, frame in (
        ("zones", store.zones(version_id)),
        ("overlays", store.overlays(version_id)),
    ):
        if len(frame):
            _write(frame, target, name, spatial=True)
            layers.append(name)
    rules = store.rules(version_id)
    for name in EXPORTED_TABLES:
        rows = [plain(item) for item in getattr(rules, name)]
        if rows:
            table = pd.DataFrame(rows)
            for column in table.columns:
                if table[column].map(lambda v: isinstance(v, list)).any():
                    table[column] = table[column].map(", ".join)
            _write(table, target, f"rule_{name}", spatial=False)
            layers.append(f"rule_{name}")
    for raster in store.rasters(version_id):
        name = f"raster_{raster.kind.value}"
        _write_raster(raster.data, target, name)
        layers.append(name)
    about = {
        "plan_id": plan.id,
        "plan_name": plan.name,
        "legal_basis": plan.legal_basis,
        "version_id": version.id,
        "label": version.label,
        "status": version.status.value,
        "valid_from": str(version.valid_from or ""),
        "valid_to": str(version.valid_to or ""),
        "crs_epsg": version.crs_epsg,
        "content_hash": version.content_hash,
        "ruleset_hash": version.ruleset_hash,
        "quality_errors": len(version.report.errors),
        "quality_warnings": len(version.report.warnings),
        "region_code": plan.region_code,
        "region_name": store.region(plan.region_code).name,
    }
    _write(pd.DataFrame([about]), target, "plan_version", spatial=False)
    layers.append("plan_version")
    return layers


def _write(frame: pd.DataFrame, target: Path, layer: str, *, spatial: bool) -> None:
    if spatial:
        pyogrio.write_dataframe(
            gpd.GeoDataFrame(frame), target, layer=layer, driver="GPKG", promote_to_multi=True
        )
    else:
        pyogrio.write_dataframe(frame, target, layer=layer, driver="GPKG")


def _write_raster(geotiff: bytes, target: Path, table: str) -> None:
    """A stored GeoTIFF (float32, NaN for nodata) as a raster table of the GeoPackage, beside
    its vector layers, with the same cells and values."""
    with MemoryFile(geotiff) as memory, memory.open() as source:
        profile = {
            "driver": "GPKG",
            "width": source.width,
            "height": source.height,
            "count": 1,
            "dtype": "float32",
            "crs": source.crs,
            "transform": source.transform,
        }
        options = {"RASTER_TABLE": table, "APPEND_SUBDATASET": "YES", "TILE_FORMAT": "TIFF"}
        with rasterio.open(target, "w", **profile, **options) as out:
            out.write(source.read(1), 1)
