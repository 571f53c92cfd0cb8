"""Custody over HTTP: owner public keys, pickups (sealed and JWE), event-triggered
actions and the compromise procedure, end to end."""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from typing import Any

import httpx
import pytest
from httpkit import World, assert_problem, open_world
from joserfc import jwe
from joserfc.jwk import ECKey, OKPKey

from keystead.config import Settings
from keystead.core.clock import ManualClock
from keystead.service import Keystead
from storedkit import mariadb_rows

CAUSE = {"source": "alert", "reason": "traffic from an unknown network", "reference": "AL-1"}
TABLES = ("ks_pickups", "ks_outbox", "ks_incidents", "ks_key_actions")


class Seen:
    """Every response body, to count where a secret was shown."""

    def __init__(self) -> None:
        self.bodies: list[str] = []

    async def __call__(self, response: httpx.Response) -> None:
        await response.aread()
        self.bodies.append(response.text)

    def count(self, secret: str) -> int:
        return sum(secret in body for body in self.bodies)


def _stored(settings: Settings) -> list[str | bytes]:
    """Every value of the custody tables, straight from the database."""
    url = settings.database_url
    values: list[Any] = []
    if url.startswith("sqlite"):
        with sqlite3.connect(url.removeprefix("sqlite:///")) as db:
            for table in TABLES:
                values += [v for row in db.execute(f'SELECT * FROM "{table}"') for v in row]  # noqa: S608
    elif url.startswith("mysql"):
        stored = mariadb_rows(url)
        values += [v for table in TABLES for row in stored[table] for v in row]
    else:
        import psycopg

        with psycopg.connect(url) as db:
            for table in TABLES:
                values += [v for row in db.execute(f'SELECT * FROM "{table}"') for v in row]  # noqa: S608
    return [bytes(v) if isinstance(v, bytes | memoryview) else str(v) for v in values]


def _nowhere_stored(settings: Settings, plaintext: str) -> None:
    body = plaintext.rsplit("_", 1)[-1]
    for value in _stored(settings):
        raw = value if isinstance(value, bytes) else value.encode()
        assert plaintext.encode() not in raw and body.encode() not in raw


def _listen(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    caplog.set_level(logging.DEBUG, logger="sqlalchemy")  # SQL and its parameters too


def _nowhere_logged(caplog: pytest.LogCaptureFixture, plaintext: str) -> None:
    body = plaintext.rsplit("_", 1)[-1]
    server = [r for r in caplog.records if not r.name.startswith(("httpx", "httpcore"))]
    assert any(r.name.startswith("sqlalchemy.engine") for r in server)
    for record in server:
        text = record.getMessage() + (record.exc_text or "")
        assert plaintext not in text and body not in text, record.name


async def _owner_root_key(w: World, owner_id: str) -> dict[str, str]:
    response = await w.client.post(
        "/v1/root_keys",
        json={"name": "owner bot", "permissions": ["keys.pickup"], "owner_id": owner_id},
        headers=w.auth(),
    )
    assert response.status_code == 201, response.text
    assert response.json()["owner_id"] == owner_id
    return w.auth(response.json()["key"])


async def _act(w: World, key_id: str, action: str, **extra: Any) -> dict[str, Any]:
    body = {"action": action, "cause": CAUSE, **extra}
    response = await w.client.post(f"/v1/keys/{key_id}/actions", json=body, headers=w.auth())
    assert response.status_code == 201, response.text
    answer: dict[str, Any] = response.json()
    return answer


async def test_owner_public_key_routes(keystead: Keystead) -> None:
    async with open_world(keystead) as w:
        c, h = w.client, w.auth()
        public = ECKey.generate_key("P-256").as_dict(private=False)
        await c.put("/v1/owners/team%2Fa", json={"quota": {"limit": 9}}, headers=h)

        put = await c.put("/v1/owners/team%2Fa/public_key", json={"jwk": public}, headers=h)
        got = await c.get("/v1/owners/team%2Fa", headers=h)
        listed = await c.get("/v1/owners", headers=h)
        deleted = await c.delete("/v1/owners/team%2Fa/public_key", headers=h)

        assert put.status_code == 200, put.text
        assert put.json()["owner_id"] == "team/a" and put.json()["public_jwk"] == public
        assert got.json()["public_jwk"] == public and got.json()["quota"]["limit"] == 9
        assert listed.json()["items"][0]["public_jwk"] == public
        assert deleted.json()["public_jwk"] is None and deleted.json()["quota"]["limit"] == 9
        assert_problem(await c.delete("/v1/owners/nobody/public_key", headers=h), 404)


async def test_public_key_refusals_name_the_field(keystead: Keystead) -> None:
    async with open_world(keystead) as w:
        c, h = w.client, w.auth()
        private = ECKey.generate_key("P-256")
        url = "/v1/owners/acme/public_key"
        cases = [
            ({"jwk": private.as_dict(private=True)}, "jwk.d"),
            ({"jwk": {"kty": "RSA", "n": "AQAB", "e": "AQAB"}}, "jwk.kty"),
            ({"jwk": {"kty": "EC", "crv": "P-192", "x": "a", "y": "b"}}, "jwk.crv"),
            ({"jwk": {**private.as_dict(private=False), "x": "AAAA"}}, "jwk.x"),
        ]
        for body, field in cases:
            problem = assert_problem(await c.put(url, json=body, headers=h), 422)
            assert problem["field"] == field, body
            assert "AAAA" not in problem["detail"]
        for junk in ({"jwk": "not a key"}, {"jwk": [1]}, {}, {"jwk": {}, "extra": 1}):
            problem = assert_problem(await c.put(url, json=junk, headers=h), 422)
            assert problem.get("field") or problem.get("errors"), junk
        assert_problem(await c.get("/v1/owners/acme", headers=h), 404)


async def test_jwe_pickup_reaches_only_the_owner(keystead: Keystead, settings: Settings) -> None:
    seen = Seen()
    async with open_world(keystead, on_response=seen) as w:
        c, h = w.client, w.auth()
        private = OKPKey.generate_key("X25519")
        public = {**private.as_dict(private=False), "kid": "acme-1"}
        await c.put("/v1/owners/acme/public_key", json={"jwk": public}, headers=h)
        api = await w.api("jwe", prefix="jw")
        old = await w.key(api["id"], owner_id="acme")
        acme = await _owner_root_key(w, "acme")

        done = await _act(w, old["id"], "rotate", grace_period_s=3600)
        pickup_id = done["result"]["pickup_id"]
        listed = (await c.get("/v1/pickups", headers=acme)).json()["items"]
        refused = await c.post(f"/v1/pickups/{pickup_id}/claim", headers=h)
        claim = await c.post(f"/v1/pickups/{pickup_id}/claim", headers=acme)
        again = await c.post(f"/v1/pickups/{pickup_id}/claim", headers=acme)

        assert done["result"]["pickup_format"] == "jwe"
        assert [(p["id"], p["format"], p["state"]) for p in listed] == [
            (pickup_id, "jwe", "pending")
        ]
        assert "ciphertext" not in listed[0]
        assert_problem(refused, 403)
        assert claim.status_code == 200, claim.text
        assert claim.json()["key"] is None
        opened = jwe.decrypt_compact(claim.json()["jwe"], private)
        assert opened.protected["kid"] == "acme-1"
        new_key = (opened.plaintext or b"").decode()
        verdict = await w.verify(new_key)
        assert (verdict["code"], verdict["key_id"]) == ("VALID", done["result"]["new_key_id"])
        assert (await w.verify(old["key"]))["code"] == "VALID"  # within its grace
        assert_problem(again, 409)
        states = (await c.get("/v1/pickups", headers=h)).json()["items"]
        assert [p["state"] for p in states] == ["claimed"]
    assert seen.count(new_key) == 0  # it travelled as a JWE only
    _nowhere_stored(settings, new_key)


async def test_sealed_pickup_is_claimed_once(
    keystead: Keystead, settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    _listen(caplog)
    seen = Seen()
    async with open_world(keystead, on_response=seen) as w:
        c, h = w.client, w.auth()
        api = await w.api("sealed", prefix="se")
        old = await w.key(api["id"])

        done = await _act(w, old["id"], "emergency_rotate")
        pickup_id = done["result"]["pickup_id"]
        claim = await c.post(f"/v1/pickups/{pickup_id}/claim", headers=h)
        again = await c.post(f"/v1/pickups/{pickup_id}/claim", headers=h)

        assert claim.status_code == 200, claim.text
        body = claim.json()
        assert (body["format"], body["jwe"], body["key_id"]) == (
            "sealed",
            None,
            done["result"]["new_key_id"],
        )
        assert (await w.verify(body["key"]))["code"] == "VALID"
        assert (await w.verify(old["key"]))["code"] == "EXPIRED"
        assert_problem(again, 409)
        assert done["state"] == "expired"
        key = body["key"]
    assert seen.count(key) == 1
    _nowhere_stored(settings, key)
    _nowhere_logged(caplog, key)


async def test_concurrent_claims_one_winner(keystead: Keystead) -> None:
    async with open_world(keystead) as w:
        api = await w.api("race")
        old = await w.key(api["id"])
        pickup_id = (await _act(w, old["id"], "rotate"))["result"]["pickup_id"]

        answers = await asyncio.gather(
            *(w.client.post(f"/v1/pickups/{pickup_id}/claim", headers=w.auth()) for _ in range(6))
        )

        assert sorted(a.status_code for a in answers) == [200, 409, 409, 409, 409, 409]


async def test_expired_pickup_is_gone(keystead: Keystead, clock: ManualClock) -> None:
    async with open_world(keystead) as w:
        api = await w.api("late")
        old = await w.key(api["id"])
        pickup_id = (await _act(w, old["id"], "rotate", grace_period_s=0))["result"]["pickup_id"]
        listed = (await w.client.get("/v1/pickups", headers=w.auth())).json()["items"]
        expires = listed[0]["expires_at"]

        clock.advance(8 * 86400)
        gone = await w.client.post(f"/v1/pickups/{pickup_id}/claim", headers=w.auth())
        after = (await w.client.get("/v1/pickups", headers=w.auth())).json()["items"]

        assert expires
        assert assert_problem(gone, 410)["title"] == "Gone"
        assert after[0]["state"] == "expired"
        unknown = await w.client.post(
            "/v1/pickups/pck_0000000000AAAAAAAAAAAAAAAA/claim", headers=w.auth()
        )
        assert_problem(unknown, 404)


async def test_actions_record_and_act(keystead: Keystead) -> None:
    async with open_world(keystead) as w:
        c = w.client
        api = await w.api("acts")
        key = await w.key(api["id"])

        disabled = await _act(w, key["id"], "disable")
        after_disable = await w.verify(key["key"])
        revoked = await _act(w, key["id"], "revoke")
        history = (await c.get(f"/v1/keys/{key['id']}/actions", headers=w.auth())).json()

        assert disabled["state"] == "disabled" and disabled["cause"] == CAUSE
        assert after_disable["code"] == "DISABLED"
        assert revoked["state"] == "revoked"
        assert (await w.verify(key["key"]))["code"] == "REVOKED"
        assert {a["id"] for a in history["items"]} == {disabled["id"], revoked["id"]}
        assert history["next_cursor"] is None
        for bad in (
            {"action": "explode", "cause": CAUSE},
            {"action": "disable"},
            {"action": "disable", "cause": {"source": "a b", "reason": "x"}},
            {"action": "disable", "cause": CAUSE, "grace_period_s": 5},
            {"action": "rotate", "cause": CAUSE, "grace_period_s": "soon"},
        ):
            response = await c.post(f"/v1/keys/{key['id']}/actions", json=bad, headers=w.auth())
            assert_problem(response, 422)


async def test_compromise_end_to_end(
    keystead: Keystead, settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    _listen(caplog)
    seen = Seen()
    async with open_world(keystead, on_response=seen) as w:
        c, h = w.client, w.auth()
        api = await w.api("breach", prefix="br")
        key = await w.key(api["id"], owner_id="acme", credits={"remaining": 10})
        await w.verify(key["key"])

        response = await c.post(
            f"/v1/keys/{key['id']}/compromise",
            json={"replace": True, "reason": "found in a log file"},
            headers=h,
        )

        assert response.status_code == 201, response.text
        done = response.json()
        assert (await w.verify(key["key"]))["code"] == "REVOKED"
        replacement = done["replacement"]
        assert (await w.verify(replacement["key"]))["code"] == "VALID"
        assert done["revoked_at"] and not done["already_revoked"] and done["notified"]
        incident = done["incident"]
        assert incident["id"] == done["incident_id"] and incident["status"] == "open"
        assert incident["replacement_key_id"] == replacement["key_id"]
        evidence = incident["evidence"]
        assert evidence["key"]["key_id"] == key["id"]
        assert evidence["counters"]["credits_remaining"] == 9
        assert evidence["usage"] == []
        events = await keystead.store.list_events(w.workspace_id, after=None, limit=1000)
        compromised = [e for e in events if e.type == "key.compromised"]
        assert len(compromised) == 1
        assert compromised[0].data["incident_id"] == incident["id"]
        assert compromised[0].data["replacement_key_id"] == replacement["key_id"]

        fetched = await c.get(f"/v1/incidents/{incident['id']}", headers=h)
        patched = await c.patch(
            f"/v1/incidents/{incident['id']}",
            json={"status": "resolved", "notes": "callers moved to the replacement"},
            headers=h,
        )
        listed = await c.get("/v1/incidents", params={"status": "resolved"}, headers=h)
        by_key = await c.get("/v1/incidents", params={"key_id": key["id"]}, headers=h)

        assert fetched.json()["evidence"] == evidence
        assert patched.json()["status"] == "resolved"
        assert [i["id"] for i in listed.json()["items"]] == [incident["id"]]
        assert [i["id"] for i in by_key.json()["items"]] == [incident["id"]]
        bad = await c.patch(f"/v1/incidents/{incident['id']}", json={"status": "x"}, headers=h)
        assert_problem(bad, 422)
        again = await c.post(f"/v1/keys/{key['id']}/compromise", headers=h)
        assert again.status_code == 201 and again.json()["already_revoked"] is True
        replace_again = await c.post(
            f"/v1/keys/{key['id']}/compromise", json={"replace": True}, headers=h
        )
        assert_problem(replace_again, 409)  # it was rotated to the replacement already
    assert seen.count(replacement["key"]) == 1
    _nowhere_stored(settings, replacement["key"])
    _nowhere_logged(caplog, replacement["key"])
    _nowhere_stored(settings, key["key"])


async def test_compromise_needs_every_permission(keystead: Keystead) -> None:
    async with open_world(keystead) as w:
        api = await w.api("perm")
        key = await w.key(api["id"])
        for missing, body in (
            ("incidents.write", {}),
            ("keys.create", {"replace": True}),
        ):
            narrow = w.auth(await w.root_key_without(missing))
            response = await w.client.post(
                f"/v1/keys/{key['id']}/compromise", json=body, headers=narrow
            )
            assert missing in assert_problem(response, 403)["detail"]
        assert (await w.verify(key["key"]))["code"] == "VALID"
