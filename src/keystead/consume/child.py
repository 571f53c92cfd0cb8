"""The child process of ``keystead run``: started with its environment, its output
masked (or its streams inherited), signals forwarded, its exit status returned.

- **Exit status**: the child's; a child killed by signal ``n`` gives ``128 + n``, as
  a shell reports it. A command that cannot be found gives 127, one that cannot be
  executed 126 (also as a shell does).
- **Signals**: SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1 and SIGUSR2 sent to
  ``keystead run`` are sent on to the child. On Linux a signal the terminal sent to
  the whole foreground process group (Ctrl-C, Ctrl-\\, a hangup) already reached the
  child, which shares that group, so it is not sent a second time.
- **Streams**: stdin is inherited. With masking, stdout and stderr are pipes read by
  one thread each, through a ``Masker``, onto this process's stdout and stderr; the
  streams end when the child (and whatever inherited them) closes them. Without
  masking, the child writes to this process's own stdout and stderr directly.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator, Mapping, Sequence
from types import FrameType
from typing import IO

from keystead.consume.masking import Masker

FORWARDED = tuple(
    getattr(signal, name)
    for name in ("SIGINT", "SIGTERM", "SIGHUP", "SIGQUIT", "SIGUSR1", "SIGUSR2")
    if hasattr(signal, name)
)
EXIT_NOT_FOUND = 127
EXIT_NOT_EXECUTABLE = 126
STOP_GRACE_S = 10.0
"""A child asked to stop (``--watch`` restarting it) is killed after this long."""
SI_KERNEL = 0x80
"""Linux ``si_code`` of a signal the kernel sent (the terminal's Ctrl-C, a hangup)."""
_READ_SIZE = 65536
_WAKE = getattr(signal, "SIGCHLD", None)


class CommandNotStarted(Exception):
    """The command could not be started; ``status`` is the shell's code for it."""

    def __init__(self, message: str, status: int) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


def exit_status(returncode: int) -> int:
    """A ``Popen.returncode`` as a shell reports it (signal ``n``: 128 + n)."""
    return 128 - returncode if returncode < 0 else returncode


class Signals:
    """The signals to forward, as they arrive. On Linux they are blocked in this
    thread (and in every thread started after) and taken with ``sigtimedwait``, which
    says who sent each; elsewhere a handler queues them. ``unblocked`` opens the
    window in which a child is started, so that it starts with no signal blocked."""

    def __init__(self) -> None:
        self._queued: list[int] = []
        self._previous: dict[int, object] = {}
        self._waiting = hasattr(signal, "sigtimedwait") and hasattr(signal, "pthread_sigmask")
        self._blocked = set(FORWARDED) | ({_WAKE} if _WAKE is not None else set())

    def __enter__(self) -> Signals:
        for signum in FORWARDED:
            self._previous[signum] = signal.signal(signum, self._queue)
        if self._waiting:
            signal.pthread_sigmask(signal.SIG_BLOCK, self._blocked)
        return self

    def __exit__(self, *_: object) -> None:
        if self._waiting:
            signal.pthread_sigmask(signal.SIG_UNBLOCK, self._blocked)
        for signum, previous in self._previous.items():
            signal.signal(signum, previous)  # type: ignore[arg-type]

    def _queue(self, signum: int, _frame: FrameType | None) -> None:
        self._queued.append(signum)

    def _take_queued(self) -> list[int]:
        taken, self._queued = self._queued, []
        return taken

    @contextlib.contextmanager
    def unblocked(self) -> Iterator[None]:
        if self._waiting:
            signal.pthread_sigmask(signal.SIG_UNBLOCK, self._blocked)
        try:
            yield
        finally:
            if self._waiting:
                signal.pthread_sigmask(signal.SIG_BLOCK, self._blocked)

    def interrupted(self) -> int | None:
        """A forwarded signal that arrived before there was a child to forward it
        to (taken), or None: the caller then stops instead of starting one."""
        if self._queued:
            return self._queued.pop(0)
        if not self._waiting:
            return None
        pending = signal.sigpending() & set(FORWARDED)
        if not pending:
            return None
        info = signal.sigtimedwait(pending, 0)
        return None if info is None else info.si_signo

    def wait(self, timeout: float, child_group: int | None) -> list[int]:
        """The signals to forward that arrived within ``timeout`` seconds (returns
        early when one arrives, or when a child exits)."""
        if self._queued:
            return self._take_queued()
        if not self._waiting:
            threading.Event().wait(min(timeout, 0.05))
            return self._take_queued()
        info = signal.sigtimedwait(self._blocked, timeout)
        # a wait that a handled signal interrupts (or a debugger's stop) and whose
        # time runs out meanwhile is answered by CPython with an unset siginfo, a
        # made-up number: only a signal to forward counts (SIGCHLD only wakes)
        if info is None or info.si_signo not in FORWARDED:
            return self._take_queued()
        if info.si_code == SI_KERNEL and child_group == os.getpgrp():
            return []  # the terminal sent it to the whole group: the child has it
        return [info.si_signo]


class Child:
    """One run of the command."""

    def __init__(
        self,
        argv: Sequence[str],
        env: Mapping[str, str],
        signals: Signals,
        masked: Sequence[bytes] | None = None,
    ) -> None:
        """``masked``: the byte strings to hide in stdout and stderr (None: no
        masking, the child inherits both)."""
        piped = subprocess.PIPE if masked is not None else None
        try:
            with signals.unblocked():
                self.process = subprocess.Popen(  # noqa: S603 - the user's own command
                    list(argv), env=dict(env), stdout=piped, stderr=piped
                )
        except FileNotFoundError:
            raise CommandNotStarted(f"command not found: {argv[0]}", EXIT_NOT_FOUND) from None
        except PermissionError:
            raise CommandNotStarted(
                f"command cannot be executed: {argv[0]}", EXIT_NOT_EXECUTABLE
            ) from None
        except OSError as exc:
            raise CommandNotStarted(
                f"command cannot be started: {argv[0]}: {exc.strerror}", EXIT_NOT_EXECUTABLE
            ) from None
        self._pumps: list[threading.Thread] = []
        out, err = self.process.stdout, self.process.stderr
        if masked is not None and out is not None and err is not None:
            self._pump(out, sys.stdout.buffer, Masker(masked))
            self._pump(err, sys.stderr.buffer, Masker(masked))
        try:
            self.group: int | None = os.getpgid(self.process.pid)
        except OSError:
            self.group = None

    def _pump(self, source: IO[bytes], sink: IO[bytes], masker: Masker) -> None:
        thread = threading.Thread(
            target=_copy, args=(source, sink, masker), name="keystead-run-pump", daemon=True
        )
        thread.start()
        self._pumps.append(thread)

    def send(self, signum: int) -> None:
        with contextlib.suppress(ProcessLookupError):
            self.process.send_signal(signum)

    def poll(self) -> int | None:
        return self.process.poll()

    def finish(self) -> int:
        """Wait for the child and the end of its streams; its exit status."""
        returncode = self.process.wait()
        for pump in self._pumps:
            pump.join()
        return exit_status(returncode)

    def stop(self, grace_s: float = STOP_GRACE_S) -> int:
        """SIGTERM, then SIGKILL after ``grace_s``; the exit status."""
        self.send(signal.SIGTERM)
        try:
            self.process.wait(grace_s)
        except subprocess.TimeoutExpired:
            self.send(signal.SIGKILL)
        return self.finish()


def _copy(source: IO[bytes], sink: IO[bytes], masker: Masker) -> None:
    fd = source.fileno()
    writable = True
    try:
        while chunk := os.read(fd, _READ_SIZE):
            out = masker.feed(chunk)
            if writable and out:
                writable = _write(sink, out)
            if not writable:
                return  # our reader went away: the child gets EPIPE, as in a pipeline
        tail = masker.flush()
        if writable and tail:
            _write(sink, tail)
    finally:
        source.close()


def _write(sink: IO[bytes], data: bytes) -> bool:
    try:
        sink.write(data)
        sink.flush()
    except (BrokenPipeError, OSError, ValueError):
        return False
    return True


__all__ = [
    "EXIT_NOT_EXECUTABLE",
    "EXIT_NOT_FOUND",
    "FORWARDED",
    "STOP_GRACE_S",
    "Child",
    "CommandNotStarted",
    "Signals",
    "exit_status",
]
