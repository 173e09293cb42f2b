"""clock_checks: readings of the recorder's screen paired with true time (offset, method, who, uncertainty, and
for a photo the locked object); originals and clips: which recorder clock offset was applied and where it came
from (header | clock_check | none, and the check). Rows stored before say "header" when they carry an offset
(the header was the only way to state one) and "none" otherwise; clips take their original's.

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-04 10:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None

SOURCE_RULE = (
    "clock_offset_source IN ('header','clock_check','none') "
    "AND (clock_offset_source = 'clock_check') = (clock_check_id IS NOT NULL)"
)


def upgrade() -> None:
    op.create_table(
        "clock_checks",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("request_id", sa.Uuid(), nullable=False),
        sa.Column("camera_id", sa.Uuid(), nullable=False),
        sa.Column("method", sa.Text(), nullable=False),
        sa.Column("displayed_stated", sa.Text(), nullable=False),
        sa.Column("displayed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("measured_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("read_ago_s", sa.Float(), nullable=True),
        sa.Column("offset_s", sa.Float(), nullable=False),
        sa.Column("uncertainty_s", sa.Float(), nullable=False),
        sa.Column("measured_by", sa.Text(), nullable=False),
        sa.Column("client_address", sa.Text(), nullable=True),
        sa.Column("photo_object_key", sa.Text(), nullable=True),
        sa.Column("photo_version_id", sa.Text(), nullable=True),
        sa.Column("photo_sha256", sa.Text(), nullable=True),
        sa.Column("photo_size", sa.BigInteger(), nullable=True),
        sa.Column("photo_content_type", sa.Text(), nullable=True),
        sa.CheckConstraint(
            "method IN ('owner_reading','investigator_on_site','photo')", name=op.f("ck_clock_checks_method_known")
        ),
        sa.CheckConstraint("offset_s BETWEEN -604800 AND 604800", name=op.f("ck_clock_checks_offset_within_week")),
        sa.CheckConstraint(
            "uncertainty_s >= 0 AND uncertainty_s <= 3600", name=op.f("ck_clock_checks_uncertainty_bounded")
        ),
        sa.CheckConstraint(
            "read_ago_s IS NULL OR read_ago_s BETWEEN 0 AND 600", name=op.f("ck_clock_checks_read_ago_bounded")
        ),
        sa.CheckConstraint(
            "(method = 'photo') = (photo_object_key IS NOT NULL AND photo_version_id IS NOT NULL "
            "AND photo_sha256 IS NOT NULL)",
            name=op.f("ck_clock_checks_photo_with_photo_method"),
        ),
        sa.ForeignKeyConstraint(["camera_id"], ["cameras.id"], name=op.f("fk_clock_checks_camera_id_cameras")),
        sa.ForeignKeyConstraint(
            ["request_id"], ["extraction_requests.id"], name=op.f("fk_clock_checks_request_id_extraction_requests")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_clock_checks")),
    )
    op.create_index(op.f("ix_clock_checks_request_id"), "clock_checks", ["request_id"], unique=False)
    op.create_index(op.f("ix_clock_checks_camera_id"), "clock_checks", ["camera_id"], unique=False)
    op.create_index("ix_clock_checks_request_measured", "clock_checks", ["request_id", "measured_at"], unique=False)

    for table in ("originals", "clips"):
        op.add_column(table, sa.Column("clock_offset_source", sa.Text(), nullable=True))
        op.add_column(table, sa.Column("clock_check_id", sa.Uuid(), nullable=True))
        op.create_foreign_key(
            op.f(f"fk_{table}_clock_check_id_clock_checks"), table, "clock_checks", ["clock_check_id"], ["id"]
        )
    op.add_column("clips", sa.Column("clock_offset_s", sa.Float(), nullable=True))
    op.execute("UPDATE originals SET clock_offset_source = CASE WHEN clock_offset_s <> 0 THEN 'header' ELSE 'none' END")
    op.execute(
        "UPDATE clips SET clock_offset_s = o.clock_offset_s, clock_offset_source = o.clock_offset_source "
        "FROM originals o WHERE o.id = clips.original_id"
    )
    op.alter_column("clips", "clock_offset_s", nullable=False)
    for table in ("originals", "clips"):
        op.alter_column(table, "clock_offset_source", nullable=False)
        op.create_check_constraint(op.f(f"ck_{table}_clock_offset_source_known"), table, SOURCE_RULE)


def downgrade() -> None:
    for table in ("originals", "clips"):
        op.drop_constraint(op.f(f"ck_{table}_clock_offset_source_known"), table, type_="check")
        op.drop_constraint(op.f(f"fk_{table}_clock_check_id_clock_checks"), table, type_="foreignkey")
        op.drop_column(table, "clock_check_id")
        op.drop_column(table, "clock_offset_source")
    op.drop_column("clips", "clock_offset_s")
    op.drop_index("ix_clock_checks_request_measured", table_name="clock_checks")
    op.drop_index(op.f("ix_clock_checks_camera_id"), table_name="clock_checks")
    op.drop_index(op.f("ix_clock_checks_request_id"), table_name="clock_checks")
    op.drop_table("clock_checks")
