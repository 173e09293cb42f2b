"""Appeals' evidence as the orphan sweep sees it: submissions and the clips of the originals they became, all stored
under `appeals/` (an accepted submission's original row names the submission's own object)."""

from __future__ import annotations

from collections.abc import Iterable
from uuid import UUID

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.appeals.models import Submission
from app.footage.models import Clip
from app.footage.orphans import EvidenceKind

PREFIX = "appeals/"


def _submissions(session: Session) -> Iterable[tuple[UUID, str, str]]:
    return session.execute(select(Submission.id, Submission.object_key, Submission.version_id)).tuples()


def _clips(session: Session) -> Iterable[tuple[UUID, str, str]]:
    # The case's clips cut from appeal originals (no request): stored under appeals/ beside their parent.
    return session.execute(select(Clip.id, Clip.object_key, Clip.version_id).where(Clip.request_id.is_(None))).tuples()


KINDS = (
    EvidenceKind("appeal_submission", PREFIX, _submissions),
    EvidenceKind("submission_clip", PREFIX, _clips),
)
