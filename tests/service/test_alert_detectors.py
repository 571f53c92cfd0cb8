"""The baseline detectors (new IP range, error-rate and data-volume spikes),
each firing on a real change and staying quiet on a key's usual traffic, and
alerts resolving themselves once their rule stops finding them."""

from __future__ import annotations

from typing import Any

from alert_support import DAY, add_usage, outbox_events

from keystead.core.authz import Principal
from keystead.core.clock import ManualClock
from keystead.service import Keystead

HOUR = 3600.0


async def _history(ks: Keystead, admin: Principal, now: float, **fields: Any) -> None:
    """Two records an hour over the 22 hours before the last hour."""
    for hour in range(2, 24):
        await add_usage(ks, admin, now - hour * HOUR, 2, **fields)


async def test_new_ip_range_compares_networks_not_addresses(
    keystead: Keystead, admin: Principal, clock: ManualClock
) -> None:
    now = clock.now()
    await keystead.alerts.create_rule(admin, name="ranges", kind="new_ip_range")
    for key_id in ("key_home", "key_moved", "key_v6"):
        await add_usage(keystead, admin, now - 2 * DAY, 3, key_id=key_id, ip="203.0.113.10")
    await add_usage(keystead, admin, now - 2 * DAY, 1, key_id="key_v6", ip="2001:db8:1:2::1")
    await add_usage(keystead, admin, now - 60, 2, key_id="key_home", ip="203.0.113.200")
    await add_usage(keystead, admin, now - 60, 1, key_id="key_moved", ip="198.51.100.4")
    await add_usage(keystead, admin, now - 60, 1, key_id="key_v6", ip="2001:db8:1:ffff::9")
    await add_usage(keystead, admin, now - 60, 1, key_id="key_v6", ip="2001:db8:2::1")
    await add_usage(keystead, admin, now - 60, 1, key_id="key_fresh", ip="192.0.2.1")
    await keystead.flush()

    found = await keystead.alerts.evaluate(now)

    assert sorted((a.scope_id, a.evidence["summary"]["new"][0]) for a in found) == [
        ("key_moved", "198.51.100.0/24"),
        ("key_v6", "2001:db8:2::/48"),
    ]
    moved = next(a for a in found if a.scope_id == "key_moved")
    assert [r["ip"] for r in moved.evidence["records"]] == ["198.51.100.4"]
    assert moved.evidence["summary"]["known"] == 1  # one range in its history


async def test_error_spike_against_the_key_s_own_error_rate(
    keystead: Keystead, admin: Principal, clock: ManualClock
) -> None:
    now = clock.now()
    await keystead.alerts.create_rule(
        admin, name="errors", kind="error_spike", window_minutes=60, baseline_days=1
    )
    for key_id in ("key_flaky", "key_spiking", "key_few"):
        await _history(keystead, admin, now, key_id=key_id, status=200)
    await add_usage(keystead, admin, now - 5 * HOUR, 4, key_id="key_flaky", status=500)
    # key_flaky fails 4 in 48 (8%) as a rule: 5 in 25 (20%) is under 3x that
    await add_usage(keystead, admin, now - 60, 20, key_id="key_flaky", status=200)
    await add_usage(keystead, admin, now - 60, 5, key_id="key_flaky", status=503)
    # key_spiking never failed: held to 1%, so 6 in 26 is a spike
    await add_usage(keystead, admin, now - 60, 20, key_id="key_spiking", status=200)
    await add_usage(keystead, admin, now - 60, 6, key_id="key_spiking", status=401)
    # too few responses to judge
    await add_usage(keystead, admin, now - 60, 10, key_id="key_few", status=500)
    await keystead.flush()

    (alert,) = await keystead.alerts.evaluate(now)

    assert (alert.kind, alert.scope_id) == ("error_spike", "key_spiking")
    summary = alert.evidence["summary"]
    assert (summary["errors"], summary["responses"]) == (6, 26)
    assert summary["baseline_error_rate"] == 0
    assert {r["status"] for r in alert.evidence["records"]} == {401}


async def test_bytes_spike_flags_data_leaving_faster(
    keystead: Keystead, admin: Principal, clock: ManualClock
) -> None:
    now = clock.now()
    await keystead.alerts.create_rule(
        admin, name="exfiltration", kind="bytes_spike", window_minutes=60, baseline_days=1
    )
    for key_id in ("key_steady", "key_draining"):
        await _history(keystead, admin, now, key_id=key_id, bytes_out=1_000)
    # 2,000 bytes an hour: 9,000 is under 5x, 50,000 in one response is not
    await add_usage(keystead, admin, now - 60, 3, key_id="key_steady", bytes_out=3_000)
    await add_usage(keystead, admin, now - 60, 1, key_id="key_draining", bytes_out=1_000)
    await add_usage(keystead, admin, now - 30, 1, key_id="key_draining", bytes_out=50_000)
    await keystead.flush()

    (alert,) = await keystead.alerts.evaluate(now)

    assert (alert.kind, alert.scope_id) == ("bytes_spike", "key_draining")
    assert alert.evidence["summary"]["bytes_out"] == 51_000
    assert alert.evidence["summary"]["baseline_average"] == 2_000
    assert alert.evidence["records"][-1]["bytes_out"] == 50_000


async def test_a_key_with_under_two_hours_of_history_has_no_baseline(
    keystead: Keystead, admin: Principal, clock: ManualClock
) -> None:
    now = clock.now()
    await keystead.alerts.create_rule(admin, name="volume", kind="volume_spike", value=2)
    await add_usage(keystead, admin, now - 20 * 60, 1, key_id="key_young")
    await add_usage(keystead, admin, now - 60, 30, key_id="key_young")
    await keystead.flush()
    assert await keystead.alerts.evaluate(now) == []


async def test_an_alert_resolves_itself_after_a_quiet_window(
    keystead: Keystead, admin: Principal, clock: ManualClock
) -> None:
    now = clock.now()
    await keystead.alerts.create_rule(admin, name="guessing", kind="brute_force", value=2)
    await add_usage(keystead, admin, now, 3, code="NOT_FOUND", ip="198.51.100.9")
    await keystead.flush()
    (alert,) = await keystead.alerts.evaluate(now + 1)

    assert await keystead.alerts.evaluate(now + 4 * 60) != []  # still in its window
    await keystead.alerts.evaluate(now + 6 * 60)  # found again at +4 min: not quiet yet
    assert (await keystead.alerts.get(admin, alert.id)).status == "open"
    await keystead.alerts.evaluate(now + 10 * 60)  # five quiet minutes since

    resolved = await keystead.alerts.get(admin, alert.id)
    assert resolved.status == "resolved" and resolved.resolved_at is not None
    assert [e["alert_id"] for e in await outbox_events(keystead, admin, "alert.resolved")] == [
        alert.id
    ]
    entries = (await keystead.audit.list(admin, action="alert.auto_resolve")).items
    assert [(e.record.target_id, e.record.actor) for e in entries] == [(alert.id, "scheduler")]
    await keystead.alerts.evaluate(now + 20 * 60)  # nothing left to resolve, nothing new
    assert len(await outbox_events(keystead, admin, "alert.resolved")) == 1


async def test_automatic_resolution_loses_to_a_fresh_finding(
    keystead: Keystead, admin: Principal, clock: ManualClock
) -> None:
    """The resolution is conditional on the alert still being quiet: an alert
    seen again after the stale scan read it is left open, with nothing written."""
    now = clock.now()
    await keystead.alerts.create_rule(admin, name="guessing", kind="brute_force", value=1)
    await add_usage(keystead, admin, now, 1, code="NOT_FOUND", ip="198.51.100.9")
    await keystead.flush()
    (alert,) = await keystead.alerts.evaluate(now + 1)
    before = alert.last_seen  # a stale scan would have used a time at or before it

    unchanged = await keystead.store.update_alert(
        admin.workspace_id,
        alert.id,
        {"status": "resolved", "open_key": None, "resolved_at": alert.last_seen},
        unseen_since=before,
    )

    assert unchanged is None
    assert (await keystead.alerts.get(admin, alert.id)).status == "open"
    assert await outbox_events(keystead, admin, "alert.resolved") == []
