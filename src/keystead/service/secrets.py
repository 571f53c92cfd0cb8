"""``Keystead.secrets``: stored secrets with KV version 2 semantics (docs/secrets.md).

Every method takes the acting ``Principal`` first, validates and normalises the
address (``secret_paths``) and checks the path-scoped permission before it looks
anything up: deny by default, and another workspace's secrets do not exist (every
store call is scoped by the principal's workspace).

Values are sealed here, under ``secret_aad(workspace, mount, path, version)``, with
the keyring of the store's master key; the store only ever holds sealed bytes. The
audit log says who touched which path and version, never a value.
"""

from __future__ import annotations

import builtins
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

from keystead.core import events
from keystead.core.alerts import Alert
from keystead.core.authz import Principal
from keystead.core.envelope import seal, secret_aad
from keystead.core.ids import new_id
from keystead.core.secret_paths import normalize_mount, normalize_path
from keystead.core.secrets import (
    MountConfig,
    SealedVersion,
    SecretMetadata,
    SecretMount,
    SecretRead,
    SecretVersionGone,
    SecretWritten,
    VersionInfo,
    check_data,
    decode_data,
    effective_cas_required,
    effective_delete_after,
    effective_max_versions,
    encode_data,
    list_level,
    merge_patch,
    setting_changes,
    subkeys,
)
from keystead.errors import (
    CheckAndSetMismatch,
    Conflict,
    IntegrityError,
    NotFound,
    ValidationError,
)
from keystead.service import secret_cache, secret_fields, secret_integrity, secret_metadata
from keystead.service.context import ServiceContext
from keystead.service.master_keys import MasterKeys
from keystead.service.secret_mounts import SecretMounts
from keystead.store.secrets import VersionChange

_RETRIES = 5
"""Writes without ``cas`` that lose a race re-read and try again this many times."""
CAS_MISMATCH = "check-and-set parameter did not match the current version"
CAS_REQUIRED = "check-and-set parameter required for this call"


class SecretService:
    def __init__(
        self,
        ctx: ServiceContext,
        master_keys: MasterKeys,
        on_alert: Callable[[Alert], None] | None = None,
    ) -> None:
        self._ctx = ctx
        self._master_keys = master_keys
        self._on_alert = on_alert
        self.mounts = SecretMounts(ctx)
        self.on_read: Callable[[Principal, SecretMetadata, int, datetime], None] | None = None
        """Told of every value answered (``get``): the consumers' recorder."""

    # mounts -------------------------------------------------------------------------
    async def list_mounts(self, principal: Principal) -> builtins.list[SecretMount]:
        return await self.mounts.list(principal)

    async def enable_mount(self, principal: Principal, name: str, **config: Any) -> SecretMount:
        return await self.mounts.enable(principal, name, **config)

    async def read_config(self, principal: Principal, mount: str) -> SecretMount:
        return await self.mounts.read_config(principal, mount)

    async def write_config(self, principal: Principal, mount: str, **config: Any) -> SecretMount:
        return await self.mounts.write_config(principal, mount, **config)

    # values -------------------------------------------------------------------------
    async def put(
        self,
        principal: Principal,
        mount: str,
        path: str,
        data: Mapping[str, str],
        *,
        cas: int | None = None,
    ) -> SecretWritten:
        """Write a new version. ``cas``: the version this write replaces (0: create
        only); a mismatch, or no ``cas`` where ``cas_required``, is
        ``CheckAndSetMismatch``. Without ``cas`` a concurrent write is retried."""
        mount, path = self._address(principal, "write", mount, path)
        plaintext = encode_data(check_data(data))
        expected = secret_fields.cas(cas)
        config = (await self.mounts.resolve(principal.workspace_id, mount)).config
        for _ in range(_RETRIES):
            current = await self._ctx.store.get_secret(principal.workspace_id, mount, path)
            written = await self._write(
                principal, mount, path, current, config, plaintext, expected
            )
            if written is not None:
                return written
        raise Conflict("the secret kept changing while it was written; retry")

    async def patch(
        self,
        principal: Principal,
        mount: str,
        path: str,
        changes: Mapping[str, str | None],
        *,
        cas: int | None = None,
    ) -> SecretWritten:
        """Merge ``changes`` into the current version's fields (JSON merge patch: a
        field set to None is removed) as a new version. The current version must be
        readable (else NotFound / ``SecretVersionGone``)."""
        mount, path = self._address(principal, "write", mount, path)
        expected = secret_fields.cas(cas)
        config = (await self.mounts.resolve(principal.workspace_id, mount)).config
        for _ in range(_RETRIES):
            current, data = await self._open_latest(principal, mount, path)
            plaintext = encode_data(merge_patch(data, changes))
            written = await self._write(
                principal, mount, path, current, config, plaintext, expected
            )
            if written is not None:
                return written
        raise Conflict("the secret kept changing while it was patched; retry")

    async def get(
        self, principal: Principal, mount: str, path: str, version: int | None = None
    ) -> SecretRead:
        """A version's value (the current one when ``version`` is None or 0). A
        deleted or destroyed version is ``SecretVersionGone`` (a NotFound carrying
        the metadata); one not kept, or no secret, is NotFound."""
        mount, path = self._address(principal, "read", mount, path)
        return await self._read(
            principal, mount, path, secret_fields.version(version), "secret.read"
        )

    async def subkeys(
        self, principal: Principal, mount: str, path: str, version: int | None = None
    ) -> tuple[dict[str, Any], SecretRead]:
        """Vault's ``subkeys``: the value's field names, each with a null value."""
        mount, path = self._address(principal, "read", mount, path)
        found = await self._read(
            principal, mount, path, secret_fields.version(version), "secret.subkeys"
        )
        return subkeys(found.data), replace(found, data={})

    async def rollback(
        self,
        principal: Principal,
        mount: str,
        path: str,
        version: int,
        *,
        cas: int | None = None,
    ) -> SecretWritten:
        """Write the value of the kept ``version`` again, as a new version (needs
        ``secrets.read`` and ``secrets.write``). A deleted or destroyed version is
        ``SecretVersionGone``; one not kept, NotFound."""
        mount, path = self._address(principal, "write", mount, path)
        principal.require_secret("read", mount, path)
        number = secret_fields.version(version)
        if number is None:
            raise ValidationError("rollback names a version, 1 or more", field="version")
        old = await self._read(principal, mount, path, number, "secret.rollback")
        return await self.put(principal, mount, path, old.data, cas=cas)

    # versions -----------------------------------------------------------------------
    async def delete(
        self, principal: Principal, mount: str, path: str, versions: Sequence[int] | None = None
    ) -> SecretMetadata:
        """Soft-delete ``versions`` (the current one when None): undelete undoes it."""
        mount, path = self._address(principal, "delete", mount, path)
        if versions is None:
            secret = await self._metadata(principal.workspace_id, mount, path)
            chosen = [secret.current_version] if secret.current_version else []
        else:
            chosen = secret_fields.versions(versions)
        return await self._change(principal, mount, path, chosen, "delete")

    async def undelete(
        self, principal: Principal, mount: str, path: str, versions: Sequence[int]
    ) -> SecretMetadata:
        mount, path = self._address(principal, "delete", mount, path)
        return await self._change(
            principal, mount, path, secret_fields.versions(versions), "undelete"
        )

    async def destroy(
        self, principal: Principal, mount: str, path: str, versions: Sequence[int]
    ) -> SecretMetadata:
        """Erase the sealed bytes of ``versions`` for good (the metadata stays)."""
        mount, path = self._address(principal, "destroy", mount, path)
        return await self._change(
            principal, mount, path, secret_fields.versions(versions), "destroy"
        )

    # metadata -----------------------------------------------------------------------
    async def read_metadata(self, principal: Principal, mount: str, path: str) -> SecretMetadata:
        mount, path = self._address(principal, "read", mount, path)
        return await self._metadata(principal.workspace_id, mount, path)

    async def write_metadata(
        self,
        principal: Principal,
        mount: str,
        path: str,
        *,
        max_versions: int | None = None,
        cas_required: bool | None = None,
        delete_version_after: int | None = None,
        custom_metadata: Mapping[str, str] | None = None,
    ) -> SecretMetadata:
        """Change the settings given (``custom_metadata`` is replaced whole); a
        secret without versions is created. Lowering ``max_versions`` prunes."""
        mount, path = self._address(principal, "admin", mount, path)
        settings = setting_changes(max_versions, cas_required, delete_version_after)
        return await secret_metadata.write(
            self._ctx, self.mounts, principal, mount, path, settings, custom_metadata
        )

    async def delete_metadata(self, principal: Principal, mount: str, path: str) -> None:
        """Delete the secret: its metadata and every version."""
        mount, path = self._address(principal, "destroy", mount, path)
        secret = await self._metadata(principal.workspace_id, mount, path)
        await secret_metadata.delete(self._ctx, principal, secret)

    async def list(self, principal: Principal, mount: str, folder: str = "") -> builtins.list[str]:
        """Vault LIST: the names one level below ``folder`` (folders end with ``/``)."""
        mount = normalize_mount(mount)
        folder = normalize_path(folder, allow_root=True)
        principal.require_secret("list", mount, folder)
        await self.mounts.known(principal.workspace_id, mount)
        prefix = f"{folder}/" if folder else ""
        paths = await self._ctx.store.list_secret_paths(principal.workspace_id, mount, prefix)
        return list_level(paths, folder)

    # internals ----------------------------------------------------------------------
    def _address(self, principal: Principal, action: str, mount: str, path: str) -> tuple[str, str]:
        mount, path = normalize_mount(mount), normalize_path(path)
        principal.require_secret(action, mount, path)
        return mount, path

    async def _metadata(self, workspace_id: str, mount: str, path: str) -> SecretMetadata:
        await self.mounts.known(workspace_id, mount)
        found = await self._ctx.store.get_secret(workspace_id, mount, path)
        if found is None:
            raise NotFound(f"no secret at {mount}/{path}")
        return found

    async def _write(
        self,
        principal: Principal,
        mount: str,
        path: str,
        current: SecretMetadata | None,
        config: MountConfig,
        plaintext: bytes,
        cas: int | None,
    ) -> SecretWritten | None:
        """One attempt: None when another write got in first (and ``cas`` is None)."""
        ws = principal.workspace_id
        latest = 0 if current is None else current.current_version
        if cas is None and effective_cas_required(current, config):
            raise CheckAndSetMismatch(CAS_REQUIRED)
        if cas is not None and cas != latest:
            raise CheckAndSetMismatch(f"{CAS_MISMATCH} (cas={cas}, current version {latest})")
        now, number = self._ctx.now(), latest + 1
        sealed = seal(plaintext, secret_aad(ws, mount, path, number), self._master_keys.keyring)
        after = effective_delete_after(current, config)
        info = VersionInfo(
            version=number,
            created_time=now,
            deletion_time=now + timedelta(seconds=after) if after else None,
            key_version=sealed.key_version,
        )
        base = current or SecretMetadata(new_id("sec", now.timestamp()), ws, mount, path, now, now)
        kind = events.SECRET_CREATED if latest == 0 else events.SECRET_UPDATED
        event = events.secret_event(kind, ws, mount, path, now, [number])
        self._ctx.audit(
            principal, "secret.write", "secret", f"{mount}/{path}", after={"version": number}
        )
        stored = await self._ctx.store.write_secret_version(
            replace(base, updated_time=now),
            SealedVersion(info, sealed.to_bytes()),
            expected=latest,
            keep=effective_max_versions(current, config),
            events=[event],
        )
        if stored is None:
            if cas is not None:
                raise CheckAndSetMismatch(f"{CAS_MISMATCH} (another write got in first)")
            return None
        self._ctx.events_written()
        self._ctx.secret_changed(ws, mount, path)
        return SecretWritten(stored.version(number) or info, stored)

    async def _read(
        self, principal: Principal, mount: str, path: str, version: int | None, action: str
    ) -> SecretRead:
        ws, now = principal.workspace_id, self._ctx.now()
        if not self.mounts.seen(ws, mount):  # a hot read calls nothing before its audit
            await self.mounts.known(ws, mount)
        target = f"{mount}/{path}"
        found = secret_cache.cached_version(self._ctx, ws, mount, path, version)
        if found is None:
            found = await secret_cache.read_version(self._ctx, ws, mount, path, version)
        if found is None or (found[1] is None and found[0].current_version == 0):
            raise NotFound(f"no secret at {target}")
        secret, stored = found
        if stored is None:
            raise NotFound(f"no version {version} of the secret at {target}")
        state = stored.info.state(now)
        if state != "live" or stored.sealed is None:
            raise SecretVersionGone(secret, stored.info, state)
        after = {"version": stored.info.version}
        await self._ctx.audit_read(principal, action, "secret", target, after=after)
        keyring = self._master_keys.keyring
        try:
            plaintext = secret_integrity.open_version(keyring, secret, stored.info, stored.sealed)
        except IntegrityError:
            await secret_integrity.failed(self._ctx, secret, stored.info, self._on_alert)
        data = decode_data(plaintext)
        if self.on_read is not None and action == "secret.read":
            self.on_read(principal, secret, stored.info.version, now)
        return SecretRead(data, stored.info, secret)

    async def _open_latest(
        self, principal: Principal, mount: str, path: str
    ) -> tuple[SecretMetadata, dict[str, str]]:
        """The secret and its current value, for a patch (no read is audited: the
        patch's write is)."""
        ws, now = principal.workspace_id, self._ctx.now()
        found = await self._ctx.store.read_secret_version(ws, mount, path, None)
        if found is None or found[1] is None:
            raise NotFound(f"no secret at {mount}/{path}")
        secret, stored = found[0], found[1]
        state = stored.info.state(now)
        if state != "live" or stored.sealed is None:
            raise SecretVersionGone(secret, stored.info, state)
        data = decode_data(await self._unseal(secret, stored.info, stored.sealed))
        full = await self._ctx.store.get_secret(ws, mount, path)
        return (full or secret), data

    async def _unseal(self, secret: SecretMetadata, info: VersionInfo, sealed: bytes) -> bytes:
        keyring = self._master_keys.keyring
        return await secret_integrity.unseal_version(
            self._ctx, keyring, secret, info, sealed, self._on_alert
        )

    async def _change(
        self,
        principal: Principal,
        mount: str,
        path: str,
        versions: builtins.list[int],
        change: VersionChange,
    ) -> SecretMetadata:
        ws = principal.workspace_id
        await self.mounts.known(ws, mount)
        kind = events.SECRET_DESTROYED if change == "destroy" else events.SECRET_DELETED
        now = self._ctx.now()

        def described(
            _secret: SecretMetadata, changed: builtins.list[int]
        ) -> builtins.list[events.Event]:
            if change == "undelete":
                return [events.secret_event(events.SECRET_UPDATED, ws, mount, path, now, changed)]
            return [events.secret_event(kind, ws, mount, path, now, changed)]

        self._ctx.audit(
            principal, f"secret.{change}", "secret", f"{mount}/{path}", after={"versions": versions}
        )
        done = await self._ctx.store.change_secret_versions(
            ws, mount, path, versions, change, now, described
        )
        if done is None:
            raise NotFound(f"no secret at {mount}/{path}")
        secret, changed = done
        if changed:
            self._ctx.events_written()
            self._ctx.secret_changed(ws, mount, path)
        return secret


__all__ = ["CAS_MISMATCH", "CAS_REQUIRED", "SecretService"]
