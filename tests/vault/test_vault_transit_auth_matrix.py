"""The auth matrix of the Vault face's transit routes, over a real ``keystead serve``:
every route of a ``transit`` mount (``MOUNT_ROUTES["transit"]``) is walked with no
token, with a token of another workspace and with a token scoped to another key
(the table below must list exactly the registered routes).

Expected: no token is Vault's 403 ``permission denied``; another workspace has no such
mount (404); a token scoped to another key is 403 on every route, and gets through
on its own key (the control)."""

from __future__ import annotations

import base64
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest

from keystead.core.secrets import TRANSIT
from keystead.http.vault.app import MOUNT_ROUTES

from .conftest import Vault

NONE, OTHER, SCOPED = "no token", "another workspace", "scoped elsewhere"
REFUSED = {NONE: 403, OTHER: 404, SCOPED: 403}
CIPHERTEXT = "<ciphertext>"
"""Stands for a ciphertext of the key called, made before the walk."""


@dataclass(frozen=True)
class Case:
    url: str
    body: dict[str, Any] | None = None
    control: set[int] | None = field(default_factory=lambda: {200, 204})
    """What the scoped token gets on its own key (None: not applicable)."""


ONE = {"plaintext": base64.b64encode(b"x").decode()}
TRANSIT_CASES: dict[tuple[str, str], Case] = {
    ("LIST", "{mount}/keys"): Case("{mount}/keys", control=None),
    **{
        (method, "{mount}/keys/{name}"): Case("{mount}/keys/{name}", {})
        for method in ("POST", "PUT", "GET")
    },
    # the control reaches the rule: deletion is not allowed for this key
    ("DELETE", "{mount}/keys/{name}"): Case("{mount}/keys/{name}", control={400}),
    **{
        (method, f"{{mount}}/{operation}/{{name}}"): Case(f"{{mount}}/{operation}/{{name}}", body)
        for operation, body in (
            ("encrypt", ONE),
            ("decrypt", {"ciphertext": CIPHERTEXT}),
            ("rewrap", {"ciphertext": CIPHERTEXT}),
            ("datakey/plaintext", {}),
        )
        for method in ("POST", "PUT")
    },
    **{
        (method, f"{{mount}}/keys/{{name}}/{action}"): Case(
            f"{{mount}}/keys/{{name}}/{action}", body
        )
        for action, body in (("rotate", {}), ("config", {"min_decryption_version": 1}))
        for method in ("POST", "PUT")
    },
}


def test_the_table_lists_every_transit_route() -> None:
    assert sorted(TRANSIT_CASES) == sorted(MOUNT_ROUTES[TRANSIT])


def _seed(vault: Vault, mount: str) -> dict[str, str]:
    """A transit mount with the keys ``target`` and ``elsewhere``; a ciphertext of each."""
    client = vault.client()
    client.sys.enable_secrets_engine("transit", path=mount)
    ciphertexts = {}
    for key in ("target", "elsewhere"):
        client.secrets.transit.create_key(name=key, mount_point=mount)
        answer = client.secrets.transit.encrypt_data(
            name=key, plaintext=ONE["plaintext"], mount_point=mount
        )
        ciphertexts[key] = answer["data"]["ciphertext"]
    return ciphertexts


def _call(
    vault: Vault, token: str | None, method: str, case: Case, mount: str, key: str, ct: str
) -> httpx.Response:
    body = case.body
    if body is not None and body.get("ciphertext") == CIPHERTEXT:
        body = {**body, "ciphertext": ct}
    url = case.url.format(mount=mount, name=key)
    headers = {"Content-Type": "application/json"}
    if token is not None:
        headers["X-Vault-Token"] = token
    return httpx.request(method, f"{vault.url}/v1/{url}", json=body, headers=headers, timeout=10)


def test_every_transit_route_with_each_caller(vault: Vault, name: str) -> None:
    mount = f"t{name}"
    ciphertexts = _seed(vault, mount)
    scoped = vault.scoped(f"secrets.*:{mount}/elsewhere")
    callers = {NONE: None, OTHER: vault.other_workspace_key, SCOPED: scoped}
    for (method, _), case in TRANSIT_CASES.items():
        for caller, token in callers.items():
            answer = _call(vault, token, method, case, mount, "target", ciphertexts["target"])
            assert answer.status_code == REFUSED[caller], (method, case.url, caller, answer.text)
            assert answer.headers["content-type"] == "application/json"
            if REFUSED[caller] == 403:
                assert answer.json()["errors"] == ["permission denied"]
            assert b"vault:v" not in answer.content
    # nothing was changed by the refused calls
    key = vault.client().secrets.transit.read_key(name="target", mount_point=mount)["data"]
    assert (key["latest_version"], key["min_decryption_version"]) == (1, 1)
    assert key["deletion_allowed"] is False


@pytest.mark.parametrize(
    "route", sorted(route for route, case in TRANSIT_CASES.items() if case.control is not None)
)
def test_the_scoped_token_works_on_its_own_key(
    vault: Vault, name: str, route: tuple[str, str]
) -> None:
    """The control: the 403s above come from the key scope, not from the call."""
    case = TRANSIT_CASES[route]
    assert case.control is not None
    mount = f"c{name}"
    ciphertexts = _seed(vault, mount)
    scoped = vault.scoped(f"secrets.*:{mount}/elsewhere")
    answer = _call(vault, scoped, route[0], case, mount, "elsewhere", ciphertexts["elsewhere"])
    assert answer.status_code in case.control, (route, answer.text)
