"""Disclosure packages: the chosen clips of a granted case (or rendered redacted copies in their place), its custody
bundle and a receipt PDF listing every item with its SHA-256, size, the custody event recording it and the first
signed checkpoint covering that event (a redacted copy also with its parent clip's hash and its redaction's record).

Making a package is one transaction: the bundle's export event, the disclosure row and its own custody event.
The ZIP is then streamed in constant memory (clips straight from S3, each hashed on the way and checked against
the receipt); every download and the recipient's acknowledgement are custody events too.
"""

from __future__ import annotations

import hashlib
import io
import json
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from app.auth.grants import CaseGrant
from app.auth.models import User
from app.auth.permissions import Actor, ensure_may, ensure_visible
from app.cases import service as cases
from app.cases.models import Case
from app.core import clock
from app.core.errors import Conflict, RuleViolation
from app.core.storage import get_storage
from app.custody.checkpoints import CustodyCheckpoint, checkpoint_record, covering_checkpoint
from app.custody.models import CustodyEvent
from app.custody.service import append_event
from app.disclosure.grants import live_grant
from app.disclosure.models import Disclosure
from app.extractions.models import ExtractionRequest
from app.footage.models import Clip
from app.footage.redaction_models import Redaction
from app.reports.bundle import build_bundle, bundle_name
from app.reports.service import case_report

RECEIPT_NAME = "receipt.pdf"
CHUNK = 1024 * 1024


@dataclass(frozen=True)
class CaseEvidence:
    """What a prosecutor sees of a granted case: the case, its clips (with each one's rendered redacted copies, by
    clip id), the grant and the packages made so far."""

    case: Case
    grant: CaseGrant
    clips: list[Clip]
    disclosures: list[Disclosure]
    redactions: dict[UUID, list[Redaction]]


def _ready_redactions(session: Session, clip_ids: list[UUID]) -> dict[UUID, list[Redaction]]:
    """The rendered, still stored redacted copies of these clips, by clip id, oldest first."""
    found: dict[UUID, list[Redaction]] = {}
    rows = session.scalars(
        select(Redaction)
        .where(Redaction.clip_id.in_(clip_ids), Redaction.status == "ready", Redaction.deleted_at.is_(None))
        .order_by(Redaction.rendered_at, Redaction.id)
    )
    for row in rows:
        found.setdefault(row.clip_id, []).append(row)
    return found


def _case_clips(session: Session, case_id: UUID) -> list[Clip]:
    return list(
        session.scalars(
            select(Clip)
            .outerjoin(ExtractionRequest, ExtractionRequest.id == Clip.request_id)
            # the requests' clips, and those cut from files residents contributed through the case's appeals
            .where(or_(ExtractionRequest.case_id == case_id, Clip.case_id == case_id), Clip.deleted_at.is_(None))
            .order_by(Clip.actual_start, Clip.id)
        )
    )


def case_evidence(session: Session, actor: Actor, case_id: UUID) -> CaseEvidence:
    """The granted case's clips and the actor's packages of it (404 without a live grant)."""
    case = cases.get_case(session, actor, case_id)
    ensure_may(actor, "disclosure.read", case)
    grant = live_grant(session, actor, case.id)
    disclosures = list(
        session.scalars(
            select(Disclosure)
            .where(Disclosure.case_id == case.id, Disclosure.recipient_id == actor.user_id)
            .order_by(Disclosure.created_at.desc())
        )
    )
    clips = _case_clips(session, case.id)
    return CaseEvidence(case, grant, clips, disclosures, _ready_redactions(session, [c.id for c in clips]))


def _first_event_seq(session: Session, object_id: UUID) -> int | None:
    return session.scalar(
        select(CustodyEvent.seq).where(CustodyEvent.object_id == object_id).order_by(CustodyEvent.seq).limit(1)
    )


def _event_seq(session: Session, object_id: UUID, action: str) -> int | None:
    return session.scalar(
        select(CustodyEvent.seq)
        .where(CustodyEvent.object_id == object_id, CustodyEvent.action == action)
        .order_by(CustodyEvent.seq)
        .limit(1)
    )


def _clip_file_name(position: int, clip: Clip, camera_label: str, redacted: bool = False) -> str:
    safe = "".join(ch if ch.isalnum() or ch in "-_" else "_" for ch in camera_label)[:40] or "camera"
    if redacted:
        return f"clips/{position:02d}-{safe}-redacted.mp4"
    return f"clips/{position:02d}-{safe}.{clip.container or 'mp4'}"


def _covered(session: Session, seq: int | None, seen: dict[int, CustodyCheckpoint]) -> dict[str, Any]:
    """The item's covering checkpoint (the first signed one holding its event) as the item names it."""
    checkpoint = covering_checkpoint(session, seq) if seq is not None else None
    if checkpoint is None:
        return {"checkpoint_tree_size": None, "checkpoint_root": None}
    seen.setdefault(checkpoint.tree_size, checkpoint)
    return {"checkpoint_tree_size": checkpoint.tree_size, "checkpoint_root": checkpoint.root_hash.hex()}


def _chosen_copies(
    session: Session, chosen: list[Clip], redaction_ids: list[UUID], case_id: UUID
) -> dict[UUID, Redaction]:
    """The redacted copies named, by the clip each replaces: rendered, stored, of a chosen clip, one per clip."""
    wanted = list(dict.fromkeys(redaction_ids))
    if not wanted:
        return {}
    rows = {r.id: r for r in session.scalars(select(Redaction).where(Redaction.id.in_(wanted)))}
    chosen_ids = {c.id for c in chosen}
    copies: dict[UUID, Redaction] = {}
    for redaction_id in wanted:
        row = rows.get(redaction_id)
        if row is None or row.case_id != case_id or row.status != "ready" or row.deleted_at is not None:
            raise RuleViolation(
                "redaction_ids",
                "choose finished redacted copies of this case's clips only",
                extra={"unknown": [str(redaction_id)]},
            )
        if row.clip_id not in chosen_ids:
            raise RuleViolation("redaction_ids", "choose the clip of each redacted copy too")
        if row.clip_id in copies:
            raise RuleViolation("redaction_ids", "choose at most one redacted copy of each clip")
        copies[row.clip_id] = row
    return copies


def make_package(
    session: Session,
    actor: Actor,
    case_id: UUID,
    clip_ids: list[UUID],
    locale: str = "vi",
    *,
    redaction_ids: list[UUID] | None = None,
) -> Disclosure:
    """Package the chosen clips of a granted case (all of them when none are named), each or a rendered redacted
    copy of it (`redaction_ids`), with the case's custody bundle, and write the receipt. The clips and copies must
    be the case's; the grant must be live."""
    case = cases.get_case(session, actor, case_id)
    ensure_may(actor, "disclosure.package", case)
    grant = live_grant(session, actor, case.id)
    available = {clip.id: clip for clip in _case_clips(session, case.id)}
    if not available:
        raise Conflict("the case has no clips to disclose yet")
    chosen_ids = list(dict.fromkeys(clip_ids)) or list(available)
    unknown = [str(i) for i in chosen_ids if i not in available]
    if unknown:
        raise RuleViolation("clip_ids", "choose clips of this case only", extra={"unknown": unknown})
    chosen = [available[i] for i in chosen_ids]
    copies = _chosen_copies(session, chosen, redaction_ids or [], case.id)

    report = case_report(session, actor, case.id, locale)
    bundle = build_bundle(session, actor, case.id, report)
    with zipfile.ZipFile(io.BytesIO(bundle)) as archive:
        checkpoint = json.loads(archive.read("checkpoint.json"))
    export_seq = session.scalar(
        select(CustodyEvent.seq)
        .where(CustodyEvent.case_id == case.id, CustodyEvent.action == "report.exported")
        .order_by(CustodyEvent.seq.desc())
        .limit(1)
    )
    tree_size, root = int(checkpoint["tree_size"]), str(checkpoint["root_hash"])
    labels = {r["id"]: r.get("camera_label") or r.get("camera_name") or "" for r in report["requests"]}
    clip_names = {c["id"]: c.get("name") or "" for c in report["clips"]}
    items: list[dict[str, Any]] = []
    seen: dict[int, CustodyCheckpoint] = {}
    for position, clip in enumerate(chosen, start=1):
        camera = labels.get(str(clip.request_id), "") if clip.request_id else "appeal"
        copy = copies.get(clip.id)
        if copy is None:
            seq = _first_event_seq(session, clip.id)
            items.append(
                {
                    "name": _clip_file_name(position, clip, camera),
                    "kind": "clip",
                    "title": clip_names.get(str(clip.id), ""),
                    "object_id": str(clip.id),
                    "sha256": clip.sha256,
                    "size": clip.size,
                    "custody_seq": seq,
                    **_covered(session, seq, seen),
                }
            )
            continue
        assert copy.sha256 is not None and copy.size is not None and copy.rendered_at is not None
        seq = _event_seq(session, copy.id, "redaction.rendered")
        items.append(
            {
                "name": _clip_file_name(position, clip, camera, redacted=True),
                "kind": "redacted_copy",
                "title": clip_names.get(str(clip.id), ""),
                "object_id": str(copy.id),
                "sha256": copy.sha256,
                "size": copy.size,
                "custody_seq": seq,
                **_covered(session, seq, seen),
                "parent": {
                    "clip_id": str(clip.id),
                    "sha256": copy.parent_sha256,
                    "version_id": copy.parent_version_id,
                    "custody_seq": _first_event_seq(session, clip.id),
                },
                "redaction": {
                    "id": str(copy.id),
                    "style": copy.style,
                    "mask_sha256": copy.mask_sha256,
                    "detector": f"{copy.detector.get('name', '')} {copy.detector.get('version', '')}".strip(),
                    "tool": f"{copy.tool or ''} {copy.tool_version or ''}".strip(),
                    "rendered_at": copy.rendered_at.isoformat(),
                    "tracks": len(copy.tracks),
                    "manual_tracks": sum(1 for t in copy.tracks if t.get("source") == "manual"),
                },
            }
        )
    items.append(
        {
            "name": bundle_name(report),
            "kind": "bundle",
            "title": "",
            "object_id": str(case.id),
            "sha256": hashlib.sha256(bundle).hexdigest(),
            "size": len(bundle),
            "custody_seq": export_seq,
            **_covered(session, export_seq, seen),
        }
    )
    recipient = session.get(User, actor.user_id)
    now = clock.now()
    disclosure = Disclosure(
        case_id=case.id,
        grant_id=grant.id,
        recipient_id=grant.grantee_id,
        created_at=now,
        items=items,
        receipt_sha256="0" * 64,
        receipt_pdf=b"",
        bundle_zip=bundle,
        checkpoint_tree_size=tree_size,
        checkpoint_root=root,
    )
    session.add(disclosure)
    session.flush()
    from app.disclosure.receipt import render_receipt  # fpdf (with numpy and PIL) only when a receipt is made

    receipt = render_receipt(
        report=report,
        disclosure_id=str(disclosure.id),
        recipient=recipient.full_name if recipient else "",
        created_at=now,
        items=items,
        checkpoint=checkpoint,
        covering=[checkpoint_record(seen[size]) for size in sorted(seen)],
    )
    disclosure.receipt_pdf = receipt
    disclosure.receipt_sha256 = hashlib.sha256(receipt).hexdigest()
    append_event(
        session,
        actor=actor.label,
        action="disclosure.packaged",
        object_type="disclosure",
        object_id=disclosure.id,
        sha256=disclosure.receipt_sha256,
        case_id=case.id,
        where=actor.where(),
        details={
            "grant_id": str(grant.id),
            "items": [
                {
                    **{k: item[k] for k in ("name", "kind", "object_id", "sha256", "size", "checkpoint_tree_size")},
                    **({"parent_sha256": item["parent"]["sha256"]} if "parent" in item else {}),
                }
                for item in items
            ],
            "checkpoint": {"tree_size": tree_size, "root_hash": root},
        },
    )
    return disclosure


def get_disclosure(session: Session, actor: Actor, disclosure_id: UUID, action: str = "disclosure.read") -> Disclosure:
    """A package, to its recipient only, while their grant on the case is live (404 otherwise)."""
    disclosure = session.get(Disclosure, disclosure_id)
    if disclosure is None or disclosure.recipient_id != actor.user_id:
        ensure_visible(False, actor, "disclosure", disclosure_id)
    assert disclosure is not None
    case = cases.get_case(session, actor, disclosure.case_id)
    ensure_may(actor, action, case)
    live_grant(session, actor, case.id)
    return disclosure


@dataclass(frozen=True)
class PackageFile:
    name: str
    sha256: str
    size: int
    object_key: str | None = None
    version_id: str | None = None
    content: bytes | None = None


def open_package(session: Session, actor: Actor, disclosure_id: UUID) -> tuple[Disclosure, list[PackageFile]]:
    """What the package's ZIP holds, in order; the download is a custody event (each fetch, not only the first)."""
    disclosure = get_disclosure(session, actor, disclosure_id)
    clip_ids = [UUID(item["object_id"]) for item in disclosure.items if item["kind"] == "clip"]
    clips = {c.id: c for c in session.scalars(select(Clip).where(Clip.id.in_(clip_ids)))}
    copy_ids = [UUID(item["object_id"]) for item in disclosure.items if item["kind"] == "redacted_copy"]
    copies = {r.id: r for r in session.scalars(select(Redaction).where(Redaction.id.in_(copy_ids)))}
    files: list[PackageFile] = []
    for item in disclosure.items:
        if item["kind"] == "clip":
            clip = clips[UUID(item["object_id"])]
            files.append(PackageFile(item["name"], clip.sha256, clip.size, clip.object_key, clip.version_id))
        elif item["kind"] == "redacted_copy":
            copy = copies[UUID(item["object_id"])]
            if copy.deleted_at is not None or copy.object_key is None or copy.version_id is None:
                raise Conflict("a redacted copy of this package was deleted at the end of its retention")
            # the receipt's hash, not the row's: the stream stops if the stored bytes no longer match it
            files.append(PackageFile(item["name"], item["sha256"], item["size"], copy.object_key, copy.version_id))
        else:
            files.append(PackageFile(item["name"], item["sha256"], item["size"], content=disclosure.bundle_zip))
    receipt = disclosure.receipt_pdf
    files.append(PackageFile(RECEIPT_NAME, disclosure.receipt_sha256, len(receipt), content=receipt))
    append_event(
        session,
        actor=actor.label,
        action="disclosure.downloaded",
        object_type="disclosure",
        object_id=disclosure.id,
        sha256=disclosure.receipt_sha256,
        case_id=disclosure.case_id,
        where=actor.where(),
        details={"files": [{"name": f.name, "sha256": f.sha256} for f in files]},
    )
    return disclosure, files


class _Sink(io.RawIOBase):
    """A write-only, unseekable file: the ZIP writer's output, drained after every write (constant memory)."""

    def __init__(self) -> None:
        self.pending = bytearray()

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        self.pending += data
        return len(data)

    def drain(self) -> bytes:
        out = bytes(self.pending)
        self.pending.clear()
        return out


def stream_zip(files: list[PackageFile]) -> Iterator[bytes]:
    """The package's ZIP, chunk by chunk; a clip whose bytes do not hash to the receipt's SHA-256 stops it."""
    sink = _Sink()
    storage = get_storage()
    with zipfile.ZipFile(sink, "w", compression=zipfile.ZIP_STORED, allowZip64=True) as archive:
        for item in files:
            digest = hashlib.sha256()
            with archive.open(item.name, "w", force_zip64=True) as entry:
                if item.content is not None:
                    pieces: Iterator[bytes] = iter([item.content])
                else:
                    assert item.object_key is not None and item.version_id is not None
                    pieces = storage.iter_version(item.object_key, item.version_id, CHUNK)
                for piece in pieces:
                    digest.update(piece)
                    entry.write(piece)
                    if len(sink.pending) >= CHUNK:
                        yield sink.drain()
            if digest.hexdigest() != item.sha256:
                raise RuntimeError(f"{item.name} no longer hashes to the receipt's SHA-256")
            yield sink.drain()
    yield sink.drain()


def acknowledge(session: Session, actor: Actor, disclosure_id: UUID, name: str) -> Disclosure:
    """The recipient confirms the receipt under their name; recorded once, as a custody event."""
    disclosure = get_disclosure(session, actor, disclosure_id, "disclosure.acknowledge")
    name = name.strip()
    if not 1 <= len(name) <= 200:
        raise RuleViolation("name", "write the name of the person who received the package (1 to 200 characters)")
    if disclosure.acknowledged_at is not None:
        raise Conflict("the receipt is already acknowledged")
    disclosure.acknowledged_at = clock.now()
    disclosure.acknowledged_name = name
    append_event(
        session,
        actor=actor.label,
        action="disclosure.acknowledged",
        object_type="disclosure",
        object_id=disclosure.id,
        sha256=disclosure.receipt_sha256,
        case_id=disclosure.case_id,
        where=actor.where(),
        details={"acknowledged_name": name},
    )
    return disclosure
