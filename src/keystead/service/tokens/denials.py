"""Revocation reaching tokens: every path that revokes, disables, rotates or
deletes a key pends a ``key`` denial right before the store call making the
change, so both commit in one transaction (``store.tokens.pend_denial``).

A denial's ``not_before`` is the change time, rounded up to the next whole second
(a token's ``iat`` is whole seconds): the key's tokens issued before it are
refused. For a final change (revoked, deleted) it is later by the key cache's
lifetime, so a token another node minted from a key it had not yet heard was
revoked is refused too. ``expires_at`` is when every token the denial could
refuse has expired.
"""

from __future__ import annotations

import math

import orjson

from keystead.core.models import Api, Key
from keystead.core.tokens import LEEWAY_S, TokenPolicy
from keystead.errors import ValidationError
from keystead.service.context import ServiceContext
from keystead.store.tokens import DenialRecord, pend_denial


async def deny_key(ctx: ServiceContext, key: Key, *, final: bool) -> None:
    """Pend the denial of ``key``'s tokens for the transaction about to change it."""
    api = await api_of(ctx, key.workspace_id, key.api_id)
    policy = policy_of(api)
    now = math.floor(ctx.clock.now()) + 1  # a token's iat is whole seconds: this one's too
    not_before = now + (ctx.settings.cache_ttl_s + LEEWAY_S if final else 0.0)
    expires_at = not_before + policy.max_ttl_s + LEEWAY_S
    pend_denial(DenialRecord(key.workspace_id, key.api_id, "key", key.id, not_before, expires_at))


async def api_of(ctx: ServiceContext, workspace_id: str, api_id: str) -> Api | None:
    """The API, from the cache the verifier shares (changes evict it)."""
    cached = ctx.apis.get(api_id.encode())
    if isinstance(cached, Api) and cached.workspace_id == workspace_id:
        return cached
    api = await ctx.store.get_api(workspace_id, api_id)
    if api is not None:
        ctx.apis.put(api_id.encode(), api)
    return api


_DEFAULT = TokenPolicy()
_parsed: dict[bytes, TokenPolicy] = {}


def policy_of(api: Api | None) -> TokenPolicy:
    """The API's token policy (validated when set; the defaults when unset),
    parsed once per distinct stored form."""
    if api is None or api.token_policy is None:
        return _DEFAULT
    version = orjson.dumps(api.token_policy, option=orjson.OPT_SORT_KEYS)
    found = _parsed.get(version)
    if found is None:
        try:
            found = TokenPolicy.from_dict(api.token_policy)
        except ValidationError:
            found = _DEFAULT
        if len(_parsed) >= 10_000:
            _parsed.clear()
        _parsed[version] = found
    return found


__all__ = ["api_of", "deny_key", "policy_of"]
