"""Plan rasters (DEM, slope, flood depth, hazard class) and the raster rules

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-01 09:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "plan_raster",
        sa.Column("version_id", sa.Integer(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column(
            "kind",
            sa.Text(),
            nullable=False,
            comment="dem, flood_depth, hazard_class, slope_pct, ...",
        ),
        sa.Column("unit", sa.Text(), nullable=False),
        sa.Column("source", sa.Text(), nullable=False, comment="the file it was imported from"),
        sa.Column("source_sha256", sa.Text(), nullable=False),
        sa.Column("sha256", sa.Text(), nullable=False, comment="SHA-256 of the stored GeoTIFF"),
        sa.Column("width", sa.Integer(), nullable=False),
        sa.Column("height", sa.Integer(), nullable=False),
        sa.Column("cell_m", sa.Float(), nullable=False),
        sa.Column("min_x", sa.Float(), nullable=False),
        sa.Column("min_y", sa.Float(), nullable=False),
        sa.Column("max_x", sa.Float(), nullable=False),
        sa.Column("max_y", sa.Float(), nullable=False),
        sa.Column(
            "data",
            sa.LargeBinary(),
            nullable=True,
            comment="the GeoTIFF where the store keeps it in the database (PostGIS); empty where "
            "it keeps a file (GeoPackage: the raster folder beside it)",
        ),
        sa.ForeignKeyConstraint(["version_id"], ["plan_version.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("version_id", "seq"),
        sa.UniqueConstraint("version_id", "kind"),
    )
    op.create_table(
        "rule_raster",
        sa.Column("version_id", sa.Integer(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column(
            "raster",
            sa.Text(),
            nullable=False,
            comment="slope_pct, slope_deg, flood_depth, ...",
        ),
        sa.Column(
            "maximum",
            sa.Float(),
            nullable=False,
            comment="in the raster's unit; % for classes",
        ),
        sa.Column("statistic", sa.Text(), nullable=False, comment="mean, max, p<q>, share"),
        sa.Column("classes", sa.Text(), nullable=True, comment="hazard classes, comma-separated"),
        sa.Column("effect", sa.Text(), nullable=False, comment="reject, review, condition"),
        sa.Column("nodata_max_pct", sa.Float(), nullable=False),
        sa.Column("subzone_code", sa.Text(), nullable=True),
        sa.Column("text", sa.Text(), nullable=True),
        sa.Column("legal_basis", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(["version_id"], ["plan_version.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("version_id", "seq"),
    )


def downgrade() -> None:
    op.drop_table("rule_raster")
    op.drop_table("plan_raster")
