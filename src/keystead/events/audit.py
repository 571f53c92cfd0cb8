"""Audit records waiting for their transaction, and who is acting.

The service pushes an ``AuditRecord`` right before the store call that makes the
change; ``SqlBase._tx`` takes the pending records of the current task and
appends them to the chain inside that same transaction (a failed transaction
drops them). The HTTP layer, the CLI and the scheduler set the ``AuditOrigin``.
"""

from __future__ import annotations

import asyncio
from contextvars import ContextVar
from dataclasses import dataclass

from keystead.core.audit import AuditRecord


@dataclass(slots=True, frozen=True)
class AuditOrigin:
    """Where a management call came from (the actor is the principal's)."""

    ip: str | None = None
    user_agent: str | None = None
    request_id: str | None = None


_origin: ContextVar[AuditOrigin | None] = ContextVar("keystead_audit_origin", default=None)
_pending: ContextVar[tuple[object, list[AuditRecord]] | None] = ContextVar(
    "keystead_audit_pending", default=None
)


def _owner() -> object:
    try:
        return asyncio.current_task() or 0
    except RuntimeError:
        return 0


def set_origin(origin: AuditOrigin | None) -> None:
    _origin.set(origin)


def current_origin() -> AuditOrigin:
    return _origin.get() or AuditOrigin()


def push(record: AuditRecord) -> None:
    """Queue ``record`` for the next transaction of this task."""
    owner = _owner()
    slot = _pending.get()
    if slot is None or slot[0] is not owner:
        slot = (owner, [])
        _pending.set(slot)
    slot[1].append(record)


def take() -> list[AuditRecord]:
    """The records pending for this task (bound to the task, so a background task
    that inherited the context never takes another task's records); clears them."""
    slot = _pending.get()
    if slot is None or slot[0] is not _owner() or not slot[1]:
        return []
    records = list(slot[1])
    slot[1].clear()
    return records


def discard() -> None:
    take()


__all__ = ["AuditOrigin", "current_origin", "discard", "push", "set_origin", "take"]
