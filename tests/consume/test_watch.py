"""Polling for changes (the local store's ``--watch``); the change stream is
followed end to end against a real server in tests/cli/test_run_command.py."""

from __future__ import annotations

from keystead.consume.watch import PollWatcher


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_a_different_fingerprint_is_a_change_once_per_interval() -> None:
    clock, answers, calls = Clock(), iter([1, 1, 2, 2, 3]), []

    def fingerprint() -> object:
        calls.append(clock.now)
        return next(answers)

    watcher = PollWatcher(fingerprint, 1.0, clock)
    assert not watcher.changed()  # within the interval: not asked
    clock.now = 1.0
    assert not watcher.changed()  # 1 -> 1
    clock.now = 1.5
    assert not watcher.changed()
    clock.now = 2.0
    assert watcher.changed()  # 1 -> 2
    clock.now = 3.0
    assert not watcher.changed()  # 2 -> 2
    clock.now = 4.0
    assert watcher.changed()  # 2 -> 3
    assert calls == [0.0, 1.0, 2.0, 3.0, 4.0]


def test_a_failed_poll_is_no_change_and_polling_goes_on() -> None:
    clock, answers = Clock(), iter(["a", RuntimeError("down"), "a", "b"])

    def fingerprint() -> object:
        answer = next(answers)
        if isinstance(answer, Exception):
            raise answer
        return answer

    watcher = PollWatcher(fingerprint, 1.0, clock)
    for expected in (False, False, True):
        clock.now += 1.0
        assert watcher.changed() is expected
