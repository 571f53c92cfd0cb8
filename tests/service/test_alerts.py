"""Alerts: threshold rules and the anomaly detectors, each firing and staying
quiet; deduplication, states, the outbox events and the automatic action."""

from __future__ import annotations

from typing import Any

import pytest
from alert_support import DAY, add_usage, key_with_api, outbox_events

from keystead.core.authz import Principal
from keystead.core.clock import ManualClock
from keystead.core.models import Code, VerifyContext
from keystead.errors import ValidationError
from keystead.service import Keystead


async def test_threshold_rule_opens_one_alert_and_dedupes(
    keystead: Keystead, admin: Principal, clock: ManualClock
) -> None:
    key_id, plaintext = await key_with_api(keystead, admin)
    busy = await keystead.alerts.create_rule(
        admin, name="busy", kind="threshold", metric="requests", comparator=">", value=3
    )
    quiet = await keystead.alerts.create_rule(
        admin, name="quiet", kind="threshold", metric="requests", comparator="<", value=2
    )
    for _ in range(5):
        await keystead.verify(plaintext)
    await keystead.flush()

    first = await keystead.alerts.evaluate(clock.now() + 1)
    second = await keystead.alerts.evaluate(clock.now() + 2)

    assert [(a.rule_id, a.scope, a.scope_id) for a in first] == [(busy.id, "key", key_id)]
    assert first[0].id.startswith("alr_") and first[0].status == "open"
    assert first[0].evidence["summary"]["observed"] == 5
    assert [(a.id, a.count) for a in second] == [(first[0].id, 2)]
    assert all(a.rule_id != quiet.id for a in first + second)
    opened = await outbox_events(keystead, admin, "alert.opened")
    assert [e["alert_id"] for e in opened] == [first[0].id]
    assert opened[0]["severity"] == "warning"


@pytest.mark.parametrize(
    ("comparator", "value", "fires"),
    [(">=", 4, True), (">", 4, False), ("<=", 4, True), ("<", 4, False), ("==", 4, True),
     ("!=", 4, False)],
)  # fmt: skip
async def test_threshold_comparators(
    keystead: Keystead,
    admin: Principal,
    clock: ManualClock,
    comparator: str,
    value: int,
    fires: bool,
) -> None:
    await keystead.alerts.create_rule(
        admin,
        name="c",
        kind="threshold",
        metric="auth_failures",
        scope="workspace",
        comparator=comparator,
        value=value,
    )
    await add_usage(keystead, admin, clock.now(), 4, api_id="api_1", code="NOT_FOUND")
    await keystead.flush()
    found = await keystead.alerts.evaluate(clock.now() + 1)
    assert [a.scope_id for a in found] == ([admin.workspace_id] if fires else [])


async def test_threshold_metrics_of_owners_and_apis(
    keystead: Keystead, admin: Principal, clock: ManualClock
) -> None:
    now = clock.now()
    kw = {"api_id": "api_1", "key_id": "key_1", "owner_id": "o1"}
    await add_usage(keystead, admin, now, 3, status=500, bytes_out=1000, response_ms=900.0, **kw)
    await add_usage(keystead, admin, now, 1, status=200, bytes_out=10, **kw)
    await keystead.flush()
    make = keystead.alerts.create_rule
    await make(admin, name="e", kind="threshold", metric="error_rate", scope="owner",
               comparator=">", value=0.5)  # fmt: skip
    await make(admin, name="b", kind="threshold", metric="bytes_out", scope="api",
               scope_id="api_1", comparator=">", value=3000)  # fmt: skip
    await make(admin, name="l", kind="threshold", metric="latency_p99", scope="key",
               comparator=">", value=800)  # fmt: skip
    await make(admin, name="x", kind="threshold", metric="errors", scope="api",
               scope_id="api_2", comparator=">", value=0)  # fmt: skip
    found = await keystead.alerts.evaluate(now + 1)
    assert sorted((a.scope, a.scope_id) for a in found) == [
        ("api", "api_1"),
        ("key", "key_1"),
        ("owner", "o1"),
    ]


async def test_use_of_a_revoked_key(
    keystead: Keystead, admin: Principal, clock: ManualClock
) -> None:
    dead_id, dead = await key_with_api(keystead, admin)
    _, alive = await key_with_api(keystead, admin)
    await keystead.alerts.create_rule(admin, name="dead", kind="revoked_use", severity="critical")
    await keystead.keys.revoke(admin, dead_id)
    assert (await keystead.verify(dead, VerifyContext(ip="192.0.2.7"))).code is Code.REVOKED
    assert (await keystead.verify(alive)).code is Code.VALID
    await keystead.flush()
    found = await keystead.alerts.evaluate(clock.now() + 1)
    assert [(a.scope_id, a.severity) for a in found] == [(dead_id, "critical")]
    assert found[0].evidence["records"][0]["ip"] == "192.0.2.7"
    assert dead not in str(found[0].evidence)


async def test_brute_force_from_one_ip(
    keystead: Keystead, admin: Principal, clock: ManualClock
) -> None:
    await keystead.alerts.create_rule(admin, name="bf", kind="brute_force", value=5)
    now = clock.now()
    await add_usage(keystead, admin, now, 5, code="NOT_FOUND", ip="198.51.100.1")
    await add_usage(keystead, admin, now, 4, code="MALFORMED", ip="198.51.100.2")
    await add_usage(keystead, admin, now - 600, 4, code="MALFORMED", ip="198.51.100.2")  # too old
    await keystead.flush()
    found = await keystead.alerts.evaluate(now + 1)
    assert [(a.scope, a.scope_id) for a in found] == [("ip", "198.51.100.1")]
    assert found[0].evidence["record_count"] == 5


async def test_new_country_and_user_agent_against_the_history(
    keystead: Keystead, admin: Principal, clock: ManualClock
) -> None:
    now = clock.now()
    await keystead.alerts.create_rule(admin, name="geo", kind="new_country")
    await keystead.alerts.create_rule(admin, name="ua", kind="new_user_agent")
    for key_id in ("key_a", "key_b"):
        await add_usage(
            keystead, admin, now - 3 * DAY, 3, key_id=key_id, country="DE", user_agent="app/1"
        )
    await add_usage(keystead, admin, now - 40 * DAY, 1, key_id="key_b", country="FR")  # too old
    await add_usage(keystead, admin, now, 1, key_id="key_a", country="DE", user_agent="app/1")
    await add_usage(keystead, admin, now, 1, key_id="key_b", country="FR", user_agent="curl/8")
    await add_usage(keystead, admin, now, 1, key_id="key_new", country="US", user_agent="x")
    await keystead.flush()
    found = await keystead.alerts.evaluate(now + 1)
    assert sorted((a.kind, a.scope_id) for a in found) == [
        ("new_country", "key_b"),
        ("new_user_agent", "key_b"),
    ]
    geo = next(a for a in found if a.kind == "new_country")
    assert geo.evidence["summary"]["new"] == ["FR"]


async def test_volume_spike_over_the_baseline(
    keystead: Keystead, admin: Principal, clock: ManualClock
) -> None:
    now = clock.now()
    await keystead.alerts.create_rule(
        admin, name="spike", kind="volume_spike", window_minutes=60, baseline_days=1, value=5
    )
    for hour in range(2, 24):  # about 2 requests an hour over the last day
        for key_id in ("key_steady", "key_spiking"):
            await add_usage(keystead, admin, now - hour * 3600, 2, key_id=key_id)
    await add_usage(keystead, admin, now - 60, 9, key_id="key_steady")  # 9 <= 5 x 1.83
    await add_usage(keystead, admin, now - 60, 12, key_id="key_spiking")
    await add_usage(keystead, admin, now - 60, 50, key_id="key_unknown")  # no baseline
    await keystead.flush()
    found = await keystead.alerts.evaluate(now)
    assert [a.scope_id for a in found] == ["key_spiking"]
    assert found[0].evidence["summary"]["requests"] == 12


async def test_states_and_resolution(
    keystead: Keystead, admin: Principal, clock: ManualClock
) -> None:
    rule = await keystead.alerts.create_rule(admin, name="bf", kind="brute_force", value=1)
    await add_usage(keystead, admin, clock.now(), 1, code="NOT_FOUND", ip="203.0.113.5")
    await keystead.flush()
    (alert,) = await keystead.alerts.evaluate(clock.now() + 1)

    acked = await keystead.alerts.acknowledge(admin, alert.id)
    assert (acked.status, acked.acknowledged_by) == ("acknowledged", admin.actor)
    (again,) = await keystead.alerts.evaluate(clock.now() + 2)
    assert (again.id, again.count, again.status) == (alert.id, 2, "acknowledged")
    resolved = await keystead.alerts.resolve(admin, alert.id)
    assert resolved.status == "resolved" and resolved.resolved_at is not None
    assert [e["alert_id"] for e in await outbox_events(keystead, admin, "alert.resolved")] == [
        alert.id
    ]
    clock.advance(5)
    (fresh,) = await keystead.alerts.evaluate(clock.now())
    assert fresh.id != alert.id and fresh.count == 1
    page = await keystead.alerts.list(admin, status="resolved")
    assert [a.id for a in page.items] == [alert.id]
    assert [a.id for a in (await keystead.alerts.list(admin, severity="warning")).items] == [
        alert.id,
        fresh.id,
    ]
    await keystead.alerts.delete_rule(admin, rule.id)
    assert await keystead.alerts.list_rules(admin) == []


async def test_an_alert_with_an_action_disables_the_key_once(
    keystead: Keystead, admin: Principal, clock: ManualClock
) -> None:
    key_id, plaintext = await key_with_api(keystead, admin)
    await keystead.alerts.create_rule(
        admin, name="cut", kind="threshold", metric="requests", comparator=">=", value=2,
        action="disable",
    )  # fmt: skip
    await keystead.verify(plaintext)
    await keystead.verify(plaintext)
    await keystead.flush()
    (alert,) = await keystead.alerts.evaluate(clock.now() + 1)
    assert alert.action is not None and alert.action["action_id"].startswith("act_")
    assert (await keystead.verify(plaintext)).code is Code.DISABLED
    actions = (await keystead.actions.list(admin, key_id)).items
    assert [(a.action, a.cause["source"], a.cause["reference"]) for a in actions] == [
        ("disable", "alert", alert.id)
    ]
    await keystead.flush()
    await keystead.alerts.evaluate(clock.now() + 2)  # deduplicated: no second action
    assert len((await keystead.actions.list(admin, key_id)).items) == 1


async def test_the_scheduler_pass_evaluates(
    keystead: Keystead, admin: Principal, clock: ManualClock
) -> None:
    await keystead.alerts.create_rule(admin, name="bf", kind="brute_force", value=1)
    await add_usage(keystead, admin, clock.now() - 1, 1, code="MALFORMED", ip="203.0.113.9")
    await keystead.flush()
    await keystead.scheduler.run_once()
    assert len((await keystead.alerts.list(admin)).items) == 1


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"kind": "threshold", "metric": "requests", "comparator": "~", "value": 1}, "comparator"),
        ({"kind": "threshold", "metric": "cpu", "comparator": ">", "value": 1}, "metric"),
        ({"kind": "threshold", "metric": "requests", "comparator": ">"}, "value"),
        ({"kind": "threshold", "metric": "requests", "comparator": ">", "value": 1,
          "scope": "workspace", "action": "disable"}, "action"),
        ({"kind": "brute_force", "metric": "requests"}, "metric"),
        ({"kind": "volume_spike", "value": 0}, "value"),
        ({"kind": "revoked_use", "window_minutes": 0}, "window_minutes"),
        ({"kind": "revoked_use", "severity": "urgent"}, "severity"),
        ({"kind": "revoked_use", "colour": "red"}, "colour"),
        ({"kind": "guess"}, "kind"),
    ],
)  # fmt: skip
async def test_bad_rules_are_refused(
    keystead: Keystead, admin: Principal, fields: dict[str, Any], field: str
) -> None:
    with pytest.raises(ValidationError) as refused:
        await keystead.alerts.create_rule(admin, name="bad", **fields)
    assert refused.value.field == field


async def test_update_rechecks_the_whole_rule(keystead: Keystead, admin: Principal) -> None:
    rule = await keystead.alerts.create_rule(admin, name="r", kind="brute_force")
    assert rule.value == 10
    updated = await keystead.alerts.update_rule(admin, rule.id, {"value": 3, "severity": "info"})
    assert (updated.value, updated.severity) == (3, "info")
    with pytest.raises(ValidationError):
        await keystead.alerts.update_rule(admin, rule.id, {"metric": "requests"})
