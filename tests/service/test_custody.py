"""Pickups: a key rotated with nobody present is held sealed (server secret) or
as a JWE (the owner's public key), handed out once to the right root key,
erased after, and never stored or sent in plaintext."""

from __future__ import annotations

import asyncio
import sqlite3
from typing import Any

import pytest
from joserfc import jwe
from joserfc.jwk import ECKey, OKPKey

from keystead.config import Settings
from keystead.core.authz import Principal
from keystead.core.clock import ManualClock
from keystead.core.models import Code
from keystead.errors import Conflict, Forbidden, NotFound, ValidationError
from keystead.service import Keystead
from keystead.service.pickups import Gone
from storedkit import mariadb_rows

CAUSE = {"source": "alert", "reason": "the key showed up in a public repository"}
ED25519_X = "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"  # a signing key: no ECDH


async def _key(ks: Keystead, admin: Principal, **fields: Any) -> tuple[str, str]:
    api = await ks.apis.create(admin, name="custody", prefix="cu")
    created = await ks.keys.create(admin, api_id=api.id, **fields)
    return created.key.id, created.plaintext


async def _owner_principal(ks: Keystead, admin: Principal, owner_id: str) -> Principal:
    created = await ks.root_keys.create(
        admin, name=f"{owner_id} automation", permissions=["keys.pickup"], owner_id=owner_id
    )
    return await ks.root_keys.authenticate(created.plaintext)


def db_values(settings: Settings, tables: tuple[str, ...]) -> list[tuple[str, Any]]:
    """Every value of these tables, read straight from the database."""
    out: list[tuple[str, Any]] = []
    url = settings.database_url
    if url.startswith("sqlite"):
        with sqlite3.connect(url.removeprefix("sqlite:///")) as db:
            for table in tables:
                for row in db.execute(f'SELECT * FROM "{table}"'):  # noqa: S608 - fixed names
                    out += [(table, value) for value in row]
        return out
    if url.startswith("mysql"):
        stored = mariadb_rows(url)
        return [(table, value) for table in tables for row in stored[table] for value in row]
    import psycopg

    with psycopg.connect(url) as db:
        for table in tables:
            for row in db.execute(f'SELECT * FROM "{table}"'):  # noqa: S608 - fixed names
                out += [(table, value) for value in row]
    return out


CUSTODY_TABLES = ("ks_pickups", "ks_outbox", "ks_incidents", "ks_key_actions", "ks_keys")


def assert_nowhere(settings: Settings, plaintext: str) -> None:
    body = plaintext.rsplit("_", 1)[-1]
    for table, value in db_values(settings, CUSTODY_TABLES):
        raw = bytes(value) if isinstance(value, bytes | memoryview) else str(value).encode()
        assert plaintext.encode() not in raw, table
        assert body.encode() not in raw, table


async def test_sealed_pickup_is_claimed_once_by_a_workspace_root_key(
    keystead: Keystead, admin: Principal, settings: Settings
) -> None:
    key_id, _ = await _key(keystead, admin)

    done = await keystead.actions.apply(admin, key_id, "rotate", CAUSE)
    pickup_id = done.record.result["pickup_id"]
    listed = (await keystead.pickups.list(admin)).items
    claimed = await keystead.pickups.claim(admin, pickup_id)

    assert [p.id for p in listed] == [pickup_id]
    assert listed[0].format == "sealed"
    assert claimed.jwe is None and claimed.key is not None
    assert claimed.key not in repr(claimed)
    verdict = await keystead.verify(claimed.key)
    assert (verdict.code, verdict.key.id if verdict.key else None) == (
        Code.VALID,
        done.record.result["new_key_id"],
    )
    with pytest.raises(Conflict):
        await keystead.pickups.claim(admin, pickup_id)
    stored = await keystead.store.get_pickup(admin.workspace_id, pickup_id)
    assert stored is not None and stored.ciphertext is None
    assert stored.claimed_by == admin.actor
    assert_nowhere(settings, claimed.key)


@pytest.mark.parametrize("curve", ["P-256", "P-384", "P-521", "X25519"])
async def test_jwe_pickup_opens_only_with_the_owners_private_key(
    keystead: Keystead, admin: Principal, settings: Settings, curve: str
) -> None:
    private = OKPKey.generate_key("X25519") if curve == "X25519" else ECKey.generate_key(curve)
    public = {**private.as_dict(private=False), "kid": "acme-2025"}
    await keystead.owners.set_public_key(admin, "acme", public)
    key_id, _ = await _key(keystead, admin, owner_id="acme")
    acme = await _owner_principal(keystead, admin, "acme")

    done = await keystead.actions.apply(admin, key_id, "emergency_rotate", CAUSE)
    events = await keystead.store.list_events(admin.workspace_id, after=None, limit=100)
    rotated = [e for e in events if e.type == "key.rotated"]
    claimed = await keystead.pickups.claim(acme, done.record.result["pickup_id"])

    assert claimed.key is None and claimed.jwe is not None
    assert rotated[-1].data["new_key_jwe"] == claimed.jwe
    opened = jwe.decrypt_compact(claimed.jwe, private)
    assert opened.protected["alg"] == "ECDH-ES+A256KW"
    assert opened.protected["enc"] == "A256GCM"
    assert opened.protected["kid"] == "acme-2025"
    plaintext = opened.plaintext.decode() if opened.plaintext else ""
    verdict = await keystead.verify(plaintext)
    assert verdict.code is Code.VALID
    assert verdict.key is not None and verdict.key.id == done.record.result["new_key_id"]
    assert_nowhere(settings, plaintext)


async def test_owner_scope_decides_who_claims(keystead: Keystead, admin: Principal) -> None:
    owned_id, _ = await _key(keystead, admin, owner_id="acme")
    api = (await keystead.apis.list(admin))[0]
    loose = await keystead.keys.create(admin, api_id=api.id)
    acme = await _owner_principal(keystead, admin, "acme")
    globex = await _owner_principal(keystead, admin, "globex")
    owned = (await keystead.actions.apply(admin, owned_id, "rotate", CAUSE)).record
    unowned = (await keystead.actions.apply(admin, loose.key.id, "rotate", CAUSE)).record
    owned_pickup, unowned_pickup = owned.result["pickup_id"], unowned.result["pickup_id"]

    assert [p.id for p in (await keystead.pickups.list(acme)).items] == [owned_pickup]
    assert (await keystead.pickups.list(globex)).items == []
    with pytest.raises(Forbidden):  # workspace-wide: not the owner's key to take
        await keystead.pickups.claim(admin, owned_pickup)
    with pytest.raises(NotFound):
        await keystead.pickups.claim(globex, owned_pickup)
    with pytest.raises(NotFound):  # an owner's root key sees no unowned pickup
        await keystead.pickups.claim(acme, unowned_pickup)
    assert (await keystead.pickups.claim(acme, owned_pickup)).key
    assert (await keystead.pickups.claim(admin, unowned_pickup)).key
    no_permission = await keystead.root_keys.create(
        admin, permissions=["keys.read"], owner_id="acme"
    )
    reader = await keystead.root_keys.authenticate(no_permission.plaintext)
    with pytest.raises(Forbidden):
        await keystead.pickups.list(reader)


async def test_concurrent_claims_exactly_one_wins(keystead: Keystead, admin: Principal) -> None:
    key_id, _ = await _key(keystead, admin)
    pickup_id = (await keystead.actions.apply(admin, key_id, "rotate", CAUSE)).record.result[
        "pickup_id"
    ]

    outcomes = await asyncio.gather(
        *(keystead.pickups.claim(admin, pickup_id) for _ in range(8)), return_exceptions=True
    )

    won = [o for o in outcomes if not isinstance(o, BaseException)]
    lost = [o for o in outcomes if isinstance(o, BaseException)]
    assert len(won) == 1 and won[0].key
    assert len(lost) == 7 and all(isinstance(o, Conflict) for o in lost), lost


async def test_expired_pickup_is_gone_and_purged(
    keystead: Keystead, admin: Principal, clock: ManualClock
) -> None:
    first, _ = await _key(keystead, admin)
    api = (await keystead.apis.list(admin))[0]
    second = (await keystead.keys.create(admin, api_id=api.id)).key.id
    a = (await keystead.actions.apply(admin, first, "emergency_rotate", CAUSE)).record
    b = (await keystead.actions.apply(admin, second, "emergency_rotate", CAUSE)).record
    held = await keystead.store.get_pickup(admin.workspace_id, a.result["pickup_id"])
    assert held is not None and held.ciphertext is not None

    clock.set(held.expires_at.timestamp() + 1)
    assert await keystead.pickups.purge_expired() == 2
    assert await keystead.pickups.purge_expired() == 0
    with pytest.raises(Gone) as gone:
        await keystead.pickups.claim(admin, a.result["pickup_id"])
    assert gone.value.status == 410
    for pickup_id in (a.result["pickup_id"], b.result["pickup_id"]):
        stored = await keystead.store.get_pickup(admin.workspace_id, pickup_id)
        assert stored is not None and stored.ciphertext is None and stored.claimed_at is None


async def test_an_expired_pickup_is_erased_by_the_claim_itself(
    keystead: Keystead, admin: Principal, clock: ManualClock
) -> None:
    key_id, _ = await _key(keystead, admin)
    pickup_id = (await keystead.actions.apply(admin, key_id, "rotate", CAUSE)).record.result[
        "pickup_id"
    ]
    held = await keystead.store.get_pickup(admin.workspace_id, pickup_id)
    assert held is not None
    clock.set(held.expires_at.timestamp())

    with pytest.raises(Gone):
        await keystead.pickups.claim(admin, pickup_id)
    stored = await keystead.store.get_pickup(admin.workspace_id, pickup_id)
    assert stored is not None and stored.ciphertext is None


async def test_unknown_or_foreign_pickups_are_not_found(
    keystead: Keystead, admin: Principal
) -> None:
    key_id, _ = await _key(keystead, admin)
    pickup_id = (await keystead.actions.apply(admin, key_id, "rotate", CAUSE)).record.result[
        "pickup_id"
    ]
    other = await keystead.workspaces.create("other")
    stranger = await keystead.root_keys.authenticate(other.root_key.plaintext)

    for who, ident in ((stranger, pickup_id), (admin, "pck_0000000000AAAAAAAAAAAAAAAA")):
        with pytest.raises(NotFound):
            await keystead.pickups.claim(who, ident)
    for bad in ("nope", "key_0000000000AAAAAAAAAAAAAAAA"):
        with pytest.raises(NotFound):
            await keystead.pickups.claim(admin, bad)
    assert (await keystead.pickups.list(stranger)).items == []
    with pytest.raises(ValidationError):
        await keystead.pickups.list(admin, cursor="garbage")


async def test_a_moved_sealed_ciphertext_does_not_open(
    keystead: Keystead, admin: Principal
) -> None:
    key_id, _ = await _key(keystead, admin)
    pickup_id = (await keystead.actions.apply(admin, key_id, "rotate", CAUSE)).record.result[
        "pickup_id"
    ]
    held = await keystead.store.get_pickup(admin.workspace_id, pickup_id)
    assert held is not None and held.ciphertext is not None

    workspace_id = admin.workspace_id
    assert keystead.custody.open_sealed(workspace_id, pickup_id, held.ciphertext).startswith("cu_")
    with pytest.raises(ValueError, match="does not open"):
        keystead.custody.open_sealed(
            workspace_id, "pck_0000000000AAAAAAAAAAAAAAAA", held.ciphertext
        )
    assert "sealing" in repr(keystead.custody) and held.ciphertext.hex() not in repr(held)


@pytest.mark.parametrize(
    ("jwk", "field"),
    [
        ("not a key", "jwk"),
        ({"kty": "RSA", "n": "x", "e": "AQAB"}, "jwk.kty"),
        ({"kty": "oct", "k": "c2VjcmV0"}, "jwk.k"),
        ({"kty": "OKP", "crv": "Ed25519", "x": ED25519_X}, "jwk.crv"),
        ({"kty": "EC", "crv": "secp256k1", "x": "a", "y": "b"}, "jwk.crv"),
        ({"kty": "EC", "crv": "P-256", "x": "AAAA"}, "jwk.y"),
        ({"kty": "EC", "crv": "P-256", "x": "AAAA", "y": "AAAA"}, "jwk.x"),
        ({"kty": "OKP", "crv": "X25519", "x": "A" * 43}, "jwk.x"),  # a low-order point
        ({"kty": "EC", "crv": "P-256", "x": 1, "y": 2}, "jwk.x"),
        ({"kty": "EC", "crv": "P-256", "x": "a", "y": "b", "x5c": []}, "jwk.x5c"),
    ],
)  # fmt: skip
async def test_public_key_validation(
    keystead: Keystead, admin: Principal, jwk: Any, field: str
) -> None:
    with pytest.raises(ValidationError) as refused:
        await keystead.owners.set_public_key(admin, "acme", jwk)
    assert refused.value.field == field


async def test_private_keys_and_wrong_usage_are_refused(
    keystead: Keystead, admin: Principal
) -> None:
    private = ECKey.generate_key("P-256")
    public = private.as_dict(private=False)
    for jwk, field in (
        (private.as_dict(private=True), "jwk.d"),
        ({**public, "use": "sig"}, "jwk.use"),
        ({**public, "alg": "ES256"}, "jwk.alg"),
        ({**public, "key_ops": ["verify"]}, "jwk.key_ops"),
    ):
        with pytest.raises(ValidationError) as refused:
            await keystead.owners.set_public_key(admin, "acme", jwk)
        assert refused.value.field == field
    assert await keystead.store.get_owner(admin.workspace_id, "acme") is None


async def test_public_key_keeps_limits_and_limits_keep_the_key(
    keystead: Keystead, admin: Principal
) -> None:
    jwk = ECKey.generate_key("P-256").as_dict(private=False)
    rate = [{"name": "rps", "limit": 5, "duration_s": 1}]
    await keystead.owners.put(admin, "acme", ratelimits=rate)

    with_key = await keystead.owners.set_public_key(admin, "acme", {**jwk, "use": "enc"})
    relimited = await keystead.owners.put(admin, "acme", ratelimits=[])
    fresh = await keystead.owners.set_public_key(admin, "newco", jwk)
    removed = await keystead.owners.remove_public_key(admin, "acme")

    assert with_key.limits["ratelimits"][0]["limit"] == 5
    assert with_key.public_jwk == jwk  # canonical: "use" checked, then dropped
    assert relimited.public_jwk == jwk
    assert (fresh.limits, fresh.public_jwk) == ({}, jwk)
    assert removed.public_jwk is None and removed.limits == relimited.limits
    with pytest.raises(NotFound):
        await keystead.owners.remove_public_key(admin, "nobody")
