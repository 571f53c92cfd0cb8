"""A plaintext key is shown once, in the answer that created it: never in another
response, in a log record (every logger, at DEBUG) or in any column of the store."""

from __future__ import annotations

import hashlib
import logging
import secrets
import sqlite3
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from fastapi.routing import APIRoute
from httpkit import World, assert_problem, management_routes, open_world
from joserfc.jwk import ECKey
from tokenkit import exercise_tokens
from webhook_exercise import exercise_webhooks

from keystead.config import Settings
from keystead.core import keyformat
from keystead.http.inprocess import as_principal
from keystead.service import Keystead
from storedkit import mariadb_rows


class Recorder:
    def __init__(self) -> None:
        self.responses: list[tuple[str, str, int, str]] = []

    async def __call__(self, response: httpx.Response) -> None:
        await response.aread()
        headers = "\n".join(f"{k}: {v}" for k, v in response.headers.items())
        self.responses.append(
            (response.request.method, response.request.url.path, response.status_code,
             headers + "\n" + response.text)
        )  # fmt: skip


def _secrets(plaintext: str) -> tuple[str, str]:
    """The key and its random body (the part that must never be stored or shown)."""
    parsed = keyformat.parse(plaintext)
    assert parsed is not None
    return plaintext, parsed.body


async def _exercise(w: World) -> list[str]:
    """Call every route, successes and failures; returns the plaintexts created."""
    c, h = w.client, w.auth()
    api = await w.api("leaky", prefix="lk")
    api_id = api["id"]
    await c.get("/v1/apis", headers=h)
    await c.get(f"/v1/apis/{api_id}", headers=h)
    await c.put(f"/v1/apis/{api_id}/roles/r", json={"permissions": ["a.b"]}, headers=h)
    await c.get(f"/v1/apis/{api_id}/roles", headers=h)
    one = await w.key(api_id, roles=["r"], meta={"m": 1}, restrictions={"methods": ["GET"]})
    batch = (
        await c.post("/v1/keys/batch", json={"keys": [{"api_id": api_id}] * 3}, headers=h)
    ).json()["items"]
    root = (await c.post("/v1/root_keys", json={"permissions": ["keys.verify"]}, headers=h)).json()
    plaintexts = [one["key"], *(k["key"] for k in batch), root["key"]]
    key, key_id = one["key"], one["id"]
    for context in ({"method": "GET"}, {"method": "PUT"}, {"method": "GET", "permissions": "a.b"},
                    {"method": "GET", "permissions": "x.y"}, {"permissions": "("}, {"ip": 1},
                    {"extra": key}):  # fmt: skip
        await c.post("/v1/keys/verify", json={"key": key, **context}, headers=h)
    await c.post("/v1/keys/verify", json={"key": key}, headers=w.auth(root["key"]))
    await c.post("/v1/keys/verify", json={"key": key + "x"}, headers=h)
    await c.post("/v1/keys/verify", content=b'{"key": "' + key.encode() + b'"', headers=h)
    await c.get(f"/v1/keys/{key}", headers=h)  # a key where an id belongs
    await c.get(f"/v1/keys/{key_id}", headers=h)
    await c.get("/v1/keys", params={"limit": 2}, headers=h)
    await c.get("/v1/events/invalidations", params={"max_s": 0}, headers=h)
    report = {"key_id": key_id, "code": "VALID", "at": w.ks.clock.now(), "status": 200}
    await c.post("/v1/usage/records", json={"records": [report]}, headers=h)
    await c.post("/v1/usage/records", json={"records": [{**report, "key_id": key}]}, headers=h)
    await c.patch(f"/v1/keys/{key_id}", json={"name": "renamed", "meta": None}, headers=h)
    await c.patch(f"/v1/keys/{key_id}", json={"key": key}, headers=h)
    await c.post(f"/v1/keys/{key_id}/disable", headers=h)
    await c.post(f"/v1/keys/{key_id}/enable", headers=h)
    await c.post(f"/v1/keys/{batch[0]['id']}/revoke", headers=h)
    await c.post("/v1/keys/verify", json={"key": batch[0]["key"]}, headers=h)
    await c.delete(f"/v1/keys/{batch[1]['id']}", headers=h)
    await c.post("/v1/keys/verify", json={"key": batch[1]["key"]}, headers=h)
    await c.get("/v1/root_keys", headers=h)
    await c.post(f"/v1/root_keys/{root['id']}/revoke", headers=h)
    await c.post("/v1/keys/verify", json={"key": key}, headers=w.auth(root["key"]))
    await c.delete(f"/v1/apis/{api_id}/roles/r", headers=h)
    await c.delete(f"/v1/apis/{api_id}", headers=h)  # 409: it has keys
    other = await w.api("empty")
    await c.delete(f"/v1/apis/{other['id']}", headers=h)
    plaintexts.append(await _exercise_limits(w, api_id))
    plaintexts.extend(await _exercise_rotation(w, api_id))
    plaintexts.extend(await _exercise_custody(w, api_id))
    plaintexts.extend(await _exercise_leaks(w, api_id))
    plaintexts.extend(await exercise_webhooks(w))
    await _exercise_server_secret(w, key)
    await _exercise_audit(w)
    await _exercise_alerts(w)
    await w.ks.flush()  # last_used_at stamps and credit balances reach the store
    await _exercise_analytics(w, key_id)
    return plaintexts


async def _exercise_server_secret(w: World, key: str) -> None:
    """The server secret's routes, as the local operator (a root key is refused them):
    a rotation, an old key moved by its verification, a refused and an unknown
    retirement; the answers pass the same checks as every other."""
    operator = await w.ks.workspaces.local_operator()
    transport = httpx.ASGITransport(app=as_principal(w.app, operator))
    async with httpx.AsyncClient(
        transport=transport, base_url=str(w.client.base_url), event_hooks=w.client.event_hooks
    ) as c:
        await c.post("/v1/server_secret/rotate", json={"settle_s": 0})
        await w.client.post("/v1/keys/verify", json={"key": key}, headers=w.auth())
        await c.get("/v1/server_secret")
        await c.post("/v1/server_secret/retire", json={"version": 1})  # 409
        await c.post("/v1/server_secret/retire", json={"version": 9, "force": True})


async def _exercise_key_import(w: World) -> list[str]:
    """The import routes: a plaintext row and a sha256 row (dry run, import, a
    re-run, status), each key verified (the legacy one moved); returns the key texts
    and the legacy hash, which no answer, log line or row may hold afterwards."""
    c, h = w.client, w.auth()
    api_id = (await w.api("imported", prefix="im"))["id"]
    plain, legacy = "Imported.Plain-4f9a1c7e2b", "Imported.Legacy-8d3b6e0a5c"
    digest = hashlib.sha256(legacy.encode()).hexdigest()
    rows = [
        {"key": plain, "api_id": api_id, "external_id": "x1"},
        {"key_hash": {"scheme": "sha256", "value": digest}, "api_id": api_id, "external_id": "x2"},
    ]
    for dry_run in (True, False, False):
        await c.post("/v1/keys/import", json={"rows": rows, "dry_run": dry_run}, headers=h)
    await c.post("/v1/keys/import", json={"rows": [{**rows[0], "external_id": "x3"}]}, headers=h)
    await c.get("/v1/keys/import/status", headers=h)
    for key in (plain, legacy):
        await c.post("/v1/keys/verify", json={"key": key}, headers=h)
    return [plain, legacy, digest]


async def _exercise_secret_lifecycle(w: World) -> None:
    """The consumers and rotation routes, over the secret ``_exercise_secrets`` read,
    and a bad policy."""
    c, h = w.client, w.auth()
    await c.get("/v1/secrets/kv/consumers/app/db", headers=h)
    await c.get("/v1/secrets/kv/consumers/app/db", params={"version": 3}, headers=h)
    for url in ("/v1/secrets/kv/rotation/app/db", "/v1/secrets/kv/rotation"):
        await c.put(url, json={"max_age_s": 86400, "warn_before_s": 3600}, headers=h)
        await c.put(url, json={"max_age_s": 1}, headers=h)
        await c.get(url, headers=h)
        await c.delete(url, headers=h)


async def _exercise_analytics(w: World, key_id: str) -> None:
    """The analytics routes, over the usage recorded above, and a bad request."""
    c, h = w.client, w.auth()
    await c.get("/v1/analytics/usage", params={"key_id": key_id}, headers=h)
    await c.get("/v1/analytics/top", params={"key_id": key_id, "by": "user_agent"}, headers=h)
    await c.get("/v1/analytics/usage", params={"key_id": key_id, "owner_id": "o"}, headers=h)
    proposal = {"quota": {"limit": 1, "period": "day"}}
    await c.post("/v1/analytics/what-if", json={"key_id": key_id, "proposal": proposal}, headers=h)


async def _exercise_alerts(w: World) -> None:
    """The alert routes: rules (good and bad), alerts opened by the usage above."""
    c, h = w.client, w.auth()
    rules = [{"name": "dead", "kind": "revoked_use", "action": "disable"},
             {"name": "bf", "kind": "brute_force", "value": 1, "severity": "critical"}]  # fmt: skip
    made = [(await c.post("/v1/alerts/rules", json=r, headers=h)).json() for r in rules]
    await c.post("/v1/alerts/rules", json={"name": "x", "kind": "threshold"}, headers=h)  # 422
    await c.get("/v1/alerts/rules", headers=h)
    await c.get(f"/v1/alerts/rules/{made[0]['id']}", headers=h)
    await c.patch(f"/v1/alerts/rules/{made[0]['id']}", json={"severity": "info"}, headers=h)
    await c.patch(f"/v1/alerts/rules/{made[0]['id']}", json={"metric": "requests"}, headers=h)
    await w.ks.flush()
    opened = await w.ks.alerts.evaluate(w.ks.clock.now() + 1)
    assert opened, "the revoked key and the bad keys above should have opened alerts"
    await c.get("/v1/alerts", params={"status": "open", "severity": "critical"}, headers=h)
    await c.get("/v1/alerts", params={"status": "closed"}, headers=h)  # 422
    for alert in (await c.get("/v1/alerts", headers=h)).json()["items"]:
        await c.get(f"/v1/alerts/{alert['id']}", headers=h)
        await c.post(f"/v1/alerts/{alert['id']}/acknowledge", headers=h)
        await c.post(f"/v1/alerts/{alert['id']}/resolve", headers=h)
    await c.delete(f"/v1/alerts/rules/{made[1]['id']}", headers=h)


async def _exercise_audit(w: World) -> None:
    """The audit routes: the entries of everything above, and the chain verified."""
    c, h = w.client, w.auth()
    await w.ks.audit.checkpoint()
    page = (await c.get("/v1/audit", params={"limit": 5}, headers=h)).json()
    await c.get("/v1/audit", params={"cursor": page["next_cursor"], "action": "key.*"}, headers=h)
    await c.get("/v1/audit", params={"from": "yesterday"}, headers=h)  # 422
    report = (await c.get("/v1/audit/verify", headers=h)).json()
    assert report["ok"], report
    await c.get("/v1/audit/public_key", headers=h)


async def _exercise_limits(w: World, api_id: str) -> str:
    """The limit routes: plans, owners, API limits, verify with limits, leases."""
    c, h = w.client, w.auth()
    rate = {"name": "rps", "limit": 2, "duration_s": 60}
    plan = (await c.post("/v1/plans", json={"name": "pro", "ratelimits": [rate]}, headers=h)).json()
    await c.get("/v1/plans", headers=h)
    await c.get(f"/v1/plans/{plan['id']}", headers=h)
    await c.patch(f"/v1/plans/{plan['id']}", json={"priority": 10}, headers=h)
    await c.put("/v1/owners/o%2F1", json={"quota": {"limit": 5, "period": "day"}}, headers=h)
    await c.get("/v1/owners", headers=h)
    await c.get("/v1/owners/o%2F1", headers=h)
    await c.patch(f"/v1/apis/{api_id}", json={"limits": {"failure_policy": "closed"}}, headers=h)
    limited = await w.key(
        api_id, owner_id="o/1", plan_id=plan["id"], credits={"remaining": 3},
        concurrency={"limit": 1, "lease_s": 30},
    )  # fmt: skip
    key, key_id = limited["key"], limited["id"]
    first = (await c.post("/v1/keys/verify", json={"key": key, "cost": 2}, headers=h)).json()
    extra = {"key": key, "ratelimits": [{"name": "x", "limit": 1, "duration_s": 1}]}
    await c.post("/v1/keys/verify", json=extra, headers=h)  # refused: concurrency
    await c.post("/v1/keys/verify/release", json={"leases": first["leases"]}, headers=h)
    await c.post("/v1/keys/verify", json={"key": key, "ip": "192.0.2.9"}, headers=h)
    await c.post("/v1/keys/verify", json={"key": key + "x", "ip": "192.0.2.9"}, headers=h)
    await c.get("/v1/limits/failed_attempts", params={"ip": "192.0.2.9"}, headers=h)
    await c.patch(f"/v1/keys/{key_id}", json={"credits": {"remaining": 9}}, headers=h)
    await c.patch(f"/v1/keys/{key_id}", json={"reset_quota": True, "cost": key}, headers=h)
    await c.get(f"/v1/keys/{key_id}", headers=h)
    await c.delete(f"/v1/plans/{plan['id']}", headers=h)  # 409: a key uses it
    await c.delete("/v1/owners/o%2F1", headers=h)
    await c.delete(f"/v1/keys/{key_id}", headers=h)
    await c.delete(f"/v1/plans/{plan['id']}", headers=h)
    plaintext: str = key
    return plaintext


async def _exercise_rotation(w: World, api_id: str) -> list[str]:
    """Rotation: the successor's plaintext is revealed once, by the rotate answer."""
    c, h = w.client, w.auth()
    policy = {"max_age_s": 60, "grace_period_s": 30}
    old = await w.key(api_id, rotation_policy=policy, credits={"remaining": 4})
    rotated = await c.post(f"/v1/keys/{old['id']}/rotate", json={"grace_period_s": 5}, headers=h)
    new = rotated.json()
    await c.post(f"/v1/keys/{old['id']}/rotate", headers=h)  # 409: rotated already
    await c.post("/v1/keys/verify", json={"key": old["key"]}, headers=h)
    await c.post("/v1/keys/verify", json={"key": new["key"]}, headers=h)
    await c.post("/v1/keys/rotate_due", json={"dry_run": True}, headers=h)
    await c.post(f"/v1/keys/{new['id']}/rotate", json={"grace_period_s": 0}, headers=h)
    return [old["key"], new["key"]]


async def _exercise_custody(w: World, api_id: str) -> list[str]:
    """Owner public keys, pickups, key actions, compromise and incidents. (The keys
    a claim or a compromise reveals are checked in test_http_custody.py.)"""
    c, h = w.client, w.auth()
    jwk = ECKey.generate_key("P-256").as_dict(private=False)
    await c.put("/v1/owners/o%2F2/public_key", json={"jwk": jwk}, headers=h)
    await c.put("/v1/owners/o%2F2/public_key", json={"jwk": {**jwk, "d": "x"}}, headers=h)
    owned, loose = await w.key(api_id, owner_id="o/2"), await w.key(api_id)
    cause = {"source": "alert", "reason": "leaked"}
    for key, action in ((owned, "rotate"), (loose, "emergency_rotate"), (loose, "disable")):
        body = {"action": action, "cause": cause}
        await c.post(f"/v1/keys/{key['id']}/actions", json=body, headers=h)
    await c.get(f"/v1/keys/{owned['id']}/actions", headers=h)
    for pickup in (await c.get("/v1/pickups", headers=h)).json()["items"]:
        await c.post(f"/v1/pickups/{pickup['id']}/claim", headers=h)  # owned: 403
    await c.delete("/v1/owners/o%2F2/public_key", headers=h)
    done = await c.post(f"/v1/keys/{owned['id']}/compromise", json={"reason": "x"}, headers=h)
    incident = done.json()["incident_id"]
    await c.get("/v1/incidents", headers=h)
    await c.get(f"/v1/incidents/{incident}", headers=h)
    await c.patch(f"/v1/incidents/{incident}", json={"status": "resolved"}, headers=h)
    body = {"leaked_at": "2025-06-15T14:00:00Z"}
    await c.post(f"/v1/incidents/{incident}/exposure", json=body, headers=h)
    return [owned["key"], loose["key"]]


async def _exercise_leaks(w: World, api_id: str) -> list[str]:
    """Leak reports (a live key, the same again, garbage, bad input) and the leak
    and policy routes: a reported token is hashed, never stored, logged or echoed."""
    c, h = w.client, w.auth()
    leaked, spare = await w.key(api_id), await w.key(api_id)
    await c.put("/v1/leaks/policy", json={"action": "revoke", "replace": True}, headers=h)
    reports = [{"token": leaked["key"], "url": "https://x.test/a"}, {"token": "junk"}]
    done = await c.post("/v1/leaks", json={"reports": reports}, headers=h)
    await c.post("/v1/leaks", json={"reports": reports[:1]}, headers=h)  # repeated
    await c.post("/v1/leaks", json={"reports": [{"token": spare["key"], "x": 1}]}, headers=h)
    await c.get("/v1/leaks", headers=h)
    await c.get(f"/v1/leaks/{done.json()['items'][0]['leak_id']}", headers=h)
    await c.get("/v1/leaks/policy", params={"api_id": api_id}, headers=h)
    await c.delete("/v1/leaks/policy", headers=h)
    return [leaked["key"], spare["key"]]


async def _exercise_secrets(w: World) -> list[str]:
    """Every stored-secrets route; returns the values written (each answered only by
    a read of its version, never by another route, a log record or a stored row)."""
    c, h = w.client, w.auth()
    values = [secrets.token_urlsafe(24) for _ in range(3)]
    data = "/v1/secrets/kv/data/app/db"
    await c.get("/v1/secret-mounts", headers=h)
    await c.post("/v1/secret-mounts", json={"name": "kv"}, headers=h)
    await c.get("/v1/secret-mounts/kv", headers=h)
    await c.patch("/v1/secret-mounts/kv", json={"max_versions": 5}, headers=h)
    await c.put(data, json={"data": {"password": values[0]}}, headers=h)
    await c.put(data, json={"data": {"password": values[1]}, "cas": 0}, headers=h)  # 409
    await c.patch(data, json={"data": {"password": values[1]}}, headers=h)
    await c.put(data, json={"data": {"bad name": values[2]}}, headers=h)  # 422, unechoed
    await c.get(data, headers=h)
    await c.get(data, params={"version": 1}, headers=h)
    await c.get("/v1/secrets/kv/subkeys/app/db", headers=h)
    await c.get("/v1/secrets/kv/list", headers=h)
    await c.get("/v1/secrets/kv/list/app", headers=h)
    await c.post("/v1/secrets/kv/rollback/app/db", json={"version": 1}, headers=h)
    await c.delete(data, headers=h)
    await c.get(data, headers=h)  # 404 with the version's metadata
    await c.post("/v1/secrets/kv/undelete/app/db", json={"versions": [3]}, headers=h)
    await c.post("/v1/secrets/kv/delete/app/db", json={"versions": [2]}, headers=h)
    await c.post("/v1/secrets/kv/destroy/app/db", json={"versions": [1]}, headers=h)
    meta = "/v1/secrets/kv/metadata/app/db"
    await c.patch(meta, json={"custom_metadata": {"team": "db"}}, headers=h)
    await c.put(meta, json={"max_versions": 4}, headers=h)
    await c.get(meta, headers=h)
    await c.put("/v1/secrets/kv/data/gone", json={"data": {"k": values[2]}}, headers=h)
    await c.delete("/v1/secrets/kv/metadata/gone", headers=h)
    return values


async def _exercise_portal(w: World) -> list[str]:
    """Portal links and branding, a portal session and a dashboard sign-in: the link's
    token and the session tokens are answered once, never logged or stored."""
    c, h = w.client, w.auth()
    await c.put("/v1/portal/branding", json={"name": "Acme", "accent": "#123456"}, headers=h)
    await c.put("/v1/portal/branding", json={"accent": "teal"}, headers=h)  # 422
    await c.get("/v1/portal/branding", headers=h)
    made = await c.post("/v1/portal/sessions", json={"owner_id": "o/2"}, headers=h)
    link = parse_qs(urlsplit(made.json()["url"]).query)["token"][0]
    portal, _ = await w.ks.web_sessions.redeem_portal_link(link, ip="192.0.2.7", user_agent="t")
    assert await w.ks.web_sessions.resume(portal, area="portal") is not None
    signed_in, _ = await w.ks.web_sessions.sign_in(w.root_key, ip="192.0.2.7", user_agent="t")
    await w.ks.web_sessions.sign_out(signed_in)
    return [link, portal, signed_in]


def _rows(settings: Settings) -> list[tuple[str, Any]]:
    """Every value of every table, read directly from the database."""
    url = settings.database_url
    out: list[tuple[str, Any]] = []
    if url.startswith("sqlite"):
        with sqlite3.connect(url.removeprefix("sqlite:///")) as db:
            tables = [r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table'")]
            for table in tables:
                for row in db.execute(f'SELECT * FROM "{table}"'):  # noqa: S608 - names from sqlite
                    out += [(table, value) for value in row]
        return out
    if url.startswith("mysql"):
        for table, found in mariadb_rows(url).items():
            out += [(table, value) for row in found for value in row]
        return out
    import psycopg

    with psycopg.connect(url) as db:
        tables = [r[0] for r in db.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema()"
        )]  # fmt: skip
        for table in tables:
            for row in db.execute(f'SELECT * FROM "{table}"'):  # noqa: S608 - names from the db
                out += [(table, value) for value in row]
    return out


def _contains(value: Any, needle: str) -> bool:
    if isinstance(value, bytes | bytearray | memoryview):
        return needle.encode() in bytes(value)
    return needle in str(value)


async def test_plaintext_only_in_the_creating_response(
    vault: Keystead, settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    caplog.set_level(logging.DEBUG, logger="sqlalchemy")  # it sets itself to WARNING: SQL too
    recorder = Recorder()
    async with open_world(vault, on_response=recorder) as world:
        plaintexts = [*await _exercise(world), world.root_key]
        secret_values = await _exercise_secrets(world)
        await _exercise_secret_lifecycle(world)
        imported = await _exercise_key_import(world)
        token_keys, tokens = await exercise_tokens(world)
        tokens = [*tokens, *await _exercise_portal(world)]
        plaintexts.extend(token_keys)
        exercised = {(m, p) for m, p, _, _ in recorder.responses}
        routes = [r for r in world.app.routes if isinstance(r, APIRoute)]
        covered = {
            (method, route.path_format)
            for method, path in exercised
            for route in routes
            if method in (route.methods or ()) and route.path_regex.match(path)
        }
        assert management_routes(world.app) <= covered

    assert len(recorder.responses) > 30
    assert any(status >= 400 for _, _, status, _ in recorder.responses)
    # every server-side record; httpx's are the test client's own (it logs the URLs
    # we send, and two of them carry a key on purpose, to check it is not echoed back)
    server = [r for r in caplog.records if not r.name.startswith(("httpx", "httpcore"))]
    assert any(r.name.startswith("sqlalchemy.engine") for r in server)  # SQL and parameters
    assert any(r.name == "keystead.access" for r in server)  # the access log's lines
    logs = [r.getMessage() + (r.exc_text or "") for r in server]
    rows = _rows(settings)
    assert rows
    for plaintext in plaintexts:
        for secret in _secrets(plaintext):
            showing = [(m, p) for m, p, _, text in recorder.responses if secret in text]
            if plaintext == world.root_key:
                assert showing == []  # created by the service, never over HTTP
            else:
                assert len(showing) == 1, showing
                assert showing[0][0] == "POST"
                created_by = ("/v1/keys", "/v1/keys/batch", "/v1/root_keys")
                assert showing[0][1] in created_by or showing[0][1].endswith("/rotate")
            assert [t for t in logs if secret in t] == []
            leaks = [(table, v) for table, v in rows if _contains(v, secret)]
            assert leaks == []
    for value in imported:  # imported keys and legacy hashes: never answered, logged, stored
        assert [(m, p) for m, p, _, text in recorder.responses if value in text] == []
        assert [t for t in logs if value in t] == []
        assert [(table, v) for table, v in rows if _contains(v, value)] == []
    for token in tokens:  # a short-lived credential: answered, never logged or stored
        assert [t for t in logs if token in t] == []
        assert [(table, v) for table, v in rows if _contains(v, token)] == []
    for value in secret_values:
        answered = {(m, p) for m, p, _, text in recorder.responses if value in text}
        assert answered <= {("GET", "/v1/secrets/kv/data/app/db")}, answered
        assert [t for t in logs if value in t] == []
        assert [(table, v) for table, v in rows if _contains(v, value)] == []


async def test_a_key_pasted_into_any_id_parameter_is_refused_unechoed(keystead: Keystead) -> None:
    """Every path and query parameter that the OpenAPI document types as an id: a
    plaintext key given there is a 422 naming the parameter, never written back."""
    async with open_world(keystead) as world:
        api_id = (await world.api("pasted", prefix="ps"))["id"]
        pasted = (await world.key(api_id))["key"]
        doc = (await world.client.get("/openapi.json")).json()
        tried = 0
        for path, item in doc["paths"].items():
            for method, operation in item.items():
                params = operation.get("parameters", [])
                for param in params:
                    if "[0-9A-HJKMNP-TV-Z]{26}" not in str(param["schema"]):
                        continue
                    url, query = path, {}
                    for other in params:
                        value = pasted if other is param else "key_01JZ8Q3V6N2X7R4M5T9K0W1B2C"
                        if other["in"] == "path":
                            url = url.replace("{" + other["name"] + "}", value)
                        elif other is param:
                            query[other["name"]] = value
                    response = await world.client.request(
                        method.upper(), url, params=query, headers=world.auth()
                    )
                    problem = assert_problem(response, 422)
                    assert [param["in"], param["name"]] in [e["loc"] for e in problem["errors"]]
                    assert pasted not in response.text, (method, path)
                    tried += 1
        assert tried > 40
