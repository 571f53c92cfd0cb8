"""Support for the access-token tests of the middleware: apps that echo the
identity they received, and tokens a client could forge from a real one."""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Callable
from dataclasses import asdict
from typing import Any

import httpx
from fastapi import FastAPI, Request
from flask import Flask, g

from keystead.core.ids import new_id
from keystead.core.tokens import Signer, generate_private
from keystead.integrations import flask as keystead_flask
from keystead.integrations.asgi import KeysteadMiddleware
from keystead.integrations.guard import Guard, SyncGuard
from keystead.integrations.identity import Identity
from keystead.integrations.rules import Rule

DEADLINE_S = 1.0
"""The bound a revocation must meet to reach a verifier."""


def identity_json(identity: Identity | None) -> dict[str, Any] | None:
    return None if identity is None else {**asdict(identity), "meta": dict(identity.meta)}


def fastapi_app(guard: Guard) -> FastAPI:
    """A FastAPI app behind the middleware: ``/whoami`` (any credential) and
    ``/reports`` (``reports.read``) echo the identity."""
    app = FastAPI()
    app.add_middleware(
        KeysteadMiddleware, guard=guard, rules=[Rule("/reports", permissions="reports.read")]
    )

    @app.get("/whoami")
    async def whoami(request: Request) -> dict[str, Any]:
        return {
            "identity": identity_json(request.state.keystead),
            "authorization": request.headers.get("authorization"),
        }

    @app.get("/reports")
    async def reports(request: Request) -> dict[str, Any]:
        return {"identity": identity_json(request.state.keystead)}

    return app


def flask_app(guard: SyncGuard) -> Flask:
    """The same two routes in Flask."""
    app = Flask(__name__)
    keystead_flask.Keystead(app, guard)

    @app.get("/whoami")
    @keystead_flask.require_key()
    def whoami() -> dict[str, Any]:
        return {"identity": identity_json(g.keystead)}

    @app.get("/reports")
    @keystead_flask.require_key("reports.read")
    def reports() -> dict[str, Any]:
        return {"identity": identity_json(g.keystead)}

    return app


def bearer(credential: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {credential}"}


def exchange(url: str, key: str, **body: Any) -> str:
    """A token for ``key`` from a Keystead server's ``POST /v1/tokens``."""
    response = httpx.post(f"{url}/v1/tokens", headers=bearer(key), json=body, timeout=10)
    assert response.status_code == 201, response.text
    token: str = response.json()["token"]
    return token


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def parts(token: str) -> tuple[dict[str, Any], dict[str, Any]]:
    head, body, _ = token.split(".")
    return json.loads(_unb64(head)), json.loads(_unb64(body))


def tampered(token: str, **claims: Any) -> str:
    """The token with changed claims and its original signature."""
    head, _, signature = token.split(".")
    payload = {**parts(token)[1], **claims}
    return f"{head}.{_b64(json.dumps(payload).encode())}.{signature}"


def unsigned(token: str) -> str:
    """The token re-headed ``alg: none`` with no signature."""
    header, claims = parts(token)
    header["alg"] = "none"
    return f"{_b64(json.dumps(header).encode())}.{_b64(json.dumps(claims).encode())}."


def foreign(token: str, **claims: Any) -> str:
    """The token's claims (changed by ``claims``) signed by a key nobody
    published, under a kid the server never issued."""
    signer = Signer("EdDSA", new_id("tsk", time.time()), generate_private("EdDSA"))
    return signer.sign({**parts(token)[1], **claims})


def expired_claims(token: str) -> dict[str, Any]:
    now = int(time.time())
    return {"iat": now - 600, "nbf": now - 600, "exp": now - 60}


def within(deadline_s: float, call: Callable[[], int], status: int) -> tuple[int, float]:
    """Call until ``status`` comes back or ``deadline_s`` passes; the last
    status and the seconds it took."""
    started = time.monotonic()
    while True:
        got = call()
        elapsed = time.monotonic() - started
        if got == status or elapsed > deadline_s:
            return got, elapsed
        time.sleep(0.01)


__all__ = [
    "DEADLINE_S",
    "bearer",
    "exchange",
    "expired_claims",
    "fastapi_app",
    "flask_app",
    "foreign",
    "identity_json",
    "parts",
    "tampered",
    "unsigned",
    "within",
]
