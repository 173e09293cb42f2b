"""The unit's side of appeals: publish one for a case (with its QR code to post), and triage what residents sent —
look at it (a logged link), accept it into the case or decline it with a reason."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Any
from uuid import UUID
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from app.appeals import clipping, qr
from app.appeals import service as appeals
from app.appeals.models import DeclineCategory, SubmissionStatus
from app.appeals.schemas import AppealCreate, DeclineIn
from app.cases import service as cases
from app.core import clock
from app.core.db import SessionDep
from app.web.forms import DEFAULT_TZ, decimal, form_action, local_to_utc
from app.web.labels import N_
from app.web.pages import WebActor, check_csrf, locale_of, render

router = APIRouter(include_in_schema=False)

DECLINE_LABELS = {
    DeclineCategory.not_relevant: N_("Not relevant (other place or time)"),
    DeclineCategory.duplicate: N_("Duplicate"),
    DeclineCategory.unusable: N_("Unusable (dark, blurred, too short)"),
    DeclineCategory.abusive: N_("Abusive or spam"),
}
STATUS_LABELS = {
    SubmissionStatus.quarantined: N_("In quarantine"),
    SubmissionStatus.accepted: N_("Accepted"),
    SubmissionStatus.declined: N_("Declined"),
}


def _case_context(session: Any, actor: Any, case_id: UUID) -> dict[str, Any]:
    case = cases.get_case(session, actor, case_id)
    items = appeals.list_for_case(session, actor, case_id)
    local = ZoneInfo(DEFAULT_TZ)
    return {
        "case": case,
        "appeals": [appeals.describe(session, a) for a in items],
        "default_start": case.incident_start.astimezone(local).strftime("%Y-%m-%dT%H:%M:%S"),
        "default_end": case.incident_end.astimezone(local).strftime("%Y-%m-%dT%H:%M:%S"),
    }


@router.get("/cases/{case_id}/appeals", response_class=HTMLResponse)
def case_appeals(request: Request, case_id: UUID, session: SessionDep, actor: WebActor) -> Response:
    return render(
        request, "appeals.html", {**_case_context(session, actor, case_id), "default_closing": default_closing()}
    )


@router.post("/cases/{case_id}/appeals", response_class=HTMLResponse)
def publish(
    request: Request,
    case_id: UUID,
    session: SessionDep,
    actor: WebActor,
    csrf_token: Annotated[str, Form()],
    title: Annotated[str, Form()],
    text: Annotated[str, Form()],
    window_start: Annotated[str, Form()],
    window_end: Annotated[str, Form()],
    closes_at: Annotated[str, Form()],
    place: Annotated[str, Form()] = "",
    radius_m: Annotated[str, Form()] = "300",
    lat: Annotated[str, Form()] = "",
    lon: Annotated[str, Form()] = "",
) -> Response:
    check_csrf(request, csrf_token)
    form = {
        "title": title,
        "text": text,
        "place": place,
        "radius_m": radius_m,
        "window_start": window_start,
        "window_end": window_end,
        "closes_at": closes_at,
    }

    def create() -> Any:
        case = cases.get_case(session, actor, case_id)
        body = AppealCreate(
            title=title,
            text=text,
            place=place or None,
            lat=decimal(lat) if lat.strip() else case.incident_lat,  # text: the schema parses it and names the field
            lon=decimal(lon) if lon.strip() else case.incident_lon,
            radius_m=radius_m,  # the schema parses the form's text
            window_start=local_to_utc(window_start),
            window_end=local_to_utc(window_end),
            closes_at=local_to_utc(closes_at),
        )
        return appeals.publish(session, actor, case_id, body)

    return form_action(
        session,
        create,
        done=lambda appeal: RedirectResponse(f"/appeals/{appeal.id}", status_code=303),
        again=lambda error: render(
            request,
            "appeals.html",
            {**_case_context(session, actor, case_id), "error": error, "form": form, "default_closing": closes_at},
        ),
        raised=(404,),
        locale=locale_of(request),
    )


def _appeal_context(session: Any, actor: Any, appeal_id: UUID) -> dict[str, Any]:
    appeal = appeals.get_appeal(session, actor, appeal_id)
    described = appeals.describe(session, appeal)
    submissions = appeals.list_submissions(session, actor, appeal_id)
    order = {SubmissionStatus.quarantined: 0, SubmissionStatus.accepted: 1, SubmissionStatus.declined: 2}
    submissions.sort(key=lambda s: (order[s.status], s.received_at))
    clips = {
        s.id: clipping.clips_of(session, actor, s.id) for s in submissions if s.status == SubmissionStatus.accepted
    }
    originals = {s.id: appeals.original_of(session, s.id) for s in submissions if s.status == SubmissionStatus.accepted}
    return {
        "clips": clips,
        # the originals accepted submissions became: played in the player like any original of the case
        "originals": {sid: o.id for sid, o in originals.items() if o is not None},
        "appeal": described,
        "case": cases.get_case(session, actor, appeal.case_id),
        "qr_svg": qr.svg(described["public_url"], inline=True).decode("utf-8"),
        "submissions": submissions,
        "decline_labels": DECLINE_LABELS,
        "status_labels": STATUS_LABELS,
    }


@router.get("/appeals/{appeal_id}", response_class=HTMLResponse)
def appeal_page(request: Request, appeal_id: UUID, session: SessionDep, actor: WebActor) -> Response:
    return render(request, "appeal.html", _appeal_context(session, actor, appeal_id))


@router.post("/appeals/{appeal_id}/close", response_class=HTMLResponse)
def close(
    request: Request, appeal_id: UUID, session: SessionDep, actor: WebActor, csrf_token: Annotated[str, Form()]
) -> Response:
    check_csrf(request, csrf_token)
    return form_action(
        session,
        lambda: appeals.close(session, actor, appeal_id),
        done=lambda _: RedirectResponse(f"/appeals/{appeal_id}", status_code=303),
        again=lambda error: render(
            request, "appeal.html", {**_appeal_context(session, actor, appeal_id), "error": error}
        ),
        raised=(404,),
        locale=locale_of(request),
    )


@router.post("/submissions/{submission_id}/view")
def view_submission(
    request: Request, submission_id: UUID, session: SessionDep, actor: WebActor, csrf_token: Annotated[str, Form()]
) -> Response:
    """Open the file itself: a short link to the exact version, recorded in custody with the triage purpose."""
    check_csrf(request, csrf_token)
    link = appeals.download_link(session, actor, submission_id, "triage of an appeal submission")
    return RedirectResponse(link["url"], status_code=303)


@router.post("/submissions/{submission_id}/accept", response_class=HTMLResponse)
def accept(
    request: Request,
    submission_id: UUID,
    session: SessionDep,
    actor: WebActor,
    csrf_token: Annotated[str, Form()],
    note: Annotated[str, Form()] = "",
) -> Response:
    check_csrf(request, csrf_token)
    submission = appeals.get_submission(session, actor, submission_id)
    back = f"/appeals/{submission.appeal_id}"
    return form_action(
        session,
        lambda: appeals.accept(session, actor, submission_id, note.strip() or None),
        done=lambda _: RedirectResponse(f"{back}#s-{submission_id}", status_code=303),
        again=lambda error: render(
            request, "appeal.html", {**_appeal_context(session, actor, submission.appeal_id), "error": error}
        ),
        raised=(404,),
        locale=locale_of(request),
    )


@router.post("/submissions/{submission_id}/decline", response_class=HTMLResponse)
def decline(
    request: Request,
    submission_id: UUID,
    session: SessionDep,
    actor: WebActor,
    csrf_token: Annotated[str, Form()],
    category: Annotated[str, Form()],
    reason: Annotated[str, Form()] = "",
) -> Response:
    check_csrf(request, csrf_token)
    submission = appeals.get_submission(session, actor, submission_id)
    appeal_id = submission.appeal_id
    return form_action(
        session,
        lambda: appeals.decline(session, actor, submission_id, DeclineIn(category=category, reason=reason)),
        done=lambda _: RedirectResponse(f"/appeals/{appeal_id}#s-{submission_id}", status_code=303),
        again=lambda error: render(
            request, "appeal.html", {**_appeal_context(session, actor, appeal_id), "error": error}
        ),
        raised=(404,),
        locale=locale_of(request),
    )


def default_closing() -> str:
    """The publish form's suggested closing date: two weeks from now, as a datetime-local value."""
    return (clock.now() + timedelta(days=14)).astimezone(ZoneInfo(DEFAULT_TZ)).strftime("%Y-%m-%dT%H:%M")


@router.post("/submissions/{submission_id}/clips", response_class=HTMLResponse)
def cut_clip(
    request: Request,
    submission_id: UUID,
    session: SessionDep,
    actor: WebActor,
    csrf_token: Annotated[str, Form()],
    window_start: Annotated[str, Form()],
    window_end: Annotated[str, Form()],
    recording_start: Annotated[str, Form()] = "",
) -> Response:
    """Cut a window of an accepted video, in local time; the first frame's time only when the sender's is wrong."""
    check_csrf(request, csrf_token)
    appeal_id = appeals.get_submission(session, actor, submission_id).appeal_id

    def cut() -> Any:
        first = local_to_utc(recording_start) if recording_start.strip() else None
        return clipping.make_clip(
            session, actor, submission_id, local_to_utc(window_start), local_to_utc(window_end), first
        )

    return form_action(
        session,
        cut,
        done=lambda _: RedirectResponse(f"/appeals/{appeal_id}#s-{submission_id}", status_code=303),
        again=lambda error: render(
            request, "appeal.html", {**_appeal_context(session, actor, appeal_id), "error": error}
        ),
        raised=(404,),
        locale=locale_of(request),
    )


@router.post("/submission-clips/{clip_id}/view")
def view_clip(
    request: Request, clip_id: UUID, session: SessionDep, actor: WebActor, csrf_token: Annotated[str, Form()]
) -> Response:
    check_csrf(request, csrf_token)
    link = clipping.download_link(session, actor, clip_id, "review of a clip of an appeal submission")
    return RedirectResponse(link["url"], status_code=303)
