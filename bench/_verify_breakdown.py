"""Where the time of ``POST /v1/keys/verify`` goes, layer by layer: in-process ASGI
calls (no server, no socket), for bench/http_verify.py."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from _common import fmt_us, print_table
from _token_routes import asgi_post

from keystead.config import Settings
from keystead.service import Keystead

ASGICall = Callable[[], Awaitable[object]]


def asgi_call(app: Any, path: str, body: bytes, root_key: str) -> ASGICall:
    """One JSON ``POST path`` with the root key through ``app`` in-process: no server,
    no socket, no HTTP parsing."""
    return asgi_post(app, path, body, "application/json", f"Bearer {root_key}")


async def per_call_s(call: ASGICall, seconds: float) -> float:
    """Best seconds per call over a few timed runs of about ``seconds`` each."""
    n = 100
    while True:
        t0 = time.perf_counter()
        for _ in range(n):
            await call()
        if time.perf_counter() - t0 > 0.05:
            break
        n *= 2
    n = max(100, int(n * seconds / (time.perf_counter() - t0)))
    best = float("inf")
    for _ in range(5):
        t0 = time.perf_counter()
        for _ in range(n):
            await call()
        best = min(best, (time.perf_counter() - t0) / n)
    return best


async def asgi_breakdown(
    env: dict[str, str], root_key: str, key: str, body: str, seconds: float
) -> list[tuple[str, float]]:
    """Per-request cost of each layer, in-process on core 0 (after the servers stop)."""
    import hello_app

    from keystead.core.models import VerifyContext
    from keystead.http.app import create_app
    from keystead.http.auth import authenticate

    settings = Settings(
        _env_file=None,
        database_url=env["KEYSTEAD_DATABASE_URL"],
        secret_file=Path(env["KEYSTEAD_SECRET_FILE"]),
    )
    context = VerifyContext(ip="10.1.2.3", permissions="documents.read")
    header = f"Bearer {root_key}"
    async with await Keystead.open(settings=settings) as ks:
        app = create_app(ks)
        hello = asgi_call(hello_app.create_app(), "/", body.encode(), root_key)
        full = asgi_call(app, "/v1/keys/verify", body.encode(), root_key)

        async def auth_and_verify() -> object:
            principal = await authenticate(ks, header)
            return await ks.verify(key, context, principal=principal)

        async def auth_only() -> object:
            return await authenticate(ks, header)

        async def verify_only() -> object:
            return await ks.verify(key, context)

        return [
            ("bare hello app (ASGI call)", await per_call_s(hello, seconds)),
            ("keystead app (ASGI call)", await per_call_s(full, seconds)),
            ("  root key authenticate + ks.verify", await per_call_s(auth_and_verify, seconds)),
            ("    of which root key authenticate", await per_call_s(auth_only, seconds)),
            ("    of which ks.verify", await per_call_s(verify_only, seconds)),
        ]


def report_breakdown(steps: list[tuple[str, float]], bare_s: float, keystead_s: float) -> None:
    """The in-process costs under the CPU per request over HTTP (``bare_s`` and
    ``keystead_s``: server processes on one core)."""
    rows: list[tuple[str, ...]] = [("per request", "CPU")]
    rows.append(("bare hello over HTTP (all its processes)", fmt_us(bare_s)))
    rows.append(("keystead verify over HTTP (all its processes)", fmt_us(keystead_s)))
    rows.append(("difference: what keystead adds", fmt_us(keystead_s - bare_s)))
    rows += [(name, fmt_us(cost)) for name, cost in steps]
    costs = dict(steps)
    framework = (
        costs["keystead app (ASGI call)"]
        - costs["  root key authenticate + ks.verify"]
        - costs["bare hello app (ASGI call)"]
    )
    rows.append(("  rest: FastAPI/Starlette, middleware, body parse, JSON out", fmt_us(framework)))
    print_table("where the time goes (in-process ASGI calls, no server, best of 5)", rows)


__all__ = ["asgi_breakdown", "report_breakdown"]
