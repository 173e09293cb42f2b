"""The end of a case's requests: closing a case settles every request still open on it, in the same transaction.

Requests nobody has answered or delivered footage for yet are cancelled with the case's closing as the reason;
requests whose footage came are closed with a result: `useful` when the case says footage contributed, else
`not_useful`; footage that never matched the window (or was never converted) closes as `no_footage`. A request
whose footage is being cut right now (`footage_received`) is left to the clip job and closed by the investigator.
"""

from __future__ import annotations

from uuid import UUID

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.auth.permissions import Actor
from app.extractions.models import ExtractionRequest
from app.extractions.service import move
from app.extractions.states import RequestStatus

S = RequestStatus
CANCELLED_ON_CLOSE = frozenset({S.draft, S.submitted, S.approved, S.partially_approved})
CLOSED_WITH_FOOTAGE = frozenset({S.clip_ready, S.delivered})
CLOSED_WITHOUT_FOOTAGE = frozenset({S.footage_mismatch, S.needs_conversion})


def settle_case_requests(
    session: Session, actor: Actor, case_id: UUID, *, outcome: str, footage_contributed: bool | None
) -> dict[str, int]:
    """Cancel or close every open request of a case being closed; each move is a history row and custody event."""
    reason = f"case closed: {outcome}"
    settled = {"cancelled": 0, "closed": 0}
    open_states = sorted(CANCELLED_ON_CLOSE | CLOSED_WITH_FOOTAGE | CLOSED_WITHOUT_FOOTAGE)
    for request in session.scalars(
        select(ExtractionRequest)
        .where(ExtractionRequest.case_id == case_id, ExtractionRequest.status.in_(open_states))
        .order_by(ExtractionRequest.created_at, ExtractionRequest.id)
        .with_for_update()
    ):
        if request.status in CANCELLED_ON_CLOSE:
            move(session, request, S.cancelled, actor, reason, details={"case_closed": True})
            settled["cancelled"] += 1
            continue
        result = (
            ("useful" if footage_contributed else "not_useful")
            if request.status in CLOSED_WITH_FOOTAGE
            else "no_footage"
        )
        request.close_result = result
        move(session, request, S.closed, actor, reason, details={"result": result, "case_closed": True})
        settled["closed"] += 1
    return settled
