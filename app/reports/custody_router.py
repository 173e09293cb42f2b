"""The custody log over HTTP: events, signed checkpoints, the public key, proofs and full verification."""

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Depends, Query

from app.auth.permissions import Actor, allow
from app.core.db import SessionDep
from app.core.pagination import PageDep
from app.custody import checkpoints, proofs
from app.reports import custody_view

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


@router.get("/custody/checkpoint")
def checkpoint(session: SessionDep, _: Annotated[Actor, Depends(allow("custody.read"))]) -> dict[str, Any]:
    """The latest signed checkpoint; one is issued now if the log grew since the last."""
    return checkpoints.checkpoint_record(checkpoints.current_checkpoint(session))


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
