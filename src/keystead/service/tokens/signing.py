"""Signing keys of access tokens: made, sealed, rotated, opened and cached.

The private material is sealed (``core.at_rest.seal_item``) under the master key
with ``token_signing_key_aad(workspace, api, kid)``: the store never sees it in
the clear. Opened material is cached per kid in this process (a kid's material
never changes). Which kid signs for an API is cached for ``CURRENT_CACHE_S`` at
most, and dropped at once when a ``token`` change of the API arrives, so a node
never signs long with a key another node retired; ``publish_until`` keeps a
retired key in the JWKS for that long beyond the tokens' lifetime too.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta

from keystead.core.at_rest import key_version_of, open_item, seal_item
from keystead.core.envelope import aad
from keystead.core.ids import new_id
from keystead.core.models import Api
from keystead.core.tokens import (
    LEEWAY_S,
    Signer,
    TokenPolicy,
    VerifyingKey,
    generate_private,
    public_jwk,
)
from keystead.errors import ConfigurationError, Conflict, IntegrityError
from keystead.keyring import Keyring
from keystead.service.context import ServiceContext
from keystead.service.master_keys import MasterKeys
from keystead.service.tokens._types import NoMasterKey
from keystead.store.tokens import SigningKeyRecord

LABEL = "keystead.token-signing-key.v1"
CURRENT_CACHE_S = 10.0
"""At most this long a node signs with a key another node retired (without the
invalidation channel telling it sooner)."""
CACHE_SIZE = 10_000


def token_signing_key_aad(workspace_id: str, api_id: str, kid: str) -> bytes:
    """The AAD of a signing key's sealed private material: where it lives."""
    return aad(LABEL, workspace_id, api_id, kid)


def new_kid(now: float) -> str:
    return new_id("tsk", now)


def publish_until(retired_at: datetime, policy: TokenPolicy) -> datetime:
    """When a key retired at ``retired_at`` leaves the JWKS: after the last token
    it may have signed (a node's cached signer included) has expired."""
    return retired_at + timedelta(seconds=policy.max_ttl_s + LEEWAY_S + CURRENT_CACHE_S)


class SigningKeys:
    def __init__(self, ctx: ServiceContext, master_keys: MasterKeys) -> None:
        self._ctx = ctx
        self._master_keys = master_keys
        self._opened: OrderedDict[str, bytes] = OrderedDict()
        self._signers: dict[str, Signer] = {}
        self._current: dict[str, tuple[float, SigningKeyRecord]] = {}
        self.on_added: Callable[[SigningKeyRecord], None] | None = None
        """Told of each key this node adds (its verifier, the other nodes)."""

    def keyring(self) -> Keyring:
        try:
            return self._master_keys.keyring
        except ConfigurationError as exc:
            raise NoMasterKey(
                f"tokens need the master key that seals their signing keys: {exc.detail}"
            ) from None

    def forget(self, api_id: str) -> None:
        """Read the API's signing key afresh next time (rotated here or elsewhere)."""
        self._current.pop(api_id, None)

    def forget_all(self) -> None:
        self._current.clear()

    async def signer(self, api: Api, policy: TokenPolicy) -> Signer:
        """The signer of the API's current key, made on first use (a loaded private
        key is kept per kid: loading an RSA key costs milliseconds)."""
        record = await self.current(api, policy)
        signer = self._signers.get(record.id)
        if signer is None:
            signer = Signer(record.algorithm, record.id, self.open(record))
            if len(self._signers) >= CACHE_SIZE:
                self._signers.clear()
            self._signers[record.id] = signer
        return signer

    async def current(self, api: Api, policy: TokenPolicy) -> SigningKeyRecord:
        now = self._ctx.clock.now()
        cached = self._current.get(api.id)
        if cached is not None and now - cached[0] < CURRENT_CACHE_S:
            return cached[1]
        self.keyring()  # a clear error before any store work
        for _ in range(3):
            found = await self.in_use(api.id)
            if found is None:
                found = await self.add(api, policy, policy.algorithm, expected=None)
            if found is not None:
                self._current[api.id] = (now, found)
                return found
        raise Conflict("the API's signing key changed repeatedly meanwhile; try again")

    async def in_use(self, api_id: str) -> SigningKeyRecord | None:
        for record in await self._ctx.store.list_signing_keys(api_id):
            if record.retired_at is None:
                return record
        return None

    async def add(
        self,
        api: Api,
        policy: TokenPolicy,
        algorithm: str,
        *,
        expected: str | None,
        kid: str | None = None,
    ) -> SigningKeyRecord | None:
        """A new signing key for the API, retiring ``expected``; None when another
        node changed the API's key first."""
        now = self._ctx.clock.now()
        kid = kid or new_kid(now)
        private = generate_private(algorithm)
        sealed = seal_item(
            private, token_signing_key_aad(api.workspace_id, api.id, kid), self.keyring()
        )
        created = datetime.fromtimestamp(now, UTC)
        record = SigningKeyRecord(
            id=kid,
            workspace_id=api.workspace_id,
            api_id=api.id,
            algorithm=algorithm,
            public_jwk=public_jwk(algorithm, private, kid),
            sealed=sealed,
            key_version=key_version_of(sealed) or 0,
            created_at=created,
            publish_until=publish_until(created, policy),
        )
        if not await self._ctx.store.add_signing_key(record, expected=expected):
            self.forget(api.id)
            return None
        self._remember(kid, private)
        added = replace(record, publish_until=None)
        self._current[api.id] = (now, added)
        if self.on_added is not None:
            self.on_added(added)
        return added

    def open(self, record: SigningKeyRecord) -> bytes:
        """The private material of ``record`` (cached per kid)."""
        cached = self._opened.get(record.id)
        if cached is not None:
            self._opened.move_to_end(record.id)
            return cached
        where = token_signing_key_aad(record.workspace_id, record.api_id, record.id)
        try:
            private = open_item(record.sealed, where, self.keyring())
        except IntegrityError:
            raise IntegrityError(
                f"the signing key {record.id} failed its integrity check (altered, moved, "
                "or sealed under another master key)"
            ) from None
        self._remember(record.id, private)
        return private

    def verifying_key(self, record: SigningKeyRecord) -> VerifyingKey:
        """The public key (or, for HS256, the opened shared secret)."""
        if record.public_jwk is not None:
            return VerifyingKey.from_jwk(record.public_jwk)
        return VerifyingKey.from_private(record.algorithm, record.id, self.open(record))

    def _remember(self, kid: str, private: bytes) -> None:
        self._opened[kid] = private
        while len(self._opened) > CACHE_SIZE:
            self._opened.popitem(last=False)


__all__ = [
    "CURRENT_CACHE_S",
    "LABEL",
    "SigningKeys",
    "new_kid",
    "publish_until",
    "token_signing_key_aad",
]
