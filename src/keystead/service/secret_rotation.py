"""Rotation policies of stored secrets: "the Stripe key is older than 90 days".

A policy is a maximum age (``max_age_s``) and a warning period (``warn_before_s``,
0 by default), set on one secret or as the default of a mount (a secret's own
policy wins). The scheduler's pass (``check_due``, every ``scheduler_interval_s``
on the node holding the lifecycle lease) finds the secrets whose latest live
version is older than ``max_age_s - warn_before_s`` and, once per (secret,
version), writes the ``secret.rotation_due`` event (outbox, webhooks) and opens a
warning alert (kind ``secret_rotation_due``). Writing a new version starts the
clock again: the new version is young, and the notice is per version.

Setting, clearing and reading a policy take ``secrets.admin``: on the path for a
secret's policy, over the whole mount for a mount's default (as ``config``).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from keystead.core import events
from keystead.core.alerts import Alert, event_data
from keystead.core.authz import Principal
from keystead.core.ids import new_id
from keystead.core.secret_paths import normalize_mount, normalize_path
from keystead.core.secrets import MAX_DURATION_S, SecretMetadata
from keystead.errors import KeysteadError, NotFound, ValidationError
from keystead.service.context import ServiceContext
from keystead.service.secret_mounts import SecretMounts, require_admin
from keystead.store.secret_consumers import RotationDue, RotationSetting

log = logging.getLogger("keystead.secrets")

RULE_ID = "system:secret_rotation"
KIND = "secret_rotation_due"
MIN_MAX_AGE_S = 60


@dataclass(frozen=True, slots=True)
class RotationPolicyView:
    """The policy that applies to a secret (or a mount's default, ``path`` None)."""

    mount: str
    path: str | None
    max_age_s: int | None
    warn_before_s: int | None
    source: str | None
    """``secret`` (its own), ``mount`` (the mount's default) or None (no policy)."""
    version: int | None = None
    """The latest live version, whose age the policy measures (secrets only)."""
    created_time: datetime | None = None
    warn_at: datetime | None = None
    due_at: datetime | None = None


def check_policy(max_age_s: object, warn_before_s: object) -> tuple[int, int]:
    """``max_age_s`` from a minute to 100 years; ``warn_before_s`` from 0 to less
    than ``max_age_s`` (None: 0)."""
    if (
        isinstance(max_age_s, bool)
        or not isinstance(max_age_s, int)
        or not MIN_MAX_AGE_S <= max_age_s <= MAX_DURATION_S
    ):
        raise ValidationError(
            f"max_age_s is a number of seconds from {MIN_MAX_AGE_S} to {MAX_DURATION_S}",
            field="max_age_s",
        )
    warn = 0 if warn_before_s is None else warn_before_s
    if isinstance(warn, bool) or not isinstance(warn, int) or not 0 <= warn < max_age_s:
        raise ValidationError(
            "warn_before_s is a number of seconds from 0 to less than max_age_s",
            field="warn_before_s",
        )
    return max_age_s, warn


class SecretRotation:
    """``Keystead.secret_rotation``: rotation policies and the scheduled check."""

    def __init__(
        self,
        ctx: ServiceContext,
        mounts: SecretMounts,
        on_alert: Callable[[Alert], None] | None = None,
    ) -> None:
        self._ctx = ctx
        self._mounts = mounts
        self._on_alert = on_alert

    # one secret ------------------------------------------------------------------
    async def read(self, principal: Principal, mount: str, path: str) -> RotationPolicyView:
        """The policy that applies to the secret, with when it warns and is due."""
        mount, path = self._address(principal, mount, path)
        return await self._view(await self._secret(principal.workspace_id, mount, path))

    async def set(
        self,
        principal: Principal,
        mount: str,
        path: str,
        *,
        max_age_s: int,
        warn_before_s: int | None = None,
    ) -> RotationPolicyView:
        """Give the secret a policy of its own (it replaces the mount's default)."""
        mount, path = self._address(principal, mount, path)
        max_age, warn = check_policy(max_age_s, warn_before_s)
        ws = principal.workspace_id
        secret = await self._secret(ws, mount, path)
        before = await self._ctx.store.get_secret_rotation(ws, secret.id)
        setting = RotationSetting(max_age, warn, self._ctx.now())
        self._ctx.audit(
            principal,
            "secret.rotation.write",
            "secret",
            f"{mount}/{path}",
            before=_settings(before),
            after=_settings(setting),
        )
        await self._ctx.store.put_secret_rotation(ws, secret.id, setting)
        return await self._view(secret)

    async def clear(self, principal: Principal, mount: str, path: str) -> RotationPolicyView:
        """Remove the secret's own policy: the mount's default applies again, if any."""
        mount, path = self._address(principal, mount, path)
        ws = principal.workspace_id
        secret = await self._secret(ws, mount, path)
        before = await self._ctx.store.get_secret_rotation(ws, secret.id)
        if before is not None:
            self._ctx.audit(
                principal,
                "secret.rotation.delete",
                "secret",
                f"{mount}/{path}",
                before=_settings(before),
            )
            await self._ctx.store.put_secret_rotation(ws, secret.id, None)
        return await self._view(secret)

    # a mount's default -----------------------------------------------------------
    async def read_mount(self, principal: Principal, mount: str) -> RotationPolicyView:
        mount = normalize_mount(mount)
        require_admin(principal, mount)
        await self._mounts.resolve(principal.workspace_id, mount)
        found = await self._ctx.store.get_mount_rotation(principal.workspace_id, mount)
        return _mount_view(mount, found)

    async def set_mount(
        self, principal: Principal, mount: str, *, max_age_s: int, warn_before_s: int | None = None
    ) -> RotationPolicyView:
        """The default policy of every secret of the mount without one of its own."""
        mount = normalize_mount(mount)
        require_admin(principal, mount)
        max_age, warn = check_policy(max_age_s, warn_before_s)
        ws = principal.workspace_id
        await self._mounts.resolve(ws, mount)
        before = await self._ctx.store.get_mount_rotation(ws, mount)
        setting = RotationSetting(max_age, warn, self._ctx.now())
        self._ctx.audit(
            principal,
            "secret_mount.rotation.write",
            "secret_mount",
            mount,
            before=_settings(before),
            after=_settings(setting),
        )
        await self._ctx.store.put_mount_rotation(ws, mount, setting)
        return _mount_view(mount, setting)

    async def clear_mount(self, principal: Principal, mount: str) -> RotationPolicyView:
        mount = normalize_mount(mount)
        require_admin(principal, mount)
        ws = principal.workspace_id
        await self._mounts.resolve(ws, mount)
        before = await self._ctx.store.get_mount_rotation(ws, mount)
        if before is not None:
            self._ctx.audit(
                principal,
                "secret_mount.rotation.delete",
                "secret_mount",
                mount,
                before=_settings(before),
            )
            await self._ctx.store.put_mount_rotation(ws, mount, None)
        return _mount_view(mount, None)

    # the scheduled check ---------------------------------------------------------
    async def check_due(self) -> list[RotationDue]:
        """Notify every secret due for rotation (or within its warning period) and
        not yet notified for its latest live version: event and alert, once."""
        now = self._ctx.now()
        notified = []
        for due in await self._ctx.store.secrets_due_for_rotation(now):
            event = events.Event.new(events.SECRET_ROTATION_DUE, due.workspace_id, now, _data(due))
            if await self._ctx.store.mark_secret_rotation_due(
                due.secret_id, due.version, now, [event]
            ):
                notified.append(due)
                await self._alert(due, now)
        if notified:
            self._ctx.events_written()
        return notified

    async def _alert(self, due: RotationDue, now: datetime) -> None:
        where = f"{due.mount}/{due.path}"
        age_days = (now - due.created_at).total_seconds() / 86_400
        alert = Alert(
            id=new_id("alr", now.timestamp()),
            workspace_id=due.workspace_id,
            rule_id=RULE_ID,
            kind=KIND,
            scope="secret",
            scope_id=where,
            severity="warning",
            status="open",
            cause=(
                f"version {due.version} of the secret {where} is {age_days:.0f} days old; "
                f"its rotation policy rotates it at {due.max_age_s // 86_400} days "
                f"(due {_due_at(due).isoformat()})"
            ),
            evidence={"summary": _data(due), "records": [], "record_count": 0},
            dedupe_key=f"{KIND}:{where}:{due.version}",
            first_seen=now,
            last_seen=now,
        )
        opened = events.Event.new(events.ALERT_OPENED, due.workspace_id, now, event_data(alert))
        try:
            stored, new = await self._ctx.store.raise_alert(alert, [opened])
        except KeysteadError as exc:  # the event is written: the alert is a courtesy
            log.error("could not open the rotation alert for %s: %s", where, exc.detail)
            return
        if new and self._on_alert is not None:
            self._on_alert(stored)

    # internals -------------------------------------------------------------------
    def _address(self, principal: Principal, mount: str, path: str) -> tuple[str, str]:
        mount, path = normalize_mount(mount), normalize_path(path)
        principal.require_secret("admin", mount, path)
        return mount, path

    async def _secret(self, workspace_id: str, mount: str, path: str) -> SecretMetadata:
        await self._mounts.resolve(workspace_id, mount)
        found = await self._ctx.store.get_secret(workspace_id, mount, path)
        if found is None:
            raise NotFound(f"no secret at {mount}/{path}")
        return found

    async def _view(self, secret: SecretMetadata) -> RotationPolicyView:
        ws = secret.workspace_id
        setting = await self._ctx.store.get_secret_rotation(ws, secret.id)
        source: str | None = "secret"
        if setting is None:
            setting = await self._ctx.store.get_mount_rotation(ws, secret.mount)
            source = None if setting is None else "mount"
        now = self._ctx.now()
        live = [v for v in secret.versions if v.state(now) == "live"]
        latest = live[-1] if live else None
        if setting is None:
            return RotationPolicyView(
                secret.mount,
                secret.path,
                None,
                None,
                None,
                None if latest is None else latest.version,
                None if latest is None else latest.created_time,
            )
        due = warn = None
        if latest is not None:
            due = latest.created_time + timedelta(seconds=setting.max_age_s)
            warn = due - timedelta(seconds=setting.warn_before_s)
        return RotationPolicyView(
            secret.mount,
            secret.path,
            setting.max_age_s,
            setting.warn_before_s,
            source,
            None if latest is None else latest.version,
            None if latest is None else latest.created_time,
            warn,
            due,
        )


def _mount_view(mount: str, setting: RotationSetting | None) -> RotationPolicyView:
    if setting is None:
        return RotationPolicyView(mount, None, None, None, None)
    return RotationPolicyView(mount, None, setting.max_age_s, setting.warn_before_s, "mount")


def _settings(setting: RotationSetting | None) -> dict[str, int] | None:
    if setting is None:
        return None
    return {"max_age_s": setting.max_age_s, "warn_before_s": setting.warn_before_s}


def _due_at(due: RotationDue) -> datetime:
    return due.created_at + timedelta(seconds=due.max_age_s)


def _data(due: RotationDue) -> dict[str, Any]:
    """What the event and the alert say: where, which version, how old; never a value."""
    return {
        "mount": due.mount,
        "path": due.path,
        "version": due.version,
        "created_time": due.created_at.isoformat(),
        "due_at": _due_at(due).isoformat(),
        "max_age_s": due.max_age_s,
        "warn_before_s": due.warn_before_s,
        "policy": due.source,
    }


__all__ = [
    "KIND",
    "MIN_MAX_AGE_S",
    "RULE_ID",
    "RotationPolicyView",
    "SecretRotation",
    "check_policy",
]
