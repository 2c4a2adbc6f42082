"""The embedded plan store: one GeoPackage file, nothing to install but pip.

Each version's zones and overlays are GeoPackage layers (``zones_v<id>``) written by GDAL, so QGIS
opens the file as it is; the catalogue and rule tables are plain SQLite tables in the same file,
made by the same Alembic migrations as in PostGIS. A version's rasters are GeoTIFF files in the
raster folder beside it (``<name>_rasters/v<id>/<kind>.tif``), which QGIS opens as they are too.
GDAL writes layers on its own connection, so an import first reserves its version row as
``staging`` (invisible to readers), writes the layers and raster files, then writes the rules and
raster rows and turns the row into a draft in one SQLite transaction; on any failure the row, its
layers and its raster folder are removed again, and a staging row left by a crash is removed on
open with them.
"""

from __future__ import annotations

import contextlib
import shutil
import sqlite3
from pathlib import Path
from typing import Any

import geopandas as gpd
import morecantile
import numpy as np
import pyogrio
import shapely
from numpy.typing import NDArray
from sqlalchemy import Connection, create_engine, event, select, update

from gis import tiles
from gis.crs import LONLAT_EPSG, reproject
from layers import schema
from layers.model import OVERLAY_COLUMNS, ZONE_COLUMNS, PlanData, PlanRaster, VersionStatus
from layers.store import (
    FeaturePage,
    LayerRef,
    PlanStore,
    delete_version_rows,
    geojson_feature,
    write_rasters,
    write_rules,
)

STAGING = "staging"


class GeoPackageStore(PlanStore):
    """A plan store in one GeoPackage file (created on first use), with its rasters in
    ``raster_dir`` (by default ``<name>_rasters`` beside the file)."""

    def __init__(
        self, path: str | Path, *, migrate: bool = True, raster_dir: str | Path | None = None
    ) -> None:
        self.path = Path(path)
        self.raster_dir = (
            Path(raster_dir) if raster_dir else self.path.with_name(f"{self.path.stem}_rasters")
        )
        if not self.path.exists():
            _create_geopackage(self.path)
        # Pooled (SQLAlchemy's default for a file): a new SQLite connection and its pragmas for
        # every query would cost more than most of the queries themselves.
        self.engine = create_engine(f"sqlite:///{self.path}")
        event.listen(self.engine, "connect", _sqlite_connect)
        event.listen(self.engine, "begin", _sqlite_begin)
        if migrate:
            self.migrate()
            self._register_catalogue()
            self._remove_staging()

    def _write_version(self, row: dict[str, Any], data: PlanData) -> int:
        with self.engine.begin() as conn:
            version_id = self._insert_version_row(conn, row, STAGING)
        try:
            self._write_layer(schema.zones_table_name(version_id), data.zones, ZONE_COLUMNS)
            self._write_layer(
                schema.overlays_table_name(version_id), data.overlays, OVERLAY_COLUMNS
            )
            self._write_rasters(version_id, data.rasters)
            with self.engine.begin() as conn:
                write_rules(conn, version_id, data.rules)
                write_rasters(conn, version_id, data.rasters, with_data=False)
                conn.execute(
                    update(schema.plan_version)
                    .where(schema.plan_version.c.id == version_id)
                    .values(status=VersionStatus.DRAFT.value)
                )
        except BaseException:
            self._undo(version_id)
            raise
        return version_id

    def _write_layer(self, name: str, frame: gpd.GeoDataFrame, columns: tuple[str, ...]) -> None:
        out = gpd.GeoDataFrame(frame[list(columns)], geometry=frame.geometry.values, crs=frame.crs)
        pyogrio.write_dataframe(
            out,
            self.path,
            layer=name,
            driver="GPKG",
            geometry_type="MultiPolygon",
            promote_to_multi=True,
            layer_options={"FID": "fid", "SPATIAL_INDEX": "YES"},
        )

    def _raster_folder(self, version_id: int) -> Path:
        return self.raster_dir / f"v{version_id}"

    def _write_rasters(self, version_id: int, rasters: tuple[PlanRaster, ...]) -> None:
        """The version's GeoTIFFs in a folder of its own (one left by a crashed import under a
        reused id is replaced)."""
        if not rasters:
            return
        folder = self._raster_folder(version_id)
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True)
        for raster in rasters:
            (folder / f"{raster.kind.value}.tif").write_bytes(raster.data)

    def _raster_data(self, conn: Connection, version_id: int, kind: str) -> bytes | None:
        path = self._raster_folder(version_id) / f"{kind}.tif"
        return path.read_bytes() if path.is_file() else None

    def _read_layer(self, table: str, crs_epsg: int, kind: str) -> gpd.GeoDataFrame:
        columns = ZONE_COLUMNS if kind == "zones" else OVERLAY_COLUMNS
        frame = pyogrio.read_dataframe(self.path, layer=table, fid_as_index=True)
        frame = frame.sort_index().reset_index(drop=True)
        out = gpd.GeoDataFrame(frame[list(columns)], geometry=frame.geometry.values, crs=crs_epsg)
        for column in columns:
            if column != "ceiling_m":
                out[column] = out[column].astype(object).where(out[column].notna(), None)
        if "ceiling_m" in out:
            out["ceiling_m"] = out["ceiling_m"].astype(float)
        return out

    def _bounds(self, ref: LayerRef) -> tuple[float, float, float, float] | None:
        info = pyogrio.read_info(self.path, layer=ref.table)
        if not info["features"]:
            return None
        minx, miny, maxx, maxy = info["total_bounds"]
        return (float(minx), float(miny), float(maxx), float(maxy))

    def _page(
        self, ref: LayerRef, area: shapely.Polygon | None, limit: int, offset: int
    ) -> FeaturePage:
        """The matching fids first (GDAL's R-tree and exact test, no attributes read), then the
        page's features by fid: GDAL returns a spatial filter's matches in R-tree order."""
        _meta, fids, _geoms, _fields = pyogrio.raw.read(
            self.path,
            layer=ref.table,
            mask=area,
            columns=[],
            read_geometry=False,
            return_fids=True,
        )
        page = np.sort(fids)[offset : offset + limit]
        features = self._features(ref, fids=page) if page.size else []
        return FeaturePage(features, int(fids.size))

    def _feature(self, ref: LayerRef, fid: int) -> dict[str, Any] | None:
        found = self._features(ref, where=f"fid = {int(fid)}")
        return found[0] if found else None

    def _features(self, ref: LayerRef, **selection: Any) -> list[dict[str, Any]]:
        meta, fids, wkb, values = pyogrio.raw.read(
            self.path, layer=ref.table, columns=list(ref.columns), return_fids=True, **selection
        )
        lonlat = reproject(shapely.from_wkb(wkb), ref.srid, LONLAT_EPSG)
        return [
            geojson_feature(fid, row, geometry)
            for fid, row, geometry in zip(
                fids, _rows(meta, values), shapely.to_geojson(lonlat), strict=True
            )
        ]

    def _tile(self, ref: LayerRef, tile: morecantile.Tile, area: shapely.Polygon) -> bytes:
        """The features meeting the tile (R-tree and exact test in GDAL), projected to web
        Mercator and encoded by ``gis.tiles``."""
        meta, fids, wkb, values = pyogrio.raw.read(
            self.path, layer=ref.table, mask=area, columns=list(ref.tile_columns), return_fids=True
        )
        if not fids.size:
            return b""
        mercator = reproject(shapely.from_wkb(wkb), ref.srid, tiles.MERCATOR_EPSG)
        bounds = tiles.TMS.xy_bounds(tile)
        return tiles.encode(ref.layer, mercator, _rows(meta, values), fids.tolist(), bounds)

    def _replace_layer(self, table: str, frame: gpd.GeoDataFrame, columns: tuple[str, ...]) -> None:
        """Drop the layer, then write it; a write that fails is removed again."""
        with self.engine.begin() as conn:
            _drop_layer(conn, table)
        try:
            self._write_layer(table, frame, columns)
        except BaseException:
            with self.engine.begin() as conn:
                _drop_layer(conn, table)
            raise

    def _layer_srid(self, table: str) -> int | None:
        with self.reader.connect() as conn:
            srid = conn.exec_driver_sql(
                "SELECT srs_id FROM gpkg_geometry_columns WHERE lower(table_name) = lower(?)",
                (table,),
            ).scalar()
        return None if srid is None else int(srid)

    def _count(self, ref: LayerRef) -> int:
        return int(pyogrio.read_info(self.path, layer=ref.table)["features"])

    def _features_with(self, ref: LayerRef, column: str, values: list[str]) -> list[dict[str, Any]]:
        """GDAL's attribute filter is SQL text: each value is quoted as an SQL string."""
        quoted = ", ".join("'" + value.replace("'", "''") + "'" for value in values)
        found = self._features(ref, where=f'"{column}" IN ({quoted})')
        return sorted(found, key=lambda feature: int(feature["id"]))

    def _undo(self, version_id: int) -> None:
        """Remove an unfinished import: its layers, its raster files and its rows."""
        with self.engine.begin() as conn:
            for name in (
                schema.zones_table_name(version_id),
                schema.overlays_table_name(version_id),
            ):
                _drop_layer(conn, name)
            delete_version_rows(conn, version_id)
            shutil.rmtree(self._raster_folder(version_id), ignore_errors=True)
            with contextlib.suppress(OSError):  # the raster folder stays where others use it
                self.raster_dir.rmdir()

    def _register_catalogue(self) -> None:
        """List the versions table in ``gpkg_contents`` as an attribute table: QGIS then shows
        the catalogue beside the layers, and GDAL lists only registered tables."""
        with self.engine.begin() as conn:
            conn.exec_driver_sql(
                "INSERT OR IGNORE INTO gpkg_contents (table_name, data_type, identifier, "
                "description) VALUES ('plan_version', 'attributes', 'plan_version', "
                "'Simtaru plan versions: status, validity, hashes, quality report')"
            )

    def _remove_staging(self) -> None:
        with self.reader.connect() as conn:
            stale = conn.execute(
                select(schema.plan_version.c.id).where(schema.plan_version.c.status == STAGING)
            ).scalars()
            ids = list(stale)
        for version_id in ids:
            self._undo(version_id)


def _rows(meta: dict[str, Any], values: list[NDArray[Any]]) -> list[dict[str, Any]]:
    """pyogrio's column arrays as one dict a feature."""
    names = list(meta["fields"])
    return [dict(zip(names, row, strict=True)) for row in zip(*values, strict=True)]


def _create_geopackage(path: Path) -> None:
    """An empty, valid GeoPackage made by GDAL (metadata tables, SRS rows, application id)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    seed = gpd.GeoDataFrame({"name": []}, geometry=[], crs=4326)
    pyogrio.write_dataframe(seed, path, layer="_seed", driver="GPKG")
    with sqlite3.connect(path) as conn:
        _drop_layer_sql(conn, "_seed")


def _drop_layer(conn: Connection, name: str) -> None:
    raw = conn.connection.driver_connection
    _drop_layer_sql(raw, name)  # type: ignore[arg-type]


def _drop_layer_sql(conn: sqlite3.Connection, name: str) -> None:
    """Remove a GDAL-written layer with its R-tree and GeoPackage registrations."""
    conn.execute(f'DROP TABLE IF EXISTS "rtree_{name}_geom"')
    conn.execute(f'DROP TABLE IF EXISTS "rtree_{name}_geometry"')
    conn.execute(f'DROP TABLE IF EXISTS "{name}"')
    for meta in ("gpkg_geometry_columns", "gpkg_contents", "gpkg_extensions", "gpkg_ogr_contents"):
        exists = conn.execute(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (meta,)
        ).fetchone()
        if exists:
            conn.execute(f'DELETE FROM "{meta}" WHERE lower(table_name) = lower(?)', (name,))


def _sqlite_connect(dbapi_connection: sqlite3.Connection, _record: Any) -> None:
    """Let SQLAlchemy, not pysqlite, decide when transactions begin (SQLAlchemy's recipe)."""
    dbapi_connection.isolation_level = None
    dbapi_connection.execute("PRAGMA foreign_keys = ON")
    dbapi_connection.execute("PRAGMA busy_timeout = 10000")


def _sqlite_begin(conn: Connection) -> None:
    """Writers take the write lock at once, so two never deadlock upgrading read locks; a
    connection that only reads (``READS``) begins deferred and waits for no one."""
    deferred = conn.get_execution_options().get("simtaru_read")
    conn.exec_driver_sql("BEGIN DEFERRED" if deferred else "BEGIN IMMEDIATE")
