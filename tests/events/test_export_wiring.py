"""Usage records, audit entries and alerts reach the configured sinks once stored, and
no plaintext key leaves through them."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

from failed_auth import failed_auth

from keystead.config import Settings
from keystead.core.clock import ManualClock
from keystead.events.exporters.base import ExportRecord, Severity
from keystead.events.exporters.hub import ExportHub
from keystead.service import Keystead


async def test_usage_and_audit_reach_a_jsonl_sink(
    settings: Settings, clock: ManualClock, tmp_path: Path
) -> None:
    target = tmp_path / "export.jsonl"
    configured = settings.model_copy(update={"export_urls": [f"jsonl://{target}"]})
    ks = await Keystead.open(settings=configured, clock=clock)
    try:
        admin = await ks.workspaces.local_operator()
        api = await ks.apis.create(admin, name="exported")
        created = await ks.keys.create(admin, api_id=api.id)
        assert (await ks.verify(created.plaintext)).valid
        assert not (await ks.verify(created.plaintext + "x")).valid
        await ks.keys.revoke(admin, created.key.id)
        await ks.flush()
    finally:
        await ks.close()  # flushes the hub into the sink
    lines = [json.loads(line) for line in target.read_text().splitlines()]
    text = target.read_text()
    assert created.plaintext not in text
    usage = [r for r in lines if r["kind"] == "usage"]
    audit = [r for r in lines if r["kind"] == "audit"]
    assert sorted(r["name"] for r in usage) == ["verify.malformed", "verify.valid"]
    assert {r["name"] for r in audit} >= {"api.create", "key.create", "key.revoke"}
    valid = next(r for r in usage if r["name"] == "verify.valid")
    assert valid["fields"]["key_id"] == created.key.id


async def test_without_sinks_nothing_is_hooked(keystead: Keystead) -> None:
    assert not keystead.exports.enabled
    assert keystead.usage.recorder.on_written is None


async def test_a_hub_without_sinks_keeps_nothing() -> None:
    built: list[int] = []

    def records() -> Iterator[ExportRecord]:
        for n in range(3):
            built.append(n)
            yield ExportRecord("usage", datetime.now(UTC), Severity.INFO, "verify.valid", {})

    empty = ExportHub([])
    empty.offer(records())
    assert (built, len(empty._queue), empty.dropped) == ([], 0, 0)


async def test_alerts_opened_and_resolved_reach_a_jsonl_sink(
    settings: Settings, clock: ManualClock, tmp_path: Path
) -> None:
    target = tmp_path / "alerts.jsonl"
    configured = settings.model_copy(update={"export_urls": [f"jsonl://{target}"]})
    ks = await Keystead.open(settings=configured, clock=clock)
    try:
        admin = await ks.workspaces.local_operator()
        await ks.alerts.create_rule(
            admin, name="guessing", kind="brute_force", value=2, severity="critical"
        )
        for _ in range(3):
            await ks.usage.recorder.add(
                failed_auth(admin.workspace_id, clock.now(), "198.51.100.7")
            )
        await ks.flush()
        (opened,) = await ks.alerts.evaluate(clock.now() + 1)
        await ks.alerts.resolve(admin, opened.id)
    finally:
        await ks.close()
    alerts = [json.loads(line) for line in target.read_text().splitlines()]
    alerts = [r for r in alerts if r["kind"] == "alert"]
    assert [(r["name"], r["severity"]) for r in alerts] == [
        ("alert.opened", 2),  # critical
        ("alert.resolved", 5),  # notice
    ]
    assert alerts[0]["fields"]["alert_id"] == opened.id
    assert alerts[0]["fields"]["summary"] == {"attempts": 3, "ip": "198.51.100.7"}
    assert alerts[1]["fields"]["status"] == "resolved"
