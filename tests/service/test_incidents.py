"""The compromise procedure: revoke now, replace (shown once), notify in the
same transaction as the incident, and an incident holding the evidence."""

from __future__ import annotations

from typing import Any

import pytest

from keystead.core.authz import ROOT_PERMISSIONS, Principal
from keystead.core.clock import ManualClock
from keystead.core.models import Code
from keystead.errors import Conflict, Forbidden, NotFound, ValidationError
from keystead.service import Keystead

CAUSE = {"source": "alert", "reason": "odd traffic"}


async def _key(ks: Keystead, admin: Principal, **fields: Any) -> tuple[str, str]:
    api = await ks.apis.create(admin, name="incidents", prefix="in")
    created = await ks.keys.create(admin, api_id=api.id, **fields)
    return created.key.id, created.plaintext


async def _compromised_events(ks: Keystead, admin: Principal) -> list[dict[str, Any]]:
    found = await ks.store.list_events(admin.workspace_id, after=None, limit=1000)
    return [e.data for e in found if e.type == "key.compromised"]


async def test_compromise_revokes_replaces_notifies_and_opens_an_incident(
    keystead: Keystead, admin: Principal, clock: ManualClock
) -> None:
    key_id, plaintext = await _key(
        keystead,
        admin,
        owner_id="acme",
        ratelimits=[{"name": "rps", "limit": 10, "duration_s": 60}],
        quota={"limit": 100, "period": "month"},
        credits={"remaining": 50},
    )
    for _ in range(3):
        assert (await keystead.verify(plaintext)).code is Code.VALID
    await keystead.actions.apply(admin, key_id, "disable", CAUSE)
    clock.advance(1)  # ids are time-ordered to the millisecond

    done = await keystead.incidents.compromise(
        admin, key_id, replace=True, reason="pasted in a ticket"
    )

    assert (await keystead.verify(plaintext)).code is Code.REVOKED
    assert done.replacement is not None and not done.already_revoked and done.notified
    assert done.replacement.plaintext not in repr(done)
    fresh = await keystead.verify(done.replacement.plaintext)
    assert fresh.code is Code.DISABLED  # the successor inherits the key's state
    incident = done.incident
    assert incident.id.startswith("inc_") and incident.status == "open"
    assert incident.replacement_key_id == done.replacement.key.id
    assert incident.cause == {
        "source": "compromise",
        "reason": "pasted in a ticket",
        "reference": incident.id,
    }
    evidence = incident.evidence
    assert evidence["key"]["key_id"] == key_id and evidence["key"]["owner_id"] == "acme"
    assert evidence["key"]["rotated_to"] == done.replacement.key.id
    assert [link["key_id"] for link in evidence["chain"]] == [key_id, done.replacement.key.id]
    assert evidence["counters"]["ratelimits"] == [{"name": "rps", "limit": 10, "remaining": 7}]
    assert evidence["counters"]["quota"] == {"used": 3, "limit": 100}
    assert evidence["counters"]["credits_remaining"] == 47
    assert [a["action"] for a in evidence["actions"]] == ["disable"]
    assert evidence["usage"] == [] and "monitoring" in evidence["usage_note"]
    notices = await _compromised_events(keystead, admin)
    assert len(notices) == 1
    assert notices[0]["incident_id"] == incident.id
    assert notices[0]["replacement_key_id"] == done.replacement.key.id
    assert notices[0]["reason"] == "pasted in a ticket"
    assert notices[0]["key_id"] == key_id and plaintext.startswith(notices[0]["start"])
    recorded = (await keystead.actions.list(admin, key_id)).items
    assert [a.action for a in recorded] == ["disable", "compromise"]
    assert recorded[-1].result["incident_id"] == incident.id


async def test_compromise_without_replacement_or_notice(
    keystead: Keystead, admin: Principal
) -> None:
    key_id, plaintext = await _key(keystead, admin)
    await keystead.keys.revoke(admin, key_id)

    done = await keystead.incidents.compromise(admin, key_id, notify=False)

    assert done.already_revoked and done.replacement is None and not done.notified
    assert await _compromised_events(keystead, admin) == []
    assert done.incident.replacement_key_id is None
    assert (await keystead.verify(plaintext)).code is Code.REVOKED


async def test_compromise_checks_every_permission_first(
    keystead: Keystead, admin: Principal
) -> None:
    key_id, plaintext = await _key(keystead, admin)
    for missing, replace in (
        ("keys.revoke", False),
        ("incidents.write", False),
        ("keys.create", True),
        ("keys.rotate", True),
    ):
        lacking = await keystead.root_keys.create(
            admin, permissions=[p for p in ROOT_PERMISSIONS if p != missing]
        )
        who = await keystead.root_keys.authenticate(lacking.plaintext)
        with pytest.raises(Forbidden, match=missing):
            await keystead.incidents.compromise(who, key_id, replace=replace)
    assert (await keystead.verify(plaintext)).code is Code.VALID
    assert (await keystead.incidents.list(admin)).items == []


async def test_replacing_a_key_rotated_already_is_refused_before_revoking(
    keystead: Keystead, admin: Principal
) -> None:
    key_id, plaintext = await _key(keystead, admin)
    await keystead.actions.apply(admin, key_id, "rotate", CAUSE)

    with pytest.raises(Conflict):
        await keystead.incidents.compromise(admin, key_id, replace=True)

    assert (await keystead.verify(plaintext)).code is Code.VALID


async def test_incidents_list_filter_update(
    keystead: Keystead, admin: Principal, clock: ManualClock
) -> None:
    first, _ = await _key(keystead, admin)
    api = (await keystead.apis.list(admin))[0]
    second = (await keystead.keys.create(admin, api_id=api.id)).key.id
    a = (await keystead.incidents.compromise(admin, first)).incident
    clock.advance(1)
    b = (await keystead.incidents.compromise(admin, second, reason="leak")).incident

    updated = await keystead.incidents.update(
        admin, a.id, {"status": "investigating", "notes": "rotating the callers"}
    )
    cleared = await keystead.incidents.update(admin, a.id, {"notes": None})

    assert (updated.status, updated.notes) == ("investigating", "rotating the callers")
    assert (cleared.status, cleared.notes) == ("investigating", None)
    assert [i.id for i in (await keystead.incidents.list(admin)).items] == [a.id, b.id]
    opened = await keystead.incidents.list(admin, status="open")
    assert [i.id for i in opened.items] == [b.id]
    by_key = await keystead.incidents.list(admin, key_id=first)
    assert [i.id for i in by_key.items] == [a.id]
    page = await keystead.incidents.list(admin, limit=1)
    assert page.next_cursor == a.id
    rest = await keystead.incidents.list(admin, cursor=page.next_cursor)
    assert [i.id for i in rest.items] == [b.id]
    assert (await keystead.incidents.get(admin, b.id)).cause["reason"] == "leak"


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"status": "closed"}, "status"),
        ({"status": None}, "status"),
        ({"notes": ""}, "notes"),
        ({"severity": "high"}, "severity"),
    ],
)
async def test_bad_incident_updates(
    keystead: Keystead, admin: Principal, changes: dict[str, Any], field: str
) -> None:
    key_id, _ = await _key(keystead, admin)
    incident = (await keystead.incidents.compromise(admin, key_id)).incident

    with pytest.raises(ValidationError) as refused:
        await keystead.incidents.update(admin, incident.id, changes)

    assert refused.value.field == field


async def test_incidents_are_scoped(keystead: Keystead, admin: Principal) -> None:
    key_id, _ = await _key(keystead, admin, owner_id="acme")
    incident = (await keystead.incidents.compromise(admin, key_id)).incident
    other = await keystead.workspaces.create("other")
    stranger = await keystead.root_keys.authenticate(other.root_key.plaintext)
    globex_key = await keystead.root_keys.create(admin, owner_id="globex")
    globex = await keystead.root_keys.authenticate(globex_key.plaintext)
    acme_key = await keystead.root_keys.create(admin, owner_id="acme")
    acme = await keystead.root_keys.authenticate(acme_key.plaintext)

    for who in (stranger, globex):
        with pytest.raises(NotFound):
            await keystead.incidents.get(who, incident.id)
        assert (await keystead.incidents.list(who)).items == []
    assert (await keystead.incidents.get(acme, incident.id)).id == incident.id
    with pytest.raises(ValidationError):
        await keystead.incidents.list(admin, status="closed")
    with pytest.raises(NotFound):
        await keystead.incidents.get(admin, "inc_0000000000AAAAAAAAAAAAAAAA")
