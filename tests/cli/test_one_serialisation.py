"""What a command prints with ``--json`` is the HTTP answer itself, byte for byte
once parsed, in local mode (the app in-process) and against a real server."""

from __future__ import annotations

import os
from typing import Any

import httpx
import pytest

from keystead.client import Client
from keystead.config import Settings
from keystead.http.inprocess import LOCAL_BASE_URL, InProcessTransport

from ._support import Cli


def _raw(path: str, **params: str) -> Any:
    """The HTTP API's own answer to ``GET path``, not through the CLI."""
    url = os.environ.get("KEYSTEAD_URL")
    if url:
        headers = {"Authorization": f"Bearer {os.environ['KEYSTEAD_ROOT_KEY']}"}
        answer = httpx.get(url + path, params=params, headers=headers, timeout=10)
    else:
        transport = InProcessTransport(Settings())
        with Client(LOCAL_BASE_URL, None, retries=0, transport=transport) as ks:
            answer = ks.http.get(path, params=params)
    assert answer.status_code == 200, answer.text
    return answer.json()


@pytest.mark.parametrize(
    ("command", "path"),
    [
        (("apis", "show", "{api}"), "/v1/apis/{api}"),
        (("apis", "roles", "list", "{api}"), "/v1/apis/{api}/roles"),
        (("keys", "show", "{key}"), "/v1/keys/{key}"),
        (("keys", "list", "--api", "{api}"), "/v1/keys?api_id={api}"),
        (("plans", "show", "{plan}"), "/v1/plans/{plan}"),
        (("owners", "show", "acme"), "/v1/owners/acme"),
        (("webhooks", "get", "{hook}"), "/v1/webhooks/{hook}"),
        (("limits", "failed-attempts", "192.0.2.9"), "/v1/limits/failed_attempts?ip=192.0.2.9"),
        (("audit", "verify"), "/v1/audit/verify"),
        (("secrets", "get", "app/db"), "/v1/secrets/secret/data/app/db"),
    ],
)
def test_json_output_is_the_http_answer(ready: Cli, command: tuple[str, ...], path: str) -> None:
    api = ready.json("apis", "create", "same", "--prefix", "sm")
    ready.json("apis", "roles", "put", api["id"], "reader", "-p", "docs.read")
    plan = ready.json("plans", "create", "gold", "--quota", "100/month")
    key = ready.json("keys", "create", "--api", api["id"], "--owner", "acme", "--plan", plan["id"])
    ready.json("owners", "set", "acme", "--concurrency", "3")
    hook = ready.json("webhooks", "create", "--url", "https://hooks.example.test/", "--event", "*")
    ready.json("secrets", "put", "app/db", "password=-", input="s3cret\n")
    ids = {"api": api["id"], "key": key["id"], "plan": plan["id"], "hook": hook["id"]}

    printed = ready.json(*(part.format(**ids) for part in command))
    route, _, query = path.format(**ids).partition("?")
    answered = _raw(route, **dict(pair.split("=") for pair in query.split("&") if pair))

    moving = _MOVING.intersection(printed) if isinstance(printed, dict) else set()
    assert moving <= set(answered)
    assert _without(printed, moving) == _without(answered, moving)


_MOVING = {"reset"}
"""What the clock moves between the two reads: a limiter window's reset time
(for an IP never seen, a window from now)."""


def _without(answer: Any, names: set[str]) -> Any:
    return {k: v for k, v in answer.items() if k not in names} if names else answer
