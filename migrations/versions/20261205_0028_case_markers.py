"""case_markers: notes at a true instant on a case's clips (the case timeline), exported with the case report.

Revision ID: 0028
Revises: 0027
Create Date: 2026-12-05 10:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0028"
down_revision = "0027"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "case_markers",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("case_id", sa.Uuid(), nullable=False),
        sa.Column("clip_id", sa.Uuid(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("created_by", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("length(note) BETWEEN 1 AND 2000", name=op.f("ck_case_markers_note_length")),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"], name=op.f("fk_case_markers_case_id_cases")),
        sa.ForeignKeyConstraint(["clip_id"], ["clips.id"], name=op.f("fk_case_markers_clip_id_clips")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_case_markers")),
    )
    op.create_index("ix_case_markers_case_at", "case_markers", ["case_id", "at"], unique=False)
    op.create_index(op.f("ix_case_markers_clip_id"), "case_markers", ["clip_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_case_markers_clip_id"), table_name="case_markers")
    op.drop_index("ix_case_markers_case_at", table_name="case_markers")
    op.drop_table("case_markers")
