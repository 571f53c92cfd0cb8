"""Where the CPU of the token routes goes: each request of bench/tokens.py as an
in-process ASGI call of Keystead's HTTP app (no server, no socket, no HTTP
parsing) on the served store, its CPU per call beside verify's, and a cProfile of
each (the functions with the most own time). Not a benchmark itself."""

from __future__ import annotations

import cProfile
import io
import pstats
import time
from collections.abc import Awaitable, Callable, MutableMapping
from pathlib import Path
from typing import Any

Call = Callable[[], Awaitable[None]]


def asgi_post(app: Any, path: str, body: bytes, content_type: str, authorization: str) -> Call:
    """One ``POST path`` through ``app`` in-process; must answer 200 or 201."""
    scope = {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.4"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [
            (b"host", b"127.0.0.1"),
            (b"content-type", content_type.encode()),
            (b"content-length", str(len(body)).encode()),
            (b"authorization", authorization.encode()),
        ],
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 8000),
    }
    request = {"type": "http.request", "body": body, "more_body": False}
    statuses: list[int] = []

    async def call() -> None:
        sent = False

        async def receive() -> dict[str, Any]:
            nonlocal sent
            if sent:
                return {"type": "http.disconnect"}
            sent = True
            return request

        async def send(message: MutableMapping[str, Any]) -> None:
            if message["type"] == "http.response.start":
                statuses.append(message["status"])

        await app({**scope, "state": {}}, receive, send)
        if statuses.pop() not in (200, 201):
            raise RuntimeError(f"{path} did not answer 200/201 in-process")

    return call


async def cpu_per_call(call: Call, calls: int) -> float:
    for _ in range(max(calls // 10, 10)):
        await call()
    started = time.process_time()
    for _ in range(calls):
        await call()
    return (time.process_time() - started) / calls


async def profile_of(call: Call, calls: int) -> str:
    profiler = cProfile.Profile()
    profiler.enable()
    for _ in range(calls):
        await call()
    profiler.disable()
    out = io.StringIO()
    pstats.Stats(profiler, stream=out).sort_stats("tottime").print_stats(16)
    return out.getvalue()


async def route_costs(
    tmp: Path, booted: Any, targets: dict[str, Any], calls: int, profile: bool
) -> tuple[dict[str, float], dict[str, str]]:
    """(CPU per in-process call of each target through the HTTP app, then of the
    service call behind it; profiles of the routes)."""
    from keystead.config import Settings
    from keystead.core.models import VerifyContext
    from keystead.http.app import create_app
    from keystead.service import Keystead
    from keystead.service.tokens import TokenRequest

    settings = Settings(
        _env_file=None,
        database_url=f"sqlite:///{tmp / 'keystead.db'}",
        secret_file=tmp / "keystead.secret",
        public_url=booted.url,
    )
    costs: dict[str, float] = {}
    profiles: dict[str, str] = {}
    async with await Keystead.open(settings=settings, create_secret=False) as ks:
        app = create_app(ks)
        posts = {
            name: asgi_post(app, t.path, t.body.encode(), t.content_type, t.authorization)
            for name, t in targets.items()
        }
        principal = await ks.root_keys.authenticate(booted.root_key)
        context = VerifyContext(ip="127.0.0.1")

        async def verify() -> None:
            await ks.verify(booted.key, context)

        async def exchange() -> None:
            await ks.tokens.exchange(booted.key, context, TokenRequest())

        async def client_credentials() -> None:
            await ks.tokens.client_credentials(booted.key_id, booted.key, None, context)

        async def introspect() -> None:
            await ks.tokens.introspect(booted.token, principal)

        services = {
            "  service: ks.verify": verify,
            "  service: ks.tokens.exchange": exchange,
            "  service: ks.tokens.client_credentials": client_credentials,
            "  service: ks.tokens.introspect": introspect,
        }
        every = {**posts, **services}
        for _ in range(3):  # alternate: the machine's noise hits all alike
            for name, call in every.items():
                cost = await cpu_per_call(call, calls)
                costs[name] = min(costs.get(name, cost), cost)
        if profile:
            for name, call in posts.items():
                profiles[name] = await profile_of(call, calls)
    return costs, profiles
