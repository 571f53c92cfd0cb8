"""Rotation policies of stored secrets and the scheduled ``secret.rotation_due``
notice (event and alert, once per version), on SQLite and PostgreSQL, with a
clock the tests move."""

from __future__ import annotations

from typing import Any

import pytest

from keystead.core.authz import Principal
from keystead.core.clock import ManualClock
from keystead.core.permissions import GrantSet
from keystead.errors import Forbidden, NotFound, ValidationError
from keystead.service import Keystead

DAY = 86_400


@pytest.fixture
async def root(vault: Keystead) -> Principal:
    return await vault.workspaces.local_operator()


async def due_events(vault: Keystead, root: Principal) -> list[tuple[str, int]]:
    found = await vault.store.list_events(root.workspace_id, after=None, limit=1000)
    return [(e.data["path"], e.data["version"]) for e in found if e.type == "secret.rotation_due"]


async def rotation_alerts(vault: Keystead, root: Principal) -> list[str]:
    found = await vault.alerts.list(root)
    return sorted(a.dedupe_key for a in found.items if a.kind == "secret_rotation_due")


async def test_a_stripe_key_older_than_its_policy_gets_one_event_and_one_alert(
    vault: Keystead, root: Principal, clock: ManualClock
) -> None:
    await vault.secrets.put(root, "secret", "payments/stripe", {"api_key": "sk_1"})
    view = await vault.secret_rotation.set(
        root, "secret", "payments/stripe", max_age_s=90 * DAY, warn_before_s=7 * DAY
    )
    assert (view.source, view.version, view.max_age_s, view.warn_before_s) == (
        "secret",
        1,
        90 * DAY,
        7 * DAY,
    )
    assert view.created_time is not None and view.due_at is not None and view.warn_at is not None
    assert (view.due_at - view.created_time).days == 90
    assert (view.due_at - view.warn_at).days == 7

    clock.advance(83 * DAY - 1)
    assert await vault.secret_rotation.check_due() == []
    clock.advance(1)  # 83 days: inside the 7-day warning period
    notified = await vault.secret_rotation.check_due()
    assert [(d.path, d.version, d.source) for d in notified] == [("payments/stripe", 1, "secret")]
    clock.advance(30 * DAY)
    assert await vault.secret_rotation.check_due() == []  # once per version
    assert await due_events(vault, root) == [("payments/stripe", 1)]
    assert await rotation_alerts(vault, root) == ["secret_rotation_due:secret/payments/stripe:1"]
    event = next(
        e
        for e in await vault.store.list_events(root.workspace_id, after=None, limit=100)
        if e.type == "secret.rotation_due"
    )
    assert event.data["max_age_s"] == 90 * DAY and event.data["policy"] == "secret"
    assert "sk_1" not in repr(event)

    # a new version starts the clock again, and is notified on its own
    await vault.secrets.put(root, "secret", "payments/stripe", {"api_key": "sk_2"})
    assert await vault.secret_rotation.check_due() == []
    clock.advance(84 * DAY)
    assert [d.version for d in await vault.secret_rotation.check_due()] == [2]
    assert await due_events(vault, root) == [("payments/stripe", 1), ("payments/stripe", 2)]


async def test_the_scheduler_pass_runs_the_check(
    vault: Keystead, root: Principal, clock: ManualClock
) -> None:
    await vault.secrets.put(root, "secret", "db", {"password": "pw"})
    await vault.secret_rotation.set(root, "secret", "db", max_age_s=DAY)
    clock.advance(DAY)
    report = await vault.scheduler.run_once()
    assert report.acted
    assert await due_events(vault, root) == [("db", 1)]


async def test_a_mount_default_applies_unless_the_secret_has_its_own(
    vault: Keystead, root: Principal, clock: ManualClock
) -> None:
    await vault.secrets.put(root, "secret", "a", {"k": "v"})
    await vault.secrets.put(root, "secret", "b", {"k": "v"})
    await vault.secrets.enable_mount(root, "other")
    await vault.secrets.put(root, "other", "c", {"k": "v"})
    mount = await vault.secret_rotation.set_mount(root, "secret", max_age_s=30 * DAY)
    assert (mount.path, mount.max_age_s, mount.warn_before_s, mount.source) == (
        None,
        30 * DAY,
        0,
        "mount",
    )
    await vault.secret_rotation.set(root, "secret", "b", max_age_s=60 * DAY)
    assert (await vault.secret_rotation.read(root, "secret", "a")).source == "mount"
    assert (await vault.secret_rotation.read(root, "secret", "b")).source == "secret"
    assert (await vault.secret_rotation.read(root, "other", "c")).source is None

    clock.advance(30 * DAY)
    assert [(d.path, d.source) for d in await vault.secret_rotation.check_due()] == [("a", "mount")]
    cleared = await vault.secret_rotation.clear(root, "secret", "b")
    assert (cleared.source, cleared.max_age_s) == ("mount", 30 * DAY)
    assert [d.path for d in await vault.secret_rotation.check_due()] == ["b"]
    assert (await vault.secret_rotation.clear_mount(root, "secret")).source is None
    assert (await vault.secret_rotation.read_mount(root, "secret")).max_age_s is None


async def test_the_latest_live_version_is_the_one_measured(
    vault: Keystead, root: Principal, clock: ManualClock
) -> None:
    await vault.secrets.put(root, "secret", "app", {"k": "1"})
    clock.advance(10 * DAY)
    await vault.secrets.put(root, "secret", "app", {"k": "2"})
    await vault.secret_rotation.set(root, "secret", "app", max_age_s=15 * DAY)
    clock.advance(6 * DAY)  # version 1 is 16 days old, version 2 only 6
    assert await vault.secret_rotation.check_due() == []
    await vault.secrets.delete(root, "secret", "app")  # version 2 soft-deleted
    assert (await vault.secret_rotation.read(root, "secret", "app")).version == 1
    assert [d.version for d in await vault.secret_rotation.check_due()] == [1]
    await vault.secrets.destroy(root, "secret", "app", [1])
    assert (await vault.secret_rotation.read(root, "secret", "app")).version is None
    assert await vault.secret_rotation.check_due() == []  # nothing live to rotate


async def test_deleting_the_metadata_removes_the_policy(
    vault: Keystead, root: Principal, clock: ManualClock
) -> None:
    await vault.secrets.put(root, "secret", "app", {"k": "v"})
    await vault.secret_rotation.set(root, "secret", "app", max_age_s=DAY)
    await vault.secrets.delete_metadata(root, "secret", "app")
    await vault.secrets.put(root, "secret", "app", {"k": "w"})
    assert (await vault.secret_rotation.read(root, "secret", "app")).source is None
    clock.advance(2 * DAY)
    assert await vault.secret_rotation.check_due() == []


async def test_policies_are_validated_audited_and_need_secrets_admin(
    vault: Keystead, root: Principal
) -> None:
    await vault.secrets.put(root, "secret", "payments/stripe", {"k": "v"})
    bad: list[tuple[Any, Any]] = [(59, None), (True, None), ("90d", None), (DAY, DAY), (DAY, -1)]
    for max_age, warn in bad:
        with pytest.raises(ValidationError):
            await vault.secret_rotation.set(
                root, "secret", "payments/stripe", max_age_s=max_age, warn_before_s=warn
            )
    reader = Principal(root.workspace_id, "root_key:rk_r", GrantSet(["secrets.read"]))
    path_admin = Principal(
        root.workspace_id, "root_key:rk_a", GrantSet(["secrets.admin:secret/payments/*"])
    )
    with pytest.raises(Forbidden, match=r"secrets\.admin"):
        await vault.secret_rotation.read(reader, "secret", "payments/stripe")
    await vault.secret_rotation.set(path_admin, "secret", "payments/stripe", max_age_s=DAY)
    with pytest.raises(Forbidden):  # a mount's default reaches every secret of it
        await vault.secret_rotation.set_mount(path_admin, "secret", max_age_s=DAY)
    with pytest.raises(NotFound):
        await vault.secret_rotation.set(root, "secret", "payments/none", max_age_s=DAY)
    await vault.secret_rotation.clear(path_admin, "secret", "payments/stripe")

    entries = await vault.store.audit_entries(root.workspace_id, after=0, limit=100)
    actions = [(e.record.action, e.record.actor) for e in entries if "rotation" in e.record.action]
    assert actions == [
        ("secret.rotation.write", "root_key:rk_a"),
        ("secret.rotation.delete", "root_key:rk_a"),
    ]


async def test_the_event_type_can_be_subscribed_to(vault: Keystead, root: Principal) -> None:
    hook = await vault.webhooks.create(
        root, url="https://hooks.example.test/in", events=["secret.rotation_due"]
    )
    assert list(hook.webhook.events) == ["secret.rotation_due"]
