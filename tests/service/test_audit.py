"""The audit log through the service: what each management action records, in
the transaction of the change, and a chain that verifies (two nodes included)."""

from __future__ import annotations

import asyncio
import base64
import json
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from keystead.config import Settings
from keystead.core.audit import AuditEntry, canonical, entry_json
from keystead.core.audit_signing import checkpoint_message
from keystead.core.authz import Principal
from keystead.core.clock import ManualClock
from keystead.errors import Conflict, Forbidden, ValidationError
from keystead.service import Keystead


async def _entries(ks: Keystead, who: Principal) -> list[AuditEntry]:
    return [e async for e in ks.audit.export(who)]


async def test_management_actions_are_recorded_with_only_changed_fields(
    keystead: Keystead, admin: Principal
) -> None:
    api = await keystead.apis.create(admin, name="shop")
    created = await keystead.keys.create(admin, api_id=api.id, name="first")
    await keystead.keys.update(admin, created.key.id, {"name": "renamed", "meta": {"a": 1}})
    await keystead.keys.revoke(admin, created.key.id)
    entries = await _entries(keystead, admin)
    assert [e.record.action for e in entries] == [
        "workspace.create",  # the admin fixture's first use made the workspace
        "api.create",
        "key.create",
        "key.update",
        "key.revoke",
    ]
    assert [e.seq for e in entries] == [1, 2, 3, 4, 5]
    assert {e.record.actor for e in entries} == {"cli"}
    update = entries[3].record
    assert (update.target_type, update.target_id) == ("key", created.key.id)
    assert update.changes == {
        "before": {"meta": {}, "name": "first"},
        "after": {"meta": {"a": 1}, "name": "renamed"},
    }
    assert entries[4].record.changes["before"] == {"revoked_at": None}
    assert "key_hash" not in entries[2].record.changes["after"]
    text = json.dumps([entry_json(e) for e in entries])
    assert created.plaintext not in text
    assert created.plaintext[len(created.key.start) :] not in text
    report = await keystead.audit.verify(admin)
    assert report.ok and report.entries == 5


async def test_a_failed_action_leaves_no_entry(keystead: Keystead, admin: Principal) -> None:
    await keystead.apis.create(admin, name="shop")
    with pytest.raises(Conflict):
        await keystead.apis.create(admin, name="shop")
    with pytest.raises(ValidationError):
        await keystead.apis.create(admin, name="")
    api = await keystead.apis.create(admin, name="other")
    entries = await _entries(keystead, admin)
    assert [(e.seq, e.record.target_id) for e in entries][-1] == (3, api.id)
    assert (await keystead.audit.verify(admin)).ok


async def test_secrets_never_reach_the_log(keystead: Keystead, admin: Principal) -> None:
    hook = await keystead.webhooks.create(admin, url="https://example.test/h", events=["*"])
    rotated = await keystead.webhooks.rotate_secret(admin, hook.webhook.id)
    root = await keystead.root_keys.create(admin, name="ci", permissions=["keys.read"])
    api = await keystead.apis.create(admin, name="r")
    key = await keystead.keys.create(admin, api_id=api.id)
    rotation = await keystead.rotation.rotate(admin, key.key.id, grace_period_s=60)
    entries = await _entries(keystead, admin)
    text = json.dumps([entry_json(e) for e in entries])
    for secret in (hook.secret, rotated.secret, root.plaintext, key.plaintext):
        assert secret not in text
    assert rotation.new.plaintext not in text
    actions = [e.record.action for e in entries]
    assert actions[:4] == [
        "workspace.create",
        "webhook.create",
        "webhook.rotate_secret",
        "root_key.create",
    ]
    assert actions[-2:] == ["key.rotate", "key.create"]
    assert entries[-2].record.changes["after"]["rotated_to"] == rotation.new.key.id


async def test_list_filters_and_pages(
    keystead: Keystead, admin: Principal, clock: ManualClock
) -> None:
    api = await keystead.apis.create(admin, name="a")
    start = keystead.audit  # the service under test
    for n in range(5):
        clock.advance(10)
        await keystead.keys.create(admin, api_id=api.id, name=f"k{n}")
    page = await start.list(admin, limit=2)
    assert [e.seq for e in page.items] == [7, 6] and page.next_cursor == "6"
    page = await start.list(admin, limit=2, cursor=page.next_cursor)
    assert [e.seq for e in page.items] == [5, 4]
    keys = await start.list(admin, action="key.*", limit=100)
    assert len(keys.items) == 5 and keys.next_cursor is None
    assert [e.seq for e in (await start.list(admin, target=api.id)).items] == [2]
    assert (await start.list(admin, actor="scheduler")).items == []
    since = keys.items[1].record.at.isoformat()
    assert [e.seq for e in (await start.list(admin, since=since)).items] == [7, 6]
    assert [e.seq for e in (await start.list(admin, until=since)).items] == [5, 4, 3, 2, 1]
    bads: list[dict[str, Any]] = [{"cursor": "x"}, {"limit": 0}, {"since": "soon"}]
    for bad in bads:
        with pytest.raises(ValidationError):
            await start.list(admin, **bad)
    narrow = await keystead.root_keys.create(admin, api_ids=[api.id])
    narrowed = await keystead.root_keys.authenticate(narrow.plaintext)
    with pytest.raises(Forbidden):
        await start.list(narrowed)


async def test_checkpoints_are_signed_with_the_published_key(
    keystead: Keystead, admin: Principal
) -> None:
    (first,) = await keystead.audit.checkpoint()  # the workspace's creation
    assert first.seq == 1
    assert await keystead.audit.checkpoint() == []  # the head did not move
    await keystead.apis.create(admin, name="a")
    (written,) = await keystead.audit.checkpoint(admin)
    assert await keystead.audit.checkpoint() == []
    public = Ed25519PublicKey.from_public_bytes(base64.b64decode(keystead.audit.public_key))
    public.verify(base64.b64decode(written.signature), checkpoint_message(written))
    entry = (await _entries(keystead, admin))[-1]
    assert written.hash == entry.hash and written.seq == 2
    report = await keystead.audit.verify(admin)
    assert report.ok and report.checkpoints == 2


async def test_the_scheduler_pass_writes_checkpoints(keystead: Keystead, admin: Principal) -> None:
    await keystead.apis.create(admin, name="a")
    await keystead.scheduler.run_once()
    assert (await keystead.audit.verify(admin)).checkpoints == 1


async def test_a_third_party_recomputes_the_hash(keystead: Keystead, admin: Principal) -> None:
    """The documented recipe (docs/audit.md) over an exported line."""
    import hashlib

    await keystead.apis.create(admin, name="ünïcode")
    entry = (await _entries(keystead, admin))[-1]
    line = json.loads(json.dumps(entry_json(entry)))
    claimed = line.pop("hash")
    body = json.dumps(line, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    assert body.encode() == canonical(entry.record, entry.seq, entry.prev_hash)
    assert hashlib.sha256(body.encode("utf-8")).hexdigest() == claimed


@pytest.mark.parametrize(
    "database_url", [pytest.param("postgres", marks=pytest.mark.postgres)], indirect=True
)
async def test_concurrent_actions_on_two_nodes_form_one_gap_free_chain(
    settings: Settings, clock: ManualClock
) -> None:
    one = await Keystead.open(settings=settings, clock=clock)
    two = await Keystead.open(settings=settings, clock=clock)
    try:
        who = await one.workspaces.local_operator()
        api = await one.apis.create(who, name="busy")
        await asyncio.gather(
            *(
                (one if n % 2 else two).keys.create(who, api_id=api.id, name=f"k{n}")
                for n in range(20)
            )
        )
        entries = await _entries(two, who)
        assert [e.seq for e in entries] == list(range(1, 23))
        report = await one.audit.verify(who)
        assert report.ok, report.breaks
    finally:
        await one.close()
        await two.close()
