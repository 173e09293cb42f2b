"""units: the phone number owners are told to call about a request (optional; units created before have none).

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-04 09:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0020"
down_revision = "0019"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("units", sa.Column("phone", sa.Text(), nullable=True))


def downgrade() -> None:
    op.drop_column("units", "phone")
