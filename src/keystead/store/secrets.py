"""The store interface of stored secrets: mounts, secrets and sealed versions.

The store sees sealed bytes only (``keystead.core.envelope``): sealing and
opening happen in the service, which holds the keyring. Every method is scoped
by workspace. A write that names the version it replaces (``expected``) is one
atomic check-and-set: of two concurrent writers expecting the same version,
exactly one stores its version and the other gets ``None``.

``SecretStore`` is a protocol apart from the SQL code because it is part of ``Store``,
the one interface the service holds and a second backend implements.
tests/store/test_store_protocol.py holds ``SqlStore`` to it, signature by signature.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Literal, Protocol

from keystead.core.events import Event
from keystead.core.secrets import MountConfig, SealedVersion, SecretMetadata, SecretMount

VersionChange = Literal["delete", "undelete", "destroy"]


class SecretStore(Protocol):
    async def insert_secret_mount(self, mount: SecretMount) -> tuple[SecretMount, bool]:
        """Store ``mount`` unless one of its name exists; return the stored one and
        whether it is new."""
        ...

    async def get_secret_mount(self, workspace_id: str, name: str) -> SecretMount | None: ...
    async def list_secret_mounts(self, workspace_id: str) -> list[SecretMount]: ...
    async def update_secret_mount(
        self, workspace_id: str, name: str, config: MountConfig, at: datetime
    ) -> SecretMount | None: ...

    async def get_secret(self, workspace_id: str, mount: str, path: str) -> SecretMetadata | None:
        """The secret's metadata with every version kept (no sealed bytes)."""
        ...

    async def read_secret_version(
        self, workspace_id: str, mount: str, path: str, version: int | None
    ) -> tuple[SecretMetadata, SealedVersion | None] | None:
        """The secret and one version (the current one when ``version`` is None) with
        its sealed bytes; the version is None when it is not kept (pruned, never
        written). None when there is no such secret. A read only: no transaction,
        no audit entry (the service audits reads in batches, ``AuditWriter``)."""
        ...

    async def write_secret_version(
        self,
        secret: SecretMetadata,
        version: SealedVersion,
        *,
        expected: int,
        keep: int,
        events: Sequence[Event] = (),
    ) -> SecretMetadata | None:
        """Store ``version`` as the secret's new current version if its current
        version is still ``expected`` (0: a secret with no version, or none at all,
        then created from ``secret``'s fields); prune to the newest ``keep``
        versions. None, and nothing written, when the check fails."""
        ...

    async def put_secret_metadata(
        self, secret: SecretMetadata, *, keep: int, events: Sequence[Event] = ()
    ) -> SecretMetadata:
        """Create the secret (without versions) or change its settings
        (``max_versions``, ``cas_required``, ``delete_version_after``,
        ``custom_metadata``, ``updated_time``); prune to ``keep`` versions."""
        ...

    async def change_secret_versions(
        self,
        workspace_id: str,
        mount: str,
        path: str,
        versions: Sequence[int],
        change: VersionChange,
        at: datetime,
        events: Callable[[SecretMetadata, list[int]], Sequence[Event]] | None = None,
    ) -> tuple[SecretMetadata, list[int]] | None:
        """Soft-delete (``deletion_time`` = ``at``), undelete, or destroy (erase the
        sealed bytes) the given versions; versions already so, destroyed ones (but
        for destroy) and unknown ones are skipped. Returns the secret after the
        change and the versions changed, whose events ``events`` names (written in
        the same transaction). None when there is no such secret."""
        ...

    async def delete_secret(
        self, workspace_id: str, mount: str, path: str, events: Sequence[Event] = ()
    ) -> bool:
        """Delete the secret with every version (``delete_metadata``)."""
        ...

    async def list_secret_paths(self, workspace_id: str, mount: str, prefix: str) -> list[str]:
        """The paths of a mount's secrets that start with ``prefix``, sorted."""
        ...


__all__ = ["SecretStore", "VersionChange"]
