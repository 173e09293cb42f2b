"""owners: an optional external id (the programme's own register number), unique, so a camera import can name an
owner by it (or by phone) instead of by the database id.

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-04 12:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("owners", sa.Column("external_id", sa.Text(), nullable=True))
    op.create_unique_constraint(op.f("uq_owners_external_id"), "owners", ["external_id"])


def downgrade() -> None:
    op.drop_constraint(op.f("uq_owners_external_id"), "owners", type_="unique")
    op.drop_column("owners", "external_id")
