"""Writing and deleting a stored secret's metadata (``ks.secrets.write_metadata`` and
``delete_metadata``): the settings and custom metadata of Vault's ``metadata/``
endpoint, and the removal of a secret with every version. The caller has checked
the address and the permission."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from keystead.core import events
from keystead.core.authz import Principal
from keystead.core.ids import new_id
from keystead.core.secrets import SecretMetadata, check_custom_metadata, effective_max_versions
from keystead.errors import NotFound
from keystead.service import secret_fields
from keystead.service.context import ServiceContext
from keystead.service.secret_mounts import SecretMounts


async def write(
    ctx: ServiceContext,
    mounts: SecretMounts,
    principal: Principal,
    mount: str,
    path: str,
    settings: Mapping[str, Any],
    custom_metadata: Mapping[str, str] | None,
) -> SecretMetadata:
    """Apply ``settings`` (``setting_changes``) and ``custom_metadata`` (replaced
    whole when given) to the secret at ``mount/path``, creating it without versions
    when there is none; lowering ``max_versions`` prunes."""
    config = (await mounts.resolve(principal.workspace_id, mount)).config
    ws, now = principal.workspace_id, ctx.now()
    current = await ctx.store.get_secret(ws, mount, path)
    base = current or SecretMetadata(new_id("sec", now.timestamp()), ws, mount, path, now, now)
    changed = replace(
        base,
        updated_time=now,
        **settings,
        custom_metadata=base.custom_metadata
        if custom_metadata is None
        else check_custom_metadata(custom_metadata),
    )
    ctx.audit(
        principal,
        "secret.metadata.write",
        "secret",
        f"{mount}/{path}",
        before=None if current is None else secret_fields.settings(current),
        after=secret_fields.settings(changed),
    )
    keep = effective_max_versions(changed, config)
    stored = await ctx.store.put_secret_metadata(changed, keep=keep)
    ctx.secrets.invalidate((ws, mount, path))
    return stored


async def delete(ctx: ServiceContext, principal: Principal, secret: SecretMetadata) -> None:
    """Remove ``secret`` with every version (``secret.destroyed`` names them)."""
    ws, mount, path = secret.workspace_id, secret.mount, secret.path
    kept = [v.version for v in secret.versions]
    ctx.audit(
        principal, "secret.metadata.delete", "secret", f"{mount}/{path}", before={"versions": kept}
    )
    event = events.secret_event(events.SECRET_DESTROYED, ws, mount, path, ctx.now(), kept)
    if not await ctx.store.delete_secret(ws, mount, path, [event]):
        raise NotFound(f"no secret at {mount}/{path}")
    ctx.events_written()
    ctx.secret_changed(ws, mount, path)


__all__ = ["delete", "write"]
