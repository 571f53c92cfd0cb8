"""The store interface of the secret lifecycle: consumers and rotation policies.

Consumers: which credential read which version of a secret, aggregated (first
read, last read, count). The service buffers reads in memory and hands them
here in batches (``record_secret_reads``); nothing is written per read.

Rotation policies: a maximum age and a warning period per secret, and a default
per mount; ``secrets_due_for_rotation`` finds the secrets whose latest live
version is old enough to warn about and has not been warned about yet, and
``mark_secret_rotation_due`` records the notice with its event, once.

Every row but a mount's default hangs off the secret: deleting the secret's
metadata removes its consumers, its policy and its notices.
tests/store/test_store_protocol.py holds ``SqlStore`` to this protocol.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from keystead.core.events import Event


@dataclass(frozen=True, slots=True)
class SecretReads:
    """Reads of one version of one secret by one credential, aggregated."""

    workspace_id: str
    secret_id: str
    version: int
    credential: str
    first_read: datetime
    last_read: datetime
    reads: int


@dataclass(frozen=True, slots=True)
class SecretConsumer:
    """A credential that read a version: when first and last, and how often."""

    version: int
    credential: str
    first_read: datetime
    last_read: datetime
    reads: int


@dataclass(frozen=True, slots=True)
class RotationSetting:
    """A rotation policy as stored: seconds (``warn_before_s`` 0: warn at ``max_age_s``)."""

    max_age_s: int
    warn_before_s: int
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class RotationDue:
    """A secret whose latest live version is older than ``max_age_s - warn_before_s``."""

    workspace_id: str
    secret_id: str
    mount: str
    path: str
    version: int
    created_at: datetime
    max_age_s: int
    warn_before_s: int
    source: str
    """``secret`` (its own policy) or ``mount`` (the mount's default)."""


class SecretConsumerStore(Protocol):
    async def record_secret_reads(self, reads: Sequence[SecretReads]) -> int:
        """Add ``reads`` to the stored consumers (first read the earliest, last read
        the latest, counts summed); reads of a secret that no longer exists are
        dropped. Returns how many (secret, version, credential) rows were written."""
        ...

    async def list_secret_consumers(
        self, workspace_id: str, secret_id: str, version: int | None = None
    ) -> list[SecretConsumer]:
        """The consumers of a secret (of one version when given), by version, then
        by last read, newest first."""
        ...

    async def get_secret_rotation(
        self, workspace_id: str, secret_id: str
    ) -> RotationSetting | None: ...

    async def put_secret_rotation(
        self, workspace_id: str, secret_id: str, setting: RotationSetting | None
    ) -> None:
        """Set the secret's own policy, or remove it (``None``)."""
        ...

    async def get_mount_rotation(self, workspace_id: str, mount: str) -> RotationSetting | None: ...

    async def put_mount_rotation(
        self, workspace_id: str, mount: str, setting: RotationSetting | None
    ) -> None:
        """Set the mount's default policy, or remove it (``None``)."""
        ...

    async def secrets_due_for_rotation(self, now: datetime) -> list[RotationDue]:
        """Across workspaces: the secrets whose latest live version (not deleted,
        not destroyed) is older than their policy's ``max_age_s - warn_before_s``
        at ``now`` (their own policy, else their mount's), and which have no
        notice for that version yet."""
        ...

    async def mark_secret_rotation_due(
        self, secret_id: str, version: int, at: datetime, events: Sequence[Event] = ()
    ) -> bool:
        """Record the notice for (secret, version) and write ``events`` in the same
        transaction, unless it is recorded already (or the secret is gone): False."""
        ...


__all__ = [
    "RotationDue",
    "RotationSetting",
    "SecretConsumer",
    "SecretConsumerStore",
    "SecretReads",
]
