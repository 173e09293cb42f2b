"""Every domain's models, imported once so Alembic and the tests see the whole schema."""

from app.core.db import Base
from app.custody import models as custody_models

__all__ = ["Base", "custody_models"]
