"""A management change that touches both the store and the limiter is all or nothing:
after a 5xx the stored state and the limiter's counters are exactly what they were,
after a 2xx both carry the change. Driven over the real HTTP app, on SQLite and
PostgreSQL, with a redis-server of the test's own that is stopped or stalled, and a
store connection killed right after the limiter took the change."""

from __future__ import annotations

import ast
import os
import secrets
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest
from httpkit import World, assert_problem, management_routes, open_world

import keystead
from conftest import POSTGRES_ENV
from keystead.config import Settings
from keystead.core.clock import ManualClock
from keystead.errors import LimiterUnavailable, StoreUnavailable
from keystead.limits import Quota
from keystead.service import Keystead, counters
from redisserver import Server, running

pytestmark = [pytest.mark.slow]

QUOTA = {"limit": 1000, "period": "day"}
KEY = ("PATCH", "/v1/keys/{key_id}")
CASES: dict[tuple[str, str], dict[str, dict[str, Any]]] = {
    KEY: {
        "credits": {"name": "changed", "credits": {"remaining": 5}},
        "reset_quota": {"name": "changed", "reset_quota": True},
        "both": {"name": "changed", "credits": {"remaining": 5}, "reset_quota": True},
    },
}
"""Every management route whose service call changes limiter state, with the bodies
that reach the limiter (credits set the live balance, ``reset_quota`` clears the quota
count), each with a stored-only field beside. The fault tests drive every one."""
FAULT_ROUTES = set(CASES)
UPDATES = [pytest.param(route, name, id=name) for route in CASES for name in CASES[route]]

LIMITER_WRITES = frozenset(
    {"decide", "release", "set_credits", "adjust_credits", "clear"}
    | {"decide_now", "release_now", "clear_now"}
)
LIMITER_WRITERS: dict[str, frozenset[tuple[str, str]]] = {
    # management changes: each reaches the limiter from these routes
    "service.counter_changes.CounterChange.apply": frozenset(FAULT_ROUTES),
    "service.counter_changes._restore_credits.restore": frozenset(FAULT_ROUTES),
    "service.counter_changes._restore_quota.restore": frozenset(FAULT_ROUTES),
    # verification (spends by design) and read-only peeks (cost 0), not management changes
    "service.verifier.Verifier._limit": frozenset(),
    "service.verifier.Verifier.limit_token": frozenset(),
    "service.verifier.Verifier.release": frozenset(),
    "service.guard.FailedAttempts.record": frozenset(),
    "service.key_counters.read_counters": frozenset(),  # cost 0: reads, spends nothing
    "service.guard.FailedAttempts.peek": frozenset(),
}
"""Every function of the package that calls a mutating limiter method, and the
management routes that reach it. A new one fails ``test_every_limiter_writer_is_known``
until it is classified here (and its routes covered by the fault tests)."""


@dataclass
class Scene:
    world: World
    redis: Server
    key_id: str
    kill_store: Callable[[], None]

    @property
    def ks(self) -> Keystead:
        return self.world.ks

    @property
    def prefix(self) -> str:
        return counters.key_prefix(self.world.workspace_id, self.key_id)


def _store_killer(database_url: str, name: str) -> Callable[[], None]:
    """Kill this test's own PostgreSQL connections (by application_name); on SQLite,
    where a connection cannot be killed from outside, fail the same way the store does."""
    if not database_url.startswith("postgresql"):

        def fail() -> None:
            raise StoreUnavailable("the sqlite store failed: OperationalError")

        return fail

    def kill() -> None:
        with psycopg.connect(os.environ[POSTGRES_ENV], autocommit=True) as conn:
            conn.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                " WHERE application_name = %s AND pid <> pg_backend_pid()",
                (name,),
            )

    return kill


@pytest.fixture
async def scene(settings: Settings, clock: ManualClock, tmp_path: Path) -> AsyncIterator[Scene]:
    name = f"ks_atomic_{secrets.token_hex(4)}"
    url = settings.database_url
    if url.startswith("postgresql"):
        url += f"&application_name={name}"
    with running(tmp_path) as redis:
        tuned = settings.model_copy(update={"database_url": url, "limits_url": redis.url})
        ks = await Keystead.open(settings=tuned, clock=clock)
        try:
            async with open_world(ks) as world:
                api = await world.api()
                created = await world.key(
                    api["id"], name="before", credits={"remaining": 100}, quota=QUOTA
                )
                for _ in range(3):
                    assert (await world.verify(created["key"]))["valid"]
                await ks.flush()  # the credits mirror is written now, not mid-test
                yield Scene(world, redis, created["id"], _store_killer(url, name))
        finally:
            await ks.close()


async def _retrying(call: Callable[[], Awaitable[httpx.Response]]) -> httpx.Response:
    """A read after killed connections: each dead pooled connection fails one call."""
    for _ in range(30):
        response = await call()
        if response.status_code != 503:
            return response
    raise AssertionError(f"the store did not come back: {response.text}")


async def _state(scene: Scene) -> dict[str, Any]:
    """What the store holds (the key, its credits mirror, its audit trail) and what
    the limiter holds (the raw credit balance, the quota count)."""
    client, auth = scene.world.client, scene.world.auth()
    key = await _retrying(lambda: client.get(f"/v1/keys/{scene.key_id}", headers=auth))
    audit = await _retrying(lambda: client.get(f"/v1/audit?target={scene.key_id}", headers=auth))
    assert key.status_code == 200 and audit.status_code == 200, (key.text, audit.text)
    limiter, now = scene.ks.limiter, scene.ks.clock.now()
    quota = Quota.from_dict(QUOTA)
    return {
        "key": key.json(),
        "mirror": await scene.ks.store.get_credits_remaining(scene.key_id),
        "audit": [entry["id"] for entry in audit.json()["items"]],
        "credits": await limiter.get_credits(scene.prefix + "c"),
        "quota_used": (await limiter.quota_usage(scene.prefix + "q", quota, now)).used,
    }


def _applied(before: dict[str, Any], after: dict[str, Any], update: str) -> None:
    assert after["key"]["name"] == "changed"
    assert len(after["audit"]) == len(before["audit"]) + 1
    if update in ("credits", "both"):
        assert after["credits"] == after["mirror"] == after["key"]["credits_remaining"] == 5
    else:
        assert after["credits"] == before["credits"]
    assert after["quota_used"] == (before["quota_used"] if update == "credits" else 0)


async def _send(scene: Scene, route: tuple[str, str], update: str) -> httpx.Response:
    method, path = route
    return await scene.world.client.request(
        method,
        path.format(key_id=scene.key_id),
        json=CASES[route][update],
        headers=scene.world.auth(),
    )


@pytest.mark.parametrize(("route", "update"), UPDATES)
@pytest.mark.parametrize("fault", ["stopped", "stalled"])
async def test_redis_down_applies_nothing(
    scene: Scene, route: tuple[str, str], update: str, fault: str
) -> None:
    before = await _state(scene)
    assert before["credits"] == 97 and before["quota_used"] == 3
    if fault == "stopped":
        scene.redis.stop()
    else:
        scene.redis.pause(True)
    try:
        response = await _send(scene, route, update)
    finally:
        if fault == "stopped":
            scene.redis.start()
        else:
            scene.redis.pause(False)
    body = assert_problem(response, 503)
    assert await _state(scene) == before
    assert body["title"] == "Service Unavailable"
    assert body["detail"] == LimiterUnavailable.public_detail
    retried = await _send(scene, route, update)
    assert retried.status_code == 200, retried.text
    _applied(before, await _state(scene), update)


@pytest.mark.parametrize(("route", "update"), UPDATES)
async def test_store_lost_after_the_limiter_change_applies_nothing(
    scene: Scene, route: tuple[str, str], update: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The store fails at commit, after the limiter took the change: the limiter's
    change is undone, and the answer is a 503."""
    before = await _state(scene)
    limiter = scene.ks.limiter
    armed = [True]
    for method in ("set_credits", "clear"):
        original = getattr(limiter, method)

        async def then_kill(*args: Any, _original: Any = original) -> None:
            await _original(*args)
            if armed[0]:
                armed[0] = False
                scene.kill_store()

        monkeypatch.setattr(limiter, method, then_kill)
    response = await _send(scene, route, update)
    assert not armed[0], "the change never reached the limiter"
    body = assert_problem(response, 503)
    assert await _state(scene) == before
    assert body["title"] == "Service Unavailable"
    assert body["detail"] == StoreUnavailable.public_detail
    retried = await _retrying(lambda: _send(scene, route, update))
    assert retried.status_code == 200, retried.text
    _applied(before, await _state(scene), update)


@pytest.mark.parametrize(("route", "update"), UPDATES)
async def test_store_lost_before_the_change(
    scene: Scene, route: tuple[str, str], update: str
) -> None:
    """Connections killed before the request: whatever the answer, it is whole."""
    before = await _state(scene)
    try:
        scene.kill_store()
    except StoreUnavailable:
        pytest.skip("an SQLite connection cannot be killed from outside")
    response = await _send(scene, route, update)
    after = await _state(scene)
    if response.status_code == 200:
        _applied(before, after, update)
    else:
        assert_problem(response, 503)
        assert after == before


def _limiter_writers() -> set[str]:
    """``module.Class.function`` of every function of the package (the limits engine
    aside) that calls a mutating method on something named ``limiter`` or ``_limiter``."""
    found: set[str] = set()
    root = Path(keystead.__file__).parent
    for path in sorted(root.rglob("*.py")):
        parts = path.relative_to(root).with_suffix("").parts
        if parts[0] == "limits":
            continue
        module = ".".join(parts)
        tree = ast.parse(path.read_text(), str(path))

        def visit(node: ast.AST, where: tuple[str, ...]) -> None:
            for child in ast.iter_child_nodes(node):
                inner = where
                if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                    inner = (*where, child.name)
                if (
                    isinstance(child, ast.Call)
                    and isinstance(child.func, ast.Attribute)
                    and child.func.attr in LIMITER_WRITES
                    and _ends_in_limiter(child.func.value)
                ):
                    found.add(".".join((module, *where)))  # noqa: B023 - called right here
                visit(child, inner)

        visit(tree, ())
    return found


def _ends_in_limiter(node: ast.expr) -> bool:
    if isinstance(node, ast.Attribute):
        return node.attr in ("limiter", "_limiter")
    return isinstance(node, ast.Name) and node.id in ("limiter", "_limiter")


def test_every_limiter_writer_is_known() -> None:
    assert _limiter_writers() == set(LIMITER_WRITERS), (
        "a service function now changes limiter state: classify it in LIMITER_WRITERS and, "
        "for a management route, add the route to FAULT_ROUTES with a fault test"
    )
    reached = set().union(*LIMITER_WRITERS.values())
    assert reached == FAULT_ROUTES


async def test_fault_routes_exist(keystead: Keystead) -> None:
    async with open_world(keystead) as world:
        assert management_routes(world.app) >= FAULT_ROUTES


async def test_limiter_lost_midway_puts_back_what_it_changed(
    scene: Scene, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The limiter took the balance, then failed on the quota: the balance is put back."""
    before = await _state(scene)

    async def gone(*_args: object) -> None:
        raise LimiterUnavailable("rate-limit backend failed: [Errno 104] Connection reset")

    monkeypatch.setattr(scene.ks.limiter, "quota_usage", gone)
    response = await _send(scene, KEY, "both")
    monkeypatch.undo()
    assert_problem(response, 503)
    assert await _state(scene) == before
