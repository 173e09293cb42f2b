"""originals: the recorder clock offset is a finite number within a week; cases: incident times lie between
1970 and 2199 — the database refuses what the schemas refuse, so no other path can store a NaN offset or a
year-9999 incident that would break every later read. NOT VALID: rows already stored are left as they are.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-02 17:30:00
"""

from __future__ import annotations

from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        "ALTER TABLE originals ADD CONSTRAINT ck_originals_clock_offset_finite "
        "CHECK (clock_offset_s BETWEEN -604800 AND 604800) NOT VALID"
    )
    op.execute(
        "ALTER TABLE cases ADD CONSTRAINT ck_cases_incident_years "
        "CHECK (incident_start >= '1970-01-01 00:00:00+00' AND incident_end < '2200-01-01 00:00:00+00') NOT VALID"
    )


def downgrade() -> None:
    op.execute("ALTER TABLE cases DROP CONSTRAINT ck_cases_incident_years")
    op.execute("ALTER TABLE originals DROP CONSTRAINT ck_originals_clock_offset_finite")
