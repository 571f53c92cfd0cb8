"""Revocation reaching tokens: every path that revokes, disables, rotates or
deletes a key pends a ``key`` denial right before the store call making the
change, so both commit in one transaction (``store.tokens.pend_denial``).

A denial's ``not_before`` is the change time, rounded up to the next whole second
(a token's ``iat`` is whole seconds): the key's tokens issued before it are
refused. For a final change (revoked, deleted) it is later by the key cache's
lifetime, so a token another node minted from a key it had not yet heard was
revoked is refused too. ``expires_at`` is when every token the denial could
refuse has expired.

The lifetimes derived from the policy (a denial's ``expires_at``, a retired
signing key's ``publish_until``) use ``max_ttl_at``: the highest ``max_ttl_s``
in force within the last such window, so lowering it never shortens what
protects a token issued under the higher one.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import orjson

from keystead.core.models import Api, Key
from keystead.core.tokens import LEEWAY_S, TokenPolicy
from keystead.errors import ValidationError
from keystead.service.context import ServiceContext
from keystead.store.tokens import DenialRecord, pend_denial


async def deny_key(ctx: ServiceContext, key: Key, *, final: bool) -> None:
    """Pend the denial of ``key``'s tokens for the transaction about to change it."""
    api = await api_of(ctx, key.workspace_id, key.api_id)
    now = math.floor(ctx.clock.now()) + 1  # a token's iat is whole seconds: this one's too
    not_before = now + (ctx.settings.cache_ttl_s + LEEWAY_S if final else 0.0)
    expires_at = not_before + max_ttl_at(api, ctx.clock.now()) + LEEWAY_S
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


CEILING = "ceiling"
"""In a stored policy, beside its fields: a higher ``max_ttl_s`` it replaced
and until when a token issued under it may live,
``{"max_ttl_s": int, "until": epoch seconds}``."""


def policy_of(api: Api | None) -> TokenPolicy:
    """The API's token policy (validated when set; the defaults when unset)."""
    return stored_policy(None if api is None else api.token_policy)


def stored_policy(stored: Mapping[str, Any] | None) -> TokenPolicy:
    """The policy of its stored form, parsed once per distinct form."""
    if stored is None:
        return _DEFAULT
    version = orjson.dumps(stored, option=orjson.OPT_SORT_KEYS)
    found = _parsed.get(version)
    if found is None:
        try:
            found = TokenPolicy.from_dict({k: v for k, v in stored.items() if k != CEILING})
        except ValidationError:
            found = _DEFAULT
        if len(_parsed) >= 10_000:
            _parsed.clear()
        _parsed[version] = found
    return found


def max_ttl_at(api: Api | None, now: float) -> int:
    """The longest lifetime a token of the API alive at ``now`` may have: the
    policy's ``max_ttl_s``, or a higher one it replaced while a token issued
    under that one may still live."""
    ceiling = policy_of(api).max_ttl_s
    previous = None if api is None or api.token_policy is None else api.token_policy.get(CEILING)
    if isinstance(previous, Mapping):
        higher, until = previous.get("max_ttl_s"), previous.get("until")
        if type(higher) is int and isinstance(until, int | float) and now < until:
            ceiling = max(ceiling, higher)
    return ceiling


def to_store(policy: TokenPolicy, api: Api, now: float, *, issued: bool = True) -> dict[str, Any]:
    """The stored form of ``policy`` replacing the API's at ``now``: when it
    lowers the ceiling in force (``max_ttl_at``) of an API that has ``issued``
    tokens, that ceiling is kept beside it for as long as one of them may live."""
    stored = policy.to_dict()
    ceiling = max_ttl_at(api, now)
    if issued and policy.max_ttl_s < ceiling:
        stored[CEILING] = {"max_ttl_s": ceiling, "until": now + ceiling}
    return stored


__all__ = ["CEILING", "api_of", "deny_key", "max_ttl_at", "policy_of", "stored_policy", "to_store"]
