"""Polling for changes (the local store's ``--watch``); the change stream is
followed end to end against a real server in tests/cli/test_run_command.py."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from keystead.consume.watch import PollWatcher

INTERVAL_S = 0.01


def until(condition: Callable[[], bool], deadline_s: float = 10.0) -> None:
    deadline = time.monotonic() + deadline_s
    while not condition():
        assert time.monotonic() < deadline, "the poller did not get there in time"
        time.sleep(INTERVAL_S)


def polled(watcher: PollWatcher, more: int) -> None:
    """Until ``watcher`` has answered ``more`` more polls."""
    target = watcher.polls + more
    until(lambda: watcher.polls >= target)


def test_a_different_fingerprint_is_a_change_reported_once() -> None:
    answer = [1]
    watcher = PollWatcher(lambda: answer[0], INTERVAL_S)
    try:
        polled(watcher, 2)
        assert not watcher.changed()  # 1 -> 1
        answer[0] = 2
        polled(watcher, 2)
        assert watcher.changed()  # 1 -> 2
        assert not watcher.changed()  # reported once
        polled(watcher, 2)
        assert not watcher.changed()  # 2 -> 2
        answer[0] = 3
        polled(watcher, 2)
        assert watcher.changed()
    finally:
        watcher.close()


def test_a_failed_poll_is_no_change_and_polling_goes_on() -> None:
    answer: list[object] = ["a"]

    def fingerprint() -> object:
        if isinstance(answer[0], Exception):
            raise answer[0]
        return answer[0]

    watcher = PollWatcher(fingerprint, INTERVAL_S)
    try:
        answer[0] = RuntimeError("down")
        polled(watcher, 2)
        assert not watcher.changed()
        answer[0] = "a"
        polled(watcher, 2)
        assert not watcher.changed()
        answer[0] = "b"
        polled(watcher, 2)
        assert watcher.changed()
    finally:
        watcher.close()


def test_a_stalled_poll_never_holds_up_the_caller() -> None:
    """``changed`` answers at once and ``close`` returns within its bound while a
    poll hangs (a store that stopped answering)."""
    release, stalled, first = threading.Event(), threading.Event(), [True]

    def fingerprint() -> object:
        if first[0]:
            first[0] = False
            return "a"
        stalled.set()
        release.wait(30)
        return "b"

    watcher = PollWatcher(fingerprint, INTERVAL_S)
    try:
        assert stalled.wait(10)
        started = time.monotonic()
        assert not watcher.changed()
        watcher.close(wait_s=0.2)
        assert time.monotonic() - started < 5
    finally:
        release.set()
        watcher.close()
