"""Usage records and audit entries reach the configured sinks once stored, and
no plaintext key leaves through them."""

from __future__ import annotations

import json
from pathlib import Path

from keystead.config import Settings
from keystead.core.clock import ManualClock
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
