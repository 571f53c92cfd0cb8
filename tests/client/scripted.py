"""A real HTTP server on a loopback port that answers from a script: each request
gets the next scripted answer (status, headers, body, or a pause first). It
records what it was sent. For what a Keystead server cannot be made to do on
demand: fail, stall, send garbage."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass(frozen=True)
class Answer:
    status: int = 200
    body: Any = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)
    pause_s: float = 0.0


@dataclass
class Scripted:
    url: str
    answers: list[Answer]
    seen: list[tuple[str, str, bytes]] = field(default_factory=list)

    @property
    def methods_and_paths(self) -> list[tuple[str, str]]:
        return [(method, path) for method, path, _ in self.seen]


class _Handler(BaseHTTPRequestHandler):
    script: Scripted
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        return

    def _answer(self) -> None:
        length = int(self.headers.get("content-length") or 0)
        body = self.rfile.read(length) if length else b""
        script = self.script
        script.seen.append((self.command, self.path, body))
        answer = script.answers.pop(0) if script.answers else Answer(500, {"title": "unscripted"})
        if answer.pause_s:
            time.sleep(answer.pause_s)
        payload = (
            answer.body if isinstance(answer.body, bytes) else json.dumps(answer.body).encode()
        )
        self.send_response(answer.status)
        for name, value in {"Content-Type": "application/json", **answer.headers}.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = _answer


@contextmanager
def scripted(*answers: Answer) -> Iterator[Scripted]:
    script = Scripted("", list(answers))
    handler = type("Handler", (_Handler,), {"script": script})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    script.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    try:
        yield script
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


__all__ = ["Answer", "Scripted", "scripted"]
