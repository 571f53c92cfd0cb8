"""GitHub's side of a secret scanning report, for tests: a P-256 key pair made
here, a body signed as GitHub signs it (ECDSA P-256 SHA-256 over the raw bytes,
DER, base64), and the public keys document served from a real loopback HTTP
server that counts how often it is read."""

from __future__ import annotations

import base64
import hashlib
import json
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec


@dataclass
class Signer:
    """One of GitHub's signing keys."""

    private: ec.EllipticCurvePrivateKey = field(
        default_factory=lambda: ec.generate_private_key(ec.SECP256R1())
    )

    @property
    def pem(self) -> str:
        return (
            self.private.public_key()
            .public_bytes(
                serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
            )
            .decode()
        )

    @property
    def identifier(self) -> str:
        der = self.private.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        return hashlib.sha256(der).hexdigest()

    def sign(self, body: bytes) -> str:
        return base64.b64encode(self.private.sign(body, ec.ECDSA(hashes.SHA256()))).decode()

    def headers(self, body: bytes, identifier: str | None = None) -> dict[str, str]:
        return {
            "Content-Type": "application/json",
            "Github-Public-Key-Identifier": identifier or self.identifier,
            "Github-Public-Key-Signature": self.sign(body),
        }

    def entry(self, *, current: bool = True) -> dict[str, Any]:
        return {"key_identifier": self.identifier, "key": self.pem, "is_current": current}


def matches(*tokens: str, url: str = "https://github.com/acme/app/blob/abc/.env") -> bytes:
    """A body as GitHub sends it (compact JSON, its field order)."""
    body = [
        {"token": t, "type": "keystead_api_key", "url": url, "source": "content"} for t in tokens
    ]
    return json.dumps(body, separators=(",", ":")).encode()


class KeyServer:
    """Serves ``{"public_keys": [...]}`` of the signers it holds, on loopback."""

    def __init__(self, signers: Sequence[Signer]) -> None:
        self.signers = list(signers)
        self.reads = 0
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                outer.reads += 1
                body = json.dumps({"public_keys": [s.entry() for s in outer.signers]}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                return

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}/meta/public_keys"

    @contextmanager
    def running(self) -> Iterator[KeyServer]:
        thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        thread.start()
        try:
            yield self
        finally:
            self._server.shutdown()
            self._server.server_close()
            thread.join()


__all__ = ["KeyServer", "Signer", "matches"]
