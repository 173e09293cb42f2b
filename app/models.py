"""Every domain's models, imported once so Alembic and the tests see the whole schema."""

from app.appeals import models as appeals_models
from app.auth import grants as auth_grants  # noqa: F401 - the case_grants table
from app.auth import models as auth_models
from app.cases import models as cases_models
from app.core import idempotency as idempotency_keys  # noqa: F401 - the idempotency_keys table
from app.core import rate_limits  # noqa: F401 - the rate_limit_hits table
from app.core.db import Base
from app.custody import checkpoints as custody_checkpoints  # noqa: F401 - the custody_checkpoints table
from app.custody import cosignatures as custody_cosignatures  # noqa: F401 - the custody_cosignatures table
from app.custody import models as custody_models
from app.custody import timestamps as custody_timestamps  # noqa: F401 - the custody_timestamps table
from app.disclosure import models as disclosure_models  # noqa: F401 - the disclosures table
from app.extractions import models as extractions_models
from app.footage import (
    link_models,  # noqa: F401 - the evidence_links table
    playable_models,  # noqa: F401 - the playback_copies table
    preview_models,  # noqa: F401 - the previews table
    redaction_models,  # noqa: F401 - the redactions table
    timeline_models,  # noqa: F401 - the case_markers table
    upload_models,  # noqa: F401 - the resumable_uploads tables
)
from app.footage import models as footage_models
from app.notifications import models as notifications_models
from app.notifications import staff_models  # noqa: F401 - the staff_notifications table
from app.registry import models as registry_models

__all__ = [
    "appeals_models",
    "Base",
    "auth_models",
    "cases_models",
    "custody_models",
    "extractions_models",
    "footage_models",
    "notifications_models",
    "registry_models",
]
