"""Every management route, walked from the app's own route table: 401 without a valid
root key, 403 without its permission, 404 for another workspace's objects.

``CASES`` must name every route the app serves (``test_cases_cover_every_route``), so
a new route without a security case fails this file.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from fastapi.routing import APIRoute
from httpkit import PUBLIC_PATHS, World, assert_problem, management_routes, open_world
from joserfc.jwk import ECKey

from keystead.core.authz import ROOT_PERMISSIONS
from keystead.service import Keystead

ROLE = "reader"
LIMITS = {"ratelimits": [{"name": "rps", "limit": 5, "duration_s": 1}]}
JWK = ECKey.generate_key("P-256").as_dict(private=False)
CAUSE = {"source": "test", "reason": "route security"}
SECRET_PATH = "app/db"
JTI = "tok_0000000000AAAAAAAAAAAAAAAA"
TOKEN_EXP = 1_750_000_600  # ten minutes after the test clock's start (conftest)


@dataclass(frozen=True)
class Objects:
    """One of each object in a workspace."""

    api_id: str
    key_id: str
    key: str
    root_key_id: str
    plan_id: str
    owner_id: str
    webhook_id: str = "wh_0000000000AAAAAAAAAAAAAAAA"
    delivery_id: str = "dlv_0000000000AAAAAAAAAAAAAAAA"
    incident_id: str = "inc_0000000000AAAAAAAAAAAAAAAA"
    pickup_id: str = "pck_0000000000AAAAAAAAAAAAAAAA"
    rule_id: str = "arl_0000000000AAAAAAAAAAAAAAAA"
    alert_id: str = "alr_0000000000AAAAAAAAAAAAAAAA"
    leak_id: str = "lk_0000000000AAAAAAAAAAAAAAAA"
    mount: str = "kv"  # a secret mount of this workspace only, holding SECRET_PATH


@dataclass(frozen=True)
class Case:
    permission: str
    body: Callable[[Objects], Any] | None = None
    foreign_ids: bool = True  # does the request name an object (path or body)?
    params: dict[str, str] | None = None
    also_by: tuple[str, ...] = ()
    """Other permissions that open the route too (a key lacking it lacks them)."""
    operator_only: bool = False
    """The deployment's, not a workspace's: the local operator alone, never a root key."""


CASES: dict[tuple[str, str], Case] = {
    ("POST", "/v1/apis"): Case("apis.create", lambda o: {"name": "new"}, foreign_ids=False),
    ("GET", "/v1/apis"): Case("apis.read", foreign_ids=False),
    ("GET", "/v1/apis/{api_id}"): Case("apis.read"),
    ("PATCH", "/v1/apis/{api_id}"): Case("apis.update", lambda o: {"name": "renamed"}),
    ("DELETE", "/v1/apis/{api_id}"): Case("apis.delete"),
    ("PUT", "/v1/apis/{api_id}/roles/{name}"): Case("roles.write", lambda o: {"permissions": []}),
    ("GET", "/v1/apis/{api_id}/roles"): Case("roles.read"),
    ("DELETE", "/v1/apis/{api_id}/roles/{name}"): Case("roles.write"),
    ("POST", "/v1/keys"): Case("keys.create", lambda o: {"api_id": o.api_id}),
    ("POST", "/v1/keys/batch"): Case("keys.create", lambda o: {"keys": [{"api_id": o.api_id}]}),
    ("GET", "/v1/keys"): Case("keys.read", foreign_ids=False),
    # another workspace's API in a row is that row's 404 (tests/http/test_key_import.py)
    ("POST", "/v1/keys/import"): Case(
        "keys.create",
        lambda o: {"rows": [{"key": "imported.0123456789", "api_id": o.api_id}]},
        foreign_ids=False,
    ),
    ("GET", "/v1/keys/import/status"): Case("keys.read", foreign_ids=False),
    ("GET", "/v1/events/invalidations"): Case(
        "keys.verify",
        foreign_ids=False,
        params={"max_s": "0"},
        also_by=("secrets.read", "secrets.admin"),  # a secrets reader hears of its secrets
    ),
    ("POST", "/v1/usage/records"): Case(
        "keys.verify", lambda o: {"records": []}, foreign_ids=False
    ),
    ("GET", "/v1/keys/{key_id}"): Case("keys.read"),
    ("PATCH", "/v1/keys/{key_id}"): Case("keys.update", lambda o: {"name": "changed"}),
    ("POST", "/v1/keys/{key_id}/revoke"): Case("keys.revoke"),
    ("POST", "/v1/keys/{key_id}/disable"): Case("keys.update"),
    ("POST", "/v1/keys/{key_id}/enable"): Case("keys.update"),
    ("DELETE", "/v1/keys/{key_id}"): Case("keys.delete"),
    ("POST", "/v1/keys/{key_id}/rotate"): Case("keys.rotate", lambda o: {"grace_period_s": 60}),
    ("POST", "/v1/keys/rotate_due"): Case("keys.rotate", lambda o: {}, foreign_ids=False),
    ("POST", "/v1/keys/verify"): Case("keys.verify", lambda o: {"key": o.key}),
    ("POST", "/v1/keys/verify/release"): Case(
        "keys.verify", lambda o: {"leases": []}, foreign_ids=False
    ),
    ("POST", "/v1/keys/{key_id}/actions"): Case(
        "keys.update", lambda o: {"action": "disable", "cause": CAUSE}
    ),
    ("GET", "/v1/keys/{key_id}/actions"): Case("keys.read"),
    ("POST", "/v1/keys/{key_id}/compromise"): Case("keys.revoke", lambda o: {"reason": "test"}),
    ("GET", "/v1/pickups"): Case("keys.pickup", foreign_ids=False),
    ("POST", "/v1/pickups/{pickup_id}/claim"): Case("keys.pickup"),
    ("GET", "/v1/incidents"): Case("incidents.read", foreign_ids=False),
    ("GET", "/v1/incidents/{incident_id}"): Case("incidents.read"),
    ("PATCH", "/v1/incidents/{incident_id}"): Case(
        "incidents.write", lambda o: {"status": "investigating"}
    ),
    ("POST", "/v1/incidents/{incident_id}/exposure"): Case("incidents.write", lambda o: {}),
    # PUT names no object (as PUT /v1/owners/{owner_id}): it acts in the caller's workspace
    ("PUT", "/v1/owners/{owner_id}/public_key"): Case(
        "owners.write", lambda o: {"jwk": JWK}, foreign_ids=False
    ),
    ("DELETE", "/v1/owners/{owner_id}/public_key"): Case("owners.write"),
    ("GET", "/v1/limits/failed_attempts"): Case(
        "limits.read", foreign_ids=False, params={"ip": "192.0.2.1"}
    ),
    # the server secret serves the whole deployment: nothing of a workspace is named
    ("GET", "/v1/server_secret"): Case("server_secret.read", foreign_ids=False, operator_only=True),
    ("POST", "/v1/server_secret/rotate"): Case(
        "server_secret.rotate", lambda o: {"settle_s": 60}, foreign_ids=False, operator_only=True
    ),
    # a version no store has: 404 (the permission is checked first)
    ("POST", "/v1/server_secret/retire"): Case(
        "server_secret.rotate", lambda o: {"version": 99}, operator_only=True
    ),
    ("GET", "/v1/audit"): Case("audit.read", foreign_ids=False),
    ("GET", "/v1/audit/verify"): Case("audit.read", foreign_ids=False),
    ("GET", "/v1/audit/public_key"): Case("audit.read", foreign_ids=False),
    # the scope is a query parameter: an owner id names nothing of another workspace
    ("GET", "/v1/analytics/usage"): Case(
        "usage.read", foreign_ids=False, params={"owner_id": "my-owner"}
    ),
    ("GET", "/v1/analytics/top"): Case(
        "usage.read", foreign_ids=False, params={"owner_id": "my-owner", "by": "path"}
    ),
    ("POST", "/v1/analytics/what-if"): Case(
        "usage.read", lambda o: {"plan_id": o.plan_id, "proposal": {"quota": {"limit": 10}}}
    ),
    ("POST", "/v1/alerts/rules"): Case(
        "alerts.write", lambda o: {"name": "r", "kind": "revoked_use"}, foreign_ids=False
    ),
    ("GET", "/v1/alerts/rules"): Case("alerts.read", foreign_ids=False),
    ("GET", "/v1/alerts/rules/{rule_id}"): Case("alerts.read"),
    ("PATCH", "/v1/alerts/rules/{rule_id}"): Case("alerts.write", lambda o: {"severity": "info"}),
    ("DELETE", "/v1/alerts/rules/{rule_id}"): Case("alerts.write"),
    ("GET", "/v1/alerts"): Case("alerts.read", foreign_ids=False),
    ("GET", "/v1/alerts/{alert_id}"): Case("alerts.read"),
    ("POST", "/v1/alerts/{alert_id}/acknowledge"): Case("alerts.write"),
    ("POST", "/v1/alerts/{alert_id}/resolve"): Case("alerts.write"),
    ("POST", "/v1/plans"): Case("plans.write", lambda o: {"name": "new"}, foreign_ids=False),
    ("GET", "/v1/plans"): Case("plans.read", foreign_ids=False),
    ("GET", "/v1/plans/{plan_id}"): Case("plans.read"),
    ("PATCH", "/v1/plans/{plan_id}"): Case("plans.write", lambda o: {"priority": 50}),
    ("DELETE", "/v1/plans/{plan_id}"): Case("plans.write"),
    # PUT names no object: it sets limits of an owner id in the caller's own workspace
    ("PUT", "/v1/owners/{owner_id}"): Case("owners.write", lambda o: {}, foreign_ids=False),
    ("GET", "/v1/owners"): Case("owners.read", foreign_ids=False),
    ("GET", "/v1/owners/{owner_id}"): Case("owners.read"),
    ("DELETE", "/v1/owners/{owner_id}"): Case("owners.write"),
    ("POST", "/v1/webhooks"): Case(
        "webhooks.write", lambda o: {"url": "https://x.test/in", "events": ["*"]}, foreign_ids=False
    ),
    ("GET", "/v1/webhooks"): Case("webhooks.read", foreign_ids=False),
    ("GET", "/v1/webhooks/deliveries"): Case("webhooks.read", foreign_ids=False),
    ("GET", "/v1/webhooks/deliveries/{delivery_id}"): Case("webhooks.read"),
    ("POST", "/v1/webhooks/deliveries/{delivery_id}/replay"): Case("webhooks.write"),
    ("GET", "/v1/webhooks/{webhook_id}"): Case("webhooks.read"),
    ("PATCH", "/v1/webhooks/{webhook_id}"): Case("webhooks.write", lambda o: {"enabled": False}),
    ("DELETE", "/v1/webhooks/{webhook_id}"): Case("webhooks.write"),
    ("POST", "/v1/webhooks/{webhook_id}/rotate-secret"): Case("webhooks.write", lambda o: {}),
    ("GET", "/v1/webhooks/{webhook_id}/deliveries"): Case("webhooks.read"),
    # secrets: the mount is the workspace's own (another workspace's is a 404)
    ("GET", "/v1/secret-mounts"): Case("secrets.list", foreign_ids=False),
    ("POST", "/v1/secret-mounts"): Case(
        "secrets.admin", lambda o: {"name": "fresh"}, foreign_ids=False
    ),
    ("GET", "/v1/secret-mounts/{mount}"): Case("secrets.admin"),
    ("PATCH", "/v1/secret-mounts/{mount}"): Case("secrets.admin", lambda o: {"max_versions": 5}),
    ("PUT", "/v1/secrets/{mount}/data/{path}"): Case(
        "secrets.write", lambda o: {"data": {"k": "v"}}
    ),
    ("GET", "/v1/secrets/{mount}/data/{path}"): Case("secrets.read"),
    ("PATCH", "/v1/secrets/{mount}/data/{path}"): Case(
        "secrets.write", lambda o: {"data": {"k": "w"}}
    ),
    ("DELETE", "/v1/secrets/{mount}/data/{path}"): Case("secrets.delete"),
    ("POST", "/v1/secrets/{mount}/delete/{path}"): Case(
        "secrets.delete", lambda o: {"versions": [1]}
    ),
    ("POST", "/v1/secrets/{mount}/undelete/{path}"): Case(
        "secrets.delete", lambda o: {"versions": [1]}
    ),
    ("POST", "/v1/secrets/{mount}/destroy/{path}"): Case(
        "secrets.destroy", lambda o: {"versions": [1]}
    ),
    ("GET", "/v1/secrets/{mount}/metadata/{path}"): Case("secrets.read"),
    ("PATCH", "/v1/secrets/{mount}/metadata/{path}"): Case(
        "secrets.admin", lambda o: {"max_versions": 5}
    ),
    ("PUT", "/v1/secrets/{mount}/metadata/{path}"): Case(
        "secrets.admin", lambda o: {"max_versions": 5}
    ),
    ("DELETE", "/v1/secrets/{mount}/metadata/{path}"): Case("secrets.destroy"),
    ("GET", "/v1/secrets/{mount}/list"): Case("secrets.list"),
    ("GET", "/v1/secrets/{mount}/list/{folder}"): Case("secrets.list"),
    ("GET", "/v1/secrets/{mount}/subkeys/{path}"): Case("secrets.read"),
    ("POST", "/v1/secrets/{mount}/rollback/{path}"): Case(
        "secrets.write", lambda o: {"version": 1}
    ),
    ("POST", "/v1/root_keys"): Case(
        "root_keys.create", lambda o: {"permissions": ["keys.read"], "api_ids": [o.api_id]}
    ),
    # consumers and rotation policies: the secret's (or the mount's) administrators only
    ("GET", "/v1/secrets/{mount}/consumers/{path}"): Case("secrets.admin"),
    ("GET", "/v1/secrets/{mount}/rotation/{path}"): Case("secrets.admin"),
    ("PUT", "/v1/secrets/{mount}/rotation/{path}"): Case(
        "secrets.admin", lambda o: {"max_age_s": 86400}
    ),
    ("DELETE", "/v1/secrets/{mount}/rotation/{path}"): Case("secrets.admin"),
    ("GET", "/v1/secrets/{mount}/rotation"): Case("secrets.admin"),
    ("PUT", "/v1/secrets/{mount}/rotation"): Case("secrets.admin", lambda o: {"max_age_s": 86400}),
    ("DELETE", "/v1/secrets/{mount}/rotation"): Case("secrets.admin"),
    ("GET", "/v1/root_keys"): Case("root_keys.read", foreign_ids=False),
    # a report names a token: another workspace's is unknown (200), and left alone
    ("POST", "/v1/leaks"): Case(
        "leaks.report", lambda o: {"reports": [{"token": o.key}]}, foreign_ids=False
    ),
    ("GET", "/v1/leaks"): Case("incidents.read", foreign_ids=False),
    ("GET", "/v1/leaks/{leak_id}"): Case("incidents.read"),
    ("GET", "/v1/leaks/policy"): Case("incidents.read", foreign_ids=False),
    ("PUT", "/v1/leaks/policy"): Case(
        "incidents.write", lambda o: {"action": "notify", "api_id": o.api_id}
    ),
    ("DELETE", "/v1/leaks/policy"): Case("incidents.write", foreign_ids=False),
    ("POST", "/v1/root_keys/{root_key_id}/revoke"): Case("root_keys.revoke"),
    # short-lived tokens: an API's signing keys and token policy, one token's revocation
    ("GET", "/v1/apis/{api_id}/signing-keys"): Case("tokens.keys.read"),
    ("POST", "/v1/apis/{api_id}/signing-keys/rotate"): Case("tokens.keys.rotate", lambda o: {}),
    ("GET", "/v1/apis/{api_id}/token-policy"): Case("apis.read"),
    ("PUT", "/v1/apis/{api_id}/token-policy"): Case("apis.update", lambda o: {}),
    ("POST", "/v1/tokens/revocations"): Case(
        "tokens.revoke", lambda o: {"api_id": o.api_id, "jti": JTI, "expires_at": TOKEN_EXP}
    ),
    # a portal link names an owner (any string) of the caller's own workspace
    ("POST", "/v1/portal/sessions"): Case(
        "portal.create", lambda o: {"owner_id": "portal-customer"}, foreign_ids=False
    ),
    ("GET", "/v1/portal/branding"): Case("portal.configure", foreign_ids=False),
    ("PUT", "/v1/portal/branding"): Case(
        "portal.configure", lambda o: {"name": "Acme"}, foreign_ids=False
    ),
}


@dataclass
class Setting:
    world: World
    mine: Objects
    theirs: Objects
    their_root_key: str


async def _objects(world: World, root_key: str, owner_id: str, mount: str) -> Objects:
    h = world.auth(root_key)
    enabled = await world.client.post("/v1/secret-mounts", json={"name": mount}, headers=h)
    written = await world.client.put(
        f"/v1/secrets/{mount}/data/{SECRET_PATH}", json={"data": {"k": "v"}}, headers=h
    )
    assert (enabled.status_code, written.status_code) == (201, 200), (enabled.text, written.text)
    api = await world.client.post("/v1/apis", json={"name": "secured"}, headers=h)
    api_id = api.json()["id"]
    role = await world.client.put(
        f"/v1/apis/{api_id}/roles/{ROLE}", json={"permissions": ["x.y"]}, headers=h
    )
    assert role.status_code == 200, role.text
    plan = await world.client.post("/v1/plans", json={"name": "gold", **LIMITS}, headers=h)
    owner = await world.client.put(f"/v1/owners/{owner_id}", json=LIMITS, headers=h)
    assert (plan.status_code, owner.status_code) == (201, 200), (plan.text, owner.text)
    key = (await world.client.post("/v1/keys", json={"api_id": api_id}, headers=h)).json()
    extra = await world.client.post("/v1/root_keys", json={"name": "spare"}, headers=h)
    pickup_id, incident_id, leak_id = await _custody_objects(world, h)
    hook = await world.client.post(
        "/v1/webhooks", json={"url": "https://x.test/in", "events": ["*"]}, headers=h
    )
    assert hook.status_code == 201, hook.text
    rule = await world.client.post(
        "/v1/alerts/rules", json={"name": "watch", "kind": "revoked_use"}, headers=h
    )
    assert rule.status_code == 201, rule.text
    return Objects(
        api_id,
        key["id"],
        key["key"],
        extra.json()["id"],
        plan.json()["id"],
        owner_id,
        webhook_id=hook.json()["id"],
        pickup_id=pickup_id,
        incident_id=incident_id,
        leak_id=leak_id,
        rule_id=rule.json()["id"],
        mount=mount,
    )


async def _custody_objects(world: World, h: dict[str, str]) -> tuple[str, str, str]:
    """A pickup, an incident and a leak, of a key of an API of their own (the
    narrowed-key test expects the one key in the "secured" API)."""
    api = await world.client.post("/v1/apis", json={"name": "custody"}, headers=h)
    spare = await world.client.post("/v1/keys", json={"api_id": api.json()["id"]}, headers=h)
    url = f"/v1/keys/{spare.json()['id']}"
    acted = await world.client.post(
        f"{url}/actions", json={"action": "rotate", "cause": CAUSE}, headers=h
    )
    incident = await world.client.post(f"{url}/compromise", headers=h)
    assert (acted.status_code, incident.status_code) == (201, 201), (acted.text, incident.text)
    leak = await world.client.post(
        "/v1/leaks", json={"reports": [{"token": spare.json()["key"]}]}, headers=h
    )
    assert leak.status_code == 200, leak.text
    leak_id = leak.json()["items"][0]["leak_id"]
    return acted.json()["result"]["pickup_id"], incident.json()["incident_id"], leak_id


@pytest.fixture
async def setting(vault: Keystead) -> AsyncIterator[Setting]:
    async with open_world(vault) as world:
        other = await vault.workspaces.create("other")
        theirs = await _objects(world, other.root_key.plaintext, "their owner/1", "their-kv")
        mine = await _objects(world, world.root_key, "my-owner", "my-kv")
        yield Setting(world, mine, theirs, other.root_key.plaintext)


Request = tuple[str, str, Any, dict[str, str] | None]


def _request(method: str, path: str, objects: Objects) -> Request:
    url = path.format(
        api_id=objects.api_id,
        name=ROLE,
        key_id=objects.key_id,
        root_key_id=objects.root_key_id,
        plan_id=objects.plan_id,
        owner_id=quote(objects.owner_id, safe=""),
        webhook_id=objects.webhook_id,
        delivery_id=objects.delivery_id,
        incident_id=objects.incident_id,
        pickup_id=objects.pickup_id,
        rule_id=objects.rule_id,
        alert_id=objects.alert_id,
        leak_id=objects.leak_id,
        mount=objects.mount,
        path=SECRET_PATH,
        folder=SECRET_PATH.partition("/")[0],
    )
    case = CASES[(method, path)]  # a KeyError here: add the new route to CASES
    return method, url, None if case.body is None else case.body(objects), case.params


async def _send(
    client: httpx.AsyncClient, request: Request, headers: dict[str, str]
) -> httpx.Response:
    method, url, body, params = request
    return await client.request(method, url, json=body, params=params, headers=headers)


def test_cases_cover_every_route(setting: Setting) -> None:
    app = setting.world.app
    for route in app.routes:
        assert isinstance(route, APIRoute) or getattr(route, "path", None) in PUBLIC_PATHS, route
    assert management_routes(app) == set(CASES)
    assert {case.permission for case in CASES.values()} <= set(ROOT_PERMISSIONS)


async def test_every_route_needs_a_valid_root_key(setting: Setting) -> None:
    world = setting.world
    revoked = await world.root_key_with(["*"])
    listed = await world.ks.root_keys.list(world.operator)
    rk_id = next(r.id for r in listed if r.name == "narrow")
    await world.ks.root_keys.revoke(world.operator, rk_id)
    bad_headers: list[dict[str, str]] = [
        {},
        {"Authorization": "Bearer"},
        {"Authorization": "Bearer ksroot_garbage"},
        {"Authorization": f"Basic {world.root_key}"},
        {"Authorization": world.root_key},
        world.auth(world.root_key[:-1] + ("A" if world.root_key[-1] != "A" else "B")),
        world.auth(revoked),
        world.auth(setting.mine.key),  # an API key is not a root key
    ]
    details: set[str] = set()
    for method, path in sorted(management_routes(world.app)):
        request = _request(method, path, setting.mine)
        for headers in bad_headers:
            response = await _send(world.client, request, headers)
            problem = assert_problem(response, 401)
            assert response.headers["www-authenticate"] == "Bearer", (method, path)
            details.add(problem["detail"])
        # authentication comes first: a bad body tells an unauthenticated caller nothing
        for raw in (b"{", b"[]", b"x" * 10):
            response = await world.client.request(
                method, request[1], content=raw, params=request[3]
            )
            assert_problem(response, 401)
    assert len(details) <= 2  # missing header / invalid key: nothing more is told


async def test_every_route_needs_its_permission(setting: Setting) -> None:
    world = setting.world
    lacking: dict[tuple[str, ...], str] = {}
    for method, path in sorted(management_routes(world.app)):
        case = CASES[(method, path)]
        permission = case.permission
        # secrets.admin implies every other secrets action: lacking one is lacking both
        implied = ("secrets.admin",) if permission.startswith("secrets.") else ()
        without = (permission, *implied, *case.also_by)
        if without not in lacking:
            lacking[without] = await world.root_key_with(
                [p for p in ROOT_PERMISSIONS if p not in without]
            )
        request = _request(method, path, setting.mine)
        response = await _send(world.client, request, world.auth(lacking[without]))
        assert permission in assert_problem(response, 403)["detail"], (method, path)
    # and nothing was changed by the refused calls
    key = await world.ks.keys.get(world.operator, setting.mine.key_id)
    assert (key.name, key.enabled, key.revoked_at) == (None, True, None)


async def test_no_route_reaches_another_workspace(setting: Setting) -> None:
    world, theirs = setting.world, setting.theirs
    foreign = {theirs.api_id, theirs.key_id, theirs.root_key_id, theirs.key, theirs.plan_id}
    for method, path in sorted(management_routes(world.app)):
        case = CASES[(method, path)]
        request = _request(method, path, theirs)
        response = await _send(world.client, request, world.auth())
        if (method, path) == ("POST", "/v1/keys/verify"):
            assert response.status_code == 200
            assert response.json() == {"valid": False, "code": "NOT_FOUND"}
        elif case.operator_only:
            assert_problem(response, 403)
        elif case.foreign_ids:
            assert_problem(response, 404)
        else:
            assert response.status_code in (200, 201, 204), (method, path, response.text)
            assert not any(ident in response.text for ident in foreign), (method, path)
    for params in ({"api_id": theirs.api_id}, {"cursor": theirs.key_id}):
        response = await world.client.get("/v1/keys", params=params, headers=world.auth())
        assert theirs.key_id not in response.text
    # their objects are untouched, and still work for them
    h = world.auth(setting.their_root_key)
    key = (await world.client.get(f"/v1/keys/{theirs.key_id}", headers=h)).json()
    assert (key["name"], key["enabled"], key["revoked_at"]) == (None, True, None)
    roles = (await world.client.get(f"/v1/apis/{theirs.api_id}/roles", headers=h)).json()
    assert [r["name"] for r in roles["items"]] == [ROLE]
    answer = await world.client.post("/v1/keys/verify", json={"key": theirs.key}, headers=h)
    assert answer.json()["code"] == "VALID"
    listed = (await world.client.get("/v1/root_keys", headers=h)).json()["items"]
    assert all(r["revoked_at"] is None for r in listed)
    plan = (await world.client.get(f"/v1/plans/{theirs.plan_id}", headers=h)).json()
    assert (plan["priority"], plan["ratelimits"][0]["limit"]) == (0, 5)
    owner_url = f"/v1/owners/{quote(theirs.owner_id, safe='')}"
    owner = (await world.client.get(owner_url, headers=h)).json()
    assert (owner["owner_id"], owner["ratelimits"][0]["limit"]) == (theirs.owner_id, 5)
    # the PUT above made an owner of the same name in our workspace, apart from theirs
    ours = (await world.client.get(owner_url, headers=world.auth())).json()
    assert ours["ratelimits"] == []


async def test_a_root_key_narrowed_to_one_api_sees_only_it(setting: Setting) -> None:
    world, mine = setting.world, setting.mine
    other_api = await world.api("elsewhere")
    other_key = await world.key(other_api["id"])
    narrow = world.auth(await world.root_key_with(["*"], api_ids=[mine.api_id]))
    c = world.client
    assert_problem(await c.get(f"/v1/apis/{other_api['id']}", headers=narrow), 404)
    assert_problem(await c.get(f"/v1/keys/{other_key['id']}", headers=narrow), 404)
    assert (await c.get(f"/v1/keys/{mine.key_id}", headers=narrow)).status_code == 200
    listed = (await c.get("/v1/apis", headers=narrow)).json()["items"]
    assert [a["id"] for a in listed] == [mine.api_id]
    keys = (await c.get("/v1/keys", headers=narrow)).json()["items"]
    assert [k["id"] for k in keys] == [mine.key_id]
    answer = await c.post("/v1/keys/verify", json={"key": other_key["key"]}, headers=narrow)
    assert answer.json() == {"valid": False, "code": "NOT_FOUND"}
    answer = await c.post("/v1/keys/verify", json={"key": mine.key}, headers=narrow)
    assert answer.json()["code"] == "VALID"
    assert_problem(await c.post("/v1/apis", json={"name": "more"}, headers=narrow), 422)
    problem = await c.post("/v1/root_keys", json={"api_ids": [other_api["id"]]}, headers=narrow)
    assert_problem(problem, 404)


async def test_a_root_key_cannot_hand_out_more_than_it_holds(setting: Setting) -> None:
    world = setting.world
    creator = world.auth(await world.root_key_with(["root_keys.create", "keys.read"]))
    c = world.client
    for permissions in (["*"], ["keys.*"], ["keys.delete"], ["root_keys.create", "apis.read"]):
        response = await c.post("/v1/root_keys", json={"permissions": permissions}, headers=creator)
        assert assert_problem(response, 422)["field"] == "permissions", permissions
    response = await c.post("/v1/root_keys", json={"permissions": ["keys.read"]}, headers=creator)
    assert response.status_code == 201
    assert response.json()["permissions"] == ["keys.read"]
    assert response.json()["created_by"].startswith("root_key:rk_")
