"""The exposure analysis over usage written by the real usage writer, on
SQLite and PostgreSQL: the window read per key, the history from the hour and
minute rollups and the raw first-seen values, and the cut-short window."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from alert_support import DAY, add_usage

from keystead.core.authz import Principal
from keystead.core.clock import ManualClock
from keystead.core.exposure import ABUSED, NO_SIGN
from keystead.service import Keystead, leak_exposure

HOUR = 3600.0
USUAL = {"ip": "203.0.113.7", "country": "FR", "user_agent": "billing/2.1"}


def _dt(at: float) -> datetime:
    return datetime.fromtimestamp(at, UTC)


async def _usual_history(ks: Keystead, admin: Principal, leak: float, key_id: str) -> None:
    """Two calls an hour for the two days before the leak, from one client."""
    for hour in range(1, 49):
        await add_usage(ks, admin, leak - hour * HOUR + 60, 2, key_id=key_id, **USUAL)


async def test_a_new_country_after_the_leak_labels_the_key_abused(
    keystead: Keystead, admin: Principal, clock: ManualClock
) -> None:
    leak = clock.now() - 2 * HOUR
    await _usual_history(keystead, admin, leak, "key_leaked")
    await _usual_history(keystead, admin, leak, "key_other")
    await add_usage(keystead, admin, leak + 60, 3, key_id="key_leaked", **USUAL)
    await add_usage(
        keystead, admin, leak + 600, 2, key_id="key_leaked", **{**USUAL, "country": "KP"}
    )
    await add_usage(keystead, admin, leak + 60, 1, key_id="key_other", country="BR")
    await keystead.flush()

    exposure = await keystead.exposure.analyse_exposure(
        admin.workspace_id, "key_leaked", _dt(leak), _dt(clock.now())
    )

    assert (exposure.label, exposure.reasons) == (ABUSED, ("new_country",))
    assert exposure.requests_after == 5
    assert exposure.history is not None
    assert exposure.history.requests == 96
    assert exposure.history.countries == frozenset({"FR"})
    body = exposure.as_json()
    assert body["new"]["countries"]["values"] == [
        {"value": "KP", "first_seen": _dt(leak + 600).isoformat(), "requests": 2}
    ]
    assert body["before"]["per_hour"] == pytest.approx(2.0, abs=0.01)  # 96 over 48 h 7 min


async def test_the_usual_client_after_the_leak_is_no_sign_of_abuse(
    keystead: Keystead, admin: Principal, clock: ManualClock
) -> None:
    leak = clock.now() - 2 * HOUR
    await _usual_history(keystead, admin, leak, "key_leaked")
    await add_usage(keystead, admin, leak + 60, 3, key_id="key_leaked", **USUAL)
    # after the revocation, a new country: outside the window
    await add_usage(keystead, admin, leak + HOUR + 60, 1, key_id="key_leaked", country="KP")
    await keystead.flush()

    exposure = await keystead.exposure.analyse_exposure(
        admin.workspace_id, "key_leaked", _dt(leak), _dt(leak + HOUR)
    )

    assert (exposure.label, exposure.requests_after) == (NO_SIGN, 3)
    assert exposure.as_json()["before"]["countries"] == 1


async def test_a_kind_of_value_no_use_carries_is_not_read(
    keystead: Keystead, admin: Principal, clock: ManualClock
) -> None:
    leak = clock.now() - 2 * HOUR
    await _usual_history(keystead, admin, leak, "key_leaked")
    await add_usage(keystead, admin, leak + 60, 2, key_id="key_leaked", ip="203.0.113.9")
    await keystead.flush()

    exposure = await keystead.exposure.analyse_exposure(
        admin.workspace_id, "key_leaked", _dt(leak), _dt(leak + HOUR)
    )

    assert exposure.label == NO_SIGN
    before = exposure.as_json()["before"]
    assert (before["ip_ranges"], before["countries"], before["user_agents"]) == (1, None, None)


async def test_history_counts_the_leak_s_own_hour_from_minute_rollups(
    keystead: Keystead, admin: Principal, clock: ManualClock
) -> None:
    # a key first used 40 minutes before its leak: a history all the same
    hour = clock.now() - clock.now() % HOUR - HOUR
    leak = hour + 50 * 60
    await add_usage(keystead, admin, hour + 10 * 60, 4, key_id="key_young", **USUAL)
    await add_usage(keystead, admin, leak + 60, 1, key_id="key_young", **USUAL)
    await keystead.flush()

    exposure = await keystead.exposure.analyse_exposure(
        admin.workspace_id, "key_young", _dt(leak), _dt(leak + HOUR)
    )

    assert exposure.history is not None
    assert (exposure.history.requests, exposure.history.seconds) == (4, 50 * 60)
    assert exposure.label == NO_SIGN


async def test_a_never_used_key_used_after_its_leak_is_abused(
    keystead: Keystead, admin: Principal, clock: ManualClock
) -> None:
    leak = clock.now() - DAY
    await add_usage(keystead, admin, leak + 5, 1, key_id="key_unused", **USUAL)
    await keystead.flush()

    exposure = await keystead.exposure.analyse_exposure(
        admin.workspace_id, "key_unused", _dt(leak), _dt(clock.now())
    )

    assert (exposure.label, exposure.reasons) == (ABUSED, ("no_history",))
    assert exposure.history is None


async def test_a_window_past_the_read_bound_keeps_its_count(
    keystead: Keystead, admin: Principal, clock: ManualClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(leak_exposure, "MAX_RECORDS", 10)
    leak = clock.now() - 2 * HOUR
    await _usual_history(keystead, admin, leak, "key_busy")
    await add_usage(keystead, admin, leak + 120, 30, key_id="key_busy", **USUAL)
    moved = {**USUAL, "ip": "198.51.100.3", "country": "KP"}
    await add_usage(keystead, admin, leak + 1800, 1, key_id="key_busy", **moved)
    await keystead.flush()

    exposure = await keystead.exposure.analyse_exposure(
        admin.workspace_id, "key_busy", _dt(leak), _dt(leak + HOUR)
    )

    assert exposure.truncated
    assert exposure.requests_after == 31
    # the new network and country lie beyond the records read: found all the same
    assert exposure.reasons == ("new_ip_range", "new_country", "volume_spike")
    assert [(v.value, v.first_seen) for v in exposure.new["countries"]] == [("KP", None)]
