"""The PostGIS plan store: the system of record.

A version's zones and overlays are tables of their own (``zones_v<id>``) with a typed geometry
column in the plan's metric SRID and a GiST index, loaded with COPY; its rasters' GeoTIFFs are
kept in their catalogue rows. Catalogue row, layers, rasters and rules are written in one
transaction (PostgreSQL DDL is transactional), so an import that fails anywhere leaves nothing
behind.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import geopandas as gpd
import morecantile
import numpy as np
import pandas as pd
import psycopg
import shapely
from sqlalchemy import Connection, Index, Row, create_engine, select, text
from sqlalchemy.exc import DBAPIError, OperationalError

from gis.crs import LONLAT_EPSG
from gis.tiles import BUFFER, EXTENT, MERCATOR_EPSG
from layers import schema
from layers.errors import StoreError
from layers.model import OVERLAY_COLUMNS, ZONE_COLUMNS, PlanData, VersionStatus
from layers.store import (
    JSON_COLUMNS,
    FeaturePage,
    LayerRef,
    PlanStore,
    geojson_feature,
    rule_rows,
    write_rasters,
)

#: Seconds a connection attempt to PostgreSQL may take.
CONNECT_TIMEOUT_S = 5


class PostgisStore(PlanStore):
    """A plan store in a PostgreSQL database with PostGIS (URL ``postgresql+psycopg://...``)."""

    db_errors = (DBAPIError, psycopg.Error)

    def __init__(self, url: str, *, migrate: bool = True) -> None:
        self.url = url
        # A dead server must fail a request in seconds, not hang it: a connection attempt gives
        # up after CONNECT_TIMEOUT_S, and the pool checks a connection before lending it.
        self.engine = create_engine(
            url, pool_pre_ping=True, connect_args={"connect_timeout": CONNECT_TIMEOUT_S}
        )
        if migrate:
            try:
                self.migrate()
            except OperationalError as exc:
                self.engine.dispose()
                raise StoreError(f"cannot reach the PostGIS store: {exc.orig}") from None

    def _write_version(self, row: dict[str, Any], data: PlanData) -> int:
        with self.engine.begin() as conn:
            version_id = self._insert_version_row(conn, row, VersionStatus.DRAFT.value)
            write_layer(conn, schema.zones_table_name(version_id), data.zones, ZONE_COLUMNS)
            write_layer(
                conn, schema.overlays_table_name(version_id), data.overlays, OVERLAY_COLUMNS
            )
            for table, rows in rule_rows(version_id, data.rules):
                names = list(rows[0])
                _copy(conn, table.name, names, ([row[n] for n in names] for row in rows))
            write_rasters(conn, version_id, data.rasters, with_data=True)
        return version_id

    def _raster_data(self, conn: Connection, version_id: int, kind: str) -> bytes | None:
        """The GeoTIFF from the catalogue row: every replica reads the same bytes, in the
        same transaction as the row that names them (docs/rasters.md)."""
        pr = schema.plan_raster.c
        data = conn.execute(
            select(pr.data).where(pr.version_id == version_id, pr.kind == kind)
        ).scalar_one_or_none()
        return None if data is None else bytes(data)

    def _read_layer(self, table: str, crs_epsg: int, kind: str) -> gpd.GeoDataFrame:
        columns = ZONE_COLUMNS if kind == "zones" else OVERLAY_COLUMNS
        select_list = _select_list(columns)
        with self.engine.connect() as conn:
            rows = conn.exec_driver_sql(
                f'SELECT {select_list}, ST_AsBinary(geom) FROM "{table}" ORDER BY fid'
            ).fetchall()
        frame = pd.DataFrame([r[:-1] for r in rows], columns=list(columns))
        if "ceiling_m" in frame:
            frame["ceiling_m"] = pd.to_numeric(frame["ceiling_m"], errors="coerce").astype(float)
        geoms = shapely.from_wkb(np.array([r[-1] for r in rows], dtype=object))
        return gpd.GeoDataFrame(frame, geometry=geoms, crs=crs_epsg)

    def _bounds(self, ref: LayerRef) -> tuple[float, float, float, float] | None:
        with self.engine.connect() as conn:
            row = conn.exec_driver_sql(
                "SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e) "
                f'FROM (SELECT ST_Extent(geom) AS e FROM "{ref.table}") AS extent'
            ).one()
        if row[0] is None:
            return None
        return (float(row[0]), float(row[1]), float(row[2]), float(row[3]))

    def _page(
        self, ref: LayerRef, area: shapely.Polygon | None, limit: int, offset: int
    ) -> FeaturePage:
        where, params = _meets(ref, area)
        with self.engine.connect() as conn:
            matched = conn.execute(
                text(f'SELECT count(*) FROM "{ref.table}"{where}'), params
            ).scalar_one()
            rows = conn.execute(
                text(f"{_features_sql(ref)}{where} ORDER BY fid LIMIT :limit OFFSET :offset"),
                {**params, "limit": limit, "offset": offset},
            ).fetchall()
        return FeaturePage([_feature_of(ref, row) for row in rows], int(matched))

    def _feature(self, ref: LayerRef, fid: int) -> dict[str, Any] | None:
        with self.engine.connect() as conn:
            row = conn.execute(text(f"{_features_sql(ref)} WHERE fid = :fid"), {"fid": fid}).first()
        return None if row is None else _feature_of(ref, row)

    def _tile(self, ref: LayerRef, tile: morecantile.Tile, area: shapely.Polygon) -> bytes:
        """``ST_AsMVT`` over the features that meet the tile, found through the GiST index
        with the tile taken into the layer's SRID, then projected and clipped by PostGIS."""
        where, params = _meets(ref, area)
        query = (
            f"SELECT ST_AsMVT(t, :layer, {EXTENT}, 'geom', 'fid') FROM ("
            f"SELECT fid, {_select_list(ref.tile_columns)}, "
            f"ST_AsMVTGeom(ST_Transform(geom, {MERCATOR_EPSG}), ST_TileEnvelope(:z, :x, :y), "
            f"{EXTENT}, {BUFFER}, true) AS geom"
            f' FROM "{ref.table}"{where}) AS t WHERE geom IS NOT NULL'
        )
        with self.engine.connect() as conn:
            mvt = conn.execute(
                text(query), {**params, "layer": ref.layer, "z": tile.z, "x": tile.x, "y": tile.y}
            ).scalar_one()
        return bytes(mvt or b"")

    def _replace_layer(self, table: str, frame: gpd.GeoDataFrame, columns: tuple[str, ...]) -> None:
        """Drop and write the table in one transaction: readers see the old rows or the new."""
        with self.engine.begin() as conn:
            conn.exec_driver_sql(f'DROP TABLE IF EXISTS "{table}"')
            write_layer(conn, table, frame, columns)

    def _layer_srid(self, table: str) -> int | None:
        with self.engine.connect() as conn:
            srid = conn.execute(
                text(
                    "SELECT srid FROM geometry_columns WHERE f_table_schema = current_schema() "
                    "AND f_table_name = :table AND f_geometry_column = 'geom'"
                ),
                {"table": table},
            ).scalar()
        return None if srid is None else int(srid)

    def _count(self, ref: LayerRef) -> int:
        with self.engine.connect() as conn:
            return int(conn.exec_driver_sql(f'SELECT count(*) FROM "{ref.table}"').scalar_one())

    def _features_with(self, ref: LayerRef, column: str, values: list[str]) -> list[dict[str, Any]]:
        with self.engine.connect() as conn:
            rows = conn.execute(
                text(f'{_features_sql(ref)} WHERE "{column}" = ANY(:values) ORDER BY fid'),
                {"values": values},
            ).fetchall()
        return [_feature_of(ref, row) for row in rows]


def _select_list(columns: Iterable[str]) -> str:
    """Columns as PostgreSQL returns them to Python: JSON columns as their exact text."""
    return ", ".join(f'"{c}"::text' if c in JSON_COLUMNS else f'"{c}"' for c in columns)


def _meets(ref: LayerRef, area: shapely.Polygon | None) -> tuple[str, dict[str, Any]]:
    """The WHERE clause for features meeting ``area`` (a literal in the layer's SRID, so the
    GiST index is used), and its parameters; nothing when ``area`` is None."""
    if area is None:
        return "", {}
    return (
        f" WHERE ST_Intersects(geom, ST_GeomFromWKB(:area, {int(ref.srid)}))",
        {"area": shapely.to_wkb(area)},
    )


def _features_sql(ref: LayerRef) -> str:
    """A layer's rows with their geometry as lon/lat GeoJSON, written by PostGIS."""
    return (
        f"SELECT fid, {_select_list(ref.columns)}, "
        f'ST_AsGeoJSON(ST_Transform(geom, {LONLAT_EPSG})) FROM "{ref.table}"'
    )


def _feature_of(ref: LayerRef, row: Row[Any]) -> dict[str, Any]:
    return geojson_feature(row[0], dict(zip(ref.columns, row[1:-1], strict=True)), row[-1])


def _copy(conn: Connection, table: str, columns: list[str], rows: Iterable[Sequence[Any]]) -> None:
    """COPY rows into a table on the transaction's own connection (psycopg escapes the text)."""
    cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
    names = ", ".join(f'"{c}"' for c in columns)
    with cursor.copy(f'COPY "{table}" ({names}) FROM STDIN') as copy:
        for row in rows:
            copy.write_row(row)


def write_layer(
    conn: Connection, name: str, frame: gpd.GeoDataFrame, columns: tuple[str, ...]
) -> None:
    """Create the layer table, COPY the rows in, then build the GiST index and statistics."""
    srid = int(frame.crs.to_epsg())
    table = schema.layer_table(name, srid, columns)
    table.create(conn)
    ewkb = shapely.to_wkb(
        shapely.set_srid(frame.geometry.values, srid), hex=True, include_srid=True
    )
    values = frame[list(columns)].astype(object).where(frame[list(columns)].notna(), None)
    records = zip(values.itertuples(index=False), ewkb, strict=True)
    _copy(conn, name, [*columns, "geom"], ((*record, geom) for record, geom in records))
    Index(f"{name}_geom_idx", table.c.geom, postgresql_using="gist").create(conn)
    conn.execute(text(f'ANALYZE "{name}"'))
