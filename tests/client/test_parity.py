"""The CLI prints the same JSON in local and remote mode: its local backend must
answer the shapes the HTTP API answers, field for field."""

from __future__ import annotations

from typing import Any

from keystead.cli._local import LocalBackend
from keystead.config import Settings

from .conftest import App

_MOVING = {"updated_at", "last_used_at"}


def _same_shape(remote: dict[str, Any], local: dict[str, Any]) -> None:
    assert set(remote) == set(local)
    for name in set(remote) - _MOVING:
        assert remote[name] == local[name], name


def test_local_answers_match_the_http_api(app: App, settings: Settings) -> None:
    ks = app.client
    api = ks.create_api("parity", limits={"failure_policy": "closed"})
    plan = ks.create_plan(
        "p", ratelimits=[{"name": "r", "limit": 5, "duration_s": 1}], quota={"limit": 9}
    )
    key = ks.create_key(api["id"], plan_id=plan["id"], credits={"remaining": 5}, owner_id="o")
    owner = ks.put_owner("o", concurrency={"limit": 2})
    remote_verdict = ks.verify_key(key["key"], cost=0)

    local = LocalBackend(settings, None)
    try:
        _same_shape(ks.get_api(api["id"]), local.get_api(api["id"]))
        _same_shape(ks.get_plan(plan["id"]), local.get_plan(plan["id"]))
        _same_shape(ks.get_key(key["id"]), local.get_key(key["id"]))
        _same_shape(owner, local.get_owner("o"))
        local_verdict = local.verify_key(key["key"], {}, cost=0, ratelimits=None)
        local_attempts = local.failed_attempts("192.0.2.1")
    finally:
        local.close()

    assert set(remote_verdict) == set(local_verdict)
    assert [item["name"] for item in remote_verdict["limits"]] == [
        item["name"] for item in local_verdict["limits"]
    ]
    remote_attempts = ks.failed_attempts("192.0.2.1")
    assert set(remote_attempts) <= set(local_attempts)  # locally: plus the limiter's counter
