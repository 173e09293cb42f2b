"""users.locale: the pages' language each user picked (NULL until they pick one: Vietnamese, the default).

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-04 09:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("users", sa.Column("locale", sa.Text(), nullable=True))
    op.create_check_constraint(op.f("ck_users_locale_known"), "users", "locale IS NULL OR locale IN ('vi','en')")


def downgrade() -> None:
    op.drop_constraint(op.f("ck_users_locale_known"), "users", type_="check")
    op.drop_column("users", "locale")
