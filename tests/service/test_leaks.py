"""Leak reports: one path per token through the compromise procedure, idempotent,
never across workspaces, and as the workspace's or the API's policy says."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from typing import Any

import pytest

from keystead.core import keyformat
from keystead.core.authz import ROOT_PERMISSIONS, Principal
from keystead.core.clock import ManualClock
from keystead.core.models import Code
from keystead.errors import Forbidden, ValidationError
from keystead.service import Keystead
from keystead.service.leaks import LeakReport

URL = "https://github.com/acme/app/blob/0123abc/config.py"
EXPOSED = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)


async def _key(ks: Keystead, admin: Principal, name: str = "leaky") -> tuple[str, str, str]:
    api = await ks.apis.create(admin, name=name, prefix="lk")
    created = await ks.keys.create(admin, api_id=api.id, owner_id="acme")
    return api.id, created.key.id, created.plaintext


async def _reporter(ks: Keystead, admin: Principal) -> Principal:
    created = await ks.root_keys.create(admin, name="scanner", permissions=["leaks.report"])
    return await ks.root_keys.authenticate(created.plaintext)


async def _events(ks: Keystead, admin: Principal, kind: str) -> list[dict[str, Any]]:
    found = await ks.store.list_events(admin.workspace_id, after=None, limit=1000)
    return [e.data for e in found if e.type == kind]


def _report(token: str, **fields: Any) -> LeakReport:
    return LeakReport(token=token, source="scanner", url=URL, exposed_at=EXPOSED, **fields)


async def test_a_live_key_is_revoked_by_the_compromise_procedure(
    keystead: Keystead, admin: Principal
) -> None:
    _, key_id, plaintext = await _key(keystead, admin)
    reporter = await _reporter(keystead, admin)

    [answer] = await keystead.leaks.report(reporter, [_report(plaintext, token_type="keystead")])

    assert (answer.status, answer.outcome, answer.key_id) == ("live", "revoked", key_id)
    assert answer.token_hash == hashlib.sha256(plaintext.encode()).hexdigest()
    assert (await keystead.verify(plaintext)).code is Code.REVOKED
    incident = await keystead.incidents.get(admin, str(answer.incident_id))
    assert incident.cause["source"] == "leak:scanner" and incident.cause["reference"] == URL
    leak = incident.evidence["leak"]
    assert (leak["url"], leak["type"], leak["exposed_at"]) == (URL, "keystead", EXPOSED.isoformat())
    assert leak["token_hash"] == answer.token_hash
    [notice] = await _events(keystead, admin, "key.compromised")
    assert notice["incident_id"] == incident.id and notice["cause"]["leak"]["url"] == URL
    record = await keystead.leaks.leak_of(admin.workspace_id, key_id)
    assert record is not None and record.outcome == "revoked"
    assert record.exposed_at == EXPOSED and record.incident_id == incident.id
    stored = repr(record) + repr(incident) + repr(await keystead.leaks.list(admin))
    assert plaintext not in stored and plaintext not in repr(answer)
    assert keystead.leaks.counts["scanner", "revoked"] == 1


async def test_a_second_report_answers_the_same_and_does_nothing_again(
    keystead: Keystead, admin: Principal, clock: ManualClock
) -> None:
    _, _, plaintext = await _key(keystead, admin)
    reporter = await _reporter(keystead, admin)
    [first] = await keystead.leaks.report(reporter, [_report(plaintext)])
    clock.advance(5)

    [second, third] = await keystead.leaks.report(reporter, [_report(plaintext)] * 2)

    for again in (second, third):
        assert (again.status, again.outcome) == (first.status, first.outcome)
        assert (again.incident_id, again.leak_id) == (first.incident_id, first.leak_id)
        assert again.repeated
    assert len((await keystead.incidents.list(admin)).items) == 1
    assert len(await _events(keystead, admin, "key.compromised")) == 1
    assert len(await _events(keystead, admin, "key.revoked")) == 1
    assert len((await keystead.leaks.list(admin)).items) == 1


async def test_garbage_unknown_and_revoked_tokens(keystead: Keystead, admin: Principal) -> None:
    _, key_id, plaintext = await _key(keystead, admin)
    await keystead.keys.revoke(admin, key_id)
    reporter = await _reporter(keystead, admin)
    broken = plaintext[:-1] + ("A" if plaintext[-1] != "A" else "B")
    stranger = keyformat.generate("lk")

    answers = await keystead.leaks.report(
        reporter, [_report("not a key"), _report(broken), _report(stranger), _report(plaintext)]
    )

    assert [(a.status, a.outcome) for a in answers] == [
        ("unknown", "unknown"),
        ("unknown", "unknown"),
        ("unknown", "unknown"),
        ("already_revoked", "already_revoked"),
    ]
    assert [a.key_id for a in answers] == [None, None, None, key_id]
    assert answers[3].incident_id is None
    assert (await keystead.incidents.list(admin)).items == []
    assert await _events(keystead, admin, "key.compromised") == []


async def test_a_key_of_another_workspace_is_never_touched(
    keystead: Keystead, admin: Principal
) -> None:
    other = await keystead.workspaces.create("other")
    theirs = await keystead.root_keys.authenticate(other.root_key.plaintext)
    _, their_key, their_plaintext = await _key(keystead, theirs)
    reporter = await _reporter(keystead, admin)

    [answer] = await keystead.leaks.report(reporter, [_report(their_plaintext)])

    assert (answer.status, answer.outcome, answer.key_id) == ("unknown", "unknown", None)
    assert (await keystead.verify(their_plaintext)).code is Code.VALID
    assert await keystead.leaks.leak_of(other.workspace.id, their_key) is None
    assert (await keystead.incidents.list(theirs)).items == []


async def test_a_narrowed_reporter_sees_only_its_apis(keystead: Keystead, admin: Principal) -> None:
    mine, _, _ = await _key(keystead, admin, "mine")
    _, _, elsewhere = await _key(keystead, admin, "elsewhere")
    created = await keystead.root_keys.create(admin, permissions=["leaks.report"], api_ids=[mine])
    narrowed = await keystead.root_keys.authenticate(created.plaintext)

    [answer] = await keystead.leaks.report(narrowed, [_report(elsewhere)])

    assert answer.status == "unknown"
    assert (await keystead.verify(elsewhere)).code is Code.VALID


async def test_reporting_needs_leaks_report(keystead: Keystead, admin: Principal) -> None:
    _, _, plaintext = await _key(keystead, admin)
    created = await keystead.root_keys.create(
        admin, permissions=[p for p in ROOT_PERMISSIONS if p != "leaks.report"]
    )
    lacking = await keystead.root_keys.authenticate(created.plaintext)

    with pytest.raises(Forbidden, match=r"leaks\.report"):
        await keystead.leaks.report(lacking, [_report(plaintext)])
    assert (await keystead.verify(plaintext)).code is Code.VALID


async def test_the_rotate_policy_of_an_api_wins_over_the_workspace_notify(
    keystead: Keystead, admin: Principal, clock: ManualClock
) -> None:
    api_id, key_id, plaintext = await _key(keystead, admin)
    _, other_key, other_plaintext = await _key(keystead, admin, "notified")
    await keystead.leaks.policies.set(admin, action="notify")
    view = await keystead.leaks.policies.set(
        admin, api_id=api_id, action="rotate", grace_period_s=3600
    )
    assert view.effective.action == "rotate" and view.workspace is not None
    reporter = await _reporter(keystead, admin)

    rotated, notified = await keystead.leaks.report(
        reporter, [_report(plaintext), _report(other_plaintext)]
    )

    assert (rotated.status, rotated.outcome) == ("live", "rotated")
    assert (await keystead.verify(plaintext)).code is Code.VALID  # the grace period
    key = await keystead.keys.get(admin, key_id)
    assert key.rotated_to is not None and key.expires_at is not None
    assert key.expires_at == datetime.fromtimestamp(clock.now() + 3600, UTC)
    incident = await keystead.incidents.get(admin, str(rotated.incident_id))
    assert incident.replacement_key_id == key.rotated_to
    assert [p.key_id for p in (await keystead.pickups.list(admin)).items] == [key.rotated_to]
    assert (notified.status, notified.outcome) == ("live", "notified")
    assert (await keystead.verify(other_plaintext)).code is Code.VALID
    assert (await keystead.keys.get(admin, other_key)).rotated_to is None
    assert len(await _events(keystead, admin, "key.compromised")) == 2


async def test_revoke_with_replace_holds_the_successor_for_the_owner(
    keystead: Keystead, admin: Principal
) -> None:
    _, key_id, plaintext = await _key(keystead, admin)
    await keystead.leaks.policies.set(admin, action="revoke", replace=True, notify=False)
    reporter = await _reporter(keystead, admin)

    [answer] = await keystead.leaks.report(reporter, [_report(plaintext)])

    assert (answer.status, answer.outcome) == ("live", "revoked")
    assert (await keystead.verify(plaintext)).code is Code.REVOKED
    key = await keystead.keys.get(admin, key_id)
    assert [p.key_id for p in (await keystead.pickups.list(admin)).items] == [key.rotated_to]
    assert await _events(keystead, admin, "key.compromised") == []


async def test_policies_are_checked(keystead: Keystead, admin: Principal) -> None:
    with pytest.raises(ValidationError, match="action"):
        await keystead.leaks.policies.set(admin, action="explode")
    with pytest.raises(ValidationError, match="grace_period_s"):
        await keystead.leaks.policies.set(admin, action="revoke", grace_period_s=5)
    with pytest.raises(ValidationError, match="replace"):
        await keystead.leaks.policies.set(admin, action="notify", replace=True)
    view = await keystead.leaks.policies.get(admin)
    assert (view.workspace, view.effective.action) == (None, "revoke")


async def test_the_exposure_hook_adds_to_the_evidence(keystead: Keystead, admin: Principal) -> None:
    _, key_id, plaintext = await _key(keystead, admin)
    seen: list[tuple[str, str]] = []

    async def exposure(key: Any, leak: Any) -> dict[str, Any]:
        seen.append((key.id, leak.id))
        return {"label": "no sign of abuse"}

    keystead.leaks.exposure = exposure
    [answer] = await keystead.leaks.report(await _reporter(keystead, admin), [_report(plaintext)])

    incident = await keystead.incidents.get(admin, str(answer.incident_id))
    assert incident.evidence["exposure"] == {"label": "no sign of abuse"}
    assert seen == [(key_id, answer.leak_id)]
