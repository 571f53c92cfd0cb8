"""The child of ``keystead run``, with real processes: exit statuses, signals
forwarded, streams masked (or inherited), a restart when a watcher reports a change.
(The command end to end, with a store and a server, is tests/cli/test_run_command.py.)"""

from __future__ import annotations

import os
import signal
import sys
import threading
import time
from pathlib import Path

import pytest

from keystead.consume.child import CommandNotStarted, Signals
from keystead.consume.plan import Resolved
from keystead.consume.supervise import supervise

SECRET = "sk_live_51HxQ2eZvKYlo2C"


def resolved(value: str = SECRET) -> Resolved:
    return Resolved({"STRIPE_KEY": value, "PLAIN": "plain-value"}, (value,), {})


def python(code: str) -> list[str]:
    return [sys.executable, "-c", code]


NAPS = "for _ in range(300): time.sleep(0.1)"
"""How a child that handles a signal waits: in short naps, since a signal that lands
between Python's check for signals and the start of one long ``time.sleep`` waits
for the whole sleep to end before its handler runs."""


def test_the_exit_status_passes_through() -> None:
    assert supervise(python("import sys; sys.exit(7)"), resolved) == 7
    assert supervise(python("pass"), resolved, masking=False) == 0


@pytest.mark.parametrize("masking", [True, False])
def test_a_signal_death_is_128_plus_the_signal(masking: bool) -> None:
    code = "import os, signal; os.kill(os.getpid(), signal.SIGKILL)"
    assert supervise(python(code), resolved, masking=masking) == 128 + signal.SIGKILL


def test_a_missing_command_is_127() -> None:
    with pytest.raises(CommandNotStarted) as raised:
        supervise(["/nonexistent/keystead-test-command"], resolved)
    assert raised.value.status == 127


def test_a_file_that_is_not_executable_is_126(tmp_path: Path) -> None:
    script = tmp_path / "script"
    script.write_text("#!/bin/sh\n")
    with pytest.raises(CommandNotStarted) as raised:
        supervise([str(script)], resolved)
    assert raised.value.status == 126


def test_the_child_gets_the_secrets_and_its_output_is_masked(
    capfdbinary: pytest.CaptureFixture[bytes],
) -> None:
    code = (
        "import os, sys, time\n"
        "key = os.environ['STRIPE_KEY']\n"
        "sys.stdout.write('key=' + key[:5]); sys.stdout.flush(); time.sleep(0.05)\n"
        "sys.stdout.write(key[5:] + ' plain=' + os.environ['PLAIN'] + '\\n'); sys.stdout.flush()\n"
        "for ch in key: sys.stderr.write(ch); sys.stderr.flush()\n"
        "sys.stderr.write('\\n')\n"
    )
    assert supervise(python(code), resolved) == 0
    out, err = capfdbinary.readouterr()
    assert out == b"key=***** plain=plain-value\n"
    assert err == b"*****\n"


def test_without_masking_the_streams_are_the_childs_own(
    capfdbinary: pytest.CaptureFixture[bytes],
) -> None:
    code = "import os, sys; print(os.environ['STRIPE_KEY']); print('err', file=sys.stderr)"
    assert supervise(python(code), resolved, masking=False) == 0
    out, err = capfdbinary.readouterr()
    assert out == f"{SECRET}\n".encode()
    assert err == b"err\n"


def send_when_ready(marker: Path, signum: int) -> threading.Thread:
    """Send ``signum`` to this process's main thread (as ``kill`` would reach
    ``keystead run``) once the child has written ``marker``."""
    main = threading.main_thread().ident
    assert main is not None

    def send() -> None:
        deadline = time.monotonic() + 30
        while not marker.exists() and time.monotonic() < deadline:
            time.sleep(0.01)
        signal.pthread_kill(main, signum)

    thread = threading.Thread(target=send, daemon=True)
    thread.start()
    return thread


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT, signal.SIGHUP])
@pytest.mark.parametrize("masking", [True, False])
def test_signals_are_forwarded_to_the_child(
    tmp_path: Path, signum: int, masking: bool, capfdbinary: pytest.CaptureFixture[bytes]
) -> None:
    marker = tmp_path / "ready"
    code = (
        "import pathlib, signal, sys, time\n"
        "def handle(n, _f):\n"
        "    print('got', n, flush=True); sys.exit(3)\n"
        f"signal.signal({int(signum)}, handle)\n"
        f"pathlib.Path({str(marker)!r}).write_text('x')\n"
        f"{NAPS}\nsys.exit(9)\n"
    )
    sender = send_when_ready(marker, signum)
    assert supervise(python(code), resolved, masking=masking) == 3
    sender.join()
    assert capfdbinary.readouterr().out == f"got {int(signum)}\n".encode()


def test_a_child_that_does_not_handle_the_signal_dies_by_it(tmp_path: Path) -> None:
    marker = tmp_path / "ready"
    code = f"import pathlib, time; pathlib.Path({str(marker)!r}).write_text('x'); time.sleep(30)"
    sender = send_when_ready(marker, signal.SIGTERM)
    assert supervise(python(code), resolved) == 128 + signal.SIGTERM
    sender.join()


class OneChange:
    """Reports one change, once the first child is up."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker
        self.reported = False

    def changed(self) -> bool:
        if self.reported or not self.marker.exists():
            return False
        self.reported = True
        return True

    def close(self) -> None:
        pass


def test_a_change_restarts_the_child_with_the_new_values(
    tmp_path: Path, capfdbinary: pytest.CaptureFixture[bytes]
) -> None:
    marker = tmp_path / "first-up"
    values = iter(["old-value-1234", "new-value-5678"])
    notes: list[str] = []
    code = (
        "import os, pathlib, signal, sys, time\n"
        f"m = pathlib.Path({str(marker)!r})\n"
        "signal.signal(signal.SIGTERM, lambda n, f: (print('stopping', flush=True), sys.exit(0)))\n"
        "print('start', len(os.environ['STRIPE_KEY']), os.environ['STRIPE_KEY'][:3], flush=True)\n"
        "if m.exists(): sys.exit(5)\n"
        f"m.write_text('x')\n{NAPS}\n"
    )
    status = supervise(
        python(code),
        lambda: resolved(next(values)),
        watcher=OneChange(marker),
        notify=notes.append,
    )
    assert status == 5
    out = capfdbinary.readouterr().out.decode()
    assert out == "start 14 old\nstopping\nstart 14 new\n"
    assert notes == ["a secret changed: restarting the command"]


def test_an_unchanged_value_does_not_restart(tmp_path: Path) -> None:
    marker = tmp_path / "up"
    code = (
        "import pathlib, sys, time\n"
        f"m = pathlib.Path({str(marker)!r}); m.write_text('x')\n"
        "time.sleep(0.8); sys.exit(4)\n"
    )
    watcher = OneChange(marker)
    assert supervise(python(code), resolved, watcher=watcher) == 4
    assert watcher.reported


def test_the_child_inherits_the_environment_under_the_secrets(
    monkeypatch: pytest.MonkeyPatch, capfdbinary: pytest.CaptureFixture[bytes]
) -> None:
    monkeypatch.setenv("INHERITED", "yes")
    monkeypatch.setenv("STRIPE_KEY", "overridden")
    code = (
        "import os; print(os.environ['INHERITED'], os.environ['STRIPE_KEY'] == "
        + repr(SECRET)
        + ")"
    )
    assert supervise(python(code), resolved, masking=False) == 0
    assert capfdbinary.readouterr().out == b"yes True\n"
    assert os.environ["STRIPE_KEY"] == "overridden"


def test_a_signal_while_the_secrets_are_read_stops_before_the_child_starts(
    tmp_path: Path,
) -> None:
    marker = tmp_path / "started"
    main = threading.main_thread().ident
    assert main is not None

    def slow_resolve() -> Resolved:
        signal.pthread_kill(main, signal.SIGTERM)  # blocked: it waits, as during a slow read
        return resolved()

    code = f"import pathlib; pathlib.Path({str(marker)!r}).write_text('x')"
    assert supervise(python(code), slow_resolve) == 128 + signal.SIGTERM
    assert not marker.exists()


def test_a_stalled_watcher_poll_does_not_hold_back_a_signal(tmp_path: Path) -> None:
    """A store that stops answering the watcher's polls (a poll that never returns)
    must not keep SIGTERM from the child: the loop that forwards signals never waits
    on the store."""
    from keystead.consume.watch import PollWatcher

    marker, stalled, release = tmp_path / "ready", threading.Event(), threading.Event()
    answers = iter(["first"])

    def fingerprint() -> object:
        answer = next(answers, None)
        if answer is None:
            stalled.set()
            release.wait(60)
        return answer

    code = (
        "import pathlib, signal, sys, time\n"
        "signal.signal(signal.SIGTERM, lambda n, f: sys.exit(3))\n"
        f"pathlib.Path({str(marker)!r}).write_text('x')\n"
        f"{NAPS}\nsys.exit(9)\n"
    )
    watcher = PollWatcher(fingerprint, 0.01)
    main = threading.main_thread().ident
    assert main is not None
    returned, held_back = threading.Event(), []

    def send_once_stalled() -> None:
        deadline = time.monotonic() + 30
        while not (marker.exists() and stalled.is_set()) and time.monotonic() < deadline:
            time.sleep(0.01)
        signal.pthread_kill(main, signal.SIGTERM)
        if not returned.wait(20):  # the signal waits for the store: unstick it, and say so
            held_back.append(True)
            release.set()

    sender = threading.Thread(target=send_once_stalled, daemon=True)
    sender.start()
    try:
        assert supervise(python(code), resolved, watcher=watcher) == 3
        returned.set()
        assert not held_back, "SIGTERM waited for the stalled poll"
    finally:
        returned.set()
        release.set()
        watcher.close()
        sender.join()


@pytest.mark.skipif(not hasattr(signal, "sigtimedwait"), reason="sigtimedwait: Linux")
def test_a_wait_interrupted_past_its_time_forwards_nothing() -> None:
    """A handled signal that interrupts the wait and outlasts its time makes CPython
    answer with an unset siginfo (a made-up signal number): nothing is forwarded."""

    def slow_handler(_signum: int, _frame: object) -> None:
        time.sleep(0.3)  # past the wait's 0.1 s

    previous = signal.signal(signal.SIGALRM, slow_handler)
    try:
        with Signals() as signals:
            signal.setitimer(signal.ITIMER_REAL, 0.02)
            taken = signals.wait(0.1, None)
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
    assert taken == []
