"""Event-triggered actions: each one's effect on verification, its record with
the cause, and the cause carried by the key events it writes."""

from __future__ import annotations

from typing import Any

import pytest

from keystead.core.authz import ROOT_PERMISSIONS, Principal
from keystead.core.clock import ManualClock
from keystead.core.models import Code
from keystead.errors import Conflict, Forbidden, NotFound, ValidationError
from keystead.service import Keystead

CAUSE = {"source": "leak_report", "reason": "posted in a public gist", "reference": "LR-7"}


async def _key(ks: Keystead, admin: Principal, **fields: Any) -> tuple[str, str]:
    api = await ks.apis.create(admin, name="acting", prefix="ac")
    created = await ks.keys.create(admin, api_id=api.id, **fields)
    return created.key.id, created.plaintext


async def _events(ks: Keystead, admin: Principal, type_: str) -> list[dict[str, Any]]:
    found = await ks.store.list_events(admin.workspace_id, after=None, limit=1000)
    return [e.data for e in found if e.type == type_]


async def test_disable_is_recorded_with_its_cause(
    keystead: Keystead, admin: Principal, clock: ManualClock
) -> None:
    key_id, plaintext = await _key(keystead, admin)

    done = await keystead.actions.apply(admin, key_id, "disable", CAUSE)
    clock.advance(1)  # ids are time-ordered to the millisecond
    again = await keystead.actions.apply(admin, key_id, "disable", CAUSE)

    assert (await keystead.verify(plaintext)).code is Code.DISABLED
    assert done.record.id.startswith("act_")
    assert done.record.cause == CAUSE
    assert done.record.actor == admin.actor
    assert done.record.result == {"changed": True, "state": "disabled"}
    assert again.record.result == {"changed": False, "state": "disabled"}
    disabled = await _events(keystead, admin, "key.disabled")
    assert len(disabled) == 1  # the second call changed nothing and said nothing
    assert disabled[0]["cause"] == {**CAUSE, "action_id": done.record.id}
    listed = (await keystead.actions.list(admin, key_id)).items
    assert [a.id for a in listed] == [done.record.id, again.record.id]


async def test_revoke_is_final_and_recorded(keystead: Keystead, admin: Principal) -> None:
    key_id, plaintext = await _key(keystead, admin)

    done = await keystead.actions.apply(admin, key_id, "revoke", CAUSE)

    assert (await keystead.verify(plaintext)).code is Code.REVOKED
    assert done.record.result == {"changed": True, "state": "revoked"}
    revoked = await _events(keystead, admin, "key.revoked")
    assert revoked[0]["cause"]["reference"] == "LR-7"
    with pytest.raises(Conflict):  # a revoked key is not rotated
        await keystead.actions.apply(admin, key_id, "rotate", CAUSE)
    refused = (await keystead.actions.list(admin, key_id)).items
    assert [a.result.get("error") for a in refused if a.action == "rotate"] == ["conflict"]


async def test_emergency_rotate_kills_the_old_key_and_holds_the_new(
    keystead: Keystead, admin: Principal
) -> None:
    key_id, plaintext = await _key(keystead, admin)

    done = await keystead.actions.apply(admin, key_id, "emergency_rotate", CAUSE)
    claimed = await keystead.pickups.claim(admin, done.record.result["pickup_id"])

    old = await keystead.verify(plaintext)
    assert old.code is Code.EXPIRED
    assert done.key.rotated_to == done.record.result["new_key_id"]
    assert claimed.key is not None
    new = await keystead.verify(claimed.key)
    assert new.code is Code.VALID
    assert new.key is not None and new.key.rotated_from == key_id
    rotated = await _events(keystead, admin, "key.rotated")
    assert rotated[0]["cause"] == {**CAUSE, "action_id": done.record.id}
    assert rotated[0]["emergency"] is True
    assert "new_key_jwe" not in rotated[0]  # no public key: the event names the pickup only
    assert rotated[0]["pickup_id"] == done.record.result["pickup_id"]


async def test_rotate_keeps_the_old_key_through_its_grace(
    keystead: Keystead, admin: Principal, clock: ManualClock
) -> None:
    key_id, plaintext = await _key(keystead, admin)

    done = await keystead.actions.apply(admin, key_id, "rotate", CAUSE, grace_period_s=60)

    assert (await keystead.verify(plaintext)).code is Code.VALID
    clock.advance(61)
    assert (await keystead.verify(plaintext)).code is Code.EXPIRED
    assert done.record.result["new_key_id"].startswith("key_")
    assert done.record.result["pickup_format"] == "sealed"


async def test_each_action_needs_its_permission(keystead: Keystead, admin: Principal) -> None:
    key_id, plaintext = await _key(keystead, admin)
    needs = {
        "disable": "keys.update",
        "rotate": "keys.rotate",
        "emergency_rotate": "keys.rotate",
        "revoke": "keys.revoke",
    }
    for action, permission in needs.items():
        lacking = await keystead.root_keys.create(
            admin, permissions=[p for p in ROOT_PERMISSIONS if p != permission]
        )
        who = await keystead.root_keys.authenticate(lacking.plaintext)
        with pytest.raises(Forbidden, match=permission):
            await keystead.actions.apply(who, key_id, action, CAUSE)
    assert (await keystead.verify(plaintext)).code is Code.VALID
    assert (await keystead.actions.list(admin, key_id)).items == []


@pytest.mark.parametrize(
    ("action", "cause", "extra", "field"),
    [
        ("explode", CAUSE, {}, "action"),
        ("disable", "because", {}, "cause"),
        ("disable", {"reason": "x"}, {}, "cause.source"),
        ("disable", {"source": "has space", "reason": "x"}, {}, "cause.source"),
        ("disable", {"source": "alert"}, {}, "cause.reason"),
        ("disable", {"source": "alert", "reason": "x" * 1001}, {}, "cause.reason"),
        ("disable", {"source": "alert", "reason": "x", "who": "me"}, {}, "cause.who"),
        ("disable", CAUSE, {"grace_period_s": 5}, "grace_period_s"),
        ("rotate", CAUSE, {"grace_period_s": -1}, "grace_period_s"),
    ],
)
async def test_bad_actions_are_refused_before_anything_changes(
    keystead: Keystead,
    admin: Principal,
    action: str,
    cause: Any,
    extra: dict[str, Any],
    field: str,
) -> None:
    key_id, plaintext = await _key(keystead, admin)

    with pytest.raises(ValidationError) as refused:
        await keystead.actions.apply(admin, key_id, action, cause, **extra)

    assert refused.value.field == field
    assert (await keystead.verify(plaintext)).code is Code.VALID
    assert (await keystead.actions.list(admin, key_id)).items == []


async def test_unseen_keys_are_not_found(keystead: Keystead, admin: Principal) -> None:
    key_id, _ = await _key(keystead, admin, owner_id="acme")
    narrowed = await keystead.root_keys.create(admin, owner_id="globex")
    globex = await keystead.root_keys.authenticate(narrowed.plaintext)

    with pytest.raises(NotFound):
        await keystead.actions.apply(globex, key_id, "revoke", CAUSE)
    with pytest.raises(NotFound):
        await keystead.actions.list(globex, key_id)
    with pytest.raises(NotFound):
        await keystead.actions.apply(admin, "key_0000000000AAAAAAAAAAAAAAAA", "revoke", CAUSE)


async def test_action_history_pages(
    keystead: Keystead, admin: Principal, clock: ManualClock
) -> None:
    key_id, _ = await _key(keystead, admin)
    for _ in range(3):
        await keystead.actions.apply(admin, key_id, "disable", CAUSE)
        clock.advance(1)

    first = await keystead.actions.list(admin, key_id, limit=2)
    rest = await keystead.actions.list(admin, key_id, cursor=first.next_cursor, limit=2)

    assert len(first.items) == 2 and first.next_cursor == first.items[-1].id
    assert len(rest.items) == 1 and rest.next_cursor is None
