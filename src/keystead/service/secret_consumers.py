"""Consumers of stored secrets: which credential read which version, and when.

Every value read through the service (``ks.secrets.get``: the HTTP API, the Vault
face, ``keystead run`` and the SDK all end there) is counted here, off the hot
path, as key last-use stamps are: ``ConsumerRecorder.record`` adds the read to an
in-memory buffer aggregated by (workspace, secret, version, credential), and a
background task writes the buffer every second, in one batch; ``flush`` writes it
on demand and ``close`` at shutdown. A read of a secret deleted before the flush
is dropped with it.

``SecretConsumers.consumers`` answers "who still reads version 3?": per version,
per credential, the first and last read and the count. It needs ``secrets.admin``
on the path: the answer names other credentials (never a key or a value), which a
service token that may only read the secret has no business listing.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass
from datetime import datetime

from keystead.core.authz import LOCAL_OPERATOR, Principal
from keystead.core.secret_paths import normalize_mount, normalize_path
from keystead.core.secrets import SecretMetadata
from keystead.errors import NotFound
from keystead.service import secret_fields
from keystead.service.context import ServiceContext
from keystead.service.secret_mounts import SecretMounts
from keystead.store.secret_consumers import SecretReads

log = logging.getLogger("keystead.secrets")

FLUSH_INTERVAL_S = 1.0
CAPACITY = 100_000
"""Distinct (secret, version, credential) entries buffered between flushes; reads
of a new entry past it are counted in ``dropped`` (reads of a buffered one never are)."""
_ROOT_KEY = "root_key:"
_CREDENTIAL_LENGTH = 80

_Entry = tuple[str, str, int, str]  # workspace, secret id, version, credential


class _Tally:
    __slots__ = ("count", "first", "last")

    def __init__(self, first: datetime, last: datetime, count: int) -> None:
        self.first, self.last, self.count = first, last, count


def credential_of(principal: Principal) -> str:
    """What a read is recorded under: the principal's actor (``root_key:<id>`` for a
    root key, ``cli`` for the local operator)."""
    return principal.actor[:_CREDENTIAL_LENGTH]


class ConsumerRecorder:
    """The buffer of reads, flushed in batches (see the module's text)."""

    def __init__(self, ctx: ServiceContext, *, capacity: int = CAPACITY) -> None:
        self._ctx = ctx
        self._capacity = capacity
        self._pending: dict[_Entry, _Tally] = {}
        self._flusher: asyncio.Task[None] | None = None
        self._closed = False
        self.dropped = 0

    def record(
        self, principal: Principal, secret: SecretMetadata, version: int, at: datetime
    ) -> None:
        """Count one read of ``version`` of ``secret`` by ``principal`` at ``at``."""
        entry = (secret.workspace_id, secret.id, version, credential_of(principal))
        found = self._pending.get(entry)
        if found is not None:
            found.last = at
            found.count += 1
            return
        if len(self._pending) >= self._capacity:
            self.dropped += 1
            return
        self._pending[entry] = _Tally(at, at, 1)
        if self._flusher is None and not self._closed:
            with contextlib.suppress(RuntimeError):  # no running loop: flushed on demand
                self._flusher = asyncio.get_running_loop().create_task(self._flush_forever())

    async def flush(self) -> int:
        """Write the buffered reads; the (secret, version, credential) rows written."""
        if not self._pending:
            return 0
        pending, self._pending = self._pending, {}
        batch = [
            SecretReads(ws, secret_id, version, credential, t.first, t.last, t.count)
            for (ws, secret_id, version, credential), t in pending.items()
        ]
        try:
            return await self._ctx.store.record_secret_reads(batch)
        except Exception:
            log.warning("could not record %d secret reads", len(batch), exc_info=True)
            self._requeue(pending)
            return 0

    def _requeue(self, pending: dict[_Entry, _Tally]) -> None:
        """Put reads that could not be written back, merged, while there is room."""
        for entry, tally in pending.items():
            found = self._pending.get(entry)
            if found is not None:
                found.first = tally.first
                found.count += tally.count
            elif len(self._pending) < self._capacity:
                self._pending[entry] = tally
            else:
                self.dropped += 1

    async def _flush_forever(self) -> None:
        while True:
            await asyncio.sleep(FLUSH_INTERVAL_S)
            await self.flush()

    async def close(self) -> None:
        self._closed = True
        if self._flusher is not None:
            self._flusher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._flusher
            self._flusher = None
        await self.flush()


@dataclass(frozen=True, slots=True)
class Consumer:
    """A credential that read a version: named by id, name and ``start`` (the
    visible beginning of a root key), never by the key itself."""

    version: int
    credential: str
    """The root key's id (``rk_...``), or ``cli`` for the local operator."""
    kind: str
    """``root_key``, ``local_operator``, or ``other`` (an actor of the library)."""
    name: str | None
    start: str | None
    revoked: bool
    first_read: datetime
    last_read: datetime
    reads: int


@dataclass(frozen=True, slots=True)
class Consumers:
    mount: str
    path: str
    current_version: int
    items: list[Consumer]


class SecretConsumers:
    """``Keystead.secret_consumers``: who read which version of a secret."""

    def __init__(self, ctx: ServiceContext, mounts: SecretMounts) -> None:
        self._ctx = ctx
        self._mounts = mounts
        self.recorder = ConsumerRecorder(ctx)

    async def consumers(
        self, principal: Principal, mount: str, path: str, version: int | None = None
    ) -> Consumers:
        """The credentials that read the secret at ``mount/path`` (one version's
        only, when ``version`` is given), newest version first, then latest read
        first. Reads still in this node's buffer are written first."""
        mount, path = normalize_mount(mount), normalize_path(path)
        principal.require_secret("admin", mount, path)
        wanted = None if version is None else secret_fields.version(version)
        ws = principal.workspace_id
        await self._mounts.resolve(ws, mount)
        secret = await self._ctx.store.get_secret(ws, mount, path)
        if secret is None:
            raise NotFound(f"no secret at {mount}/{path}")
        await self.recorder.flush()
        found = await self._ctx.store.list_secret_consumers(ws, secret.id, wanted or None)
        root_keys = {k.id: k for k in await self._ctx.store.list_root_keys(ws)}
        items = []
        for row in found:
            kind, credential, name, start, revoked = "other", row.credential, None, None, False
            if row.credential.startswith(_ROOT_KEY):
                kind, credential = "root_key", row.credential[len(_ROOT_KEY) :]
                key = root_keys.get(credential)
                if key is not None:
                    name, start, revoked = key.name, key.start, key.revoked_at is not None
            elif row.credential == LOCAL_OPERATOR:
                kind, name = "local_operator", "local operator"
            items.append(
                Consumer(
                    row.version,
                    credential,
                    kind,
                    name,
                    start,
                    revoked,
                    row.first_read,
                    row.last_read,
                    row.reads,
                )
            )
        return Consumers(mount, path, secret.current_version, items)


__all__ = [
    "CAPACITY",
    "FLUSH_INTERVAL_S",
    "Consumer",
    "ConsumerRecorder",
    "Consumers",
    "SecretConsumers",
    "credential_of",
]
