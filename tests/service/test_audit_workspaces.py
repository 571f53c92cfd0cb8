"""Creating a workspace and bootstrapping its first root key are audited in the
new workspace's own chain, with the local operator (``cli``) as the actor; and
every management action of the service leaves its entry."""

from __future__ import annotations

import json

import pytest
from joserfc.jwk import ECKey

from keystead.core.audit import AuditEntry, entry_json, stamp
from keystead.core.authz import Principal
from keystead.errors import ValidationError
from keystead.service import Keystead

Summary = tuple[int, str, str, str, str | None]


async def _entries(ks: Keystead, who: Principal) -> list[AuditEntry]:
    return [e async for e in ks.audit.export(who)]


def _summary(entries: list[AuditEntry]) -> list[Summary]:
    return [
        (e.seq, e.record.actor, e.record.action, e.record.target_type, e.record.target_id)
        for e in entries
    ]


async def test_init_records_the_workspace_then_its_first_root_key(keystead: Keystead) -> None:
    boot = await keystead.workspaces.init("acme")
    workspace, root_key = boot.workspace, boot.root_key.root_key
    who = await keystead.workspaces.local_operator(workspace.id)
    entries = await _entries(keystead, who)
    assert _summary(entries) == [
        (1, "cli", "workspace.create", "workspace", workspace.id),
        (2, "cli", "root_key.create", "root_key", root_key.id),
    ]
    made = entries[0].record
    assert made.workspace_id == workspace.id
    assert made.changes == {
        "before": {},
        "after": {"id": workspace.id, "name": "acme", "created_at": stamp(workspace.created_at)},
    }
    assert (made.ip, made.user_agent, made.request_id) == (None, None, None)
    issued = entries[1].record.changes["after"]
    assert issued["start"] == root_key.start and issued["permissions"] == ["*"]
    assert not {"key", "key_hash", "plaintext"} & set(issued)
    text = json.dumps([entry_json(e) for e in entries])
    assert boot.root_key.plaintext not in text
    assert boot.root_key.plaintext[len(root_key.start) :] not in text
    report = await keystead.audit.verify(who)
    assert report.ok and (report.entries, report.head_seq) == (2, 2)


async def test_the_bootstrap_entries_are_read_with_the_bootstrap_root_key(
    keystead: Keystead,
) -> None:
    boot = await keystead.workspaces.init("acme")
    root = await keystead.root_keys.authenticate(boot.root_key.plaintext)
    page = await keystead.audit.list(root)
    assert [(e.record.actor, e.record.action) for e in page.items] == [
        ("cli", "root_key.create"),
        ("cli", "workspace.create"),
    ]
    assert (await keystead.audit.verify(root)).ok


async def test_first_local_use_records_the_default_workspace(
    keystead: Keystead, admin: Principal
) -> None:
    """The local operator's first use creates the workspace: that is audited too."""
    entries = await _entries(keystead, admin)
    assert _summary(entries) == [(1, "cli", "workspace.create", "workspace", admin.workspace_id)]
    assert entries[0].record.changes["after"]["name"] == "default"


async def test_another_workspace_starts_its_own_chain(keystead: Keystead, admin: Principal) -> None:
    await keystead.apis.create(admin, name="shop")
    second = await keystead.workspaces.create("second")
    other = await keystead.workspaces.local_operator(second.workspace.id)
    assert _summary(await _entries(keystead, other)) == [
        (1, "cli", "workspace.create", "workspace", second.workspace.id),
        (2, "cli", "root_key.create", "root_key", second.root_key.root_key.id),
    ]
    first = await _entries(keystead, admin)
    assert [e.record.action for e in first] == ["workspace.create", "api.create"]
    assert (await keystead.audit.verify(admin)).ok
    assert (await keystead.audit.verify(other)).ok


async def test_a_refused_workspace_leaves_no_entry_behind(
    keystead: Keystead, admin: Principal
) -> None:
    for bad in ("", "   ", "x" * 201):
        with pytest.raises(ValidationError):
            await keystead.workspaces.create(bad)
    await keystead.apis.create(admin, name="shop")
    assert [e.record.action for e in await _entries(keystead, admin)] == [
        "workspace.create",
        "api.create",
    ]
    assert len(await keystead.workspaces.list()) == 1


async def test_a_quota_reset_is_part_of_the_key_update_entry(
    keystead: Keystead, admin: Principal
) -> None:
    api = await keystead.apis.create(admin, name="shop")
    created = await keystead.keys.create(admin, api_id=api.id)
    await keystead.keys.update(admin, created.key.id, {"reset_quota": True})
    last = (await _entries(keystead, admin))[-1].record
    assert (last.action, last.target_id) == ("key.update", created.key.id)
    assert last.changes == {"before": {}, "after": {"reset_quota": True}}


async def test_every_management_action_of_the_service_is_recorded(
    keystead: Keystead, admin: Principal
) -> None:
    ks, who = keystead, admin
    api = await ks.apis.create(who, name="shop")
    await ks.apis.update(who, api.id, {"name": "store"})
    await ks.apis.put_role(who, api.id, "reader", ["docs.read"])
    await ks.apis.delete_role(who, api.id, "reader")
    plan = await ks.plans.create(who, name="free")
    await ks.plans.update(who, plan.id, {"priority": 5})
    await ks.plans.delete(who, plan.id)
    await ks.owners.put(who, "org_1")
    await ks.owners.set_public_key(who, "org_1", ECKey.generate_key("P-256").as_dict())
    await ks.owners.remove_public_key(who, "org_1")
    await ks.owners.delete(who, "org_1")
    key = (await ks.keys.create(who, api_id=api.id)).key
    await ks.keys.disable(who, key.id)
    await ks.keys.enable(who, key.id)
    await ks.keys.update(who, key.id, {"name": "renamed"})
    await ks.keys.revoke(who, key.id)
    await ks.keys.delete(who, key.id)
    await ks.apis.delete(who, api.id)
    root = (await ks.root_keys.create(who, name="ci")).root_key
    await ks.root_keys.revoke(who, root.id)
    hook = (await ks.webhooks.create(who, url="https://example.test/h", events=["*"])).webhook
    await ks.webhooks.update(who, hook.id, {"enabled": False})
    await ks.webhooks.rotate_secret(who, hook.id)
    await ks.webhooks.delete(who, hook.id)
    entries = await _entries(ks, who)
    assert [(e.record.action, e.record.target_id) for e in entries] == [
        ("workspace.create", who.workspace_id),
        ("api.create", api.id),
        ("api.update", api.id),
        ("role.put", f"{api.id}/reader"),
        ("role.delete", f"{api.id}/reader"),
        ("plan.create", plan.id),
        ("plan.update", plan.id),
        ("plan.delete", plan.id),
        ("owner.put", "org_1"),
        ("owner.set_public_key", "org_1"),
        ("owner.remove_public_key", "org_1"),
        ("owner.delete", "org_1"),
        ("key.create", key.id),
        ("key.disable", key.id),
        ("key.enable", key.id),
        ("key.update", key.id),
        ("key.revoke", key.id),
        ("key.delete", key.id),
        ("api.delete", api.id),
        ("root_key.create", root.id),
        ("root_key.revoke", root.id),
        ("webhook.create", hook.id),
        ("webhook.update", hook.id),
        ("webhook.rotate_secret", hook.id),
        ("webhook.delete", hook.id),
    ]
    assert {e.record.actor for e in entries} == {"cli"}
    assert [e.seq for e in entries] == list(range(1, len(entries) + 1))
    report = await ks.audit.verify(who)
    assert report.ok and report.entries == len(entries)
