"""The one backend table of the limits tests: every limiter test runs on the
in-process memory backend and on the Redis server named by
KEYSTEAD_TEST_REDIS_URL (skipped, with the reason, when it is unset), through
Keystead's own client and through redis-py. Each test gets its own key
namespace, deleted afterwards. Redis rows carry the ``redis`` marker
(``-m "not redis"`` leaves them out)."""

from __future__ import annotations

import os
import secrets
from collections.abc import AsyncIterator, Callable

import pytest

from keystead.limits import Limiter, MemoryLimiter, open_limiter

from ._support import REDIS_ENV, backend_url, delete_namespace, redis_url

# The marker is registered by pytest_configure below, after this module is
# imported, so the table itself uses the built-in skipif (same reason text).
NEEDS_REDIS = pytest.mark.skipif(
    not os.environ.get(REDIS_ENV), reason=f"{REDIS_ENV} is not set: Redis tests need a server"
)
BACKENDS = [
    pytest.param("memory", id="memory"),
    pytest.param("redis", id="redis", marks=NEEDS_REDIS),
    pytest.param("redis-py", id="redis-py", marks=NEEDS_REDIS),
]
"""memory://; Redis through Keystead's own pipelined client; Redis through
the redis-py driver (``?client=redis-py``, the cluster code path)."""
REDIS_ROWS = {"redis", "redis-py"}


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", f"redis: needs the Redis server named by {REDIS_ENV}")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        callspec = getattr(item, "callspec", None)
        if callspec is not None and REDIS_ROWS & set(map(str, callspec.params.values())):
            item.add_marker("redis")


@pytest.fixture
def namespace() -> str:
    return f"kst-{secrets.token_hex(6)}"


@pytest.fixture
def key(namespace: str) -> Callable[[str], str]:
    """Counter keys of this test: one hash tag, so Cluster-safe too."""
    return lambda name: f"{{{namespace}}}{name}"


@pytest.fixture(params=BACKENDS)
async def limiter(request: pytest.FixtureRequest, namespace: str) -> AsyncIterator[Limiter]:
    if request.param == "memory":
        yield MemoryLimiter()
        return
    backend = open_limiter(backend_url(request.param))
    try:
        yield backend
    finally:
        await backend.close()
        delete_namespace(redis_url(), namespace)
