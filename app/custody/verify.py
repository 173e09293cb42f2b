"""Full verification of the custody log: every row, every root, every signed checkpoint, every object.

What is checked, and how each failure is reported (``what``, with the ``seq`` or ``object_id`` at fault):

- each row's leaf is recomputed from its fields and compared with its stored leaf hash: "edited row", or
  "reordered row" when the row (or its content) hashes to the leaf of another position;
- the sequence runs 1, 2, 3, ... without holes: "missing row"; rows past the head: "row beyond the log head";
- the Merkle root over the stored leaves, in seq order, equals the log head's root and frontier: "root
  differs from the log head" (seq = the head's size);
- at each signed checkpoint's size, the root equals the signed root and the signature verifies under the
  service's key: "root differs from a signed checkpoint", "checkpoint signature invalid", "checkpoint beyond
  the log" (seq = the checkpoint's size); when a root disagrees, rows whose time runs backwards are named
  ("out of time order") to point at a rewritten stretch;
- each object version an event stored (``details.object_key`` + ``version_id`` + ``sha256``) is read back from
  S3, streaming, and re-hashed once (with a redaction's mask file, which its `redaction.rendered` event stores
  beside the copy): "missing object version", "object hash mismatch", "object unreadable"; a version whose
  deletion at the end of its retention the log records (`retention.deleted`) is not read;
- each tracked data row (consents, requests, originals, clips, redactions, cases, users) is compared with the
  state its custody events record, and each live evidence object's retention and legal hold as S3 reports them with its
  row (app/custody/data_check.py): "<noun> <id>… <field> is X in the table but Y in the log", "… is in the
  table but not in the log", "… is in the log but not in the table", "… legal hold is off in S3 but on in the
  table", "… retention is … in S3 but … in the table" (``object_id`` = the row's id).
"""

from __future__ import annotations

import hashlib
import multiprocessing
import os
from collections.abc import Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, cast

import psycopg
import urllib3
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from app.core.config import get_settings
from app.core.storage import ObjectVersion, Storage, StorageError, get_storage
from app.custody import data_check, notes
from app.custody.checkpoints import CustodyCheckpoint, signing_key, verify_checkpoint
from app.custody.cosignatures import CustodyCosignature
from app.custody.cosignatures import witness_keys as cosignature_keys
from app.custody.merkle import frontier_root
from app.custody.models import CustodyEvent
from app.custody.recompute import (
    ObjectReference,
    RangeResult,
    Suspect,
    entry_leaf,
    walk_range,
    walk_range_in_worker,
)
from app.custody.service import log_head

MAX_PER_KIND = 1_000  # problems listed per kind; the rest are counted in one closing problem
PARALLEL_FROM = 200_000  # events; below this, spawning workers costs more than it saves
RANGE_SIZE = 250_000
OBJECT_READERS = 4
_MISSING_CODES = {"NoSuchKey", "NoSuchVersion", "NoSuchObject", "InvalidArgument"}


@dataclass(frozen=True)
class Problem:
    what: str
    seq: int | None = None
    object_id: str | None = None
    detail: str | None = None

    def as_record(self) -> dict[str, Any]:
        record: dict[str, Any] = {}
        if self.seq is not None:
            record["seq"] = self.seq
        if self.object_id is not None:
            record["object_id"] = self.object_id
        record["what"] = self.what
        if self.detail:
            record["detail"] = self.detail
        return record


@dataclass
class VerificationResult:
    """`tree_size` and `root_hash` are recomputed from the rows as stored; `ok` only when nothing is wrong."""

    ok: bool
    tree_size: int
    root_hash: str
    problems: list[Problem]
    head_size: int = 0
    checkpoints_checked: int = 0
    objects_checked: int = 0
    rows_checked: int = 0
    witnessed: dict[str, int] = field(default_factory=dict)  # witness name -> largest size it cosigned validly

    def as_record(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "tree_size": self.tree_size,
            "root_hash": self.root_hash,
            "problems": [p.as_record() for p in self.problems],
            "head_size": self.head_size,
            "checkpoints_checked": self.checkpoints_checked,
            "objects_checked": self.objects_checked,
            "rows_checked": self.rows_checked,
            "witnessed": self.witnessed,
        }


@dataclass
class _Report:
    problems: list[Problem] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)

    def add(self, problem: Problem, kind: str | None = None) -> None:
        """Record a problem; at most MAX_PER_KIND of one kind (its `what`, unless named) are listed."""
        kind = kind or problem.what
        n = self.counts.get(kind, 0) + 1
        self.counts[kind] = n
        if n <= MAX_PER_KIND:
            self.problems.append(problem)

    def closed(self) -> list[Problem]:
        """The problems by seq, then by object, then the counts of those left unlisted."""
        out = sorted(
            self.problems,
            key=lambda p: (p.seq is None, p.seq or 0, p.object_id is None, p.object_id or ""),
        )
        for what, n in self.counts.items():
            if n > MAX_PER_KIND:
                out.append(Problem(what=what, detail=f"{n - MAX_PER_KIND} more not listed ({n} in all)"))
        return out


def verify_log(
    session: Session,
    *,
    include_objects: bool = True,
    include_data: bool = True,
    workers: int | None = None,
    storage: Storage | None = None,
    witnesses: Sequence[notes.VerifierKey] = (),
) -> VerificationResult:
    """Recompute the whole log and compare it with its head, its signed checkpoints and S3.

    Read-only. Run it in a fresh session: it then reads one REPEATABLE READ snapshot. In a session already
    in a READ COMMITTED transaction it still holds, since events appended meanwhile only extend the log.
    `workers` > 1 splits the rows among processes sharing the snapshot (default: the CPU count for large logs).
    `include_data` compares the data tables with the log (and, with `include_objects`, evidence locks with S3).
    `witnesses` must each have a valid cosignature of a signed checkpoint (whose root the walk compares with
    the log's); every stored cosignature of a known witness must verify.
    """
    if not session.in_transaction():
        session.connection(execution_options={"isolation_level": "REPEATABLE READ"})
    report = _Report()
    checkpoints = _checked_checkpoints(session, report)
    head = log_head(session)
    head_size = head.tree_size
    fold = _Fold(report, checkpoints, head_size, head.root_hash, list(head.frontier))
    max_seq = session.execute(select(func.max(CustodyEvent.seq))).scalar() or 0

    suspects: list[Suspect] = []
    gaps: list[tuple[int, int]] = []
    objects: dict[tuple[str, str], list[ObjectReference]] = {}
    deleted: set[tuple[str, str]] = set()
    inversions: list[int] = []
    last_at: str | None = None
    last_seq = 0
    for part in _ranges(session, max(head_size, max_seq), include_objects=include_objects, workers=workers):
        for seq in part.outside:
            report.add(Problem("row outside the log", seq=seq, detail="sequence numbers start at 1"))
        gaps.extend(part.gaps)
        suspects.extend(part.suspects)
        if part.first_at is not None and last_at is not None and part.first_at < last_at:
            inversions.append(part.seqs_first or 0)
        inversions.extend(part.inversions)
        last_at = part.last_at or last_at
        last_seq = part.seqs_last if part.seqs_last is not None else last_seq
        for key, refs in part.objects.items():
            objects.setdefault(key, []).extend(refs)
        deleted |= part.deleted
        fold.add(bytes(part.leaves))
    fold.finish()

    if last_seq < head_size:
        gaps.append((last_seq + 1, head_size))
    # Rows appended while we walked (outside a REPEATABLE READ snapshot) are neither missing nor beyond
    # the head: read the rows past the first head, then the head again (appends move both at once).
    past_head = session.execute(select(CustodyEvent.seq).where(CustodyEvent.seq > head_size)).scalars().all()
    final_size = max(head_size, log_head(session).tree_size)
    missing: set[int] = set()
    for first, last in gaps:
        for seq in range(max(first, 1), min(last, final_size) + 1):
            report.add(Problem("missing row", seq=seq))
            if len(missing) < MAX_PER_KIND:
                missing.add(seq)
    for seq in past_head:
        if seq > final_size:
            report.add(Problem("row beyond the log head", seq=seq, detail=f"the head records {final_size} events"))
    for problem in _classify(suspects, missing):
        report.add(problem)
    if any(p.what.startswith("root differs") for p in report.problems):
        for seq in inversions:
            report.add(Problem("out of time order", seq=seq, detail="recorded earlier than the row before it"))
    witnessed = _check_cosignatures(session, report, checkpoints, witnesses)
    _check_case_chains(session, report)
    locks: dict[tuple[str, str], list[data_check.RowLock]] = {}
    rows_checked = 0
    if include_data:
        found, locks, rows_checked = data_check.check_rows(session)
        for item in found:
            report.add(Problem(item.what, object_id=item.object_id, detail=item.detail), kind=item.kind)
    live = {key: refs for key, refs in objects.items() if key not in deleted}  # deleted at end of retention
    objects_checked = _check_objects(report, live, storage, locks) if include_objects else 0
    problems = report.closed()
    return VerificationResult(
        ok=not problems,
        tree_size=fold.size,
        root_hash=frontier_root(fold.frontier).hex(),
        problems=problems,
        head_size=head_size,
        checkpoints_checked=len(checkpoints),
        objects_checked=objects_checked,
        rows_checked=rows_checked,
        witnessed=witnessed,
    )


_BROKEN_LINKS = text("""
    SELECT seq, case_id::text, case_prev_seq, before_seq FROM (
        SELECT seq, case_id, case_prev_seq, case_prev_hash,
               lag(seq) OVER (PARTITION BY case_id ORDER BY seq) AS before_seq,
               lag(leaf_hash) OVER (PARTITION BY case_id ORDER BY seq) AS before_leaf
        FROM custody_events WHERE case_prev_seq IS NOT NULL
    ) chained
    WHERE case_id IS NULL
       OR case_prev_seq IS DISTINCT FROM coalesce(before_seq, 0)
       OR case_prev_hash IS DISTINCT FROM before_leaf
    ORDER BY seq
    LIMIT :limit
""")


def _check_case_chains(session: Session, report: _Report) -> None:
    """Each chained event of a case names the case's previous chained event (seq and leaf hash), the first
    none: a case event removed, moved to another case or re-linked breaks its successor's link."""
    for seq, case_id, named, actual in session.execute(_BROKEN_LINKS, {"limit": MAX_PER_KIND + 1}):
        link = f"names seq {named or 'none'} as the case's previous event, the log's is {actual or 'none'}"
        detail = f"case {case_id}: {link}" if case_id else "carries a case link but no case"
        report.add(Problem("case chain broken", seq=seq, detail=detail))


def _check_cosignatures(
    session: Session, report: _Report, checkpoints: list[CustodyCheckpoint], witnesses: Sequence[notes.VerifierKey]
) -> dict[str, int]:
    """Each stored cosignature of a known witness (given or configured) verifies over a signed checkpoint; each
    given witness cosigned at least one. Returns each given witness's largest validly cosigned size."""
    known = {(k.name, k.key_id): k for k in (*cosignature_keys(), *witnesses)}
    signed = {(c.tree_size, c.root_hash) for c in checkpoints}
    origin = get_settings().custody_origin
    best: dict[tuple[str, bytes], int] = {}
    for cosignature in session.execute(select(CustodyCosignature).order_by(CustodyCosignature.tree_size)).scalars():
        key = known.get((cosignature.witness, cosignature.key_id))
        if key is None:
            continue
        body = notes.checkpoint_body(origin, cosignature.tree_size, cosignature.root_hash)
        if notes.verify_cosignature(body, cosignature.line(), key) is None:
            report.add(
                Problem(
                    "cosignature invalid",
                    seq=cosignature.tree_size,
                    detail=f"the cosignature of {cosignature.witness} does not verify under its key",
                )
            )
        elif (cosignature.tree_size, cosignature.root_hash) not in signed:
            report.add(
                Problem(
                    "cosignature of no signed checkpoint",
                    seq=cosignature.tree_size,
                    detail=f"{cosignature.witness} cosigned a root no stored checkpoint signs at this size",
                )
            )
        else:
            best[(key.name, key.key_id)] = max(best.get((key.name, key.key_id), 0), cosignature.tree_size)
    witnessed: dict[str, int] = {}
    for witness in witnesses:
        size = best.get((witness.name, witness.key_id))
        if size is None:
            report.add(Problem("witness missing", detail=f"no valid cosignature of {witness.name} on any checkpoint"))
        else:
            witnessed[witness.name] = size
    return witnessed


class _Fold:
    """The Merkle root over the stored leaves, compared with the head and each checkpoint at their sizes."""

    def __init__(
        self,
        report: _Report,
        checkpoints: list[CustodyCheckpoint],
        head_size: int,
        head_root: bytes,
        head_frontier: list[bytes],
    ) -> None:
        self.report = report
        self.pending = sorted(checkpoints, key=lambda c: c.tree_size, reverse=True)  # next one last
        self.head = (head_size, head_root, head_frontier)
        self.head_checked = False
        self.last_matching_checkpoint = 0
        self.frontier: list[bytes] = []
        self.size = 0
        self._check_at_size()

    def _next_stop(self) -> int:
        stops = [self.pending[-1].tree_size] if self.pending else []
        if not self.head_checked:
            stops.append(self.head[0])
        return min((s for s in stops if s > self.size), default=-1)

    def _check_at_size(self) -> None:
        root = frontier_root(self.frontier)
        while self.pending and self.pending[-1].tree_size == self.size:
            if _compare_checkpoint(self.report, self.pending.pop(), root, self.last_matching_checkpoint):
                self.last_matching_checkpoint = self.size
        if self.size == self.head[0] and not self.head_checked:
            self.head_checked = True
            _compare_head(self.report, self.head[0], self.head[1], self.head[2], self.frontier)

    def add(self, leaves: bytes) -> None:
        stack, size, sha256 = self.frontier, self.size, hashlib.sha256
        stop = self._next_stop()
        for offset in range(0, len(leaves), 32):
            node = leaves[offset : offset + 32]
            n = size
            while n & 1:  # merge equal-height subtrees, as frontier_append does, in place
                node = sha256(b"\x01" + stack.pop() + node).digest()
                n >>= 1
            stack.append(node)
            size += 1
            if size == stop:
                self.size = size
                self._check_at_size()
                stop = self._next_stop()
        self.size = size

    def finish(self) -> None:
        head_size = self.head[0]
        if not self.head_checked:
            self.report.add(
                Problem(
                    "root differs from the log head",
                    seq=head_size,
                    detail=f"the head records {head_size} events; {self.size} rows are stored",
                )
            )
        for checkpoint in reversed(self.pending):
            self.report.add(
                Problem(
                    "checkpoint beyond the log",
                    seq=checkpoint.tree_size,
                    detail=f"checkpoint {checkpoint.id} signed {checkpoint.tree_size} events; "
                    f"{self.size} rows are stored",
                )
            )


# -- walking the rows ------------------------------------------------------------------------------------
def _ranges(session: Session, bound: int, *, include_objects: bool, workers: int | None) -> Iterator[RangeResult]:
    """RangeResults covering every row, in seq order: in this process, or in workers sharing the snapshot."""
    conn = cast(psycopg.Connection[Any], session.connection().connection.driver_connection)
    count = workers if workers is not None else (os.cpu_count() or 1) if bound >= PARALLEL_FROM else 1
    if count <= 1 or bound < 2:
        yield walk_range(conn, None, None, include_objects=include_objects)
        return
    snapshot = conn.execute("SELECT pg_export_snapshot()").fetchone()
    assert snapshot is not None
    dsn = session.connection().engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
    step = max(1, min(RANGE_SIZE, -(-bound // count)))
    edges = list(range(step, bound, step))
    bounds: list[tuple[int | None, int | None]] = list(
        zip([None, *edges], [*edges, None], strict=True)  # the first and last ranges are open-ended
    )
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=min(count, len(bounds)), mp_context=context) as pool:
        futures = [
            pool.submit(walk_range_in_worker, dsn, str(snapshot[0]), low, high, include_objects) for low, high in bounds
        ]
        for future in futures:
            yield future.result()


# -- heads and checkpoints -------------------------------------------------------------------------------
def _checked_checkpoints(session: Session, report: _Report) -> list[CustodyCheckpoint]:
    checkpoints = list(session.execute(select(CustodyCheckpoint)).scalars())
    if not checkpoints:
        return []
    public = signing_key().public
    for checkpoint in checkpoints:
        if not verify_checkpoint(checkpoint, public):
            report.add(
                Problem(
                    "checkpoint signature invalid",
                    seq=checkpoint.tree_size,
                    detail=f"checkpoint {checkpoint.id} (key {checkpoint.key_id[:16]}…) does not verify "
                    "under the service's key",
                )
            )
    return checkpoints


def _compare_checkpoint(report: _Report, checkpoint: CustodyCheckpoint, root: bytes, last_matching: int) -> bool:
    """True when the root at the checkpoint's size is the signed one; else report where the change lies."""
    if root == checkpoint.root_hash:
        return True
    report.add(
        Problem(
            "root differs from a signed checkpoint",
            seq=checkpoint.tree_size,
            detail=f"checkpoint {checkpoint.id} signed root {checkpoint.root_hash.hex()} for "
            f"{checkpoint.tree_size} events; the stored rows give {root.hex()}: a row in seq "
            f"{last_matching + 1}..{checkpoint.tree_size} was changed, removed or moved",
        )
    )
    return False


def _compare_head(report: _Report, size: int, root: bytes, head_frontier: list[bytes], frontier: list[bytes]) -> None:
    ours = frontier_root(frontier)
    if ours != root:
        report.add(
            Problem(
                "root differs from the log head",
                seq=size,
                detail=f"the head records root {root.hex()} for {size} events; the stored rows give {ours.hex()}",
            )
        )
    elif head_frontier != frontier:
        report.add(Problem("log head frontier differs", seq=size, detail="the next append would fork the tree"))


def _classify(suspects: list[Suspect], missing: set[int]) -> Iterator[Problem]:
    """Edited or reordered: a suspect whose content hashes to the leaf of another position was moved."""
    by_stored = {s.stored: s.seq for s in suspects}
    candidates = sorted({s.seq for s in suspects} | missing)
    if len(suspects) * len(candidates) > 250_000:
        candidates = []  # too many to pair up; each is reported as edited
    for suspect in suspects:
        origin = None
        if suspect.entry is not None:
            for seq in candidates:
                if seq == suspect.seq:
                    continue
                leaf = entry_leaf(seq, suspect.entry)
                if leaf == suspect.stored or by_stored.get(leaf) == seq:
                    origin = seq
                    break
        if origin is None:
            yield Problem("edited row", seq=suspect.seq, detail="its fields no longer hash to its stored leaf")
        else:
            yield Problem("reordered row", seq=suspect.seq, detail=f"it holds the event appended as seq {origin}")


# -- objects in S3 ---------------------------------------------------------------------------------------
def _check_objects(
    report: _Report,
    objects: dict[tuple[str, str], list[ObjectReference]],
    storage: Storage | None,
    locks: dict[tuple[str, str], list[data_check.RowLock]],
) -> int:
    if not objects:
        return 0
    try:
        store = storage or get_storage()
    except StorageError as exc:
        reason = str(exc)
        store = None

    def rehash(key: str, version: str) -> tuple[str | None, str | None, str | None, ObjectVersion | None]:
        """(sha256, missing reason, unreadable reason, lock state) of one object version, streamed. The lock
        state is read only for versions a live evidence row names."""
        if store is None:
            return None, None, reason, None
        digest = hashlib.sha256()
        try:
            for chunk in store.iter_version(key, version):
                digest.update(chunk)
            state = store.stat(key, version) if (key, version) in locks else None
        except StorageError as exc:
            code = getattr(exc.__cause__, "code", None)
            if code in _MISSING_CODES:
                return None, str(code), None, None
            return None, None, str(exc), None
        except (urllib3.exceptions.HTTPError, OSError) as exc:
            return None, None, f"{type(exc).__name__}: {exc}", None
        return digest.hexdigest(), None, None, state

    keys = sorted(objects)
    with ThreadPoolExecutor(max_workers=OBJECT_READERS) as pool:
        outcomes = list(pool.map(lambda kv: rehash(*kv), keys))
    for (key, version), (actual, missing, unreadable, state) in zip(keys, outcomes, strict=True):
        if state is not None:
            for lock in locks[(key, version)]:
                where = f"{key} version {version}"
                for item in data_check.lock_problems(
                    lock, state.retention_mode, state.retain_until, state.legal_hold, where
                ):
                    report.add(Problem(item.what, object_id=item.object_id, detail=item.detail), kind=item.kind)
        reported: set[tuple[str, str]] = set()
        for ref in objects[(key, version)]:
            object_id = ref.object_id or f"{key}@{version}"
            problem = _object_problem(object_id, key, version, ref, actual, missing, unreadable)
            if problem is not None and (object_id, problem.what) not in reported:
                reported.add((object_id, problem.what))
                report.add(problem)
    return len(keys)


def _object_problem(
    object_id: str,
    key: str,
    version: str,
    ref: ObjectReference,
    actual: str | None,
    missing: str | None,
    unreadable: str | None,
) -> Problem | None:
    where = f"{key} version {version} (recorded by seq {ref.seq})"
    if missing is not None:
        return Problem("missing object version", object_id=object_id, detail=f"{where}: S3 answers {missing}")
    if unreadable is not None:
        return Problem("object unreadable", object_id=object_id, detail=f"{where}: {unreadable}")
    if actual != ref.sha256:
        detail = f"{where}: recorded sha256 {ref.sha256}, the stored bytes hash to {actual}"
        return Problem("object hash mismatch", object_id=object_id, detail=detail)
    return None
