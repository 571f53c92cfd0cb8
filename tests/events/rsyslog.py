"""A real rsyslogd on loopback for the syslog sink tests.

``running_rsyslog(tmp_path)`` starts ``rsyslogd -n`` with its own config, work
directory and pid file in ``tmp_path``, listening on free UDP and TCP ports of
127.0.0.1, and writes every message it parses as one JSON object per line
(app name, msgid, structured data, msg, raw message, facility, severity).
Without rsyslogd (``make system-deps`` installs it as root) the test skips.
"""

from __future__ import annotations

import asyncio
import json
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

DEADLINE_S = 20.0
_FIELDS = {
    "app": "app-name",
    "msgid": "msgid",
    "procid": "procid",
    "host": "hostname",
    "sd": "structured-data",
    "msg": "msg",
    "raw": "rawmsg",
    "facility": "syslogfacility-text",
    "severity": "syslogseverity",
}


def rsyslogd_path() -> str | None:
    return shutil.which("rsyslogd") or shutil.which("rsyslogd", path="/usr/sbin:/sbin")


def _template() -> str:
    parts = []
    for index, (key, prop) in enumerate(_FIELDS.items()):
        lead = "{" if index == 0 else ","
        parts.append(f'constant(value="{lead}\\"{key}\\":\\"")')
        parts.append(f'property(name="{prop}" format="json")')
        parts.append('constant(value="\\"")')
    parts.append('constant(value="}\\n")')
    return "\n  ".join(parts)


def free_port(kind: socket.SocketKind) -> int:
    with socket.socket(socket.AF_INET, kind) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


class Rsyslog:
    """One rsyslogd process; ``restart`` keeps its ports and output file."""

    def __init__(self, binary: str, directory: Path) -> None:
        self.binary = binary
        self.directory = directory
        self.udp_port = free_port(socket.SOCK_DGRAM)
        self.tcp_port = free_port(socket.SOCK_STREAM)
        self.output = directory / "received.jsonl"
        self.config = directory / "rsyslog.conf"
        self.pidfile = directory / "rsyslogd.pid"
        self.process: subprocess.Popen[bytes] | None = None
        (directory / "work").mkdir(exist_ok=True)
        self.config.write_text(
            f"""
global(workDirectory="{directory / "work"}" parser.escapeControlCharactersOnReceive="off"
       maxMessageSize="64k")
module(load="imudp")
module(load="imtcp")
template(name="fields" type="list") {{
  {_template()}
}}
ruleset(name="received") {{
  action(type="omfile" file="{self.output}" template="fields")
}}
input(type="imudp" address="127.0.0.1" port="{self.udp_port}" ruleset="received")
input(type="imtcp" address="127.0.0.1" port="{self.tcp_port}" ruleset="received")
"""
        )

    def start(self) -> None:
        log = (self.directory / "rsyslogd.out").open("ab")
        self.process = subprocess.Popen(
            [self.binary, "-n", "-f", str(self.config), "-i", str(self.pidfile)],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        log.close()
        deadline = time.monotonic() + DEADLINE_S
        while True:
            if self.process.poll() is not None:
                out = (self.directory / "rsyslogd.out").read_text(errors="replace")
                pytest.fail(f"rsyslogd exited with {self.process.returncode}: {out}")
            try:
                socket.create_connection(("127.0.0.1", self.tcp_port), timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    pytest.fail("rsyslogd did not listen on TCP in time")
                time.sleep(0.05)
        self._probe_udp(deadline)

    def _probe_udp(self, deadline: float) -> None:
        """imudp has no connect to wait for: send probes until one is written."""
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
            while not any(line["msgid"] == "probe" for line in self.received()):
                if time.monotonic() > deadline:
                    pytest.fail("rsyslogd did not receive on UDP in time")
                udp.sendto(b"<14>1 - - probe - probe - ready", ("127.0.0.1", self.udp_port))
                time.sleep(0.05)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=DEADLINE_S)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None

    def restart(self) -> None:
        self.stop()
        self.start()

    def received(self) -> list[dict[str, Any]]:
        """Every message written so far, the readiness probes included."""
        if not self.output.exists():
            return []
        text = self.output.read_text()
        # rsyslog may be mid-write: only lines it finished (newline-terminated) count
        complete = text[: text.rfind("\n") + 1]
        return [json.loads(line) for line in complete.splitlines() if line]

    def messages(self, msgid: str | None = None) -> list[dict[str, Any]]:
        """What the sinks sent (probes left out), optionally of one MSGID."""
        return [
            line
            for line in self.received()
            if line["msgid"] != "probe" and (msgid is None or line["msgid"] == msgid)
        ]

    async def wait_for(
        self, predicate: Callable[[list[dict[str, Any]]], bool], what: str
    ) -> list[dict[str, Any]]:
        """Poll (generous deadline) until ``predicate(messages)`` holds."""
        deadline = time.monotonic() + DEADLINE_S
        while True:
            messages = self.messages()
            if predicate(messages):
                return messages
            if time.monotonic() > deadline:
                pytest.fail(f"rsyslogd never received {what}; got {messages!r}")
            await asyncio.sleep(0.05)


@contextmanager
def running_rsyslog(directory: Path) -> Iterator[Rsyslog]:
    binary = rsyslogd_path()
    if binary is None:
        pytest.skip("rsyslogd is not installed: run 'make system-deps' as root")
    server = Rsyslog(binary, directory)
    server.start()
    try:
        yield server
    finally:
        server.stop()
