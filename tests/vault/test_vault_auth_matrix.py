"""The auth matrix of the Vault face, over a real ``keystead serve``: every route of
``keystead.http.vault.routes()`` is walked with no token, with a token of another
workspace and with a token scoped to another path (the table below must list
exactly the registered routes, so a new endpoint without its cases fails here).

Expected: no token is Vault's 403 ``permission denied`` (but ``sys/health``);
another workspace's mounts and secrets do not exist (404); a token scoped elsewhere
is 403 on every secret route, and succeeds on its own path (the control)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest

from keystead.http.vault import routes

from .conftest import Vault
from .test_vault_transit_auth_matrix import TRANSIT_CASES

NONE, OTHER, SCOPED = "no token", "another workspace", "scoped elsewhere"
MERGE = "application/merge-patch+json"


@dataclass(frozen=True)
class Case:
    """How to call a route (``{mount}``, ``{path}``, ``{new}`` filled in) and the
    status each caller gets."""

    send: str
    url: str
    expect: dict[str, int]
    body: dict[str, Any] | None = None
    content_type: str = "application/json"
    control: set[int] = field(default_factory=lambda: {200, 204})
    """The statuses the scoped token gets on its own path (None: not applicable)."""


SECRET = {NONE: 403, OTHER: 404, SCOPED: 403}
ADMIN = {NONE: 403, OTHER: 404, SCOPED: 403}
VERSIONS = {"versions": [1]}

CASES: dict[tuple[str, str], Case] = {
    ("GET", "{mount}/config"): Case("GET", "{mount}/config", ADMIN),
    ("POST", "{mount}/config"): Case("POST", "{mount}/config", ADMIN, {"max_versions": 7}),
    ("PUT", "{mount}/config"): Case("PUT", "{mount}/config", ADMIN, {"max_versions": 7}),
    ("GET", "{mount}/data/{path}"): Case("GET", "{mount}/data/{path}", SECRET),
    ("POST", "{mount}/data/{path}"): Case(
        "POST", "{mount}/data/{path}", SECRET, {"data": {"v": "hacked"}}
    ),
    ("PUT", "{mount}/data/{path}"): Case(
        "PUT", "{mount}/data/{path}", SECRET, {"data": {"v": "hacked"}}
    ),
    ("PATCH", "{mount}/data/{path}"): Case(
        "PATCH", "{mount}/data/{path}", SECRET, {"data": {"v": "hacked"}}, MERGE
    ),
    ("DELETE", "{mount}/data/{path}"): Case("DELETE", "{mount}/data/{path}", SECRET),
    ("POST", "{mount}/delete/{path}"): Case("POST", "{mount}/delete/{path}", SECRET, VERSIONS),
    ("PUT", "{mount}/delete/{path}"): Case("PUT", "{mount}/delete/{path}", SECRET, VERSIONS),
    ("POST", "{mount}/undelete/{path}"): Case("POST", "{mount}/undelete/{path}", SECRET, VERSIONS),
    ("PUT", "{mount}/undelete/{path}"): Case("PUT", "{mount}/undelete/{path}", SECRET, VERSIONS),
    ("POST", "{mount}/destroy/{path}"): Case("POST", "{mount}/destroy/{path}", SECRET, VERSIONS),
    ("PUT", "{mount}/destroy/{path}"): Case("PUT", "{mount}/destroy/{path}", SECRET, VERSIONS),
    ("GET", "{mount}/metadata/{path}"): Case("GET", "{mount}/metadata/{path}", SECRET),
    ("LIST", "{mount}/metadata/{path}"): Case(
        "LIST", "{mount}/metadata/{folder}", SECRET, control={200}
    ),
    ("POST", "{mount}/metadata/{path}"): Case(
        "POST", "{mount}/metadata/{path}", SECRET, {"max_versions": 3}
    ),
    ("PUT", "{mount}/metadata/{path}"): Case(
        "PUT", "{mount}/metadata/{path}", SECRET, {"max_versions": 3}
    ),
    ("PATCH", "{mount}/metadata/{path}"): Case(
        "PATCH", "{mount}/metadata/{path}", SECRET, {"max_versions": 4}, MERGE
    ),
    ("DELETE", "{mount}/metadata/{path}"): Case("DELETE", "{mount}/metadata/{path}", SECRET),
    ("GET", "{mount}/subkeys/{path}"): Case("GET", "{mount}/subkeys/{path}", SECRET),
    ("GET", "sys/health"): Case("GET", "sys/health", {NONE: 200, OTHER: 200, SCOPED: 200}),
    ("HEAD", "sys/health"): Case("HEAD", "sys/health", {NONE: 200, OTHER: 200, SCOPED: 200}),
    ("GET", "sys/seal-status"): Case(
        "GET", "sys/seal-status", {NONE: 200, OTHER: 200, SCOPED: 200}
    ),
    ("GET", "sys/init"): Case("GET", "sys/init", {NONE: 200, OTHER: 200, SCOPED: 200}),
    ("GET", "sys/mounts"): Case("GET", "sys/mounts", {NONE: 403, OTHER: 200, SCOPED: 200}),
    ("GET", "sys/mounts/{mount}"): Case(
        "GET", "sys/mounts/{mount}", {NONE: 403, OTHER: 400, SCOPED: 400}
    ),
    ("GET", "sys/mounts/{mount}/tune"): Case(
        "GET", "sys/mounts/{mount}/tune", {NONE: 403, OTHER: 400, SCOPED: 400}
    ),
    ("POST", "sys/mounts/{mount}"): Case(
        "POST", "sys/mounts/{new}", {NONE: 403, OTHER: 204, SCOPED: 403}, {"type": "kv-v2"}
    ),
    ("PUT", "sys/mounts/{mount}"): Case(
        "PUT", "sys/mounts/{new}", {NONE: 403, OTHER: 204, SCOPED: 403}, {"type": "kv-v2"}
    ),
    ("GET", "auth/token/lookup-self"): Case(
        "GET", "auth/token/lookup-self", {NONE: 403, OTHER: 200, SCOPED: 200}
    ),
}
KV_ROUTES = {route for route in CASES if route[1].startswith("{mount}/")}


def test_the_table_lists_every_registered_route() -> None:
    assert sorted([*CASES, *TRANSIT_CASES]) == sorted(routes())


def _call(
    vault: Vault, token: str | None, case: Case, mount: str, path: str, new: str
) -> httpx.Response:
    url = case.url.format(mount=mount, path=path, folder=path.rpartition("/")[0], new=new)
    headers = {"Content-Type": case.content_type}
    if token is not None:
        headers["X-Vault-Token"] = token
    return httpx.request(
        case.send, f"{vault.url}/v1/{url}", json=case.body, headers=headers, timeout=10
    )


def _seed(vault: Vault, mount: str) -> None:
    client = vault.client()
    client.sys.enable_secrets_engine("kv", path=mount, options={"version": "2"})
    kv = client.secrets.kv.v2
    for value in ("v1", "v2"):
        kv.create_or_update_secret(path="target/x", secret={"v": value}, mount_point=mount)
    kv.create_or_update_secret(path="elsewhere/x", secret={"v": "e"}, mount_point=mount)


def test_every_route_with_each_caller(vault: Vault, name: str) -> None:
    mount = f"m{name}"
    _seed(vault, mount)
    scoped = vault.scoped(f"secrets.*:{mount}/elsewhere/*")
    callers = {NONE: None, OTHER: vault.other_workspace_key, SCOPED: scoped}
    for route, case in CASES.items():
        for caller, token in callers.items():
            new = f"n{caller[:2]}{name}{route[0].lower()}"
            answer = _call(vault, token, case, mount, "target/x", new)
            expected = case.expect[caller]
            assert answer.status_code == expected, (route, caller, answer.text)
            assert answer.headers.get("content-type", "application/json") == "application/json"
            if expected >= 400:
                errors = answer.json()["errors"]
                if expected == 403:
                    assert errors == ["permission denied"], (route, caller)
    # nothing was changed by the refused calls
    read = vault.client().secrets.kv.v2.read_secret_version(
        path="target/x", version=1, mount_point=mount, raise_on_deleted_version=True
    )
    assert read["data"]["data"] == {"v": "v1"}
    meta = vault.client().secrets.kv.v2.read_secret_metadata(path="target/x", mount_point=mount)
    assert meta["data"]["current_version"] == 2 and meta["data"]["max_versions"] == 0
    config = vault.client().secrets.kv.v2.read_configuration(mount_point=mount)
    assert config["data"]["max_versions"] == 0
    mounts = vault.client(vault.other_workspace_key).sys.list_mounted_secrets_engines()
    assert f"{mount}/" not in mounts["data"]


@pytest.mark.parametrize("route", sorted(r for r in KV_ROUTES if "/config" not in r[1]))
def test_the_scoped_token_works_on_its_own_path(
    vault: Vault, name: str, route: tuple[str, str]
) -> None:
    """The control: the 403s above come from the path scope, not from the call. (A
    mount's config needs ``secrets.admin`` over the whole mount: no control.)"""
    case = CASES[route]
    mount = f"c{name}"
    _seed(vault, mount)
    scoped = vault.scoped(f"secrets.*:{mount}/elsewhere/*")
    answer = _call(vault, scoped, case, mount, "elsewhere/x", "unused")
    assert answer.status_code in case.control, (route, answer.text)
