"""Rate limits on anonymous endpoints, counted in PostgreSQL so every API process and worker shares them.

A hit is one upsert on `rate_limit_hits`, keyed by the endpoint group, the client address and the minute it falls
in; the count it returns decides. Counting happens in a transaction of its own, so a refused or failed request
still counts. Rows of past minutes are removed now and then by the same path (they decide nothing any more).
"""

from __future__ import annotations

import math
import secrets
from datetime import datetime, timedelta

from sqlalchemy import Index, Integer, Text, delete, text
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Mapped, mapped_column

from app.core import clock
from app.core.config import get_settings
from app.core.db import Base, write_session

WINDOW = timedelta(minutes=1)
# Past windows are cleared on about one hit in this many (any process may do it; the delete is idempotent).
_CLEAR_ONE_IN = 200


class RateLimitHit(Base):
    __tablename__ = "rate_limit_hits"

    group_name: Mapped[str] = mapped_column(Text, primary_key=True)
    client_address: Mapped[str] = mapped_column(Text, primary_key=True)
    window_start: Mapped[datetime] = mapped_column(primary_key=True)
    hits: Mapped[int] = mapped_column(Integer)

    __table_args__ = (Index("ix_rate_limit_hits_window_start", "window_start"),)


def _window_start(now: datetime) -> datetime:
    return now.replace(second=0, microsecond=0)


def hit(group: str, address: str, limit: int | None = None) -> int:
    """Count one request of `address` to `group`; return 0 when it is within the limit, else the seconds until
    the current minute ends (the client's `Retry-After`)."""
    limit = limit or get_settings().rate_limit_per_minute
    now = clock.now()
    start = _window_start(now)
    with write_session() as session:
        # A count lost to a crash is harmless: do not wait for the disk on every anonymous call.
        session.execute(text("SET LOCAL synchronous_commit TO OFF"))
        statement = (
            insert(RateLimitHit)
            .values(group_name=group, client_address=address, window_start=start, hits=1)
            .on_conflict_do_update(
                index_elements=["group_name", "client_address", "window_start"],
                set_={"hits": RateLimitHit.hits + 1},
            )
            .returning(RateLimitHit.hits)
        )
        hits = int(session.execute(statement).scalar_one())
        if secrets.randbelow(_CLEAR_ONE_IN) == 0:
            session.execute(delete(RateLimitHit).where(RateLimitHit.window_start < start - WINDOW))
    if hits <= limit:
        return 0
    return max(1, math.ceil((start + WINDOW - now).total_seconds()))
