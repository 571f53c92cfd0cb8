"""Shared helpers of the limits tests: the Redis URL, namespace clean-up."""

from __future__ import annotations

import os

import pytest

REDIS_ENV = "KEYSTEAD_TEST_REDIS_URL"
NOW = 1_750_000_000.0  # 2025-06-15 15:06:40 UTC


def backend_url(name: str) -> str:
    """The limiter URL of a Redis row of the table."""
    url = redis_url()
    if name == "redis-py":
        url += ("&" if "?" in url else "?") + "client=redis-py"
    return url


def redis_url() -> str:
    url = os.environ.get(REDIS_ENV)
    if not url:
        pytest.skip(f"{REDIS_ENV} is not set: Redis tests need a server")
    return url


def delete_namespace(url: str, namespace: str) -> None:
    """Delete every key carrying the hash tag ``{namespace}``."""
    import redis

    client = redis.Redis.from_url(url)
    try:
        keys = list(client.scan_iter(match=f"{{{namespace}}}*", count=1000))
        if keys:
            client.delete(*keys)
    finally:
        client.close()
