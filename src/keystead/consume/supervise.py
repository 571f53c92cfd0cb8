"""``keystead run``'s loop: start the child, forward signals, and with a watcher
restart the child when the secrets it was given change."""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from typing import Protocol

from keystead.consume.child import Child, Signals
from keystead.consume.masking import MIN_MASKED_LENGTH, masked_forms
from keystead.consume.plan import Resolved

WAIT_S = 0.25
"""How long the loop waits for a signal before it looks at the child and the watcher."""


class Watcher(Protocol):
    def changed(self) -> bool:
        """Whether a watched secret may have changed since the last call."""

    def close(self) -> None: ...


def child_environment(resolved: Resolved) -> dict[str, str]:
    """This process's environment with the resolved variables over it."""
    return {**os.environ, **resolved.env}


def supervise(
    argv: Sequence[str],
    resolve: Callable[[], Resolved],
    *,
    masking: bool = True,
    min_masked: int = MIN_MASKED_LENGTH,
    watcher: Watcher | None = None,
    notify: Callable[[str], None] = lambda _message: None,
    refresh_failed: tuple[type[BaseException], ...] = (),
    signals: Signals | None = None,
) -> int:
    """Run ``argv`` with the secrets ``resolve`` answers; the child's exit status.

    With ``watcher``, when it reports a change the secrets are read again; if a
    value differs the child is stopped (SIGTERM, then SIGKILL after a grace period)
    and started again with the new ones. A read that fails with one of
    ``refresh_failed`` keeps the running child and is reported through ``notify``.
    ``signals``: an entered ``Signals`` (enter it before starting any thread, so
    that every thread leaves the forwarded signals to it); one is made if None.
    """
    if signals is None:
        with Signals() as own:
            return supervise(
                argv,
                resolve,
                masking=masking,
                min_masked=min_masked,
                watcher=watcher,
                notify=notify,
                refresh_failed=refresh_failed,
                signals=own,
            )
    active: Signals = signals
    resolved = resolve()
    early = active.interrupted()
    if early is not None:
        return 128 + early

    def start(current: Resolved) -> Child:
        masked = masked_forms(current.secret_values, min_masked) if masking else None
        return Child(argv, child_environment(current), active, masked)

    child = start(resolved)
    while True:
        for signum in active.wait(WAIT_S, child.group):
            child.send(signum)
        if child.poll() is not None:
            return child.finish()
        if watcher is None or not watcher.changed():
            continue
        try:
            fresh = resolve()
        except refresh_failed as exc:
            notify(f"could not read the secrets again ({exc}); the command keeps running")
            continue
        if fresh.env == resolved.env:
            continue
        notify("a secret changed: restarting the command")
        child.stop()
        resolved = fresh
        child = start(resolved)


__all__ = ["WAIT_S", "Watcher", "child_environment", "supervise"]
