from __future__ import annotations

import itertools

import pytest

from app.core.errors import Conflict
from app.extractions.states import (
    ACTIVE,
    IN_OWNERS_HANDS,
    TERMINAL,
    TRANSITIONS,
    RequestStatus,
    allowed_next,
    check_transition,
)

S = RequestStatus
LEGAL = {(source, target) for source, targets in TRANSITIONS.items() for target in targets}
ILLEGAL = sorted(set(itertools.product(S, S)) - LEGAL)


def test_every_state_has_a_row() -> None:
    assert set(TRANSITIONS) == set(S)


def test_the_documented_path() -> None:
    path = [S.draft, S.submitted, S.approved, S.footage_received, S.clip_ready, S.delivered, S.closed]
    for source, target in itertools.pairwise(path):
        assert check_transition(source, target) is target
    for answer in (S.approved, S.partially_approved, S.denied, S.expired, S.cancelled):
        assert check_transition(S.submitted, answer) is answer
    assert check_transition(S.footage_received, S.footage_mismatch) is S.footage_mismatch
    assert check_transition("partially_approved", "footage_received") is S.footage_received


@pytest.mark.parametrize(("source", "target"), ILLEGAL, ids=[f"{s.value}->{t.value}" for s, t in ILLEGAL])
def test_illegal_transition_is_conflict_naming_allowed(source: RequestStatus, target: RequestStatus) -> None:
    with pytest.raises(Conflict) as raised:
        check_transition(source, target)
    error = raised.value
    assert error.status == 409
    assert error.extra["allowed"] == sorted(TRANSITIONS[source])
    assert error.extra["status"] == source.value and error.extra["requested"] == target.value
    for allowed in error.extra["allowed"]:
        assert allowed in error.detail
    if source in TERMINAL:
        assert "final" in error.detail


def test_unknown_states_are_conflicts() -> None:
    with pytest.raises(Conflict) as raised:
        check_transition("submitted", "approvedish")
    assert raised.value.extra["allowed"] == allowed_next("submitted")
    with pytest.raises(Conflict):
        check_transition("lost", "submitted")


def test_terminal_states() -> None:
    assert {S.denied, S.expired, S.cancelled, S.closed} == TERMINAL


def test_owner_hands_and_active_sets() -> None:
    assert S.submitted in IN_OWNERS_HANDS and S.approved in IN_OWNERS_HANDS
    assert not IN_OWNERS_HANDS & TERMINAL and not ACTIVE & TERMINAL
    assert S.delivered in ACTIVE and S.clip_ready not in IN_OWNERS_HANDS
    assert set(S) == ACTIVE | TERMINAL
    assert IN_OWNERS_HANDS <= ACTIVE
    # Every non-terminal state is reachable from draft.
    seen, frontier = {S.draft}, [S.draft]
    while frontier:
        for target in TRANSITIONS[frontier.pop()]:
            if target not in seen:
                seen.add(target)
                frontier.append(target)
    assert seen == set(S)
