"""A tiny notes service that knows nothing about API keys: it trusts the
gateway in front of it to check them, and reads who is calling from the
``X-Keystead-Owner`` header the gateway adds. Standard library only.

    python upstream.py [--port 9000]
"""

from __future__ import annotations

import argparse
import json
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import unquote

NOTES: dict[str, list[str]] = {}


class Notes(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive: the gateway reuses its connections

    def do_GET(self) -> None:
        if self.path == "/health":
            self._answer(200, {"status": "ok"})
        elif self.path == "/notes":
            self._answer(200, {"owner": self._owner(), "notes": NOTES.get(self._owner(), [])})
        else:
            self._answer(404, {"error": "not found"})

    def do_POST(self) -> None:
        if self.path != "/notes":
            self._answer(404, {"error": "not found"})
            return
        length = int(self.headers.get("Content-Length") or 0)
        text = self.rfile.read(length).decode("utf-8")
        NOTES.setdefault(self._owner(), []).append(text)
        self._answer(201, {"owner": self._owner(), "added": text})

    def _owner(self) -> str:
        # identity headers are percent-encoded UTF-8
        return unquote(self.headers.get("X-Keystead-Owner") or "anonymous")

    def _answer(self, status: int, body: dict[str, object]) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: object) -> None:
        pass  # quiet


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, default=9000)
    port = parser.parse_args().port
    server = ThreadingHTTPServer(("127.0.0.1", port), Notes)
    print(f"notes upstream on http://127.0.0.1:{port}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
