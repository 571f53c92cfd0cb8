"""Every management route, walked from the app's own route table, called by root keys of
the caller's own workspace whose scope leaves the objects out: one narrowed to another
API, one narrowed to another owner, one holding only an unrelated permission.

``SCOPED`` says what each route must answer to each narrowed caller, and must name every
route the app serves (``test_scope_table_covers_every_route``): a new route without its
scope cases fails this file. The objects are those of ``test_route_security``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from enum import Enum

import pytest
from httpkit import World, assert_problem, management_routes
from test_route_security import CASES, Objects, Setting, _request, _send, setting

from keystead.core.authz import ROOT_PERMISSIONS


class Expect(Enum):
    HIDDEN = "404: the object is invisible, as another workspace's (verify: NOT_FOUND)"
    REFUSED = "403: the route spans the workspace; a narrowed root key cannot use it"
    INVALID = "422: the request asks for more than the root key's scope"
    OK = "2xx, naming nothing outside the root key's scope"


HIDDEN, REFUSED, INVALID, OK = Expect.HIDDEN, Expect.REFUSED, Expect.INVALID, Expect.OK

# (method, path): (a root key narrowed to another API, one narrowed to another owner)
SCOPED: dict[tuple[str, str], tuple[Expect, Expect]] = {
    ("POST", "/v1/apis"): (INVALID, OK),
    ("GET", "/v1/apis"): (OK, OK),
    ("GET", "/v1/apis/{api_id}"): (HIDDEN, OK),
    # an API's settings and roles apply to every owner's keys
    ("PATCH", "/v1/apis/{api_id}"): (HIDDEN, REFUSED),
    ("DELETE", "/v1/apis/{api_id}"): (HIDDEN, REFUSED),
    ("PUT", "/v1/apis/{api_id}/roles/{name}"): (HIDDEN, REFUSED),
    ("GET", "/v1/apis/{api_id}/roles"): (HIDDEN, OK),
    ("DELETE", "/v1/apis/{api_id}/roles/{name}"): (HIDDEN, REFUSED),
    ("POST", "/v1/keys"): (HIDDEN, OK),  # the owner-narrowed key's new key is its owner's
    ("POST", "/v1/keys/batch"): (HIDDEN, OK),
    ("GET", "/v1/keys"): (OK, OK),
    ("POST", "/v1/keys/import"): (REFUSED, REFUSED),  # imports span the workspace
    ("GET", "/v1/keys/import/status"): (REFUSED, REFUSED),
    ("GET", "/v1/events/invalidations"): (OK, OK),
    ("POST", "/v1/usage/records"): (OK, OK),
    ("GET", "/v1/keys/{key_id}"): (HIDDEN, HIDDEN),
    ("PATCH", "/v1/keys/{key_id}"): (HIDDEN, HIDDEN),
    ("POST", "/v1/keys/{key_id}/revoke"): (HIDDEN, HIDDEN),
    ("POST", "/v1/keys/{key_id}/disable"): (HIDDEN, HIDDEN),
    ("POST", "/v1/keys/{key_id}/enable"): (HIDDEN, HIDDEN),
    ("DELETE", "/v1/keys/{key_id}"): (HIDDEN, HIDDEN),
    ("POST", "/v1/keys/{key_id}/rotate"): (HIDDEN, HIDDEN),
    ("POST", "/v1/keys/rotate_due"): (OK, OK),
    ("POST", "/v1/keys/verify"): (HIDDEN, HIDDEN),
    ("POST", "/v1/keys/verify/release"): (OK, OK),
    ("POST", "/v1/keys/{key_id}/actions"): (HIDDEN, HIDDEN),
    ("GET", "/v1/keys/{key_id}/actions"): (HIDDEN, HIDDEN),
    ("POST", "/v1/keys/{key_id}/compromise"): (HIDDEN, HIDDEN),
    ("GET", "/v1/pickups"): (OK, OK),
    ("POST", "/v1/pickups/{pickup_id}/claim"): (HIDDEN, HIDDEN),
    # an incident is about one key: seen by the root keys that see the key
    ("GET", "/v1/incidents"): (OK, OK),
    ("GET", "/v1/incidents/{incident_id}"): (HIDDEN, HIDDEN),
    ("PATCH", "/v1/incidents/{incident_id}"): (HIDDEN, HIDDEN),
    ("POST", "/v1/incidents/{incident_id}/exposure"): (HIDDEN, HIDDEN),
    # an owner's settings span APIs (as its analytics do): invisible to an API-narrowed
    # root key; an owner-narrowed one sees only its own owner
    ("PUT", "/v1/owners/{owner_id}/public_key"): (HIDDEN, HIDDEN),
    ("DELETE", "/v1/owners/{owner_id}/public_key"): (HIDDEN, HIDDEN),
    ("PUT", "/v1/owners/{owner_id}"): (HIDDEN, HIDDEN),
    ("GET", "/v1/owners"): (OK, OK),
    ("GET", "/v1/owners/{owner_id}"): (HIDDEN, HIDDEN),
    ("DELETE", "/v1/owners/{owner_id}"): (HIDDEN, HIDDEN),
    ("GET", "/v1/limits/failed_attempts"): (OK, OK),  # per client IP, server-wide
    # the server secret serves every workspace
    ("GET", "/v1/server_secret"): (REFUSED, REFUSED),
    ("POST", "/v1/server_secret/rotate"): (REFUSED, REFUSED),
    ("POST", "/v1/server_secret/retire"): (REFUSED, REFUSED),
    ("GET", "/v1/audit"): (REFUSED, REFUSED),
    ("GET", "/v1/audit/verify"): (REFUSED, REFUSED),
    ("GET", "/v1/audit/public_key"): (REFUSED, REFUSED),
    ("GET", "/v1/analytics/usage"): (HIDDEN, HIDDEN),
    ("GET", "/v1/analytics/top"): (HIDDEN, HIDDEN),
    # a plan spans the workspace: a narrowed root key replays its own share of it
    ("POST", "/v1/analytics/what-if"): (OK, OK),
    ("POST", "/v1/alerts/rules"): (REFUSED, REFUSED),
    ("GET", "/v1/alerts/rules"): (REFUSED, REFUSED),
    ("GET", "/v1/alerts/rules/{rule_id}"): (REFUSED, REFUSED),
    ("PATCH", "/v1/alerts/rules/{rule_id}"): (REFUSED, REFUSED),
    ("DELETE", "/v1/alerts/rules/{rule_id}"): (REFUSED, REFUSED),
    ("GET", "/v1/alerts"): (REFUSED, REFUSED),
    ("GET", "/v1/alerts/{alert_id}"): (REFUSED, REFUSED),
    ("POST", "/v1/alerts/{alert_id}/acknowledge"): (REFUSED, REFUSED),
    ("POST", "/v1/alerts/{alert_id}/resolve"): (REFUSED, REFUSED),
    # plans apply to keys of any API and owner: read by all, changed only workspace-wide
    ("POST", "/v1/plans"): (REFUSED, REFUSED),
    ("GET", "/v1/plans"): (OK, OK),
    ("GET", "/v1/plans/{plan_id}"): (OK, OK),
    ("PATCH", "/v1/plans/{plan_id}"): (REFUSED, REFUSED),
    ("DELETE", "/v1/plans/{plan_id}"): (REFUSED, REFUSED),
    ("POST", "/v1/webhooks"): (REFUSED, REFUSED),
    ("GET", "/v1/webhooks"): (REFUSED, REFUSED),
    ("GET", "/v1/webhooks/deliveries"): (REFUSED, REFUSED),
    ("GET", "/v1/webhooks/deliveries/{delivery_id}"): (REFUSED, REFUSED),
    ("POST", "/v1/webhooks/deliveries/{delivery_id}/replay"): (REFUSED, REFUSED),
    ("GET", "/v1/webhooks/{webhook_id}"): (REFUSED, REFUSED),
    ("PATCH", "/v1/webhooks/{webhook_id}"): (REFUSED, REFUSED),
    ("DELETE", "/v1/webhooks/{webhook_id}"): (REFUSED, REFUSED),
    ("POST", "/v1/webhooks/{webhook_id}/rotate-secret"): (REFUSED, REFUSED),
    ("GET", "/v1/webhooks/{webhook_id}/deliveries"): (REFUSED, REFUSED),
    # secrets belong to the whole workspace: no narrowed root key reaches them
    ("GET", "/v1/secret-mounts"): (REFUSED, REFUSED),
    ("POST", "/v1/secret-mounts"): (REFUSED, REFUSED),
    ("GET", "/v1/secret-mounts/{mount}"): (REFUSED, REFUSED),
    ("PATCH", "/v1/secret-mounts/{mount}"): (REFUSED, REFUSED),
    ("PUT", "/v1/secrets/{mount}/data/{path}"): (REFUSED, REFUSED),
    ("GET", "/v1/secrets/{mount}/data/{path}"): (REFUSED, REFUSED),
    ("PATCH", "/v1/secrets/{mount}/data/{path}"): (REFUSED, REFUSED),
    ("DELETE", "/v1/secrets/{mount}/data/{path}"): (REFUSED, REFUSED),
    ("POST", "/v1/secrets/{mount}/delete/{path}"): (REFUSED, REFUSED),
    ("POST", "/v1/secrets/{mount}/undelete/{path}"): (REFUSED, REFUSED),
    ("POST", "/v1/secrets/{mount}/destroy/{path}"): (REFUSED, REFUSED),
    ("GET", "/v1/secrets/{mount}/metadata/{path}"): (REFUSED, REFUSED),
    ("PATCH", "/v1/secrets/{mount}/metadata/{path}"): (REFUSED, REFUSED),
    ("PUT", "/v1/secrets/{mount}/metadata/{path}"): (REFUSED, REFUSED),
    ("DELETE", "/v1/secrets/{mount}/metadata/{path}"): (REFUSED, REFUSED),
    ("GET", "/v1/secrets/{mount}/list"): (REFUSED, REFUSED),
    ("GET", "/v1/secrets/{mount}/list/{folder}"): (REFUSED, REFUSED),
    ("GET", "/v1/secrets/{mount}/subkeys/{path}"): (REFUSED, REFUSED),
    ("POST", "/v1/secrets/{mount}/rollback/{path}"): (REFUSED, REFUSED),
    ("GET", "/v1/secrets/{mount}/consumers/{path}"): (REFUSED, REFUSED),
    ("GET", "/v1/secrets/{mount}/rotation/{path}"): (REFUSED, REFUSED),
    ("PUT", "/v1/secrets/{mount}/rotation/{path}"): (REFUSED, REFUSED),
    ("DELETE", "/v1/secrets/{mount}/rotation/{path}"): (REFUSED, REFUSED),
    ("GET", "/v1/secrets/{mount}/rotation"): (REFUSED, REFUSED),
    ("PUT", "/v1/secrets/{mount}/rotation"): (REFUSED, REFUSED),
    ("DELETE", "/v1/secrets/{mount}/rotation"): (REFUSED, REFUSED),
    # the body asks for a root key of the "secured" API: not the API-narrowed key's
    ("POST", "/v1/root_keys"): (HIDDEN, OK),
    ("GET", "/v1/root_keys"): (OK, OK),
    # the spare root key holds every permission over every API and owner
    ("POST", "/v1/root_keys/{root_key_id}/revoke"): (HIDDEN, HIDDEN),
    # a leak report of a key the root key cannot see is unknown, and nothing is done
    ("POST", "/v1/leaks"): (OK, OK),
    ("GET", "/v1/leaks"): (OK, OK),
    ("GET", "/v1/leaks/{leak_id}"): (HIDDEN, HIDDEN),
    ("GET", "/v1/leaks/policy"): (OK, OK),
    # an API's leak policy applies to every owner's keys, as its settings do
    ("PUT", "/v1/leaks/policy"): (HIDDEN, REFUSED),
    ("DELETE", "/v1/leaks/policy"): (REFUSED, REFUSED),
    # an API's signing keys and token policy serve every owner's keys, as its settings do;
    # a jti names no owner, so only a root key of every owner revokes one
    ("GET", "/v1/apis/{api_id}/signing-keys"): (HIDDEN, OK),
    ("POST", "/v1/apis/{api_id}/signing-keys/rotate"): (HIDDEN, REFUSED),
    ("GET", "/v1/apis/{api_id}/token-policy"): (HIDDEN, OK),
    ("PUT", "/v1/apis/{api_id}/token-policy"): (HIDDEN, REFUSED),
    ("POST", "/v1/tokens/revocations"): (HIDDEN, REFUSED),
    # a portal link stays within the caller's APIs and owner (another owner's: 422)
    ("POST", "/v1/portal/sessions"): (OK, INVALID),
    ("GET", "/v1/portal/branding"): (OK, OK),
    # the portal's branding and limits apply to the whole workspace
    ("PUT", "/v1/portal/branding"): (REFUSED, REFUSED),
}


@dataclass
class Callers:
    setting: Setting
    by_api: str  # every permission, narrowed to another API of the workspace
    by_owner: str  # every permission, narrowed to another owner
    foreign_to_api: frozenset[str]
    foreign_to_owner: frozenset[str]


@pytest.fixture
async def callers(setting: Setting) -> AsyncIterator[Callers]:
    world, mine = setting.world, setting.mine
    elsewhere = await world.api("elsewhere")
    by_api = await world.root_key_with(["*"], api_ids=[elsewhere["id"]])
    by_owner = await world.ks.root_keys.create(
        world.operator, name="stranger's", permissions=["*"], owner_id="stranger"
    )
    listed = await world.ks.root_keys.list(world.operator)
    initial = next(r.id for r in listed if r.name == "test root")
    # the pickup, the incident and the leak are of a key without owner, in the "custody" API
    common = {
        *(mine.key_id, mine.key, mine.root_key_id, initial),
        *(mine.pickup_id, mine.incident_id, mine.leak_id),
    }
    yield Callers(
        setting,
        by_api,
        by_owner.plaintext,
        frozenset({*common, mine.api_id, mine.owner_id}),
        frozenset({*common, mine.owner_id}),
    )


def test_scope_table_covers_every_route(setting: Setting) -> None:
    assert management_routes(setting.world.app) == set(SCOPED) == set(CASES)


async def _walk(
    world: World, mine: Objects, caller: str, column: int, foreign: frozenset[str]
) -> list[str]:
    """What answered otherwise than ``SCOPED`` says, route by route."""
    failures: list[str] = []
    for method, path in sorted(management_routes(world.app)):
        expect = SCOPED[(method, path)][column]
        response = await _send(world.client, _request(method, path, mine), world.auth(caller))
        status, text = response.status_code, response.text
        if (method, path) == ("POST", "/v1/keys/verify") and expect is HIDDEN:
            ok = status == 200 and response.json() == {"valid": False, "code": "NOT_FOUND"}
        elif expect is HIDDEN:
            ok = status == 404
        elif expect is REFUSED:
            ok = status == 403
        elif expect is INVALID:
            ok = status == 422
        else:
            ok = status in (200, 201, 204) and not any(ident in text for ident in foreign)
        if not ok:
            failures.append(f"{method} {path}: expected {expect.name}, got {status} {text[:200]}")
        elif status >= 400:
            assert_problem(response, status)
    return failures


async def _assert_untouched(world: World, mine: Objects) -> None:
    key = await world.ks.keys.get(world.operator, mine.key_id)
    assert (key.name, key.enabled, key.revoked_at) == (None, True, None)
    listed = await world.ks.root_keys.list(world.operator)
    assert all(r.revoked_at is None for r in listed)
    api = await world.ks.apis.get(world.operator, mine.api_id)
    assert api.name == "secured"
    plan = await world.ks.plans.get(world.operator, mine.plan_id)
    assert plan.priority == 0
    owner = await world.ks.owners.get(world.operator, mine.owner_id)
    assert owner.limits["ratelimits"][0]["limit"] == 5


@pytest.mark.parametrize("column", [0, 1], ids=["another-api", "another-owner"])
async def test_a_narrowed_root_key_reaches_nothing_outside_its_scope(
    callers: Callers, column: int
) -> None:
    """``column`` 0: the root key narrowed to another API; 1: to another owner."""
    world, mine = callers.setting.world, callers.setting.mine
    caller = (callers.by_api, callers.by_owner)[column]
    foreign = (callers.foreign_to_api, callers.foreign_to_owner)[column]
    failures = await _walk(world, mine, caller, column, foreign)
    assert not failures, "\n".join(failures)
    await _assert_untouched(world, mine)


async def test_a_root_key_with_an_unrelated_permission_is_refused_everywhere(
    setting: Setting,
) -> None:
    world = setting.world
    holding: dict[str, str] = {}
    for method, path in sorted(management_routes(world.app)):
        needed = CASES[(method, path)].permission
        unrelated = next(p for p in ROOT_PERMISSIONS if p.split(".")[0] != needed.split(".")[0])
        if unrelated not in holding:
            holding[unrelated] = await world.root_key_with([unrelated])
        request = _request(method, path, setting.mine)
        response = await _send(world.client, request, world.auth(holding[unrelated]))
        assert_problem(response, 403)
    await _assert_untouched(world, setting.mine)


__all__ = ["setting"]
