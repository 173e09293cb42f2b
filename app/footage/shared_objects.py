"""Originals whose stored object another evidence row shares: an accepted appeal submission became an original of
its case pointing at the submission's own locked object (no copy is made). When a hold, a lock or a deletion
changes that object, the row sharing it must say so too, in the same transaction and with its own custody event,
or custody verification would find the two rows disagreeing with the one object.

Footage sits below appeals, so it cannot write the submission itself: the domain owning the sharing row registers
a listener here (app/appeals/retention.py), and footage calls `object_changed` after each such change.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal

from sqlalchemy.orm import Session

from app.footage.models import Original

Change = Literal["legal_hold", "retain_until", "deleted"]
# (session, the original after its change, what changed, actor label, reason, where)
Listener = Callable[[Session, Original, Change, str, str, dict[str, str | None]], None]
_listeners: list[Listener] = []


def listen(listener: Listener) -> Listener:
    """Register a listener (once per process: registering the same function again changes nothing)."""
    if listener not in _listeners:
        _listeners.append(listener)
    return listener


def object_changed(
    session: Session, original: Original, change: Change, actor: str, reason: str, where: dict[str, str | None]
) -> None:
    """Tell the rows sharing `original`'s object what changed on it (only an appeal's original shares one)."""
    if original.appeal_submission_id is None:
        return
    if not _listeners:
        raise RuntimeError("an appeal's original changed with no listener for its submission registered")
    for listener in _listeners:
        listener(session, original, change, actor, reason, where)
