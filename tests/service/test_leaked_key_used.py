"""``leaked_key_used``: any use of a key at or after its leak time, as an alert
rule and as the analytics' ``after_leak`` filter, with the leak reported
through the real leak service and the uses written by the real usage writer."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from alert_support import add_usage, key_with_api, outbox_events

from keystead.core.authz import Principal
from keystead.core.clock import ManualClock
from keystead.errors import ValidationError
from keystead.service import Keystead, leak_times
from keystead.service.leaks import LeakReport

MINUTE = 60.0


async def _leak(ks: Keystead, admin: Principal, plaintext: str, exposed_at: float | None) -> None:
    when = None if exposed_at is None else datetime.fromtimestamp(exposed_at, UTC)
    [answer] = await ks.leaks.report(
        admin, [LeakReport(token=plaintext, source="scanner", exposed_at=when)]
    )
    assert answer.status == "live"


async def test_a_key_used_after_its_leak_time_fires_leaked_key_used(
    keystead: Keystead, admin: Principal, clock: ManualClock
) -> None:
    now = clock.now()
    await keystead.leaks.policies.set(admin, action="notify")  # the key keeps working
    leaked, plaintext = await key_with_api(keystead, admin)
    clean, _ = await key_with_api(keystead, admin)
    await _leak(keystead, admin, plaintext, now - 30 * MINUTE)
    await keystead.alerts.create_rule(
        admin, name="leaked keys", kind="leaked_key_used", window_minutes=60, severity="critical"
    )
    await add_usage(keystead, admin, now - 50 * MINUTE, 3, key_id=leaked, ip="203.0.113.7")
    await add_usage(keystead, admin, now - 10 * MINUTE, 2, key_id=leaked, ip="198.51.100.4")
    await add_usage(keystead, admin, now - 5 * MINUTE, 4, key_id=clean, ip="198.51.100.4")
    await keystead.flush()

    (alert,) = await keystead.alerts.evaluate(now)

    assert (alert.kind, alert.scope_id, alert.severity) == ("leaked_key_used", leaked, "critical")
    summary = alert.evidence["summary"]
    assert summary["uses"] == 2  # the three before the leak do not count
    assert summary["ips"] == ["198.51.100.4"]
    assert summary["leaked_at"] == datetime.fromtimestamp(now - 30 * MINUTE, UTC).isoformat()
    assert [r["ip"] for r in alert.evidence["records"]] == ["198.51.100.4"] * 2
    [opened] = await outbox_events(keystead, admin, "alert.opened")
    assert opened["kind"] == "leaked_key_used"


async def test_without_an_exposure_time_the_report_time_is_the_leak_time(
    keystead: Keystead, admin: Principal, clock: ManualClock
) -> None:
    await keystead.leaks.policies.set(admin, action="notify")
    leaked, plaintext = await key_with_api(keystead, admin)
    await keystead.alerts.create_rule(admin, name="leaked", kind="leaked_key_used")
    await add_usage(keystead, admin, clock.now() - MINUTE, 1, key_id=leaked)
    await _leak(keystead, admin, plaintext, None)
    await keystead.flush()

    assert await keystead.alerts.evaluate(clock.now()) == []  # used before it was reported

    clock.advance(2 * MINUTE)
    await add_usage(keystead, admin, clock.now() - MINUTE, 1, key_id=leaked, code="REVOKED")
    await keystead.flush()
    (alert,) = await keystead.alerts.evaluate(clock.now())
    assert alert.evidence["summary"]["codes"] == ["REVOKED"]


async def test_many_keys_in_the_window_read_the_workspace_s_leaks(
    keystead: Keystead, admin: Principal, clock: ManualClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(leak_times, "FEW_KEYS", 1)
    monkeypatch.setattr(leak_times, "PAGE", 2)  # and page through them
    now = clock.now()
    await keystead.leaks.policies.set(admin, action="notify")
    keys = [await key_with_api(keystead, admin) for _ in range(4)]
    for _, plaintext in keys[:3]:
        await _leak(keystead, admin, plaintext, now - 20 * MINUTE)
    await keystead.alerts.create_rule(admin, name="leaked", kind="leaked_key_used")
    for key_id, _ in keys:
        await add_usage(keystead, admin, now - MINUTE, 1, key_id=key_id)
    await keystead.flush()

    found = await keystead.alerts.evaluate(now)

    assert sorted(a.scope_id for a in found) == sorted(k for k, _ in keys[:3])


async def test_analytics_after_leak_shows_only_uses_after_the_leak(
    keystead: Keystead, admin: Principal, clock: ManualClock
) -> None:
    now = clock.now()
    await keystead.leaks.policies.set(admin, action="notify")
    leaked, plaintext = await key_with_api(keystead, admin)
    leak = now - 30 * MINUTE - now % MINUTE  # on a minute: buckets split there
    await _leak(keystead, admin, plaintext, leak)
    await add_usage(keystead, admin, leak - 10 * MINUTE, 5, key_id=leaked, country="FR")
    await add_usage(keystead, admin, leak + 5 * MINUTE, 2, key_id=leaked, country="KP")
    await keystead.flush()

    series = await keystead.analytics.series(
        admin, key_id=leaked, granularity="minute", after_leak=True
    )
    everything = await keystead.analytics.series(admin, key_id=leaked, granularity="minute")
    top = await keystead.analytics.top(admin, key_id=leaked, by="country", after_leak=True)

    assert series.start == datetime.fromtimestamp(leak, UTC)
    assert series.leaked_at == series.start == everything.leaked_at
    assert (series.totals.total, everything.totals.total) == (2, 7)
    assert top.items == [("KP", 2)]
    early = datetime.fromtimestamp(leak - 3600, UTC)  # an earlier from is held to the leak
    held = await keystead.analytics.top(
        admin, key_id=leaked, by="country", start=early, after_leak=True
    )
    assert held.start == series.start


async def test_after_leak_needs_a_key_that_leaked(
    keystead: Keystead, admin: Principal, clock: ManualClock
) -> None:
    key_id, _ = await key_with_api(keystead, admin)
    api_id = (await keystead.apis.list(admin))[0].id

    with pytest.raises(ValidationError, match="no leak of key"):
        await keystead.analytics.series(admin, key_id=key_id, after_leak=True)
    with pytest.raises(ValidationError, match="needs a key_id"):
        await keystead.analytics.top(admin, api_id=api_id, after_leak=True)
    assert (await keystead.analytics.series(admin, key_id=key_id)).leaked_at is None
