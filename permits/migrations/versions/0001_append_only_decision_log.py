"""Append-only decision log: the decision table and the triggers that refuse UPDATE and DELETE

Revision ID: decisions_0001
Revises:
Create Date: 2026-11-24 09:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "decisions_0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_PG_FUNCTION = """
CREATE FUNCTION simtaru_decision_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'decision is append-only: % refused', TG_OP;
END
$$
"""


def upgrade() -> None:
    op.create_table(
        "decision",
        sa.Column("id", sa.Text(), nullable=False, comment="uuid4 hex"),
        sa.Column("seq", sa.BigInteger(), sa.Identity(always=True), nullable=False),
        sa.Column("application_id", sa.Text(), nullable=True),
        sa.Column("idempotency_key", sa.Text(), nullable=True),
        sa.Column("input_hash", sa.Text(), nullable=False),
        sa.Column("plan_version_id", sa.Integer(), nullable=True),
        sa.Column(
            "activity",
            sa.Text(),
            nullable=False,
            comment="the activity as the application gave it",
        ),
        sa.Column(
            "activity_ids",
            sa.Text(),
            nullable=False,
            comment="resolved kegiatan ids, comma-separated",
        ),
        sa.Column("outcome", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("decision", sa.Text(), nullable=False, comment="canonical JSON of the decision"),
        sa.Column(
            "parcel_wkb", sa.LargeBinary(), nullable=False, comment="the parcel in the plan's CRS"
        ),
        sa.Column("crs_epsg", sa.Integer(), nullable=False),
        sa.Column("min_x", sa.Float(), nullable=True),
        sa.Column("min_y", sa.Float(), nullable=True),
        sa.Column("max_x", sa.Float(), nullable=True),
        sa.Column("max_y", sa.Float(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("seq", name="decision_seq_key"),
        sa.UniqueConstraint("idempotency_key", name="decision_idempotency_key_key"),
    )
    op.create_index("decision_application_idx", "decision", ["application_id", "seq"])
    op.create_index("decision_plan_version_idx", "decision", ["plan_version_id"])
    op.create_index("decision_bbox_idx", "decision", ["min_x", "min_y", "max_x", "max_y"])
    if op.get_bind().dialect.name == "postgresql":
        op.execute(_PG_FUNCTION)
        op.execute(
            "CREATE TRIGGER decision_append_only BEFORE UPDATE OR DELETE OR TRUNCATE "
            "ON decision FOR EACH STATEMENT EXECUTE FUNCTION simtaru_decision_append_only()"
        )
    else:
        for action in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER decision_no_{action.lower()} BEFORE {action} ON decision "
                f"BEGIN SELECT RAISE(ABORT, 'decision is append-only: {action} refused'); END"
            )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER decision_append_only ON decision")
        op.execute("DROP FUNCTION simtaru_decision_append_only()")
    else:
        op.execute("DROP TRIGGER decision_no_update")
        op.execute("DROP TRIGGER decision_no_delete")
    op.drop_index("decision_bbox_idx", table_name="decision")
    op.drop_index("decision_plan_version_idx", table_name="decision")
    op.drop_index("decision_application_idx", table_name="decision")
    op.drop_table("decision")
