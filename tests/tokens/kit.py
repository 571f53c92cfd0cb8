"""Real ``keystead serve`` nodes for the token tests, the management calls the tests
make through Keystead's HTTP API, a FastAPI app protected by Keystead's middleware,
and the byte-level surgery the hostile tokens need.

Every node of a deployment has the same ``KEYSTEAD_PUBLIC_URL`` (the first node's
URL), so that all of them name the same issuer, as behind a load balancer."""

from __future__ import annotations

import base64
import json
import os
import secrets
import socket
import subprocess
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import uvicorn
from fastapi import Depends, FastAPI

from gateway.processes import free_port, keystead, start, stop, wait_until_up
from keystead.integrations.guard import Guard

DEADLINE_S = 1.0
"""How soon a revocation through one node must refuse a token elsewhere."""


@dataclass
class Node:
    url: str
    process: subprocess.Popen[bytes]
    log: Path


@dataclass
class Deployment:
    """One store served by one or more nodes; ``url`` is the first node's."""

    home: Path
    env: dict[str, str]
    root_key: str
    nodes: list[Node] = field(default_factory=list)
    revealed: list[str] = field(default_factory=list)
    """Secrets handed out (for the check of the logs)."""

    @property
    def url(self) -> str:
        return self.nodes[0].url

    def add_node(self, port: int | None = None) -> Node:
        """Another ``keystead serve`` on the same store, secret and master key."""
        port = port or free_port()
        log = self.home / f"node{len(self.nodes) + 1}.log"
        argv = keystead("serve", "--host", "127.0.0.1", "--port", str(port))
        process = start(argv, self.home, self.env, log)
        node = Node(f"http://127.0.0.1:{port}", process, log)
        self.nodes.append(node)
        wait_until_up(f"{node.url}/healthz", process, log)
        return node

    def admin(self, node: Node | None = None) -> httpx.Client:
        """An HTTP client of ``node`` (default: the first) with the root key."""
        return httpx.Client(
            base_url=(node or self.nodes[0]).url,
            headers={"Authorization": f"Bearer {self.root_key}"},
            timeout=10,
        )

    def issuer(self, api_id: str) -> str:
        return f"{self.url}/apis/{api_id}"

    def jwks_url(self, api_id: str) -> str:
        return f"{self.url}/apis/{api_id}/.well-known/jwks.json"

    def new_api(self, policy: Mapping[str, Any] | None = None) -> str:
        """A new API; its token policy changed by ``policy`` (before any token)."""
        with self.admin() as client:
            answer = client.post("/v1/apis", json={"name": f"api-{secrets.token_hex(4)}"})
            assert answer.status_code == 201, answer.text
            api_id: str = answer.json()["id"]
            if policy:
                self.set_policy(api_id, policy)
        return api_id

    def set_policy(self, api_id: str, changes: Mapping[str, Any]) -> dict[str, Any]:
        with self.admin() as client:
            current = client.get(f"/v1/apis/{api_id}/token-policy")
            assert current.status_code == 200, current.text
            answer = client.put(
                f"/v1/apis/{api_id}/token-policy", json={**current.json(), **changes}
            )
        assert answer.status_code == 200, answer.text
        policy: dict[str, Any] = answer.json()
        return policy

    def new_key(self, api_id: str, permissions: Sequence[str] = ("documents.read",)) -> Key:
        with self.admin() as client:
            answer = client.post(
                "/v1/keys", json={"api_id": api_id, "permissions": list(permissions)}
            )
        assert answer.status_code == 201, answer.text
        created = answer.json()
        self.revealed.append(created["key"])
        return Key(created["id"], created["key"], api_id)

    def verifier_key(self) -> str:
        """A root key with only what a remote verifier needs."""
        return self.root_key_with(["keys.verify"])

    def root_key_with(self, permissions: Sequence[str]) -> str:
        with self.admin() as client:
            answer = client.post("/v1/root_keys", json={"permissions": list(permissions)})
        assert answer.status_code == 201, answer.text
        key: str = answer.json()["key"]
        self.revealed.append(key)
        return key

    def exchange(self, key: Key, **body: Any) -> dict[str, Any]:
        """``POST /v1/tokens`` with the key itself: the 201 answer."""
        answer = httpx.post(
            f"{self.url}/v1/tokens",
            json=body,
            headers={"Authorization": f"Bearer {key.secret}"},
            timeout=10,
        )
        assert answer.status_code == 201, answer.text
        issued: dict[str, Any] = answer.json()
        return issued

    def introspect(self, token: str) -> dict[str, Any]:
        """RFC 7662 with the root key: the answer's JSON (always a 200)."""
        with self.admin() as client:
            answer = client.post("/oauth/introspect", data={"token": token})
        assert answer.status_code == 200, answer.text
        assert answer.headers["cache-control"] == "no-store"
        body: dict[str, Any] = answer.json()
        return body

    def revoke_key(self, key: Key, node: Node | None = None) -> None:
        with self.admin(node) as client:
            answer = client.post(f"/v1/keys/{key.id}/revoke")
        assert answer.status_code < 300, answer.text

    def revoke_jti(self, api_id: str, jti: str, expires_at: float) -> None:
        with self.admin() as client:
            answer = client.post(
                "/v1/tokens/revocations",
                json={"api_id": api_id, "jti": jti, "expires_at": expires_at},
            )
        assert answer.status_code < 300, answer.text

    def rotate(self, api_id: str, algorithm: str | None = None) -> dict[str, Any]:
        body = {} if algorithm is None else {"algorithm": algorithm}
        with self.admin() as client:
            answer = client.post(f"/v1/apis/{api_id}/signing-keys/rotate", json=body)
        assert answer.status_code in (200, 201), answer.text
        rotated: dict[str, Any] = answer.json()
        return rotated

    def signing_keys(self, api_id: str) -> list[dict[str, Any]]:
        with self.admin() as client:
            answer = client.get(f"/v1/apis/{api_id}/signing-keys")
        assert answer.status_code == 200, answer.text
        body = answer.json()
        keys: list[dict[str, Any]] = body["items"]
        return keys


@dataclass(frozen=True)
class Key:
    id: str
    secret: str
    api_id: str


def server_env(home: Path, database_url: str, public_url: str) -> dict[str, str]:
    """This environment without KEYSTEAD_* settings, on ``database_url``; the
    scheduler's pass (token upkeep: rotation, keys leaving the JWKS) every second."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("KEYSTEAD_")}
    return env | {
        "KEYSTEAD_DATABASE_URL": database_url,
        "KEYSTEAD_SECRET_FILE": str(home / "server.secret"),
        "KEYSTEAD_PUBLIC_URL": public_url,
        "KEYSTEAD_SCHEDULER_INTERVAL_S": "1",
        "KEYSTEAD_LOG_LEVEL": "info",
    }


@contextmanager
def deploy(home: Path, database_url: str) -> Iterator[Deployment]:
    """``keystead init`` then one ``keystead serve``; more with ``add_node``.
    Afterwards no node's log may hold a traceback or a secret handed out."""
    port = free_port()
    env = server_env(home, database_url, f"http://127.0.0.1:{port}")
    init = subprocess.run(
        keystead("init", "--json"), env=env, cwd=home, capture_output=True, text=True, timeout=60
    )
    assert init.returncode == 0, init.stderr
    root_key = json.loads(init.stdout)["root_key"]
    deployment = Deployment(home, env, root_key, revealed=[root_key])
    try:
        deployment.add_node(port)
        yield deployment
    finally:
        for node in deployment.nodes:
            stop(node.process)
    for node in deployment.nodes:
        log = node.log.read_text()
        assert "Traceback" not in log and "unhandled error" not in log, log[-4000:]
        for secret in deployment.revealed:
            assert secret not in log


def protected_app(guard: Guard) -> FastAPI:
    """The resource server: one route behind ``KeysteadMiddleware(guard=...)``."""
    from keystead.integrations.fastapi import Identity, KeysteadMiddleware, require_key

    app = FastAPI()
    app.add_middleware(KeysteadMiddleware, guard=guard)

    @app.get("/documents")
    async def documents(
        key: Identity = Depends(require_key("documents.read")),  # noqa: B008
    ) -> dict[str, Any]:
        return {"key_id": key.key_id, "api_id": key.api_id, "permissions": key.permissions}

    return app


@contextmanager
def serve_app(app: FastAPI) -> Iterator[str]:
    """Serve ``app`` (lifespan on: the guard opens and closes its client) in a
    thread on a loopback port; yields its base URL."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    config = uvicorn.Config(app, lifespan="on", log_level="warning", access_log=False)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 30
        while not server.started:
            assert thread.is_alive() and time.monotonic() < deadline, "the app did not start"
            time.sleep(0.01)
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        server.should_exit = True
        thread.join(30)
        sock.close()


def status_within(call: Callable[[], int], expected: int, deadline_s: float = DEADLINE_S) -> None:
    """Repeat ``call`` until it answers ``expected``; fail once ``deadline_s`` passed."""
    started = time.monotonic()
    while (status := call()) != expected:
        elapsed = time.monotonic() - started
        assert elapsed < deadline_s, f"still {status} after {elapsed:.2f} s"
        time.sleep(0.02)


# Byte-level surgery on compact JWS


def b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def unb64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def segment(value: Mapping[str, Any]) -> str:
    return b64url(json.dumps(value, separators=(",", ":")).encode())


def parts(token: str) -> tuple[dict[str, Any], dict[str, Any], bytes]:
    header, payload, signature = token.split(".")
    return json.loads(unb64url(header)), json.loads(unb64url(payload)), unb64url(signature)


__all__ = [
    "DEADLINE_S",
    "MODES",
    "Deployment",
    "Key",
    "Node",
    "b64url",
    "call",
    "deploy",
    "guard_for",
    "minted_at",
    "parts",
    "protected_app",
    "segment",
    "serve_app",
    "status_within",
    "unb64url",
]


def minted_at(deployment: Deployment, key: Key, at: float, **request: Any) -> str:
    """A token the deployment's own signing key signs as if the time were ``at``: a
    service on the same store (its secret, its master key) with a clock set there.
    How a test gets a genuinely signed token that is already expired or not yet
    valid."""
    import asyncio

    from keystead.config import Settings
    from keystead.core.clock import ManualClock
    from keystead.core.models import VerifyContext
    from keystead.service import Keystead
    from keystead.service.tokens import Issued, TokenRequest

    settings = Settings(
        _env_file=None,
        database_url=deployment.env["KEYSTEAD_DATABASE_URL"],
        secret_file=Path(deployment.env["KEYSTEAD_SECRET_FILE"]),
        public_url=deployment.env["KEYSTEAD_PUBLIC_URL"],
        invalidation_url="none",
    )

    async def mint() -> str:
        ks = await Keystead.open(settings=settings, clock=ManualClock(at), create_secret=False)
        try:
            issued = await ks.tokens.exchange(key.secret, VerifyContext(), TokenRequest(**request))
        finally:
            await ks.close()
        assert isinstance(issued, Issued), issued
        return issued.token

    return asyncio.run(mint())


MODES = ["remote", "embedded"]
"""How the protected app verifies: through the SDK against the server, or in-process
on the same store (told of other nodes' revocations by the invalidation channel on
PostgreSQL; on SQLite, which has none, by reading the denials again every second)."""


REFRESH_S = 0.5
"""How often the remote verifier polls the revocation document in these tests (the
default is 1 s): its bound is that plus one request, and the tests hold it to 1 s."""


def guard_for(mode: str, deployment: Deployment) -> Guard:
    """Keystead's guard for ``mode``, against ``deployment``."""
    if mode == "remote":
        from keystead.integrations.remote import Remote

        remote = Remote(url=deployment.url, root_key=deployment.verifier_key())
        assert remote.tokens is not None
        remote.tokens.refresh_s = REFRESH_S
        return remote
    from keystead.config import Settings
    from keystead.integrations.embedded import Embedded

    settings = Settings(
        _env_file=None,
        database_url=deployment.env["KEYSTEAD_DATABASE_URL"],
        secret_file=Path(deployment.env["KEYSTEAD_SECRET_FILE"]),
        public_url=deployment.env["KEYSTEAD_PUBLIC_URL"],
    )
    return Embedded(settings=settings)


def call(app_url: str, token: str) -> httpx.Response:
    """``GET /documents`` of the protected app with ``token`` as the Bearer."""
    return httpx.get(
        f"{app_url}/documents", headers={"Authorization": f"Bearer {token}"}, timeout=10
    )
