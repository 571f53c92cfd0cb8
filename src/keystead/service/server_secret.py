"""``Keystead.server_secret``: the versions of the server secret that keys and root
keys are hashed under; status, rotation and retirement (docs/operations.md,
"Rotating the server secret").

Version 1 is the secret file (or ``KEYSTEAD_SECRET``). Later versions are 32
random bytes that ``rotate`` seals under the master key into the store, so every
node on the store can read them; none is ever written to a file or shown. A new
version is *pending* until its ``activates_at`` (``settle_s`` after the rotation,
by default twice ``KEYSTEAD_SECRET_REFRESH_S``): every node re-reads the versions
that often, and at once when the invalidation channel tells it, so every node
knows a version before any key is hashed under it. From then on new keys are
hashed under it, and a key found under an older version is moved to it on its
first verification (``service.secret_lookup``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime

from keystead.core.authz import Principal
from keystead.core.envelope import Sealed, aad, seal, unseal
from keystead.core.hashing import KeyHasher
from keystead.core.secret_versions import BASE_VERSION, SecretVersion, schedule, with_base
from keystead.errors import ConfigurationError, Conflict, NotFound, ValidationError
from keystead.service.context import ServiceContext
from keystead.service.master_keys import MasterKeys

log = logging.getLogger("keystead.server_secret")

AAD_LABEL = "keystead.server-secret.v1"
SECRET_BYTES = 32
MAX_SETTLE_S = 86_400.0
_WHOLE = (
    "the server secret serves every workspace of this deployment: manage it with "
    "'keystead secret' on a server host, against its store (without --url)"
)


def version_aad(version: int) -> bytes:
    return aad(AAD_LABEL, version)


@dataclass(frozen=True, slots=True)
class VersionStatus:
    version: int
    state: str
    """newest (new keys are hashed under it), pending (newest from ``activates_at``),
    older (still tried on a lookup that misses), retired."""
    created_at: datetime | None
    activates_at: datetime | None
    retired_at: datetime | None
    keys: int
    """Keys whose stored hash is under this version."""
    root_keys: int


@dataclass(frozen=True, slots=True)
class SecretStatus:
    """What ``keystead secret status`` shows: never any material."""

    newest: int | None
    versions: list[VersionStatus]
    versions_max: int
    refresh_s: float


def _at(seconds: float | None) -> datetime | None:
    return None if not seconds else datetime.fromtimestamp(seconds, UTC)


class ServerSecret:
    def __init__(self, ctx: ServiceContext, master_keys: MasterKeys) -> None:
        self._ctx = ctx
        self._master_keys = master_keys
        self._hashers: dict[int, KeyHasher] = {BASE_VERSION: ctx.hasher}
        self._versions: list[SecretVersion] = with_base(())
        self._poller: asyncio.Task[None] | None = None
        self._soon: set[asyncio.Task[None]] = set()
        self._timer: asyncio.TimerHandle | None = None
        ctx.secret_version_hooks.append(self.refresh_soon)

    # -- what this node hashes under ------------------------------------------

    async def refresh(self) -> None:
        """Read the versions from the store and hash under what they say now."""
        rows = await self._ctx.store.list_secret_versions()
        for row in rows:
            number = row.version.version
            if row.sealed is None or row.version.retired or number in self._hashers:
                continue
            material = unseal(
                Sealed.from_bytes(row.sealed), version_aad(number), self._master_keys.keyring
            )
            self._hashers[number] = KeyHasher(material, number)
        self._versions = with_base(r.version for r in rows)
        self._ctx.imported_prefixes = await self._ctx.store.imported_prefixes()  # key imports
        for version in self._versions:
            if version.retired and version.version != BASE_VERSION:
                self._hashers.pop(version.version, None)
        self.apply()

    def apply(self) -> None:
        """Hash under the versions as they stand at this moment (a pending version
        becomes the newest at its time: a timer calls this again then)."""
        now = self._ctx.clock.now()
        plan = schedule(self._versions, now, self._ctx.settings.secret_versions_max - 1)
        newest = self._hashers.get(plan.newest) if plan.newest is not None else None
        older = tuple(self._hashers[v] for v in plan.older if v in self._hashers)
        self._ctx.use_hashers(newest or self._ctx.hasher, older)
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if plan.next_change_at is not None:
            with contextlib.suppress(RuntimeError):  # no loop: the next refresh applies it
                loop = asyncio.get_running_loop()
                self._timer = loop.call_later(max(0.0, plan.next_change_at - now), self.apply)

    def refresh_soon(self) -> None:
        """Another node added or retired a version: read them again (a hook)."""
        with contextlib.suppress(RuntimeError):
            task = asyncio.get_running_loop().create_task(self._refresh_logged())
            self._soon.add(task)
            task.add_done_callback(self._soon.discard)

    def start(self) -> None:
        """Re-read the versions every ``secret_refresh_s`` until ``close``."""
        if self._poller is None:
            self._poller = asyncio.get_running_loop().create_task(self._poll())

    async def _poll(self) -> None:
        while True:
            await asyncio.sleep(self._ctx.settings.secret_refresh_s)
            await self._refresh_logged()

    async def _refresh_logged(self) -> None:
        try:
            await self.refresh()
        except Exception as exc:  # the versions known stay in use; the next pass retries
            log.warning("could not re-read the server secret's versions: %s", exc)

    async def close(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
        tasks = [t for t in (self._poller, *self._soon) if t is not None]
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._poller = None

    # -- management -------------------------------------------------------------

    async def status(self, principal: Principal) -> SecretStatus:
        """Versions, their state and how many keys and root keys each still hashes."""
        principal.require_operator("server_secret.read", _WHOLE)
        return await self._status()

    async def rotate(self, principal: Principal, *, settle_s: float | None = None) -> SecretStatus:
        """Add version n+1, pending for ``settle_s`` (default: twice the refresh
        interval), then the newest on every node. Needs a master key."""
        principal.require_operator("server_secret.rotate", _WHOLE)
        settings = self._ctx.settings
        settle = 2 * settings.secret_refresh_s if settle_s is None else settle_s
        if not 0 <= settle <= MAX_SETTLE_S:
            raise ValidationError(
                f"settle_s must be between 0 and {MAX_SETTLE_S:g} seconds", field="settle_s"
            )
        try:
            keyring = self._master_keys.keyring
        except ConfigurationError as exc:
            raise Conflict(f"rotating the server secret needs a master key: {exc}") from None
        rows = await self._ctx.store.list_secret_versions()
        versions = with_base(r.version for r in rows)
        now = self._ctx.clock.now()
        live = [v for v in versions if not v.retired]
        pending = [v for v in live if v.activates_at > now]
        if pending:
            raise Conflict(
                f"version {pending[0].version} is still pending (the newest from "
                f"{_at(pending[0].activates_at):%Y-%m-%dT%H:%M:%SZ}): rotate again after that"
            )
        if len(live) >= settings.secret_versions_max:
            counts = (await self._ctx.store.count_hash_versions()).get(live[0].version, (0, 0))
            raise Conflict(
                f"{len(live)} server-secret versions are in use, the most allowed "
                f"(KEYSTEAD_SECRET_VERSIONS_MAX): retire version {live[0].version} first "
                f"({counts[0]} keys and {counts[1]} root keys still use it)"
            )
        number = max(v.version for v in versions) + 1
        version = SecretVersion(number, now, now + settle)
        sealed = seal(secrets.token_bytes(SECRET_BYTES), version_aad(number), keyring)
        self._ctx.audit(
            principal,
            "server_secret.rotate",
            "server_secret",
            str(number),
            after={"version": number, "activates_at": _at(version.activates_at)},
        )
        await self._ctx.store.add_secret_version(version, sealed.to_bytes(), sealed.key_version)
        await self.refresh()
        self._ctx.secret_versions_changed(number)
        return await self._status()

    async def retire(
        self, principal: Principal, version: int, *, force: bool = False
    ) -> SecretStatus:
        """Stop trying ``version`` for good. Refused for the newest or a pending
        version; refused while keys or root keys use it, or while nodes may still
        hash under it (its successor is newer than the settle time), unless
        ``force``: what it still hashes stops verifying."""
        principal.require_operator("server_secret.rotate", _WHOLE)
        await self._check_retirable(version, force=force)
        self._ctx.audit(
            principal,
            "server_secret.retire",
            "server_secret",
            str(version),
            after={"version": version, "forced": force},
        )
        await self._retire(version)
        return await self._status()

    async def retire_unused(self) -> list[int]:
        """Retire the older versions no key nor root key uses any more (the
        scheduler's upkeep); what any node may still hash under is kept."""
        retired = []
        for version in await self._retirable():
            try:
                await self._check_retirable(version, force=False)
            except Conflict:
                continue
            await self._retire(version)
            log.info("server-secret version %d retired: no key uses it any more", version)
            retired.append(version)
        return retired

    async def _retirable(self) -> list[int]:
        rows = await self._ctx.store.list_secret_versions()
        plan = schedule((r.version for r in rows), self._ctx.clock.now(), 1_000)
        return [v for v in plan.older if plan.newest is not None and v < plan.newest]

    async def _check_retirable(self, version: int, *, force: bool) -> None:
        rows = await self._ctx.store.list_secret_versions()
        versions = {v.version: v for v in with_base(r.version for r in rows)}
        found = versions.get(version)
        if found is None:
            raise NotFound(f"no server-secret version {version}")
        if found.retired:
            raise Conflict(f"server-secret version {version} is retired already")
        now = self._ctx.clock.now()
        plan = schedule(versions.values(), now, 1_000)
        if version == plan.newest or found.activates_at > now:
            raise Conflict(
                f"server-secret version {version} is the newest or pending: new keys are "
                "hashed under it (rotate first)"
            )
        keys, root_keys = (await self._ctx.store.count_hash_versions()).get(version, (0, 0))
        if force:
            return
        if keys or root_keys:
            raise Conflict(
                f"{keys} keys and {root_keys} root keys still use server-secret version "
                f"{version}: retiring it now would stop them verifying. Each moves to the "
                "newest version at its first verification; retire with force to cut them off"
            )
        successor = min(v.activates_at for v in versions.values() if v.version > version)
        settled = successor + 2 * self._ctx.settings.secret_refresh_s
        if now < settled:
            raise Conflict(
                f"nodes may still hash new keys under version {version} until "
                f"{_at(settled):%Y-%m-%dT%H:%M:%SZ}: retire it after that"
            )

    async def _retire(self, version: int) -> None:
        if await self._ctx.store.retire_secret_version(version, self._ctx.now()):
            await self.refresh()
            self._ctx.secret_versions_changed(version)

    async def _status(self) -> SecretStatus:
        rows = await self._ctx.store.list_secret_versions()
        versions = with_base(r.version for r in rows)
        counts = await self._ctx.store.count_hash_versions()
        now = self._ctx.clock.now()
        plan = schedule(versions, now, 1_000)
        shown = []
        for v in versions:
            if v.retired:
                state = "retired"
            elif v.version == plan.newest:
                state = "newest"
            elif v.activates_at > now:
                state = "pending"
            else:
                state = "older"
            keys, root_keys = counts.get(v.version, (0, 0))
            shown.append(
                VersionStatus(
                    v.version,
                    state,
                    _at(v.created_at),
                    _at(v.activates_at),
                    _at(v.retired_at),
                    keys,
                    root_keys,
                )
            )
        settings = self._ctx.settings
        return SecretStatus(
            plan.newest, shown, settings.secret_versions_max, settings.secret_refresh_s
        )


__all__ = ["SecretStatus", "ServerSecret", "VersionStatus", "version_aad"]
