"""The custody log over HTTP: events, signed checkpoints, the public key, proofs and full verification."""

from __future__ import annotations

import base64
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import PlainTextResponse, Response
from pydantic import BaseModel, Field

from app.auth.permissions import Actor, allow
from app.core.config import get_settings
from app.core.db import SessionDep
from app.core.pagination import PageDep
from app.custody import checkpoints, cosignatures, proofs, timestamps
from app.custody.entry import format_time
from app.reports import custody_view, receipts

MAX_SEQ = 2**63 - 1  # custody seqs are PostgreSQL bigints
router = APIRouter(prefix="/api/v1", tags=["custody"])


@router.get("/custody")
def events(
    session: SessionDep,
    page: PageDep,
    actor: Annotated[Actor, Depends(allow("custody.read"))],
    case_id: Annotated[UUID | None, Query()] = None,
    object_id: Annotated[UUID | None, Query()] = None,
    since_seq: Annotated[int | None, Query(ge=0, le=MAX_SEQ)] = None,
    action: Annotated[str | None, Query(max_length=100)] = None,
) -> dict[str, Any]:
    items, total = custody_view.list_events(
        session,
        actor,
        case_id=case_id,
        object_id=object_id,
        since_seq=since_seq,
        action=action,
        limit=page.limit,
        offset=page.offset,
    )
    return {"items": items, "total": total}


@router.get(
    "/custody/checkpoint",
    responses={200: {"content": {"application/json": {}, "text/plain": {"description": "C2SP checkpoint note"}}}},
)
def checkpoint(request: Request, session: SessionDep, _: Annotated[Actor, Depends(allow("custody.read"))]) -> Any:
    """The latest signed checkpoint; one is issued now if the log grew since the last.

    With `Accept: text/plain` it is the C2SP tlog-checkpoint signed note (the log's signature, then the
    witnesses' cosignatures); the JSON form carries the same note in `note`.
    """
    current = checkpoints.current_checkpoint(session)
    stored = cosignatures.cosignatures_of(session, current.tree_size, current.root_hash)
    note = checkpoints.checkpoint_note(current, [c.line() for c in stored])
    if _prefers_text(request.headers.get("accept", "")):
        return PlainTextResponse(note, media_type="text/plain; charset=utf-8")
    stamp = timestamps.timestamp_of(session, current.tree_size, current.root_hash)
    return {
        **checkpoints.checkpoint_record(current),
        "origin": get_settings().custody_origin,
        "note": note,
        "cosignatures": [cosignatures.cosignature_record(c) for c in stored],
        "timestamp": None
        if stamp is None
        else {"gen_time": format_time(stamp.gen_time), "response": base64.b64encode(stamp.response).decode("ascii")},
    }


def _prefers_text(accept: str) -> bool:
    """True when the client asks for text/plain and not JSON (a browser's */* keeps JSON)."""
    kinds = [part.split(";")[0].strip().lower() for part in accept.split(",")]
    return "text/plain" in kinds and "application/json" not in kinds


class CosignatureSubmission(BaseModel):
    note: str = Field(max_length=20_000, description="The checkpoint note with the witness's cosignature line.")


@router.post("/custody/cosignatures", status_code=201)
def cosign(session: SessionDep, submission: CosignatureSubmission) -> dict[str, Any]:
    """A witness hands in its cosignature (C2SP tlog-cosignature) of a checkpoint of this log.

    No account is needed: only cosignatures that verify under a key in `CUSTODY_WITNESS_KEYS`, over a
    checkpoint whose root is this log's root at its size, are stored.
    """
    stored = cosignatures.accept(session, submission.note)
    return {"tree_size": stored[0].tree_size, "cosignatures": [cosignatures.cosignature_record(c) for c in stored]}


@router.get("/custody/public-key")
def public_key() -> dict[str, str]:
    """The Ed25519 key that signs checkpoints (public: anyone may verify)."""
    return checkpoints.public_key_record()


@router.get("/custody/proof/inclusion")
def inclusion(
    session: SessionDep,
    _: Annotated[Actor, Depends(allow("custody.read"))],
    seq: Annotated[int, Query(ge=1, le=MAX_SEQ)],
    tree_size: Annotated[int | None, Query(ge=1, le=MAX_SEQ)] = None,
) -> dict[str, Any]:
    return proofs.inclusion_proof(session, seq, tree_size).as_record()


@router.get("/custody/proof/consistency")
def consistency(
    session: SessionDep,
    _: Annotated[Actor, Depends(allow("custody.read"))],
    first: Annotated[int, Query(ge=1, le=MAX_SEQ)],
    second: Annotated[int, Query(ge=1, le=MAX_SEQ)],
) -> dict[str, Any]:
    return proofs.consistency_proof(session, first, second).as_record()


@router.get("/me/ledger")
def ledger(session: SessionDep, page: PageDep, actor: Annotated[Actor, Depends(allow("custody.ledger"))]) -> Any:
    """Who viewed, downloaded or derived anything from the footage this owner handed over."""
    items, total = custody_view.owner_ledger(session, actor, page.limit, page.offset)
    return {"items": items, "total": total}


@router.post("/custody/verify")
def verify(session: SessionDep, actor: Annotated[Actor, Depends(allow("custody.verify"))]) -> dict[str, Any]:
    """Recompute the whole log (leaves, root, signed checkpoints) and re-hash every stored object version.

    The verification reads its own snapshot; that it ran, and what it found, is itself a custody event.
    """
    return custody_view.verify_and_record(session, actor)


# -- consent receipts ------------------------------------------------------------------------------
LeafHash = Annotated[str, Path(pattern=r"^[0-9a-fA-F]{64}$", description="The receipt's leaf hash, 64 hex digits.")]


@router.get("/custody/receipts/{seq}/{leaf_hash}")
def check_receipt(
    session: SessionDep, seq: Annotated[int, Path(ge=1, le=MAX_SEQ)], leaf_hash: LeafHash
) -> dict[str, Any]:
    """Public: whether custody event `seq` has this leaf hash and records a consent change (given, changed,
    withdrawn), with the signed checkpoint that covers it and the inclusion proof to its root. Nothing else about
    the owner is shown; a wrong pair is a 404."""
    return receipts.check(session, seq, leaf_hash)


@router.get("/consents/{consent_id}/receipts", tags=["registry"])
def consent_receipts(
    consent_id: UUID, session: SessionDep, actor: Annotated[Actor, Depends(allow("consents.read"))]
) -> list[dict[str, Any]]:
    """The consent's receipts (given or changed, then withdrawn), each with its custody seq and leaf hash."""
    return [
        {"custody_seq": r.seq, "leaf_hash": r.leaf_hash, "change": r.change, "at": r.at, "check_url": r.check_url}
        for r in receipts.list_receipts(session, actor, consent_id)
    ]


@router.get(
    "/consents/{consent_id}/receipts/{seq}",
    tags=["registry"],
    responses={200: {"content": {"application/json": {}, "application/pdf": {}}}},
)
def consent_receipt(
    consent_id: UUID,
    seq: Annotated[int, Path(ge=1, le=MAX_SEQ)],
    session: SessionDep,
    actor: Annotated[Actor, Depends(allow("consents.read"))],
    format: Annotated[str, Query(pattern="^(json|pdf)$")] = "json",
) -> Any:
    """One receipt: JSON (with the event, its inclusion proof, a signed checkpoint and the public key, for
    `scripts/verify_bundle.py --receipt`) or the Vietnamese PDF."""
    if format == "pdf":
        body = receipts.receipt_pdf(session, actor, consent_id, seq, get_settings().programme_terms_text)
        return Response(
            body,
            media_type="application/pdf",
            headers={"Content-Disposition": f'attachment; filename="bien-nhan-dong-y-{seq}.pdf"'},
        )
    return receipts.receipt_json(session, actor, consent_id, seq)
