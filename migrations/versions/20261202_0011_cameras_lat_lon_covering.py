"""cameras: the coverage search's bounding-box index also carries retention_days and id, so the search ranks
the cameras in the box from the index alone (an index-only scan) instead of visiting each camera's heap page

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-02 06:00:00
"""

from __future__ import annotations

from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.drop_index("ix_cameras_lat_lon", table_name="cameras")
    op.create_index(
        "ix_cameras_lat_lon", "cameras", ["lat", "lon"], unique=False, postgresql_include=["retention_days", "id"]
    )


def downgrade() -> None:
    op.drop_index("ix_cameras_lat_lon", table_name="cameras")
    op.create_index("ix_cameras_lat_lon", "cameras", ["lat", "lon"], unique=False)
