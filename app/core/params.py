"""Parameter types shared by routers."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated, Any

from pydantic import BeforeValidator

_ISO_8601 = re.compile(r"^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?)?(Z|[+-]\d{2}:?\d{2})?$", re.IGNORECASE)


def _iso_8601_only(value: Any) -> Any:
    # Pydantic would also read "0.5" or "1700000000" as seconds since 1970; the API promises ISO 8601.
    if isinstance(value, str) and not _ISO_8601.match(value.strip()):
        raise ValueError("must be an ISO 8601 time, e.g. 2026-11-24T21:15:00+07:00")
    return value


IsoDateTime = Annotated[datetime, BeforeValidator(_iso_8601_only)]
