"""Tables of the plan store shared by PostGIS and the embedded store.

The catalogue (regions, plans, versions, their rasters) and the rule tables are plain SQL here;
each plan version's zones and overlays live in tables of their own (``zones_v<id>``,
``overlays_v<id>``) whose geometry column carries that version's metric SRID, so every geometry
column has exactly one SRID and QGIS, tipg or GDAL open each version as a layer. Where a
raster's GeoTIFF lives is the back end's choice (docs/rasters.md).
"""

from __future__ import annotations

from typing import Any

from geoalchemy2 import Geometry
from sqlalchemy import (
    JSON,
    Column,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    Table,
    Text,
    UniqueConstraint,
    text,
)

metadata = MetaData()

region = Table(
    "region",
    metadata,
    Column("code", Text, primary_key=True, comment="BPS code of the kabupaten/kota"),
    Column("name", Text, nullable=False),
    Column("min_lon", Float),
    Column("min_lat", Float),
    Column("max_lon", Float),
    Column("max_lat", Float),
)

plan = Table(
    "plan",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("region_code", Text, ForeignKey("region.code"), nullable=False),
    Column("kind", Text, nullable=False),
    Column("name", Text, nullable=False),
    Column("legal_basis", Text, nullable=False),
    Column("enacted_on", Date),
)

plan_version = Table(
    "plan_version",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("plan_id", Integer, ForeignKey("plan.id"), nullable=False),
    Column("label", Text, nullable=False),
    Column("status", Text, nullable=False, comment="staging, draft, active, retired"),
    Column("crs_epsg", Integer, nullable=False),
    Column("content_hash", Text, nullable=False),
    Column("ruleset_hash", Text, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("valid_from", Date),
    Column("valid_to", Date),
    Column("zone_count", Integer, nullable=False, server_default="0"),
    Column("report", Text, nullable=False, comment="the quality report, JSON"),
    Index(
        "one_active_version_per_plan",
        "plan_id",
        unique=True,
        postgresql_where=text("status = 'active'"),
        sqlite_where=text("status = 'active'"),
    ),
)


def _rule_keys() -> tuple[Column[int], Column[int]]:
    """Every rule row is keyed by its version and its position in the source table, so a rule
    set reads back in the order the regulation gives it."""
    return (
        Column(
            "version_id",
            Integer,
            ForeignKey("plan_version.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        Column("seq", Integer, primary_key=True),
    )


rule_source = Table(
    "rule_source",
    metadata,
    *_rule_keys(),
    Column("name", Text, nullable=False),
)

rule_setting = Table(
    "rule_setting",
    metadata,
    *_rule_keys(),
    Column("key", Text, nullable=False),
    Column("value", Text, nullable=False),
    UniqueConstraint("version_id", "key"),
)

rule_subzone = Table(
    "rule_subzone",
    metadata,
    *_rule_keys(),
    Column("code", Text, nullable=False),
    Column("name", Text, nullable=False),
    UniqueConstraint("version_id", "code"),
)

rule_activity = Table(
    "rule_activity",
    metadata,
    *_rule_keys(),
    Column("id", Text, nullable=False),
    Column("name", Text, nullable=False),
    Column("group", Text),
    Column("kbli", Text, nullable=False, comment="KBLI codes, comma-separated"),
    UniqueConstraint("version_id", "id"),
)

rule_cell = Table(
    "rule_cell",
    metadata,
    *_rule_keys(),
    Column("activity_id", Text, nullable=False),
    Column("subzone_code", Text, nullable=False),
    Column("codes", Text, nullable=False, comment="structured codes, comma-separated"),
    Column("raw", Text, nullable=False, comment="the annex's verbatim cell"),
    UniqueConstraint("version_id", "activity_id", "subzone_code"),
)

rule_legend = Table(
    "rule_legend",
    metadata,
    *_rule_keys(),
    Column("code", Text, nullable=False),
    Column("klass", Text, nullable=False),
    Column("text", Text, nullable=False),
    Column("intensity_pct", Float, comment="share of the intensity limits the activity may use"),
    Column("min_distance_m", Float, comment="minimum distance to the same activity"),
    UniqueConstraint("version_id", "code"),
)

rule_crosswalk = Table(
    "rule_crosswalk",
    metadata,
    *_rule_keys(),
    Column("kbli", Text, nullable=False),
    Column("activity_id", Text, nullable=False),
    UniqueConstraint("version_id", "kbli", "activity_id"),
)

rule_intensity = Table(
    "rule_intensity",
    metadata,
    *_rule_keys(),
    Column("subzone_code", Text, nullable=False),
    Column("road_class", Text),
    Column("lot_from_m2", Float),
    Column("lot_to_m2", Float),
    Column("kdb_max_pct", Float),
    Column("klb_max", Float),
    Column("kdh_min_pct", Float),
    Column("ktb_max_pct", Float),
    Column("height_max_m", Float),
    Column("floors_max", Integer),
    Column("lot_min_m2", Float),
    Column("gsb_min_m", Float),
    Column("side_min_m", Float),
    Column("rear_min_m", Float),
    Column("variant", Text),
    Column("note", Text),
)

rule_provision = Table(
    "rule_provision",
    metadata,
    *_rule_keys(),
    Column("provision", Text, nullable=False),
    Column("effect", Text, nullable=False),
    Column("text", Text, nullable=False),
    Column("klass", Text),
    Column("block", Text),
    Column("subzone_code", Text),
    Column("kdb_max_pct", Float),
    Column("klb_max", Float),
    Column("height_max_m", Float),
    Column("legal_basis", Text),
)


rule_raster = Table(
    "rule_raster",
    metadata,
    *_rule_keys(),
    Column("raster", Text, nullable=False, comment="slope_pct, slope_deg, flood_depth, ..."),
    Column("maximum", Float, nullable=False, comment="in the raster's unit; % for classes"),
    Column("statistic", Text, nullable=False, comment="mean, max, p<q>, share"),
    Column("classes", Text, comment="hazard classes, comma-separated"),
    Column("effect", Text, nullable=False, comment="reject, review, condition"),
    Column("nodata_max_pct", Float, nullable=False),
    Column("subzone_code", Text),
    Column("text", Text),
    Column("legal_basis", Text),
)

plan_raster = Table(
    "plan_raster",
    metadata,
    *_rule_keys(),
    Column("kind", Text, nullable=False, comment="dem, flood_depth, hazard_class, slope_pct, ..."),
    Column("unit", Text, nullable=False),
    Column("source", Text, nullable=False, comment="the file it was imported from"),
    Column("source_sha256", Text, nullable=False),
    Column("sha256", Text, nullable=False, comment="SHA-256 of the stored GeoTIFF"),
    Column("width", Integer, nullable=False),
    Column("height", Integer, nullable=False),
    Column("cell_m", Float, nullable=False),
    Column("min_x", Float, nullable=False),
    Column("min_y", Float, nullable=False),
    Column("max_x", Float, nullable=False),
    Column("max_y", Float, nullable=False),
    Column(
        "data",
        LargeBinary,
        comment="the GeoTIFF where the store keeps it in the database (PostGIS); empty where "
        "it keeps a file (GeoPackage: the raster folder beside it)",
    ),
    UniqueConstraint("version_id", "kind"),
)


def zones_table_name(version_id: int) -> str:
    return f"zones_v{version_id}"


def overlays_table_name(version_id: int) -> str:
    return f"overlays_v{version_id}"


def layer_table(name: str, srid: int, columns: tuple[str, ...]) -> Table:
    """A version layer's table: text attributes, JSON for flags/attrs, one SRID for the geometry.

    ``flags`` and ``attrs`` are PostgreSQL ``json`` (not ``jsonb``) so they read back byte for byte.
    """
    typed: dict[str, Any] = {"ceiling_m": Float, "flags": JSON, "attrs": JSON}
    return Table(
        name,
        MetaData(),
        Column("fid", Integer, primary_key=True, autoincrement=True),
        *(Column(c, typed.get(c, Text)) for c in columns),
        Column(
            "geom",
            Geometry("MULTIPOLYGON", srid=srid, spatial_index=False),
            nullable=False,
        ),
    )


def owned(name: str | None, type_: str, _parent: object) -> bool:
    """Alembic's filter: the plan store's migrations look only at tables they declare, never at
    per-version layers, GeoPackage metadata or other components' tables (the decision log)."""
    return type_ != "table" or name in metadata.tables
