"""The incident a leak opens carries the exposure analysis, and analysing it
again later (``reassess``) sees the uses made since."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from alert_support import add_usage, key_with_api

from keystead.core.authz import Principal
from keystead.core.clock import ManualClock
from keystead.errors import Forbidden, ValidationError
from keystead.service import Keystead
from keystead.service.leaks import LeakReport

HOUR = 3600.0
USUAL = {"ip": "203.0.113.7", "country": "FR", "user_agent": "billing/2.1"}


def _dt(at: float) -> datetime:
    return datetime.fromtimestamp(at, UTC)


async def _history(ks: Keystead, admin: Principal, key_id: str, leak: float) -> None:
    for hour in range(1, 25):
        await add_usage(ks, admin, leak - hour * HOUR, 2, key_id=key_id, **USUAL)


async def _report(ks: Keystead, admin: Principal, plaintext: str, exposed_at: float) -> str:
    report = LeakReport(token=plaintext, source="scanner", exposed_at=_dt(exposed_at))
    [answer] = await ks.leaks.report(admin, [report])
    assert answer.incident_id is not None
    return answer.incident_id


async def test_the_leak_s_incident_is_labelled_abused_with_its_evidence(
    keystead: Keystead, admin: Principal, clock: ManualClock
) -> None:
    key_id, plaintext = await key_with_api(keystead, admin)
    leak = clock.now() - 2 * HOUR
    await _history(keystead, admin, key_id, leak)
    await add_usage(keystead, admin, leak + 600, 3, key_id=key_id, **{**USUAL, "country": "KP"})
    await keystead.flush()

    incident_id = await _report(keystead, admin, plaintext, leak)

    incident = await keystead.incidents.get(admin, incident_id)
    exposure: dict[str, Any] = incident.evidence["exposure"]
    assert (exposure["label"], exposure["reasons"]) == ("abused", ["new_country"])
    assert exposure["leaked_at"] == _dt(leak).isoformat()
    assert exposure["until"] == _dt(clock.now()).isoformat()  # revoked now
    assert exposure["after"]["requests"] == 3
    assert exposure["before"]["requests"] == 48
    assert exposure["new"]["countries"]["values"][0]["value"] == "KP"
    assert plaintext not in str(incident.evidence)


async def test_a_leaked_key_nobody_used_is_no_sign_of_abuse(
    keystead: Keystead, admin: Principal, clock: ManualClock
) -> None:
    key_id, plaintext = await key_with_api(keystead, admin)
    leak = clock.now() - HOUR
    await _history(keystead, admin, key_id, leak)
    await keystead.flush()

    incident_id = await _report(keystead, admin, plaintext, leak)

    exposure = (await keystead.incidents.get(admin, incident_id)).evidence["exposure"]
    assert (exposure["label"], exposure["after"]["requests"]) == ("no sign of abuse", 0)


async def test_reassessing_a_live_key_sees_the_uses_made_since(
    keystead: Keystead, admin: Principal, clock: ManualClock
) -> None:
    await keystead.leaks.policies.set(admin, action="notify")  # the key keeps working
    key_id, plaintext = await key_with_api(keystead, admin)
    leak = clock.now() - HOUR
    await _history(keystead, admin, key_id, leak)
    await keystead.flush()
    incident_id = await _report(keystead, admin, plaintext, leak)
    clock.advance(HOUR)
    await add_usage(
        keystead, admin, clock.now() - 60, 1, key_id=key_id, **{**USUAL, "user_agent": "curl/8"}
    )
    await keystead.flush()

    incident = await keystead.exposure.reassess(admin, incident_id)

    exposure = incident.evidence["exposure"]
    assert (exposure["label"], exposure["reasons"]) == ("abused", ["new_user_agent"])
    assert exposure["until"] == _dt(clock.now()).isoformat()
    assert "leak" in incident.evidence  # the rest of the evidence stays
    stored = await keystead.incidents.get(admin, incident_id)
    assert stored.evidence["exposure"]["label"] == "abused"
    assert stored.updated_at == _dt(clock.now())


async def test_a_compromise_without_a_leak_needs_the_leak_time(
    keystead: Keystead, admin: Principal, clock: ManualClock
) -> None:
    key_id, _ = await key_with_api(keystead, admin)
    await add_usage(keystead, admin, clock.now() - 60, 1, key_id=key_id, **USUAL)
    await keystead.flush()
    done = await keystead.incidents.compromise(admin, key_id, reason="pasted in chat")

    with pytest.raises(ValidationError, match="name leaked_at"):
        await keystead.exposure.reassess(admin, done.incident.id)
    found = await keystead.exposure.reassess(
        admin, done.incident.id, leaked_at="2025-06-15T14:00:00Z"
    )

    exposure = found.evidence["exposure"]
    assert (exposure["label"], exposure["reasons"]) == ("abused", ["no_history"])
    assert exposure["until"] == _dt(clock.now()).isoformat()  # when it was revoked
    again = await keystead.exposure.reassess(admin, done.incident.id)  # the time is kept
    assert again.evidence["exposure"]["leaked_at"] == "2025-06-15T14:00:00+00:00"


async def test_reassessing_needs_incidents_write(
    keystead: Keystead, admin: Principal, clock: ManualClock
) -> None:
    _, plaintext = await key_with_api(keystead, admin)
    incident_id = await _report(keystead, admin, plaintext, clock.now() - HOUR)
    reader = await keystead.root_keys.create(admin, name="reader", permissions=["incidents.read"])
    principal = await keystead.root_keys.authenticate(reader.plaintext)

    with pytest.raises(Forbidden):
        await keystead.exposure.reassess(principal, incident_id)
