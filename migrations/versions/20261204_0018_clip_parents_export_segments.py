"""Exports in several files: clip_parents names every file a clip was cut from (with its SHA-256, in timeline
order); originals.arrived_after_transition_id tells which files form one export (those that arrived after the
request last opened to footage). Existing clips get their one parent; existing originals stay NULL (a request
without it is cut from its latest file, as before).

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-04 09:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "clip_parents",
        sa.Column("clip_id", sa.Uuid(), nullable=False),
        sa.Column("original_id", sa.Uuid(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.Text(), nullable=False),
        sa.CheckConstraint("length(sha256) = 64", name=op.f("ck_clip_parents_sha256_hex")),
        sa.CheckConstraint("position >= 0", name=op.f("ck_clip_parents_position_natural")),
        sa.ForeignKeyConstraint(["clip_id"], ["clips.id"], name=op.f("fk_clip_parents_clip_id_clips")),
        sa.ForeignKeyConstraint(["original_id"], ["originals.id"], name=op.f("fk_clip_parents_original_id_originals")),
        sa.PrimaryKeyConstraint("clip_id", "original_id", name=op.f("pk_clip_parents")),
        sa.UniqueConstraint("clip_id", "position", name=op.f("uq_clip_parents_position")),
    )
    op.create_index(op.f("ix_clip_parents_original_id"), "clip_parents", ["original_id"])
    op.execute(
        "INSERT INTO clip_parents (clip_id, original_id, position, sha256) "
        "SELECT id, original_id, 0, parent_sha256 FROM clips"
    )
    op.add_column("originals", sa.Column("arrived_after_transition_id", sa.Integer(), nullable=True))
    op.create_foreign_key(
        op.f("fk_originals_arrived_after_transition_id_request_transitions"),
        "originals",
        "request_transitions",
        ["arrived_after_transition_id"],
        ["id"],
    )


def downgrade() -> None:
    op.drop_constraint(
        op.f("fk_originals_arrived_after_transition_id_request_transitions"), "originals", type_="foreignkey"
    )
    op.drop_column("originals", "arrived_after_transition_id")
    op.drop_index(op.f("ix_clip_parents_original_id"), table_name="clip_parents")
    op.drop_table("clip_parents")
