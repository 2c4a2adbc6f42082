"""The plan store: regions, plans, versions, their layers and rules, and activation.

One contract, two back ends: PostGIS (the system of record) and an embedded GeoPackage file that
needs nothing but pip. The catalogue and rule tables are the same SQL on both (``layers.schema``,
made by Alembic); only where a version's zones and overlays are written differs, which each back
end supplies. Every write is one transaction: a failed import or activation leaves the store as it
was.
"""

from __future__ import annotations

import hashlib
import json
from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields
from datetime import UTC, date, datetime
from functools import cached_property
from pathlib import Path
from typing import Any

import geopandas as gpd
import morecantile
import numpy as np
import orjson
import shapely
from alembic import command, context
from alembic.config import Config
from sqlalchemy import (
    Connection,
    Engine,
    MetaData,
    Row,
    Table,
    delete,
    insert,
    select,
    text,
    update,
)
from sqlalchemy.exc import DBAPIError

from gis.crs import LONLAT_EPSG, reproject, transformer
from gis.tiles import TMS, tile_at
from layers import schema
from layers.errors import ActivationError, NotFoundError, PlanInputError, StoreError
from layers.model import (
    OVERLAY_COLUMNS,
    ZONE_COLUMNS,
    Activity,
    CrosswalkEntry,
    IntensityRule,
    ItbxCell,
    ItbxClass,
    LegendEntry,
    Plan,
    PlanData,
    PlanKind,
    PlanRaster,
    PlanVersion,
    RasterInfo,
    RasterKind,
    RasterRule,
    Region,
    RuleSet,
    SpecialProvision,
    VersionStatus,
    content_hash,
    plain,
)
from layers.parcels import PARCEL_COLUMNS, ParcelLayer, parcels_table_name
from layers.report import QualityReport

MIGRATIONS = Path(__file__).resolve().parent / "migrations"

#: The execution option of a connection that only reads: the embedded store begins its
#: transactions deferred then (writers take SQLite's write lock at once), so readers in many
#: threads and worker processes never queue behind one another.
READS = {"simtaru_read": True}

#: Statuses a reader may see; ``staging`` rows belong to an import still being written.
VISIBLE = (VersionStatus.DRAFT, VersionStatus.ACTIVE, VersionStatus.RETIRED)

#: The layers of every version, with their columns (besides ``fid`` and ``geom``).
LAYER_COLUMNS: Mapping[str, tuple[str, ...]] = {"zones": ZONE_COLUMNS, "overlays": OVERLAY_COLUMNS}
#: Columns of every layer whose features a back end reads: a version's, and a region's parcels.
_FEATURE_COLUMNS: Mapping[str, tuple[str, ...]] = {**LAYER_COLUMNS, "parcels": PARCEL_COLUMNS}
#: Columns holding JSON text, which a GeoJSON feature carries as objects.
JSON_COLUMNS = frozenset({"flags", "attrs"})
#: Columns of a layer's vector tiles with their TileJSON types: the scalar ones, and ``flags`` as
#: text for styling; ``attrs`` (every source attribute) is left to the features.
TILE_FIELDS: Mapping[str, Mapping[str, str]] = {
    layer: {c: "Number" if c == "ceiling_m" else "String" for c in columns if c != "attrs"}
    for layer, columns in LAYER_COLUMNS.items()
}
#: Degrees added around a layer's lon/lat extent before a query box is clipped to it: far more
#: than the extent's rounding, so clipping never cuts a feature off.
_EXTENT_PAD_DEG = 1e-4
#: Longest edge (degrees, about 100 m) of a lon/lat box taken into a layer's metric CRS; a lon/lat
#: line and its image in a UTM grid part by well under a millimetre along it.
_DENSIFY_DEG = 1e-3


@dataclass(frozen=True)
class FeaturePage:
    """One page of a layer as GeoJSON features (lon/lat, OGC:CRS84, ``id`` the feature's
    ``fid``), in ``fid`` order, and how many features the query matches in all."""

    features: list[dict[str, Any]]
    number_matched: int


@dataclass(frozen=True)
class LayerRef:
    """One version's layer as a back end reads it: its table and the SRID of its geometry."""

    layer: str
    table: str
    srid: int

    @property
    def columns(self) -> tuple[str, ...]:
        return _FEATURE_COLUMNS[self.layer]

    @property
    def tile_columns(self) -> tuple[str, ...]:
        return tuple(TILE_FIELDS[self.layer])


@dataclass(frozen=True)
class ParcelSummary:
    """What a region's parcels layer holds: how many parcels, in which metric CRS, and their
    lon/lat extent."""

    region_code: str
    count: int
    crs_epsg: int
    bbox: tuple[float, float, float, float] | None


class PlanStore(ABC):
    """What every store offers. Subclasses write and read the per-version layers."""

    engine: Engine
    #: Exceptions by which the database says a write failed (and was rolled back).
    db_errors: tuple[type[Exception], ...] = (DBAPIError,)

    @cached_property
    def reader(self) -> Engine:
        """The store's engine for connections that only read (see ``READS``)."""
        return self.engine.execution_options(**READS)

    def migrate(self) -> None:
        """Bring the schema to the newest Alembic revision (a no-op when it is there)."""
        upgrade(self.engine, MIGRATIONS)

    def close(self) -> None:
        self.engine.dispose()

    # -- regions and plans -------------------------------------------------------------------

    def ensure_region(self, region: Region) -> Region:
        """The stored region with this BPS code, added first if the store lacks it."""
        with self.engine.begin() as conn:
            row = conn.execute(
                select(schema.region).where(schema.region.c.code == region.code)
            ).first()
            if row is None:
                bbox = region.bbox or (None, None, None, None)
                conn.execute(
                    insert(schema.region).values(
                        code=region.code,
                        name=region.name,
                        min_lon=bbox[0],
                        min_lat=bbox[1],
                        max_lon=bbox[2],
                        max_lat=bbox[3],
                    )
                )
                return region
        return _region(row)

    def region(self, code: str) -> Region:
        with self.reader.connect() as conn:
            row = conn.execute(select(schema.region).where(schema.region.c.code == code)).first()
        if row is None:
            raise NotFoundError(f"region {code!r} is not in the store")
        return _region(row)

    def create_plan(
        self,
        region_code: str,
        name: str,
        legal_basis: str,
        *,
        kind: PlanKind = PlanKind.RDTR,
        enacted_on: date | None = None,
    ) -> Plan:
        """A new plan of a stored region; its versions are added by imports."""
        self.region(region_code)
        with self.engine.begin() as conn:
            plan_id = conn.execute(
                insert(schema.plan)
                .values(
                    region_code=region_code,
                    kind=kind.value,
                    name=name,
                    legal_basis=legal_basis,
                    enacted_on=enacted_on,
                )
                .returning(schema.plan.c.id)
            ).scalar_one()
        return self.plan(plan_id)

    def plan(self, plan_id: int) -> Plan:
        with self.reader.connect() as conn:
            row = conn.execute(select(schema.plan).where(schema.plan.c.id == plan_id)).first()
        if row is None:
            raise NotFoundError(f"plan {plan_id} is not in the store")
        return _plan(row)

    def plans(self, region_code: str | None = None) -> list[Plan]:
        query = select(schema.plan).order_by(schema.plan.c.id)
        if region_code is not None:
            query = query.where(schema.plan.c.region_code == region_code)
        with self.reader.connect() as conn:
            return [_plan(r) for r in conn.execute(query)]

    # -- versions ----------------------------------------------------------------------------

    def add_version(self, plan_id: int, data: PlanData, label: str) -> PlanVersion:
        """Store an import as a draft version, all or nothing."""
        self.plan(plan_id)
        _check_layers(data)
        row = {
            "plan_id": plan_id,
            "label": label,
            "crs_epsg": data.crs_epsg,
            "content_hash": content_hash(data),
            "ruleset_hash": data.rules.hash(),
            "created_at": datetime.now(UTC),
            "zone_count": len(data.zones),
            "report": data.report.to_json(),
        }
        try:
            version_id = self._write_version(row, data)
        except self.db_errors as exc:
            raise StoreError(
                f"the import into plan {plan_id} failed in the store "
                f"({_cause(exc)}); nothing was stored"
            ) from exc
        return self.version(version_id)

    @abstractmethod
    def _write_version(self, row: dict[str, Any], data: PlanData) -> int:
        """Write the catalogue row, layers and rules as one unit; return the new version id."""

    def version(self, version_id: int) -> PlanVersion:
        with self.reader.connect() as conn:
            row = conn.execute(
                select(schema.plan_version).where(
                    schema.plan_version.c.id == version_id,
                    schema.plan_version.c.status.in_([s.value for s in VISIBLE]),
                )
            ).first()
        if row is None:
            raise NotFoundError(f"plan version {version_id} is not in the store")
        return _version(row)

    def versions(self, plan_id: int) -> list[PlanVersion]:
        query = (
            select(schema.plan_version)
            .where(
                schema.plan_version.c.plan_id == plan_id,
                schema.plan_version.c.status.in_([s.value for s in VISIBLE]),
            )
            .order_by(schema.plan_version.c.id)
        )
        with self.reader.connect() as conn:
            return [_version(r) for r in conn.execute(query)]

    def version_in_force(self, plan_id: int, on: date) -> PlanVersion | None:
        """The version of a plan in force on a date, or None where none was."""
        found = self._in_force(on, schema.plan_version.c.plan_id == plan_id)
        return found[0] if found else None

    def versions_in_force(self, on: date, region_code: str | None = None) -> list[PlanVersion]:
        """Every plan's version in force on a date (a city may have an RDTR per planning area)."""
        if region_code is None:
            return self._in_force(on)
        plan_ids = select(schema.plan.c.id).where(schema.plan.c.region_code == region_code)
        return self._in_force(on, schema.plan_version.c.plan_id.in_(plan_ids))

    def _in_force(self, on: date, *conditions: Any) -> list[PlanVersion]:
        pv = schema.plan_version.c
        query = (
            select(schema.plan_version)
            .where(
                pv.status.in_([VersionStatus.ACTIVE.value, VersionStatus.RETIRED.value]),
                pv.valid_from <= on,
                (pv.valid_to.is_(None)) | (pv.valid_to > on),
                *conditions,
            )
            .order_by(pv.plan_id)
        )
        with self.reader.connect() as conn:
            return [_version(r) for r in conn.execute(query)]

    def activate(self, version_id: int, valid_from: date | None = None) -> PlanVersion:
        """Put a draft in force from ``valid_from`` (default today), in one transaction.

        The version in force until then is retired and its validity ends the day the new one
        starts. Refused when the draft's quality report has errors.
        """
        start = valid_from or date.today()
        draft = self.version(version_id)
        if draft.status is not VersionStatus.DRAFT:
            raise ActivationError(
                f"plan version {version_id} is {draft.status.value}; only a draft can be activated"
            )
        if draft.report.has_errors:
            first = "; ".join(i.line() for i in draft.report.errors[:3])
            raise ActivationError(
                f"plan version {version_id} has {len(draft.report.errors)} blocking quality "
                f"error(s): {first}"
            )
        try:
            self._switch(draft, start)
        except self.db_errors as exc:
            raise StoreError(
                f"activation of plan version {version_id} failed in the store "
                f"({_cause(exc)}); the plan in force is unchanged"
            ) from exc
        return self.version(version_id)

    def _switch(self, draft: PlanVersion, start: date) -> None:
        """Retire the version in force and activate the draft, in one transaction."""
        pv = schema.plan_version.c
        with self.engine.begin() as conn:
            current = conn.execute(
                select(schema.plan_version)
                .where(pv.plan_id == draft.plan_id, pv.status == VersionStatus.ACTIVE.value)
                .with_for_update()
            ).first()
            if current is not None:
                current_from = _as_date(current.valid_from)
                if current_from is not None and current_from >= start:
                    raise ActivationError(
                        f"version {current.id} is in force from {current.valid_from}; a new "
                        f"version must start after it, not on {start.isoformat()}"
                    )
                conn.execute(
                    update(schema.plan_version)
                    .where(pv.id == current.id)
                    .values(status=VersionStatus.RETIRED.value, valid_to=start)
                )
            done = conn.execute(
                update(schema.plan_version)
                .where(pv.id == draft.id, pv.status == VersionStatus.DRAFT.value)
                .values(status=VersionStatus.ACTIVE.value, valid_from=start, valid_to=None)
            )
            if done.rowcount != 1:
                raise ActivationError(f"plan version {draft.id} is no longer a draft")

    # -- contents ----------------------------------------------------------------------------

    def zones(self, version_id: int) -> gpd.GeoDataFrame:
        """The version's zones in its metric CRS, in the order they were imported."""
        version = self.version(version_id)
        return self._read_layer(schema.zones_table_name(version_id), version.crs_epsg, "zones")

    def overlays(self, version_id: int) -> gpd.GeoDataFrame:
        version = self.version(version_id)
        return self._read_layer(
            schema.overlays_table_name(version_id), version.crs_epsg, "overlays"
        )

    @abstractmethod
    def _read_layer(self, table: str, crs_epsg: int, kind: str) -> gpd.GeoDataFrame:
        """Read one version layer as a GeoDataFrame with the model's columns."""

    # -- layers as features and tiles (what OGC API Features and maps read) ----------------

    def layer_extent(self, version_id: int, layer: str) -> tuple[float, float, float, float] | None:
        """The lon/lat bounding box (OGC:CRS84) of a version's ``zones`` or ``overlays``; None
        when the layer has no features."""
        ref = self._layer_ref(version_id, layer)
        return _lonlat_extent(self._bounds(ref), ref.srid)

    def feature_page(
        self,
        version_id: int,
        layer: str,
        bbox: tuple[float, float, float, float] | None = None,
        *,
        limit: int = 100,
        offset: int = 0,
    ) -> FeaturePage:
        """Up to ``limit`` features after the first ``offset``, of those whose geometry meets the
        lon/lat ``bbox`` (all when None). The box is taken into the layer's CRS, not the
        layer out of it, so the spatial index answers."""
        ref = self._layer_ref(version_id, layer)
        if bbox is None:
            return self._page(ref, None, limit, offset)
        area = self._area(ref, bbox)
        return FeaturePage([], 0) if area is None else self._page(ref, area, limit, offset)

    def feature(self, version_id: int, layer: str, fid: int) -> dict[str, Any]:
        """One feature of a layer by its ``fid``, as GeoJSON in lon/lat."""
        ref = self._layer_ref(version_id, layer)
        found = self._feature(ref, fid)
        if found is None:
            raise NotFoundError(f"feature {fid} is not in {layer} of plan version {version_id}")
        return found

    def tile(self, version_id: int, layer: str, z: int, x: int, y: int) -> bytes:
        """The WebMercatorQuad tile ``z/x/y`` of a layer as a Mapbox Vector Tile (one layer named
        ``zones`` or ``overlays``, feature ids the ``fid``, properties ``TILE_FIELDS``) holding
        the features that meet the tile; empty bytes when none does."""
        ref = self._layer_ref(version_id, layer)
        tile = tile_at(z, x, y)
        area = self._area(ref, TMS.bounds(tile))
        return b"" if area is None else self._tile(ref, tile, area)

    @abstractmethod
    def _bounds(self, ref: LayerRef) -> tuple[float, float, float, float] | None:
        """The layer's bounds in its own CRS, None when it is empty."""

    @abstractmethod
    def _page(
        self, ref: LayerRef, area: shapely.Polygon | None, limit: int, offset: int
    ) -> FeaturePage:
        """Features meeting ``area`` (layer CRS; all when None), in ``fid`` order."""

    @abstractmethod
    def _feature(self, ref: LayerRef, fid: int) -> dict[str, Any] | None:
        """The feature with this ``fid``, None when there is none."""

    @abstractmethod
    def _tile(self, ref: LayerRef, tile: morecantile.Tile, area: shapely.Polygon) -> bytes:
        """The MVT of the features meeting ``area`` (the tile in the layer's CRS)."""

    def _layer_ref(self, version_id: int, layer: str) -> LayerRef:
        if layer not in LAYER_COLUMNS:
            raise NotFoundError(
                f"a plan version has the layers {', '.join(LAYER_COLUMNS)}, not {layer!r}"
            )
        version = self.version(version_id)
        return LayerRef(layer, layer_name(layer, version_id), version.crs_epsg)

    def _area(
        self, ref: LayerRef, lonlat: tuple[float, float, float, float]
    ) -> shapely.Polygon | None:
        """A lon/lat box in the layer's CRS, densified so that its edges follow the meridians
        and parallels; clipped first to the layer's extent, which also keeps a box of the
        whole world out of a UTM projection. None when the box misses the layer."""
        extent = _lonlat_extent(self._bounds(ref), ref.srid)
        if extent is None:
            return None
        minx = max(lonlat[0], extent[0] - _EXTENT_PAD_DEG)
        miny = max(lonlat[1], extent[1] - _EXTENT_PAD_DEG)
        maxx = min(lonlat[2], extent[2] + _EXTENT_PAD_DEG)
        maxy = min(lonlat[3], extent[3] + _EXTENT_PAD_DEG)
        if minx >= maxx or miny >= maxy:
            return None
        box = shapely.segmentize(shapely.box(minx, miny, maxx, maxy), _DENSIFY_DEG)
        return reproject(np.array([box]), LONLAT_EPSG, ref.srid)[0]  # type: ignore[no-any-return]

    # -- a region's land parcels (``parcels_<code>``, looked up by NIB) ----------------------

    def replace_parcels(self, region_code: str, parcels: ParcelLayer) -> ParcelSummary:
        """Put ``parcels`` in place of the region's parcels. On PostGIS one transaction; on the
        embedded store GDAL writes the layer on its own connection, so a failed write leaves
        the region without parcels (never with some), and the import can be run again."""
        self.region(region_code)
        table = parcels_table_name(region_code)
        try:
            self._replace_layer(table, parcels.frame, PARCEL_COLUMNS)
        except self.db_errors as exc:
            raise StoreError(
                f"the parcels of region {region_code} were not stored ({_cause(exc)})"
            ) from exc
        summary = self.parcel_summary(region_code)
        assert summary is not None  # just written
        return summary

    def parcel_summary(self, region_code: str) -> ParcelSummary | None:
        """The region's parcels layer, None when none is loaded."""
        ref = self._parcels_ref(region_code)
        if ref is None:
            return None
        extent = _lonlat_extent(self._bounds(ref), ref.srid)
        return ParcelSummary(region_code, self._count(ref), ref.srid, extent)

    def parcels(self, region_code: str, ids: Sequence[str]) -> list[dict[str, Any]]:
        """The region's parcels with these ids as GeoJSON features in lon/lat, in ``fid``
        order; an id that several parcels share (the land office's data has such) gives each."""
        ref = self._parcels_ref(region_code)
        if ref is None:
            raise NotFoundError(
                f"no land parcels are loaded for region {region_code} (simtaru parcels-import)"
            )
        return self._features_with(ref, "parcel_id", list(ids)) if ids else []

    def _parcels_ref(self, region_code: str) -> LayerRef | None:
        table = parcels_table_name(region_code)
        srid = self._layer_srid(table)
        return None if srid is None else LayerRef("parcels", table, srid)

    @abstractmethod
    def _replace_layer(self, table: str, frame: gpd.GeoDataFrame, columns: tuple[str, ...]) -> None:
        """Write ``frame`` as the layer ``table``, in place of any layer of that name."""

    @abstractmethod
    def _layer_srid(self, table: str) -> int | None:
        """The SRID of a layer's geometry, None when the store has no such layer."""

    @abstractmethod
    def _count(self, ref: LayerRef) -> int:
        """How many features the layer holds."""

    @abstractmethod
    def _features_with(self, ref: LayerRef, column: str, values: list[str]) -> list[dict[str, Any]]:
        """The features whose ``column`` is one of ``values``, in ``fid`` order."""

    def rules(self, version_id: int) -> RuleSet:
        self.version(version_id)
        with self.reader.connect() as conn:
            return _read_rules(conn, version_id)

    def rasters(self, version_id: int) -> tuple[PlanRaster, ...]:
        """The version's rasters with their GeoTIFFs, each checked against the hash the
        catalogue holds for it (a file changed or lost since the import is refused)."""
        self.version(version_id)
        with self.reader.connect() as conn:
            return tuple(
                _raster(row, self._raster_data(conn, version_id, row.kind))
                for row in _raster_rows(conn, version_id)
            )

    def raster_list(self, version_id: int) -> tuple[RasterInfo, ...]:
        """What the version's rasters are, from the catalogue alone (no GeoTIFF is read)."""
        self.version(version_id)
        with self.reader.connect() as conn:
            return tuple(RasterInfo(**_raster_fields(r)) for r in _raster_rows(conn, version_id))

    def raster(self, version_id: int, kind: RasterKind) -> PlanRaster:
        """One of the version's rasters with its GeoTIFF, checked against its hash; a
        NotFoundError where the version has no raster of that kind."""
        self.version(version_id)
        with self.reader.connect() as conn:
            rows = _raster_rows(conn, version_id, kind)
            if not rows:
                raise NotFoundError(f"version {version_id} has no {kind.value} raster")
            return _raster(rows[0], self._raster_data(conn, version_id, kind.value))

    @abstractmethod
    def _raster_data(self, conn: Connection, version_id: int, kind: str) -> bytes | None:
        """The stored GeoTIFF of one of a version's rasters, None where it is missing."""

    def load(self, version_id: int) -> PlanData:
        """Everything of a version, as an engine or a notebook needs it."""
        version = self.version(version_id)
        return PlanData(
            zones=self.zones(version_id),
            overlays=self.overlays(version_id),
            rules=self.rules(version_id),
            crs_epsg=version.crs_epsg,
            report=version.report,
            rasters=self.rasters(version_id),
        )

    # -- helpers for subclasses --------------------------------------------------------------

    def _insert_version_row(self, conn: Connection, row: dict[str, Any], status: str) -> int:
        return int(
            conn.execute(
                insert(schema.plan_version)
                .values(**row, status=status)
                .returning(schema.plan_version.c.id)
            ).scalar_one()
        )


#: The advisory lock that serialises Simtaru's migrations on one PostgreSQL database.
MIGRATION_LOCK = 0x5147_5441_5255  # "SIMTARU", roughly


def upgrade(engine: Engine, migrations: Path) -> None:
    """Run an Alembic environment (``migrations`` holds its alembic.ini) to its head on the
    engine's database, in one transaction. On PostgreSQL a transaction-level advisory lock makes
    workers that start together on a new database migrate one after another, not race."""
    config = Config(str(migrations / "alembic.ini"))
    config.set_main_option("script_location", str(migrations))
    with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK})
        config.attributes["connection"] = conn
        command.upgrade(config, "head")


def run_migrations(metadata: MetaData, version_table: str | None = None) -> None:
    """The body of an Alembic ``env.py``: migrate ``metadata``'s tables, and only those, on the
    connection ``upgrade`` hands over. Each component (plan store, decision log, API keys) has
    its own history and version table in the one database."""
    connection = context.config.attributes["connection"]
    context.configure(
        connection=connection,
        target_metadata=metadata,
        version_table=version_table or "alembic_version",
        render_as_batch=connection.dialect.name == "sqlite",
        include_name=lambda name, type_, _parent: type_ != "table" or name in metadata.tables,
    )
    with context.begin_transaction():
        context.run_migrations()


def layer_name(layer: str, version_id: int) -> str:
    """The table or GeoPackage layer of a version's ``zones`` or ``overlays``, the name QGIS,
    GDAL and the OGC API show (``zones_v12``)."""
    table = schema.zones_table_name if layer == "zones" else schema.overlays_table_name
    return table(version_id)


# -- features as GeoJSON ---------------------------------------------------------------------


def geojson_feature(fid: int, values: Mapping[str, Any], geometry: str) -> dict[str, Any]:
    """A GeoJSON feature from a layer row: JSON columns as objects, missing values as null,
    ``geometry`` GeoJSON text (as ``ST_AsGeoJSON`` or shapely writes it)."""
    properties: dict[str, Any] = {}
    for name, value in values.items():
        if value is None or value != value:
            properties[name] = None
        elif name in JSON_COLUMNS:
            properties[name] = orjson.loads(value)
        else:
            properties[name] = value
    return {
        "type": "Feature",
        "id": int(fid),
        "geometry": orjson.loads(geometry),
        "properties": properties,
    }


def _lonlat_extent(
    bounds: tuple[float, float, float, float] | None, srid: int
) -> tuple[float, float, float, float] | None:
    """Bounds in a metric CRS as the lon/lat box holding them (edges sampled, since a UTM
    grid's straight lines are curves in lon/lat)."""
    if bounds is None:
        return None
    box = transformer(srid, LONLAT_EPSG).transform_bounds(*bounds, densify_pts=21)
    return (float(box[0]), float(box[1]), float(box[2]), float(box[3]))


# -- rules as rows ---------------------------------------------------------------------------

_RULE_TABLES: tuple[tuple[str, Table, type], ...] = (
    ("activities", schema.rule_activity, Activity),
    ("cells", schema.rule_cell, ItbxCell),
    ("legend", schema.rule_legend, LegendEntry),
    ("crosswalk", schema.rule_crosswalk, CrosswalkEntry),
    ("intensity", schema.rule_intensity, IntensityRule),
    ("provisions", schema.rule_provision, SpecialProvision),
    ("raster_rules", schema.rule_raster, RasterRule),
)
#: Tuple-valued fields, stored as comma-separated text.
_TUPLE_FIELDS = {Activity: "kbli", ItbxCell: "codes"}


def rule_rows(version_id: int, rules: RuleSet) -> list[tuple[Table, list[dict[str, Any]]]]:
    """A rule set as rows of its tables, each row keeping its position (``seq``)."""
    tables: list[tuple[Table, list[dict[str, Any]]]] = [
        (schema.rule_subzone, [{"code": c, "name": n} for c, n in rules.subzones.items()]),
        (schema.rule_source, [{"name": s} for s in rules.sources]),
        (schema.rule_setting, [{"key": k, "value": v} for k, v in rules.settings.items()]),
    ]
    for attr, table, _cls in _RULE_TABLES:
        tables.append((table, [_to_row(item) for item in getattr(rules, attr)]))
    return [
        (table, [{**r, "version_id": version_id, "seq": i} for i, r in enumerate(rows)])
        for table, rows in tables
        if rows
    ]


def write_rules(conn: Connection, version_id: int, rules: RuleSet) -> None:
    """Insert a rule set's tables for a version (executemany, one statement per table)."""
    for table, rows in rule_rows(version_id, rules):
        conn.execute(insert(table), rows)


# -- rasters as rows --------------------------------------------------------------------------

#: The catalogue columns of a raster, besides its version, position and bytes.
_RASTER_COLUMNS = (
    "kind",
    "source",
    "source_sha256",
    "sha256",
    "width",
    "height",
    "cell_m",
    "min_x",
    "min_y",
    "max_x",
    "max_y",
)


def write_rasters(
    conn: Connection, version_id: int, rasters: tuple[PlanRaster, ...], *, with_data: bool
) -> None:
    """The catalogue rows of a version's rasters, with the GeoTIFF bytes where the store keeps
    them in the database."""
    if not rasters:
        return
    rows = [
        {
            "version_id": version_id,
            "seq": seq,
            "kind": r.kind.value,
            "unit": r.unit,
            "source": r.source,
            "source_sha256": r.source_sha256,
            "sha256": r.sha256,
            "width": r.width,
            "height": r.height,
            "cell_m": r.cell_m,
            **dict(zip(("min_x", "min_y", "max_x", "max_y"), r.bounds, strict=True)),
            "data": r.data if with_data else None,
        }
        for seq, r in enumerate(rasters)
    ]
    conn.execute(insert(schema.plan_raster), rows)


def _raster(row: Row[Any], data: bytes | None) -> PlanRaster:
    if data is None or hashlib.sha256(data).hexdigest() != row.sha256:
        raise StoreError(
            f"the {row.kind} raster ({row.source}) is missing from the store or no longer "
            f"matches its SHA-256 {row.sha256[:12]}...; the version cannot be loaded"
        )
    return PlanRaster(**_raster_fields(row), data=data)


def _raster_rows(conn: Connection, version_id: int, kind: RasterKind | None = None) -> list[Any]:
    """A version's raster catalogue rows (one kind, or all), in the order imported."""
    pr = schema.plan_raster.c
    query = select(*(pr[name] for name in _RASTER_COLUMNS)).where(pr.version_id == version_id)
    if kind is not None:
        query = query.where(pr.kind == kind.value)
    return list(conn.execute(query.order_by(pr.seq)))


def _raster_fields(row: Row[Any]) -> dict[str, Any]:
    return {
        "kind": RasterKind(row.kind),
        "source": row.source,
        "source_sha256": row.source_sha256,
        "sha256": row.sha256,
        "width": row.width,
        "height": row.height,
        "cell_m": row.cell_m,
        "bounds": (row.min_x, row.min_y, row.max_x, row.max_y),
    }


def _to_row(item: Any) -> dict[str, Any]:
    return {k: ",".join(v) if isinstance(v, list) else v for k, v in plain(item).items()}


def _read_rules(conn: Connection, version_id: int) -> RuleSet:
    def rows(table: Table, names: list[str]) -> list[dict[str, Any]]:
        result = conn.execute(
            select(*[table.c[n] for n in names])
            .where(table.c.version_id == version_id)
            .order_by(table.c.seq)
        )
        return [r._asdict() for r in result]

    parts: dict[str, Any] = {
        attr: tuple(cls(**_from_row(cls, r)) for r in rows(table, [f.name for f in fields(cls)]))
        for attr, table, cls in _RULE_TABLES
    }
    return RuleSet(
        subzones={r["code"]: r["name"] for r in rows(schema.rule_subzone, ["code", "name"])},
        sources=tuple(r["name"] for r in rows(schema.rule_source, ["name"])),
        settings={r["key"]: r["value"] for r in rows(schema.rule_setting, ["key", "value"])},
        **parts,
    )


def _from_row(cls: type, values: dict[str, Any]) -> dict[str, Any]:
    if cls in _TUPLE_FIELDS:
        key = _TUPLE_FIELDS[cls]
        values[key] = tuple(v for v in values[key].split(",") if v)
    if "klass" in values and values["klass"] in ItbxClass.__members__:
        values["klass"] = ItbxClass(values["klass"])
    return values


# -- rows to model ---------------------------------------------------------------------------


def _region(row: Row[Any]) -> Region:
    bbox = (row.min_lon, row.min_lat, row.max_lon, row.max_lat)
    return Region(
        code=row.code,
        name=row.name,
        bbox=None if any(v is None for v in bbox) else bbox,
    )


def _plan(row: Row[Any]) -> Plan:
    return Plan(
        id=row.id,
        region_code=row.region_code,
        kind=PlanKind(row.kind),
        name=row.name,
        legal_basis=row.legal_basis,
        enacted_on=_as_date(row.enacted_on),
    )


def _version(row: Row[Any]) -> PlanVersion:
    report = json.loads(row.report)
    created = row.created_at
    if created.tzinfo is None:
        created = created.replace(tzinfo=UTC)
    return PlanVersion(
        id=row.id,
        plan_id=row.plan_id,
        label=row.label,
        status=VersionStatus(row.status),
        crs_epsg=row.crs_epsg,
        content_hash=row.content_hash,
        ruleset_hash=row.ruleset_hash,
        created_at=created,
        valid_from=_as_date(row.valid_from),
        valid_to=_as_date(row.valid_to),
        zone_count=row.zone_count,
        report=QualityReport.from_dict(report),
    )


def _cause(exc: Exception) -> str:
    """The kind of database failure, never its message (which may quote data or SQL)."""
    orig = getattr(exc, "orig", None) or exc
    return orig.__class__.__name__


def _as_date(value: date | datetime | str | None) -> date | None:
    if value is None or type(value) is date:
        return value
    if isinstance(value, datetime):
        return value.date()
    return date.fromisoformat(str(value))


def _check_layers(data: PlanData) -> None:
    """Refuse frames whose CRS differs from the plan's: one SRID per layer, no silent mixing."""
    for name, frame in (("zones", data.zones), ("overlays", data.overlays)):
        if frame.crs is None or frame.crs.to_epsg() != data.crs_epsg:
            raise PlanInputError(
                f"{name} are in {frame.crs}, but the plan version is in EPSG:{data.crs_epsg}"
            )


def delete_version_rows(conn: Connection, version_id: int) -> None:
    """Remove a version's catalogue, raster and rule rows (used when an import is undone)."""
    for table in (
        schema.rule_source,
        schema.rule_setting,
        schema.rule_subzone,
        schema.plan_raster,
        *(t for _a, t, _c in _RULE_TABLES),
    ):
        conn.execute(delete(table).where(table.c.version_id == version_id))
    conn.execute(delete(schema.plan_version).where(schema.plan_version.c.id == version_id))
