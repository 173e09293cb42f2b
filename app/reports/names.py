"""What people read instead of ids: custody actors, cameras, originals and clips by name, times in the camera's
zone, sizes in human units — in Vietnamese (the default) or English.

The custody log names actors by label (``user:<uuid>``, ``owner-link:<uuid>``, ``system:<component>``) and objects
by id; that is what its leaves commit to and stays as is. :func:`load_names` resolves a batch of them in a few
queries, and :class:`Names` words them: officers as "full name · role · unit" (owners see them as "role · unit"),
cameras as "label · address · owner", footage as "camera — file name". Reports and pages share it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from uuid import UUID
from zoneinfo import ZoneInfo

from babel.numbers import format_decimal
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.appeals.models import Appeal, Submission
from app.auth.models import OwnerLink, Role, Unit, User
from app.auth.permissions import acts_for_owner
from app.core import phones
from app.extractions.models import ExtractionRequest
from app.footage.models import Clip, Original
from app.registry.models import Camera, Owner
from app.web.i18n import translations

DEFAULT_ZONE = "Asia/Ho_Chi_Minh"
SEPARATOR = " · "


def N_(message: str) -> str:  # noqa: N802 - the conventional name of the no-op gettext marker
    return message


# What the system's own parts are called when they act (the part after "system:").
SYSTEM_PARTS = {
    "clipper": N_("system:clipper"),
    "scheduler": N_("system:scheduler"),
    "retention": N_("system:retention"),
    "consent": N_("system:consent"),
    "orphan-sweep": N_("system:orphan-sweep"),
    "import-cameras": N_("system:import-cameras"),
    "demo": N_("system:demo"),
    "playable": N_("system:playable"),
    "previews": N_("system:previews"),
    "redaction": N_("system:redaction"),
    "redaction-sweep": N_("system:redaction-sweep"),
}
SYSTEM = N_("system:service")

# Custody actions the owner ledger's labels (app/web/labels.py) do not already word.
ACTION_LABELS = (
    N_("case_created"),
    N_("case_updated"),
    N_("case_closed"),
    N_("report.exported"),
    N_("retention.hold_released"),
    N_("retention.deleted"),
    N_("custody.verified"),
    N_("consent.given"),
    N_("consent.withdrawn"),
    # community appeals: what residents send, its triage, and the originals and clips it becomes
    N_("appeal.published"),
    N_("appeal.closed"),
    N_("submission.received"),
    N_("submission.probed"),
    N_("submission.quarantined"),
    N_("submission.accepted"),
    N_("submission.declined"),
    N_("submission.download_link_issued"),
    N_("submission_clip.made"),
    N_("submission_clip.download_link_issued"),
    N_("appeal.original_made"),
    # background jobs that failed on evidence (app/footage/failures.py)
    N_("clip.failed"),
    N_("playback_copy.failed"),
)
# Objects of the log named by their kind alone (no name of their own in a report).
OBJECT_KINDS = (N_("appeal_submission"), N_("appeal"))

# Reasons the system itself writes into the log (free text otherwise, shown as written).
SYSTEM_REASONS = (
    N_("recorder export received"),
    N_("clip cut by stream copy"),
    N_("the footage does not cover the requested window"),
    N_("unanswered at the overwrite deadline"),
    N_("every case referencing it is closed"),
    N_("retention period over, no legal hold, every case referencing it closed"),
    N_("an evidence object version without an evidence row"),
    N_("an evidence row whose object version is missing from storage"),
    N_("playback in the player"),
    N_("case timeline"),
)
# A failed background job's reason, by kind of problem (app/footage/failures.py REASONS).
FAILURE_REASONS = (
    N_("the clip could not be cut: the recording could not be cut by stream copy"),
    N_("the clip could not be cut: evidence storage was unavailable"),
    N_("the clip could not be cut: an internal error"),
    N_("the playback copy could not be made: the recording could not be copied by stream copy"),
    N_("the playback copy could not be made: evidence storage was unavailable"),
    N_("the playback copy could not be made: an internal error"),
)
# Reasons the system writes with numbers or names in them, worded in other languages piece by piece (English
# readers see them as written): an export in several files made whole, and how its clip was cut.
EXPORT_COMPLETE = re.compile(
    r"export complete: (?P<n>\d+) files?(?:, (?P<gaps>\d+) gap\(s\) between them)?"
    r"(?:, (?P<overlaps>\d+) overlap\(s\))?(?:; (?P<waiting>\d+) kept for conversion)?$"
)
EXPORT_PIECES = (
    ("n", N_("export complete: %(n)s files")),
    ("gaps", N_(", %(n)s gap(s) between them")),
    ("overlaps", N_(", %(n)s overlap(s)")),
    ("waiting", N_("; %(n)s kept for conversion")),
)
CUT_ACROSS = re.compile(r"clip cut by stream copy across (?P<n>\d+) files, joined by the concat demuxer$")
CUT_ACROSS_WORDS = N_("clip cut by stream copy across %(n)s files, joined by the concat demuxer")
CUT_APART = re.compile(r"the files differ in (?P<what>[a-z ,]+): one clip per file, each cut by stream copy$")
CUT_APART_WORDS = N_("the files differ in %(what)s: one clip per file, each cut by stream copy")
# what two files of an export may differ in (app/footage/cutting.py joinable)
FILE_PARAMETERS = (
    N_("container"),
    N_("video codec"),
    N_("width"),
    N_("height"),
    N_("frame rate"),
    N_("audio codec"),
)
AUTO_APPROVED = N_("approved automatically under the owner's standing consent")
UUID_PATTERN = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")

OWNER_LINK = N_("camera owner, one-time link")
UNKNOWN_PERSON = N_("unknown person")
UNKNOWN_OBJECT = N_("unknown item")
CLIP_OF = N_("clip %(start)s–%(end)s of %(file)s")
REQUEST_FOR = N_("extraction request: %(camera)s")
CASE_NUMBER = N_("case %(number)s")
CONTRIBUTED = N_("contributed through appeal “%(title)s”, by %(contributor)s")
ANONYMOUS = N_("anonymous")
PUBLIC_SENDER = N_("a resident, through the appeal's public page")


def translate(locale: str, message: str) -> str:
    return str(translations(locale).gettext(message))


def reason_words(reason: str | None, locale: str = "vi") -> str:
    """A custody reason as a reader should see it: the system's own reasons translated, ids left to the appendix."""
    if not reason:
        return ""
    if reason.startswith("auto_approve consent"):
        return translate(locale, AUTO_APPROVED)
    if locale != "en":
        worded = _numbered_reason(reason, locale)
        if worded is not None:
            return worded
    return UUID_PATTERN.sub("…", translate(locale, reason))


def _numbered_reason(reason: str, locale: str) -> str | None:
    """The system's reasons with numbers or names in them, in `locale`; None for any other reason."""
    if found := EXPORT_COMPLETE.match(reason):
        return "".join(
            translate(locale, words) % {"n": found.group(key)} for key, words in EXPORT_PIECES if found.group(key)
        )
    if found := CUT_ACROSS.match(reason):
        return translate(locale, CUT_ACROSS_WORDS) % {"n": found.group("n")}
    if found := CUT_APART.match(reason):
        names = ", ".join(translate(locale, name) for name in found.group("what").split(", "))
        return translate(locale, CUT_APART_WORDS) % {"what": names}
    return None


def offset_words(moment: datetime, zone: str) -> str:
    """The zone's UTC offset at `moment`: "+07", or "+05:30" when not whole hours."""
    offset = moment.astimezone(ZoneInfo(zone)).utcoffset()
    minutes = int(offset.total_seconds() // 60) if offset is not None else 0
    sign = "+" if minutes >= 0 else "-"
    hours, rest = divmod(abs(minutes), 60)
    return f"{sign}{hours:02d}" + (f":{rest:02d}" if rest else "")


def local_moment(value: datetime | None, zone: str, locale: str = "vi", *, date: bool = True) -> str:
    """A time in `zone`, to the second, with its offset: "21:00:05 02/12/2026 +07" (vi), "2026-12-02 21:00:05 +07"."""
    if value is None:
        return "—"
    local = value.astimezone(ZoneInfo(zone))
    clock = local.strftime("%H:%M:%S")
    offset = offset_words(value, zone)
    if not date:
        return f"{clock} {offset}"
    day = local.strftime("%d/%m/%Y") if locale == "vi" else local.strftime("%Y-%m-%d")
    return f"{clock} {day} {offset}" if locale == "vi" else f"{day} {clock} {offset}"


def local_window(start: datetime | None, end: datetime | None, zone: str, locale: str = "vi") -> str:
    """A window in `zone`; the end without its date when the day is the same."""
    if start is None or end is None:
        return "—"
    same_day = start.astimezone(ZoneInfo(zone)).date() == end.astimezone(ZoneInfo(zone)).date()
    return f"{local_moment(start, zone, locale)} → {local_moment(end, zone, locale, date=not same_day)}"


def size_words(size: int | None, locale: str = "vi") -> str:
    """Bytes in human units and exactly: "270,6 KiB (277.092 byte)" / "270.6 KiB (277,092 bytes)"."""
    if size is None:
        return "—"
    value, unit = float(size), "B"
    for bigger in ("KiB", "MiB", "GiB", "TiB"):
        if value < 1024:
            break
        value, unit = value / 1024, bigger
    exact = format_decimal(size, locale=locale)
    word = "byte" if locale == "vi" else "bytes"
    if unit == "B":
        return f"{exact} {word}"
    return f"{format_decimal(round(value, 1), format='#,##0.0', locale=locale)} {unit} ({exact} {word})"


def parse_label(label: str) -> tuple[str, str]:
    """("user" | "owner-link" | "system", the rest) of a custody actor label."""
    kind, _, rest = label.partition(":")
    return kind, rest


def _uuid(value: Any) -> UUID | None:
    try:
        return value if isinstance(value, UUID) else UUID(str(value))
    except (TypeError, ValueError):
        return None


@dataclass(frozen=True)
class Person:
    full_name: str
    role: str
    unit: str | None
    owner: str | None  # for owners' own accounts: the owner they act for


@dataclass(frozen=True)
class CameraNames:
    label: str
    address: str | None
    owner: str
    timezone: str


@dataclass(frozen=True)
class Footage:
    camera_id: UUID | None  # None for a file contributed through a community appeal
    filename: str
    start: datetime | None = None  # clips: the actual cut points
    end: datetime | None = None
    appeal: AppealSource | None = None


@dataclass(frozen=True)
class AppealSource:
    """Where an appeal's original came from: the appeal's public title and who sent it (None: anonymously)."""

    title: str
    contributor: str | None


def contributed_words(source: AppealSource, locale: str = "vi") -> str:
    """ "contributed through appeal “title”, by Nguyễn Văn A" (or "by anonymous")."""
    who = source.contributor or translate(locale, ANONYMOUS)
    return translate(locale, CONTRIBUTED) % {"title": source.title, "contributor": who}


def contributor_of(name: str | None, phone: str | None) -> str | None:
    """The sender as the report names them: their name, else their phone as people write it; None if anonymous."""
    if name:
        return name
    return phones.display(phone) if phone else None


@dataclass
class Names:
    """Names resolved for one page or report; anything not loaded is worded as unknown, never as its id."""

    users: dict[UUID, Person] = field(default_factory=dict)
    links: dict[UUID, str] = field(default_factory=dict)  # owner link -> owner name
    cameras: dict[UUID, CameraNames] = field(default_factory=dict)
    requests: dict[UUID, UUID] = field(default_factory=dict)  # request -> camera
    originals: dict[UUID, Footage] = field(default_factory=dict)
    clips: dict[UUID, Footage] = field(default_factory=dict)
    cases: dict[UUID, str] = field(default_factory=dict)  # case -> number

    # -- people --------------------------------------------------------------------------------------
    def person(self, user_id: UUID | None, locale: str = "vi", *, for_owner: bool = False) -> str:
        """ "full name · role · unit"; for an owner reading about officers, "role · unit" only."""
        person = self.users.get(user_id) if user_id is not None else None
        if person is None:
            return translate(locale, UNKNOWN_PERSON)
        role = translate(locale, person.role)
        if acts_for_owner(Role(person.role)):
            return SEPARATOR.join(p for p in (person.full_name, role, person.owner) if p)
        parts = (role, person.unit) if for_owner else (person.full_name, role, person.unit)
        return SEPARATOR.join(p for p in parts if p)

    def actor(self, label: str, locale: str = "vi", *, for_owner: bool = False) -> str:
        """A custody actor label in words."""
        kind, rest = parse_label(label)
        if kind == "user":
            return self.person(_uuid(rest), locale, for_owner=for_owner)
        if kind == "owner-link":
            link_id = _uuid(rest)
            owner = self.links.get(link_id) if link_id is not None else None
            words = translate(locale, OWNER_LINK)
            return f"{owner}{SEPARATOR}{words}" if owner else words
        if kind == "system":
            return translate(locale, SYSTEM_PARTS.get(rest, SYSTEM))
        if kind == "public":
            return translate(locale, PUBLIC_SENDER)
        return translate(locale, UNKNOWN_PERSON)

    # -- things --------------------------------------------------------------------------------------
    def camera(self, camera_id: UUID | None, locale: str = "vi") -> str:
        """ "label · address · owner"."""
        camera = self.cameras.get(camera_id) if camera_id is not None else None
        if camera is None:
            return translate(locale, UNKNOWN_OBJECT)
        return SEPARATOR.join(p for p in (camera.label, camera.address, camera.owner) if p)

    def camera_label(self, camera_id: UUID | None, locale: str = "vi") -> str:
        camera = self.cameras.get(camera_id) if camera_id is not None else None
        return camera.label if camera is not None else translate(locale, UNKNOWN_OBJECT)

    def zone_of(self, camera_id: UUID | None) -> str:
        camera = self.cameras.get(camera_id) if camera_id is not None else None
        return camera.timezone if camera is not None else DEFAULT_ZONE

    def original(self, original_id: UUID | None, locale: str = "vi") -> str:
        """ "camera — file name"."""
        footage = self.originals.get(original_id) if original_id is not None else None
        if footage is None:
            return translate(locale, UNKNOWN_OBJECT)
        return f"{self.source(footage, locale)} — {footage.filename}"

    def source(self, footage: Footage, locale: str = "vi") -> str:
        """Where footage came from: its camera's label, or the appeal it was contributed through and by whom."""
        if footage.appeal is not None:
            return contributed_words(footage.appeal, locale)
        return self.camera_label(footage.camera_id, locale)

    def clip(self, clip_id: UUID | None, locale: str = "vi") -> str:
        """ "camera — clip 21:00:07–21:00:14 +07 of file name"."""
        footage = self.clips.get(clip_id) if clip_id is not None else None
        if footage is None:
            return translate(locale, UNKNOWN_OBJECT)
        zone = self.zone_of(footage.camera_id)
        words = translate(locale, CLIP_OF) % {
            "start": local_moment(footage.start, zone, locale, date=False).rsplit(" ", 1)[0],
            "end": local_moment(footage.end, zone, locale, date=False),
            "file": footage.filename,
        }
        return f"{self.source(footage, locale)} — {words}"

    def request(self, request_id: UUID | None, locale: str = "vi") -> str:
        camera_id = self.requests.get(request_id) if request_id is not None else None
        if camera_id is None:
            return translate(locale, UNKNOWN_OBJECT)
        return translate(locale, REQUEST_FOR) % {"camera": self.camera(camera_id, locale)}

    def case(self, case_id: UUID | None, locale: str = "vi") -> str:
        number = self.cases.get(case_id) if case_id is not None else None
        return translate(locale, CASE_NUMBER) % {"number": number} if number else translate(locale, UNKNOWN_OBJECT)

    def object(self, object_type: str | None, object_id: Any, locale: str = "vi") -> str:
        """What a custody event touched, in words ("" when it touched nothing in particular)."""
        if object_type is None:
            return ""
        key = _uuid(object_id)
        wording = {
            "original": self.original,
            "clip": self.clip,
            "request": self.request,
            "camera": self.camera,
            "case": self.case,
        }.get(object_type)
        if wording is not None:
            return wording(key, locale)
        if object_type == "user":
            return self.person(key, locale)
        return translate(locale, object_type)


# -- loading ---------------------------------------------------------------------------------------------
def load_names(
    session: Session,
    *,
    actors: Iterable[str] = (),
    users: Iterable[UUID] = (),
    cameras: Iterable[UUID] = (),
    requests: Iterable[UUID] = (),
    originals: Iterable[UUID] = (),
    clips: Iterable[UUID] = (),
    cases: Iterable[UUID] = (),
) -> Names:
    """Resolve the given actor labels and ids in a handful of queries (footage brings its request's camera)."""
    from app.cases.models import Case

    names = Names()
    user_ids, link_ids = set(users), set()
    for label in actors:
        kind, rest = parse_label(label)
        key = _uuid(rest)
        if key is not None and kind == "user":
            user_ids.add(key)
        elif key is not None and kind == "owner-link":
            link_ids.add(key)
    request_ids, camera_ids = set(requests), set(cameras)

    if clips:
        rows = session.execute(
            select(
                Clip.id,
                Clip.request_id,
                Clip.actual_start,
                Clip.actual_end,
                Original.filename,
                Original.appeal_submission_id,
            )
            .join(Original, Original.id == Clip.original_id)
            .where(Clip.id.in_(set(clips)))
        )
        clip_rows = list(rows)
        request_ids.update(r.request_id for r in clip_rows)
    else:
        clip_rows = []
    if originals:
        original_rows = list(
            session.execute(
                select(Original.id, Original.request_id, Original.filename, Original.appeal_submission_id).where(
                    Original.id.in_(set(originals))
                )
            )
        )
        request_ids.update(r.request_id for r in original_rows)
    else:
        original_rows = []
    if link_ids:
        link_rows = list(
            session.execute(
                select(OwnerLink.id, Owner.name)
                .join(ExtractionRequest, ExtractionRequest.id == OwnerLink.request_id)
                .join(Owner, Owner.id == ExtractionRequest.owner_id)
                .where(OwnerLink.id.in_(link_ids))
            )
        )
        names.links = {r.id: r.name for r in link_rows}
    if request_ids:
        rows = session.execute(
            select(ExtractionRequest.id, ExtractionRequest.camera_id).where(ExtractionRequest.id.in_(request_ids))
        )
        names.requests = {r.id: r.camera_id for r in rows}
        camera_ids.update(names.requests.values())
    if camera_ids:
        rows = session.execute(
            select(Camera.id, Camera.label, Camera.address, Camera.timezone, Owner.name)
            .join(Owner, Owner.id == Camera.owner_id)
            .where(Camera.id.in_(camera_ids))
        )
        names.cameras = {r.id: CameraNames(r.label, r.address, r.name, r.timezone) for r in rows}
    if user_ids:
        rows = session.execute(
            select(User.id, User.full_name, User.role, Unit.name.label("unit"), Owner.name.label("owner"))
            .outerjoin(Unit, Unit.id == User.unit_id)
            .outerjoin(Owner, Owner.id == User.owner_id)
            .where(User.id.in_(user_ids))
        )
        names.users = {r.id: Person(r.full_name, str(r.role), r.unit, r.owner) for r in rows}
    if cases:
        rows = session.execute(select(Case.id, Case.number).where(Case.id.in_(set(cases))))
        names.cases = {r.id: r.number for r in rows}
    sources = _appeal_sources(
        session, {r.appeal_submission_id for r in [*original_rows, *clip_rows] if r.appeal_submission_id}
    )
    for o in original_rows:
        if o.appeal_submission_id in sources:
            names.originals[o.id] = Footage(None, o.filename, appeal=sources[o.appeal_submission_id])
        elif o.request_id in names.requests:
            names.originals[o.id] = Footage(names.requests[o.request_id], o.filename)
    for c in clip_rows:
        if c.appeal_submission_id in sources:
            source = sources[c.appeal_submission_id]
            names.clips[c.id] = Footage(None, c.filename, c.actual_start, c.actual_end, appeal=source)
        elif c.request_id in names.requests:
            names.clips[c.id] = Footage(names.requests[c.request_id], c.filename, c.actual_start, c.actual_end)
    return names


def appeal_sources(session: Session, submission_ids: Iterable[UUID]) -> dict[UUID, AppealSource]:
    """The appeal and sender of each given submission (an appeal original's `appeal_submission_id`)."""
    return _appeal_sources(session, set(submission_ids))


def _appeal_sources(session: Session, submission_ids: set[UUID]) -> dict[UUID, AppealSource]:
    if not submission_ids:
        return {}
    rows = session.execute(
        select(Submission.id, Appeal.title, Submission.contributor_name, Submission.contributor_phone)
        .join(Appeal, Appeal.id == Submission.appeal_id)
        .where(Submission.id.in_(submission_ids))
    )
    return {r.id: AppealSource(r.title, contributor_of(r.contributor_name, r.contributor_phone)) for r in rows}


def names_for_events(session: Session, events: Iterable[dict[str, Any]]) -> Names:
    """Names for every actor and object a list of exported custody events refers to."""
    events = list(events)
    ids: dict[str, set[UUID]] = {"original": set(), "clip": set(), "request": set(), "camera": set(), "case": set()}
    users: set[UUID] = set()
    for event in events:
        key = _uuid(event.get("object_id"))
        if key is not None and event.get("object_type") in ids:
            ids[str(event["object_type"])].add(key)
        elif key is not None and event.get("object_type") == "user":
            users.add(key)
        details = event.get("details") or {}
        for name, kind in (("camera_id", "camera"), ("original_id", "original"), ("clip_id", "clip")):
            found = _uuid(details.get(name)) if isinstance(details, dict) else None
            if found is not None:
                ids[kind].add(found)
        case_id = _uuid(event.get("case_id"))
        if case_id is not None:
            ids["case"].add(case_id)
    return load_names(
        session,
        actors={str(e["actor"]) for e in events},
        users=users,
        cameras=ids["camera"],
        requests=ids["request"],
        originals=ids["original"],
        clips=ids["clip"],
        cases=ids["case"],
    )
