"""The mounts of stored secrets: the default ``secret`` (made on first use, in every
workspace), mounts enabled by name, and their settings (``config``).

A mount's settings apply to every secret below it, so reading and changing them,
and enabling a mount, take ``secrets.admin`` over the whole mount
(``secrets.admin:<mount>/*`` or an unscoped ``secrets.admin``).

A mount has a kind: ``kv-v2`` (stored secrets) or ``transit`` (named encryption
keys, ``service/transit.py``). Each operation resolves the mount for its kind, so
a secret operation on a transit mount, or a transit one on a KV mount, is a clear
ValidationError naming the mount's kind; the settings of this module are KV's."""

from __future__ import annotations

from dataclasses import replace

from keystead.core.authz import NARROWED_SECRETS, Principal
from keystead.core.permissions import GrantSet
from keystead.core.secret_grants import secret_permission
from keystead.core.secret_paths import DEFAULT_MOUNT, normalize_mount
from keystead.core.secrets import (
    KV_V2,
    MOUNT_KINDS,
    TRANSIT,
    MountConfig,
    SecretMount,
    setting_changes,
)
from keystead.errors import Conflict, Forbidden, NotFound, ValidationError
from keystead.service.context import ServiceContext

_KNOWN = 10_000
"""Mounts remembered per service (all forgotten at once past this many)."""


class SecretMounts:
    def __init__(self, ctx: ServiceContext) -> None:
        self._ctx = ctx
        self._known: dict[tuple[str, str], SecretMount] = {}

    async def find(self, workspace_id: str, name: str) -> SecretMount:
        """The mount ``name`` (already validated), of any kind, as stored now: what a
        face dispatches on. The default one is made when missing, any other is
        NotFound."""
        found = await self._ctx.store.get_secret_mount(workspace_id, name)
        if found is None:
            if name != DEFAULT_MOUNT:
                raise NotFound(f"no mount '{name}'")
            new = self._new(workspace_id, name)
            found = (await self._ctx.store.insert_secret_mount(new))[0]
        self._remember(found)
        return found

    async def resolve(self, workspace_id: str, name: str, kind: str = KV_V2) -> SecretMount:
        """``find``, and a ValidationError when the mount is not of ``kind``: with
        the settings as stored now (what a write applies)."""
        return _of_kind(await self.find(workspace_id, name), kind)

    def seen(self, workspace_id: str, name: str, kind: str = KV_V2) -> bool:
        """``known`` without a call when the mount is in memory and of ``kind``
        (False: ask ``known``)."""
        found = self._known.get((workspace_id, name))
        return found is not None and found.kind == kind

    async def known(self, workspace_id: str, name: str, kind: str = KV_V2) -> None:
        """The mount exists and is of ``kind`` (else as ``resolve``), from memory
        once seen: a mount is never removed and its kind never changes, so a read,
        which needs nothing else of it, makes no store call. Its settings are not
        taken from here (a write reads them with ``resolve``)."""
        found = self._known.get((workspace_id, name))
        _of_kind(found or await self.find(workspace_id, name), kind)

    def _remember(self, mount: SecretMount) -> None:
        if len(self._known) >= _KNOWN:
            self._known.clear()
        self._known[(mount.workspace_id, mount.name)] = mount

    async def list(self, principal: Principal) -> list[SecretMount]:
        """The mounts the principal may list or administer at their top. Needs
        ``secrets.list`` or ``secrets.admin`` on some scope (403 otherwise: an empty
        answer would hide a root key that cannot see any secret)."""
        if principal.narrowed:
            raise Forbidden(NARROWED_SECRETS)
        if not _holds(principal, "list"):
            raise Forbidden("this root key lacks 'secrets.list' (on any mount)")
        await self.resolve(principal.workspace_id, DEFAULT_MOUNT)
        found = await self._ctx.store.list_secret_mounts(principal.workspace_id)
        return [m for m in found if principal.may("list", m.name, "") or _admin(principal, m.name)]

    async def enable(
        self,
        principal: Principal,
        name: str,
        *,
        kind: str = KV_V2,
        max_versions: int = 0,
        cas_required: bool = False,
        delete_version_after: int = 0,
    ) -> SecretMount:
        name = normalize_mount(name)
        require_admin(principal, name)
        if kind not in MOUNT_KINDS:
            raise ValidationError(
                f"unknown mount kind; known: {', '.join(MOUNT_KINDS)}", field="kind"
            )
        changes = setting_changes(max_versions, cas_required, delete_version_after)
        if kind == TRANSIT and any(changes.values()):
            raise ValidationError(
                "a transit mount has no version settings (max_versions, cas_required, "
                "delete_version_after)",
                field="kind",
            )
        config = replace(MountConfig(), **changes)
        mount = replace(self._new(principal.workspace_id, name), kind=kind, config=config)
        self._ctx.audit(principal, "secret_mount.enable", "secret_mount", name, after=mount)
        stored, new = await self._ctx.store.insert_secret_mount(mount)
        if not new:
            raise Conflict(f"the mount '{name}' already exists")
        self._remember(stored)
        return stored

    async def read_config(self, principal: Principal, name: str) -> SecretMount:
        name = normalize_mount(name)
        require_admin(principal, name)
        return await self.resolve(principal.workspace_id, name)

    async def write_config(
        self,
        principal: Principal,
        name: str,
        *,
        max_versions: int | None = None,
        cas_required: bool | None = None,
        delete_version_after: int | None = None,
    ) -> SecretMount:
        """Change the settings given; the others keep their values."""
        name = normalize_mount(name)
        require_admin(principal, name)
        mount = await self.resolve(principal.workspace_id, name)
        config = replace(
            mount.config, **setting_changes(max_versions, cas_required, delete_version_after)
        )
        self._ctx.audit(
            principal,
            "secret_mount.configure",
            "secret_mount",
            name,
            before=mount.config,
            after=config,
        )
        updated = await self._ctx.store.update_secret_mount(
            principal.workspace_id, name, config, self._ctx.now()
        )
        if updated is None:
            raise NotFound(f"no mount '{name}'")
        self._remember(updated)
        return updated

    def _new(self, workspace_id: str, name: str) -> SecretMount:
        now = self._ctx.now()
        return SecretMount(workspace_id, name, KV_V2, MountConfig(), now, now)


def _of_kind(mount: SecretMount, kind: str) -> SecretMount:
    if mount.kind != kind:
        raise ValidationError(
            f"the mount '{mount.name}' is a {mount.kind} mount: it does not serve "
            + ("transit keys" if kind == TRANSIT else "stored secrets"),
            field="mount",
        )
    return mount


def _holds(principal: Principal, action: str) -> bool:
    """Whether some grant, whatever its scope, allows ``secrets.<action>`` (or admin)."""
    names = GrantSet({grant.partition(":")[0] for grant in principal.grants.grants})
    return names.covers(f"secrets.{action}") or names.covers("secrets.admin")


def _admin(principal: Principal, mount: str) -> bool:
    return not principal.narrowed and principal.grants.covers(
        secret_permission("admin", mount, "*")
    )


def require_admin(principal: Principal, mount: str) -> None:
    """``secrets.admin`` over the whole mount (a mount's settings reach every secret)."""
    if principal.narrowed:
        raise Forbidden(NARROWED_SECRETS)
    if not _admin(principal, mount):
        raise Forbidden("this root key lacks 'secrets.admin' on this whole mount")


__all__ = ["SecretMounts", "require_admin"]
