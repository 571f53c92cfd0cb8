"""The in-process half of bench/tokens.py: tokens through Keystead's middleware
against a cached key, and against PyJWT.

CPU per call (``time.process_time``: every thread of this process) of ASGI calls
of one Starlette endpoint (``GET /api/data``), best of alternating rounds:

* a cached key, a repeated token and first-seen tokens through
  ``KeysteadMiddleware``: embedded (``Embedded(ks)`` on the served store) and
  remote (``Remote`` on an ``AsyncClient`` with the verify cache on, against the
  running ``keystead serve``);
* first-seen tokens through a small ASGI middleware that does what a PyJWT user
  writes: ``PyJWKClient.get_signing_key_from_jwt`` (its JWKS cached) then
  ``jwt.decode`` with algorithms, audience, issuer and leeway;
* the verifiers alone on first-seen tokens: ``ks.tokens.verifier.verify``, the
  SDK's ``AsyncTokenVerifier.verify_now``, and PyJWT's two calls.

Not a benchmark itself (no ``main``).
"""

from __future__ import annotations

import cProfile
import io
import pstats
import time
from collections.abc import Awaitable, Callable, MutableMapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jwt
from _common import fmt_ratio, fmt_us, print_table

PATH = "/api/data"
ALGORITHMS = ["EdDSA", "ES256", "RS256"]
Call = Callable[[str], Awaitable[None]]
KEY_E = "embedded: cached key"
TOKEN_E = "embedded: repeated token"
FIRST_E = "embedded: first-seen token"
KEY_R = "remote: cached key"
TOKEN_R = "remote: repeated token"
FIRST_R = "remote: first-seen token"
PYJWT_APP = "PyJWT middleware: a token"
CORE = "ks.tokens.verifier.verify, first-seen"
SDK = "SDK verify_now, first-seen"
PYJWT = "PyJWT get_signing_key_from_jwt + decode"
PROFILED = (TOKEN_E, FIRST_E, FIRST_R)


@dataclass
class Figures:
    per_call: dict[str, float] = field(default_factory=dict)
    profiles: dict[str, str] = field(default_factory=dict)


def endpoint_app(middleware: Any | None = None, **options: Any) -> Any:
    from starlette.applications import Starlette
    from starlette.middleware import Middleware
    from starlette.requests import Request
    from starlette.responses import JSONResponse
    from starlette.routing import Route

    async def data(request: Request) -> JSONResponse:
        return JSONResponse({"data": [1, 2, 3]})

    stack = [] if middleware is None else [Middleware(middleware, **options)]
    return Starlette(routes=[Route(PATH, data)], middleware=stack)


class PyJWTMiddleware:
    """What a PyJWT user puts in front of an app: the token from the Bearer header,
    its key from a cached ``PyJWKClient``, then ``jwt.decode``; 401 otherwise."""

    def __init__(self, app: Any, jwks_url: str, audience: str, issuer: str) -> None:
        self.app = app
        self.jwks = jwt.PyJWKClient(jwks_url, cache_keys=True)
        self.audience = audience
        self.issuer = issuer

    async def __call__(self, scope: MutableMapping[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        header = dict(scope["headers"]).get(b"authorization", b"")
        try:
            token = header.decode().removeprefix("Bearer ")
            scope.setdefault("state", {})["claims"] = jwt.decode(
                token,
                self.jwks.get_signing_key_from_jwt(token),
                algorithms=ALGORITHMS,
                audience=self.audience,
                issuer=self.issuer,
                leeway=5,
            )
        except (jwt.PyJWTError, UnicodeDecodeError):
            await send({"type": "http.response.start", "status": 401, "headers": []})
            await send({"type": "http.response.body", "body": b""})
            return
        await self.app(scope, receive, send)


def asgi_get(app: Any) -> Call:
    """``GET /api/data`` through ``app`` in-process with a Bearer; must be a 200."""
    base = {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.4"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": PATH,
        "raw_path": PATH.encode(),
        "query_string": b"",
        "root_path": "",
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 8000),
    }
    request = {"type": "http.request", "body": b"", "more_body": False}
    statuses: list[int] = []

    async def receive() -> dict[str, Any]:
        return request

    async def send(message: MutableMapping[str, Any]) -> None:
        if message["type"] == "http.response.start":
            statuses.append(message["status"])

    async def call(bearer: str) -> None:
        scope = {
            **base,
            "headers": [(b"host", b"127.0.0.1"), (b"authorization", f"Bearer {bearer}".encode())],
            "state": {},
        }
        await app(scope, receive, send)
        if statuses.pop() != 200:
            raise RuntimeError("the endpoint did not answer 200")

    return call


async def per_call(call: Call, bearers: Sequence[str]) -> float:
    started = time.process_time()
    for bearer in bearers:
        await call(bearer)
    return (time.process_time() - started) / len(bearers)


async def profile_of(call: Call, bearers: Sequence[str]) -> str:
    """cProfile of ``call`` over ``bearers``: the top functions by own time."""
    profiler = cProfile.Profile()
    profiler.enable()
    await per_call(call, bearers)
    profiler.disable()
    out = io.StringIO()
    pstats.Stats(profiler, stream=out).sort_stats("tottime").print_stats(14)
    return out.getvalue()


async def middleware_figures(tmp: Path, booted: Any, quick: bool, profile: bool) -> Figures:
    """Every figure of the module's docstring, measured against ``booted``."""
    from keystead.client import AsyncClient, AsyncTokenVerifier
    from keystead.config import Settings
    from keystead.core.models import VerifyContext
    from keystead.integrations.embedded import Embedded
    from keystead.integrations.remote import Remote
    from keystead.integrations.starlette import KeysteadMiddleware
    from keystead.service import Keystead
    from keystead.service.tokens import Issued, TokenRequest

    calls, rounds = (300, 2) if quick else (1000, 5)
    settings = Settings(
        _env_file=None,
        database_url=f"sqlite:///{tmp / 'keystead.db'}",
        secret_file=tmp / "keystead.secret",
        public_url=booted.url,
    )
    figures = Figures()
    ks = await Keystead.open(settings=settings, create_secret=False)
    client = AsyncClient(booted.url, booted.root_key, verify_cache_ttl=60.0)
    remote_tokens = AsyncTokenVerifier(client)
    sdk_verifier = AsyncTokenVerifier(AsyncClient(booted.url, booted.root_key))
    try:
        fresh: list[str] = []
        for _ in range(3 * rounds * calls + 2 * calls + 40):
            issued = await ks.tokens.exchange(booted.key, VerifyContext(), TokenRequest(ttl_s=3600))
            assert isinstance(issued, Issued), issued
            fresh.append(issued.token)
        repeated = fresh.pop()
        issuer = f"{booted.url}/apis/{booted.api_id}"
        apps = {
            "bare": asgi_get(endpoint_app()),
            "embedded": asgi_get(endpoint_app(KeysteadMiddleware, guard=Embedded(ks))),
            "remote": asgi_get(
                endpoint_app(KeysteadMiddleware, guard=Remote(client, token_verifier=remote_tokens))
            ),
            "pyjwt": asgi_get(
                endpoint_app(
                    PyJWTMiddleware,
                    jwks_url=f"{issuer}/.well-known/jwks.json",
                    audience=booted.api_id,
                    issuer=issuer,
                )
            ),
        }
        pyjwk = jwt.PyJWKClient(f"{issuer}/.well-known/jwks.json", cache_keys=True)
        verifier = ks.tokens.verifier

        async def in_process(token: str) -> None:
            verifier.verify(token)

        async def sdk(token: str) -> None:
            sdk_verifier.verify_now(token)

        async def pyjwt_alone(token: str) -> None:
            jwt.decode(
                token,
                pyjwk.get_signing_key_from_jwt(token),
                algorithms=ALGORITHMS,
                audience=booted.api_id,
                issuer=issuer,
                leeway=5,
            )

        first_seen = iter(fresh)

        def bearers(kind: str, count: int) -> list[str]:
            if kind == "unseen":
                return [next(first_seen) for _ in range(count)]
            return [booted.key if kind == "key" else repeated] * count

        await verifier.verify_async(repeated)  # loads the API's keys and denials
        await sdk_verifier.verify(repeated)
        paths: dict[str, tuple[Call, str, int]] = {
            "bare app": (apps["bare"], "key", calls),
            KEY_E: (apps["embedded"], "key", calls),
            TOKEN_E: (apps["embedded"], "repeated", calls),
            FIRST_E: (apps["embedded"], "unseen", calls),
            KEY_R: (apps["remote"], "key", calls),
            TOKEN_R: (apps["remote"], "repeated", calls),
            FIRST_R: (apps["remote"], "unseen", calls),
            PYJWT_APP: (apps["pyjwt"], "repeated", calls),
            CORE: (in_process, "unseen", calls // 2),
            SDK: (sdk, "unseen", calls // 2),
            PYJWT: (pyjwt_alone, "repeated", calls),
        }
        for call, kind, _ in paths.values():  # warm-up: caches, the JWKS, the first fetch
            for bearer in bearers(kind, 5):
                await call(bearer)
        best = dict.fromkeys(paths, float("inf"))
        for _ in range(rounds):
            for name, (call, kind, count) in paths.items():
                best[name] = min(best[name], await per_call(call, bearers(kind, count)))
        figures.per_call = best
        if profile or any(ratio < floor for _, ratio, floor in floors(best)):
            for name in PROFILED:
                call, kind, count = paths[name]
                figures.profiles[name] = await profile_of(call, bearers(kind, count // 2))
    finally:
        await sdk_verifier.aclose()
        await remote_tokens.aclose()
        await sdk_verifier.client.aclose()
        await client.aclose()
        await ks.close()
    return figures


def floors(best: dict[str, float]) -> list[tuple[str, float, float]]:
    """(what, ratio, floor): throughput ratios, cost of the baseline over the path's."""
    pairs = [
        ("embedded: repeated token vs cached key", KEY_E, TOKEN_E, 0.8),
        ("remote: repeated token vs cached key", KEY_R, TOKEN_R, 0.8),
        ("embedded: first-seen token vs PyJWT middleware", PYJWT_APP, FIRST_E, 1.0),
        ("remote: first-seen token vs PyJWT middleware", PYJWT_APP, FIRST_R, 1.0),
        ("in-process verifier alone vs PyJWT alone", PYJWT, CORE, 1.0),
        ("SDK verifier alone vs PyJWT alone", PYJWT, SDK, 1.0),
    ]
    return [(what, best[base] / best[path], floor) for what, base, path, floor in pairs]


def report_middleware(figures: Figures) -> None:
    best = figures.per_call
    print_table(
        "In the middleware (in-process ASGI calls of GET /api/data, CPU per call, best round)",
        [("path", "CPU per call"), *((name, fmt_us(cost)) for name, cost in best.items())],
    )
    rows = [("ratio (throughput)", "ratio", "floor")]
    for what, ratio, floor in floors(best):
        rows.append((what, fmt_ratio(ratio), f"{floor}x {'met' if ratio >= floor else 'MISSED'}"))
    print_table("Floors", rows)
    for name, text in figures.profiles.items():
        print(f"\nprofile: {name} (by own time)\n{text}")
