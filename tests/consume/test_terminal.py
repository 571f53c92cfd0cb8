"""Ctrl-C on a real terminal (a pty): the terminal sends SIGINT to the whole
foreground process group, ``keystead run`` and its child (which stays in that group,
so it can read the terminal). The child gets it and decides; ``keystead run`` does not
die of it but waits for the child and returns its status.

(That ``keystead run`` does not send it a second time cannot be observed reliably:
the kernel merges a second SIGINT that arrives while the first is pending.)"""

from __future__ import annotations

import os
import pty
import select
import sys
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="sigtimedwait tells who sent it")

RUNNER = """
import sys
from keystead.consume.plan import Resolved
from keystead.consume.supervise import supervise
child = [sys.executable, "-c", sys.argv[1]]
value = "tok_secret_value"
sys.exit(supervise(child, lambda: Resolved({"TOKEN": value}, (value,), {})))
"""

CHILD = """
import os, pathlib, signal, sys, time
count = 0
def handle(n, f):
    global count
    count += 1
signal.signal(signal.SIGINT, handle)
pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else {marker!r}).write_text("x")
deadline = time.monotonic() + 1.5
while time.monotonic() < deadline:
    time.sleep(0.05)
print("count", min(count, 1), os.environ["TOKEN"], flush=True)
sys.exit(5)
"""


def read_all(fd: int, deadline_s: float = 30) -> bytes:
    out = b""
    deadline = time.monotonic() + deadline_s
    while time.monotonic() < deadline:
        ready, _, _ = select.select([fd], [], [], 0.1)
        if not ready:
            continue
        try:
            chunk = os.read(fd, 4096)
        except OSError:  # EIO: the other side closed
            break
        if not chunk:
            break
        out += chunk
    return out


def test_ctrl_c_reaches_the_child_and_run_waits_for_it(tmp_path: Path) -> None:
    marker = tmp_path / "up"
    child_code = CHILD.format(marker=str(marker))
    pid, master = pty.fork()
    if pid == 0:  # the session leader on the terminal: the runner
        os.execv(sys.executable, [sys.executable, "-c", RUNNER, child_code])  # noqa: S606
    try:
        deadline = time.monotonic() + 30
        while not marker.exists() and time.monotonic() < deadline:
            time.sleep(0.02)
        assert marker.exists(), "the child did not start"
        os.write(master, b"\x03")  # Ctrl-C: SIGINT to the foreground process group
        output = read_all(master)
    finally:
        _, status = os.waitpid(pid, 0)
        os.close(master)
    assert b"count 1 *****" in output, output
    assert os.waitstatus_to_exitcode(status) == 5
