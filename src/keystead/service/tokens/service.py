"""``Keystead.tokens``: short-lived access tokens (RFC 9068 JWTs) for API keys.

Issuance is a verification (``issuance``), introspection and revocation judge
tokens with the in-process verifier (``oauth``), the JWKS and the revocation
document are public (``documents``), signing keys are sealed under the master
key (``signing``). Denials committed on this node reach its verifier at once and
the other nodes through the invalidation channel (change kind ``token``).
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from keystead.core.authz import Principal
from keystead.core.models import Api, VerifyContext
from keystead.core.permissions import GrantSet
from keystead.core.tokens import ALGORITHMS, LEEWAY_S, Denial, TokenPolicy
from keystead.core.tokens.policy import TTL_CEILING_S
from keystead.core.verify import Verdict
from keystead.errors import (
    ConfigurationError,
    Conflict,
    Forbidden,
    IntegrityError,
    KeysteadError,
    ValidationError,
)
from keystead.service.apis import ApiService
from keystead.service.context import ServiceContext
from keystead.service.master_keys import MasterKeys
from keystead.service.tokens._types import Issued, SigningKeyInfo, TokenRequest
from keystead.service.tokens.denials import policy_of, stored_policy, to_store
from keystead.service.tokens.documents import TokenDocuments, core_denial
from keystead.service.tokens.issuance import Issuance, Release, Verify
from keystead.service.tokens.oauth import TokenOAuth
from keystead.service.tokens.signing import SigningKeys, new_kid
from keystead.service.tokens.verifier import ApiTokens, InProcessTokenVerifier, PublishedKey
from keystead.store.tokens import DenialRecord, SigningKeyRecord

log = logging.getLogger("keystead.tokens")

MAX_JTI_CHARS = 200
SYSTEM_ACTOR = "system:scheduler"


class TokenService:
    def __init__(
        self,
        ctx: ServiceContext,
        master_keys: MasterKeys,
        apis: ApiService,
        verify: Verify,
        release: Release,
    ) -> None:
        self._ctx = ctx
        self._apis = apis
        self.signing = SigningKeys(ctx, master_keys)
        self.signing.on_added = self._added
        self.verifier = InProcessTokenVerifier(ctx.clock, self.issuer, self._load, self._delta)
        self._issuance = Issuance(ctx, self.signing, self.issuer, verify, release)
        self._oauth = TokenOAuth(ctx, self._issuance, self.verifier)
        self._documents = TokenDocuments(ctx, self.signing, self.issuer)
        ctx.store.on_token_denials = self._committed
        ctx.token_hooks.append(self._remote)

    def issuer(self, api_id: str) -> str:
        return f"{self._ctx.settings.base_url()}/apis/{api_id}"

    async def exchange(
        self, key: str, context: VerifyContext | None, request: TokenRequest
    ) -> Issued | Verdict:
        """A token for ``key``; the refusal ``Verdict`` (as verify answers it,
        recorded as usage) otherwise. ``InvalidTokenRequest`` (400) for what the
        policy refuses, ``Forbidden`` (403) for permissions the key lacks (or an
        API whose policy issues none), ``NoMasterKey`` (503) without a master key."""
        return await self._issuance.exchange(key, context, request)

    async def client_credentials(
        self,
        client_id: str,
        client_secret: str,
        scope: Sequence[str] | None,
        context: VerifyContext | None = None,
    ) -> Issued:
        """RFC 6749 §4.4; raises ``OAuthError``."""
        return await self._issuance.client_credentials(client_id, client_secret, scope, context)

    async def introspect(
        self, token: str, caller: Principal | str | tuple[str, str]
    ) -> dict[str, Any]:
        """RFC 7662; exactly ``{"active": False}`` for any token that does not verify."""
        return await self._oauth.introspect(token, caller)

    async def revoke_token(self, token: str, client_id: str, client_secret: str) -> None:
        """RFC 7009; raises ``OAuthError`` for a client that does not authenticate."""
        await self._oauth.revoke_token(token, client_id, client_secret)

    async def revoke_jti(
        self, principal: Principal, api_id: str, jti: str, expires_at: float
    ) -> None:
        """Deny one token by its id until ``expires_at`` (its ``exp``)."""
        principal.require("tokens.revoke")
        api = await self._apis.visible(principal, api_id)
        _whole_api(principal, "revoke a token by its id (a jti names no owner)")
        if not isinstance(jti, str) or not 0 < len(jti) <= MAX_JTI_CHARS:
            raise ValidationError(f"jti is 1 to {MAX_JTI_CHARS} characters", field="jti")
        now = self._ctx.clock.now()
        if (
            type(expires_at) not in (int, float)
            or not math.isfinite(expires_at)
            or expires_at > now + TTL_CEILING_S + LEEWAY_S
        ):
            raise ValidationError(
                "expires_at is the token's exp: a time in epoch seconds, at most a day ahead",
                field="expires_at",
            )
        self._ctx.audit(
            principal, "token.revoke", "token", jti, after={"api_id": api.id, "exp": expires_at}
        )
        await self._oauth.deny(api.workspace_id, api.id, jti, float(expires_at))

    async def jwks(self, api_id: str | None) -> tuple[dict[str, Any], str]:
        return await self._documents.jwks(api_id)

    async def revocation_document(self, api_id: str, since: int | None) -> tuple[str, str]:
        return await self._documents.revocation_document(api_id, since)

    async def signing_keys(self, principal: Principal, api_id: str) -> list[SigningKeyInfo]:
        principal.require("tokens.keys.read")
        api = await self._apis.visible(principal, api_id)
        return [_info(r) for r in await self._ctx.store.list_signing_keys(api.id)]

    async def rotate_signing_key(
        self, principal: Principal, api_id: str, algorithm: str | None = None
    ) -> SigningKeyInfo:
        """A new key signs the API's tokens from now on; the one it replaces stays
        published until the last token it signed has expired."""
        principal.require("tokens.keys.rotate")
        api = await self._apis.visible(principal, api_id)
        _whole_api(principal, "rotate an API's signing key")
        policy = policy_of(api)
        if algorithm is not None and algorithm not in ALGORITHMS:
            raise ValidationError(f"algorithm is one of {', '.join(ALGORITHMS)}", field="algorithm")
        return _info(await self._rotate(principal, api, policy, algorithm or policy.algorithm))

    async def policy(self, principal: Principal, api_id: str) -> TokenPolicy:
        principal.require("apis.read")
        return policy_of(await self._apis.visible(principal, api_id))

    async def set_policy(
        self, principal: Principal, api_id: str, policy: TokenPolicy
    ) -> TokenPolicy:
        """Store the API's token policy (audited); a new algorithm rotates the
        signing key to one of it at once."""
        principal.require("apis.update")
        api = await self._apis.visible(principal, api_id)
        _whole_api(principal, "change an API's settings")
        before = {"token_policy": policy_of(api).to_dict()}
        # an API that never signed has no token the ceiling in force could protect
        issued = bool(await self._ctx.store.list_signing_keys(api.id))
        stored = to_store(policy, api, self._ctx.clock.now(), issued=issued)
        values = {"token_policy": stored, "updated_at": self._ctx.now()}
        self._ctx.audit(principal, "api.update", "api", api.id, before=before, after=values)
        updated = await self._ctx.store.update_api(api.workspace_id, api.id, values)
        self._ctx.api_keys_changed(api.id)
        current = await self.signing.in_use(api.id)
        if updated is not None and current is not None and current.algorithm != policy.algorithm:
            await self._rotate(principal, updated, policy, policy.algorithm, expected=current.id)
        return policy

    async def upkeep(self) -> None:
        """Scheduled rotation, retired keys out of the JWKS after their
        ``publish_until``, expired denials dropped."""
        now = self._ctx.clock.now()
        for record in await self._ctx.store.drop_signing_keys(datetime.fromtimestamp(now, UTC)):
            self.verifier.forget_key(record.id)
            self._ctx.tokens_changed(record.api_id, record.workspace_id)
        await self._ctx.store.prune_denials(now)
        self.verifier.prune(now)
        for record, stored in await self._ctx.store.signing_keys_in_use():
            policy = stored_policy(stored)
            every = policy.rotate_every_s
            if every is None or now - record.created_at.timestamp() < every:
                continue
            system = Principal(record.workspace_id, SYSTEM_ACTOR, GrantSet(["*"]))
            api = await self._apis.visible(system, record.api_id)
            try:
                await self._rotate(system, api, policy, policy.algorithm, expected=record.id)
            except Conflict:
                continue  # another node rotated it meanwhile
            except KeysteadError as exc:  # one API's trouble never stops the others'
                log.warning("could not rotate the signing key of %s: %s", api.id, exc.detail)

    async def close(self) -> None:
        await self.verifier.close()

    async def _rotate(
        self,
        principal: Principal,
        api: Api,
        policy: TokenPolicy,
        algorithm: str,
        *,
        expected: str | None = None,
    ) -> SigningKeyRecord:
        current = await self.signing.in_use(api.id) if expected is None else None
        expected = expected if current is None else current.id
        kid = new_kid(self._ctx.clock.now())
        self._ctx.audit(
            principal,
            "token.signing_key.rotate",
            "api",
            api.id,
            before={"kid": expected},
            after={"kid": kid, "algorithm": algorithm},
        )
        added = await self.signing.add(api, policy, algorithm, expected=expected, kid=kid)
        if added is None:
            raise Conflict("the API's signing key was rotated meanwhile; try again")
        return added

    def _added(self, record: SigningKeyRecord) -> None:
        self.verifier.add_key(
            PublishedKey(
                self.signing.verifying_key(record), record.api_id, record.workspace_id, None
            )
        )
        self.verifier.changed(record.api_id)  # the key it retired: publish_until
        self._ctx.tokens_changed(record.api_id, record.workspace_id)

    def _committed(self, denials: Sequence[DenialRecord]) -> None:
        """Denials this node committed: in force here at once, then announced."""
        by_api: dict[str, list[DenialRecord]] = {}
        for denial in denials:
            by_api.setdefault(denial.api_id, []).append(denial)
        for api_id, found in by_api.items():
            self.verifier.apply(api_id, [core_denial(d) for d in found])
            self._ctx.tokens_changed(api_id, found[0].workspace_id)

    def _remote(self, api_id: str | None) -> None:
        if api_id is None:
            self.signing.forget_all()
            self.verifier.flush()
        else:
            self.signing.forget(api_id)
            self.verifier.changed(api_id)

    async def _load(self, api_id: str) -> ApiTokens:
        records = verifying(await self._ctx.store.list_signing_keys(api_id), self._ctx.clock.now())
        keys = []
        for record in records:
            try:
                key = self.signing.verifying_key(record)
            except (ConfigurationError, IntegrityError):
                continue  # an HS256 secret that does not open here verifies nothing
            until = None if record.retired_at is None else record.publish_until
            keys.append(
                PublishedKey(
                    key, api_id, record.workspace_id, None if until is None else until.timestamp()
                )
            )
        denials = await self._ctx.store.list_denials(api_id)
        return ApiTokens(keys, [core_denial(d) for d in denials])

    async def _delta(self, api_id: str, after: int) -> list[Denial]:
        return [core_denial(d) for d in await self._ctx.store.list_denials(api_id, after=after)]


def verifying(records: Sequence[SigningKeyRecord], now: float) -> list[SigningKeyRecord]:
    """The keys that verify at ``now``: the one that signs, and the retired ones
    until their ``publish_until`` (HS256 secrets too, which are never published)."""
    at = datetime.fromtimestamp(now, UTC)
    return [
        r
        for r in records
        if r.retired_at is None or (r.publish_until is not None and r.publish_until > at)
    ]


def _whole_api(principal: Principal, what: str) -> None:
    """Refuse a root key narrowed to one owner what acts on the whole API."""
    if principal.owner_id is not None:
        raise Forbidden(f"a root key narrowed to one owner cannot {what}")


def _info(record: SigningKeyRecord) -> SigningKeyInfo:
    return SigningKeyInfo(
        kid=record.id,
        algorithm=record.algorithm,
        created_at=record.created_at.timestamp(),
        retired_at=None if record.retired_at is None else record.retired_at.timestamp(),
        publish_until=None if record.publish_until is None else record.publish_until.timestamp(),
        signing=record.retired_at is None,
        public_jwk=record.public_jwk,
    )


__all__ = ["TokenService"]
