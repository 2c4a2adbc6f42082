"""Plan store catalogue (regions, plans, versions) and rule tables

Revision ID: 0001
Revises:
Create Date: 2026-11-23 01:21:42.381051
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("CREATE EXTENSION IF NOT EXISTS postgis")
    op.create_table(
        "region",
        sa.Column("code", sa.Text(), nullable=False, comment="BPS code of the kabupaten/kota"),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("min_lon", sa.Float(), nullable=True),
        sa.Column("min_lat", sa.Float(), nullable=True),
        sa.Column("max_lon", sa.Float(), nullable=True),
        sa.Column("max_lat", sa.Float(), nullable=True),
        sa.PrimaryKeyConstraint("code"),
    )
    op.create_table(
        "plan",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("region_code", sa.Text(), nullable=False),
        sa.Column("kind", sa.Text(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("legal_basis", sa.Text(), nullable=False),
        sa.Column("enacted_on", sa.Date(), nullable=True),
        sa.ForeignKeyConstraint(
            ["region_code"],
            ["region.code"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "plan_version",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("plan_id", sa.Integer(), nullable=False),
        sa.Column("label", sa.Text(), nullable=False),
        sa.Column("status", sa.Text(), nullable=False, comment="staging, draft, active, retired"),
        sa.Column("crs_epsg", sa.Integer(), nullable=False),
        sa.Column("content_hash", sa.Text(), nullable=False),
        sa.Column("ruleset_hash", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("valid_from", sa.Date(), nullable=True),
        sa.Column("valid_to", sa.Date(), nullable=True),
        sa.Column("zone_count", sa.Integer(), server_default="0", nullable=False),
        sa.Column("report", sa.Text(), nullable=False, comment="the quality report, JSON"),
        sa.ForeignKeyConstraint(
            ["plan_id"],
            ["plan.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        "one_active_version_per_plan",
        "plan_version",
        ["plan_id"],
        unique=True,
        postgresql_where=sa.text("status = 'active'"),
        sqlite_where=sa.text("status = 'active'"),
    )
    op.create_table(
        "rule_activity",
        sa.Column("version_id", sa.Integer(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("id", sa.Text(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("group", sa.Text(), nullable=True),
        sa.Column("kbli", sa.Text(), nullable=False, comment="KBLI codes, comma-separated"),
        sa.ForeignKeyConstraint(["version_id"], ["plan_version.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("version_id", "seq"),
        sa.UniqueConstraint("version_id", "id"),
    )
    op.create_table(
        "rule_cell",
        sa.Column("version_id", sa.Integer(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("activity_id", sa.Text(), nullable=False),
        sa.Column("subzone_code", sa.Text(), nullable=False),
        sa.Column("codes", sa.Text(), nullable=False, comment="structured codes, comma-separated"),
        sa.Column("raw", sa.Text(), nullable=False, comment="the annex's verbatim cell"),
        sa.ForeignKeyConstraint(["version_id"], ["plan_version.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("version_id", "seq"),
        sa.UniqueConstraint("version_id", "activity_id", "subzone_code"),
    )
    op.create_table(
        "rule_crosswalk",
        sa.Column("version_id", sa.Integer(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("kbli", sa.Text(), nullable=False),
        sa.Column("activity_id", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(["version_id"], ["plan_version.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("version_id", "seq"),
        sa.UniqueConstraint("version_id", "kbli", "activity_id"),
    )
    op.create_table(
        "rule_intensity",
        sa.Column("version_id", sa.Integer(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("subzone_code", sa.Text(), nullable=False),
        sa.Column("road_class", sa.Text(), nullable=True),
        sa.Column("lot_from_m2", sa.Float(), nullable=True),
        sa.Column("lot_to_m2", sa.Float(), nullable=True),
        sa.Column("kdb_max_pct", sa.Float(), nullable=True),
        sa.Column("klb_max", sa.Float(), nullable=True),
        sa.Column("kdh_min_pct", sa.Float(), nullable=True),
        sa.Column("ktb_max_pct", sa.Float(), nullable=True),
        sa.Column("height_max_m", sa.Float(), nullable=True),
        sa.Column("floors_max", sa.Integer(), nullable=True),
        sa.Column("lot_min_m2", sa.Float(), nullable=True),
        sa.Column("gsb_min_m", sa.Float(), nullable=True),
        sa.Column("side_min_m", sa.Float(), nullable=True),
        sa.Column("rear_min_m", sa.Float(), nullable=True),
        sa.Column("variant", sa.Text(), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(["version_id"], ["plan_version.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("version_id", "seq"),
    )
    op.create_table(
        "rule_legend",
        sa.Column("version_id", sa.Integer(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("code", sa.Text(), nullable=False),
        sa.Column("klass", sa.Text(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column(
            "intensity_pct",
            sa.Float(),
            nullable=True,
            comment="share of the intensity limits the activity may use",
        ),
        sa.Column(
            "min_distance_m",
            sa.Float(),
            nullable=True,
            comment="minimum distance to the same activity",
        ),
        sa.ForeignKeyConstraint(["version_id"], ["plan_version.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("version_id", "seq"),
        sa.UniqueConstraint("version_id", "code"),
    )
    op.create_table(
        "rule_provision",
        sa.Column("version_id", sa.Integer(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("provision", sa.Text(), nullable=False),
        sa.Column("effect", sa.Text(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("klass", sa.Text(), nullable=True),
        sa.Column("block", sa.Text(), nullable=True),
        sa.Column("subzone_code", sa.Text(), nullable=True),
        sa.Column("kdb_max_pct", sa.Float(), nullable=True),
        sa.Column("klb_max", sa.Float(), nullable=True),
        sa.Column("height_max_m", sa.Float(), nullable=True),
        sa.Column("legal_basis", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(["version_id"], ["plan_version.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("version_id", "seq"),
    )
    op.create_table(
        "rule_setting",
        sa.Column("version_id", sa.Integer(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("key", sa.Text(), nullable=False),
        sa.Column("value", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(["version_id"], ["plan_version.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("version_id", "seq"),
        sa.UniqueConstraint("version_id", "key"),
    )
    op.create_table(
        "rule_source",
        sa.Column("version_id", sa.Integer(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(["version_id"], ["plan_version.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("version_id", "seq"),
    )
    op.create_table(
        "rule_subzone",
        sa.Column("version_id", sa.Integer(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("code", sa.Text(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(["version_id"], ["plan_version.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("version_id", "seq"),
        sa.UniqueConstraint("version_id", "code"),
    )


def downgrade() -> None:
    op.drop_table("rule_subzone")
    op.drop_table("rule_source")
    op.drop_table("rule_setting")
    op.drop_table("rule_provision")
    op.drop_table("rule_legend")
    op.drop_table("rule_intensity")
    op.drop_table("rule_crosswalk")
    op.drop_table("rule_cell")
    op.drop_table("rule_activity")
    op.drop_index(
        "one_active_version_per_plan",
        table_name="plan_version",
        postgresql_where=sa.text("status = 'active'"),
        sqlite_where=sa.text("status = 'active'"),
    )
    op.drop_table("plan_version")
    op.drop_table("plan")
    op.drop_table("region")
