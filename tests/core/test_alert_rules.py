"""The pure part of alerts: rule checks, metric values, bounded evidence, dedupe keys."""

from __future__ import annotations

from datetime import UTC, datetime

from keystead.core.alerts import AlertRule, Finding, check_rule, dedupe_key, metric_value
from keystead.core.usage import Rollup, UsageRecord, latency_bucket

NOW = datetime(2030, 1, 1, tzinfo=UTC)


def _rule(**fields: object) -> AlertRule:
    base: dict[str, object] = {"name": "r", "kind": "brute_force", "severity": "info"}
    base.update(window_minutes=5, baseline_days=30, enabled=True, **fields)
    checked = check_rule(base)
    return AlertRule(id="arl_1", workspace_id="ws_1", created_at=NOW, updated_at=NOW, **checked)


def test_detector_defaults_and_dedupe_key() -> None:
    rule = _rule()
    assert (rule.scope, rule.value) == ("key", 10)
    assert _rule(kind="revoked_use").value is None
    assert dedupe_key(rule, "192.0.2.1") == "arl_1:192.0.2.1:5m"


def test_metric_values() -> None:
    rollup = Rollup(
        count=10,
        codes={"VALID": 7, "NOT_FOUND": 3},
        statuses={"2xx": 3, "5xx": 1},
        latency={latency_bucket(100.0): 10},
        bytes_out=42,
    )
    assert metric_value("requests", rollup) == 10
    assert metric_value("errors", rollup) == 1
    assert metric_value("error_rate", rollup) == 0.25
    assert metric_value("auth_failures", rollup) == 3
    assert metric_value("bytes_out", rollup) == 42
    p99 = metric_value("latency_p99", rollup)
    assert p99 is not None and 88 < p99 < 113
    assert metric_value("error_rate", Rollup()) is None


def test_evidence_is_bounded() -> None:
    records = [UsageRecord(float(i), "ws_1", None, "key_1", None, "REVOKED") for i in range(50)]
    evidence = Finding("key", "key_1", "used", {"attempts": 50}, records).evidence()
    assert evidence["record_count"] == 50
    assert [r["at"] for r in evidence["records"]] == [float(i) for i in range(30, 50)]


def test_every_kind_is_offered_by_the_http_api_and_the_cli() -> None:
    from typing import get_args

    from keystead.cli.alerts import Kind as CliKind
    from keystead.core.alerts import KINDS
    from keystead.http.alert_schemas import Kind as HttpKind

    assert set(get_args(HttpKind)) == set(KINDS)
    assert {k.value for k in CliKind} == set(KINDS)


def test_ip_ranges() -> None:
    from keystead.core.detectors import ip_range

    assert ip_range("203.0.113.77") == "203.0.113.0/24"
    assert ip_range("::ffff:203.0.113.77") == "203.0.113.0/24"
    assert ip_range("2001:db8:abcd:12::1") == "2001:db8:abcd::/48"
    assert ip_range("not-an-ip") == "not-an-ip"
