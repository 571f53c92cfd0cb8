"""The request path under one configuration: strip spoofed identity headers,
route, check the key, forward, record usage.

An access token (a JWT) in place of a key is verified by the service's
in-process verifier (``ks.tokens.verifier``), as the embedded middleware does:
from memory, revocations through the invalidation channel. Its request is
forwarded with the identity headers of its key; it is not recorded as usage.
The key's own limits were counted when the token was issued; the route's
``ratelimits`` count for the token on its key's counters, so a key and its
tokens share the route's budget.

A reload builds a new ``Proxy``; a request keeps the one it started with, so it
finishes on the configuration it was routed by.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from time import perf_counter

from starlette.types import Receive, Scope, Send

from keystead.core.answers import windows_of
from keystead.core.models import Code, VerifyContext
from keystead.core.tokens import TokenRefused, looks_like_jwt
from keystead.core.verify import MALFORMED, Verdict
from keystead.errors import KeysteadError
from keystead.gateway.config import GatewayConfig
from keystead.gateway.exchange import Exchange
from keystead.gateway.headers import Forwarding, RequestFacts, header_value, request_head, scan
from keystead.gateway.pool import Origin, UpstreamPool
from keystead.gateway.problems import BAD_PATH, NO_ROUTE, respond, too_large
from keystead.gateway.routing import Route, Router, host_of, unsafe_path
from keystead.integrations.context import request_context
from keystead.integrations.refusal import (
    insufficient_permissions,
    limit_headers,
    missing_key,
    refusal,
    unavailable,
)
from keystead.integrations.tokens import own_audience, token_identity
from keystead.service import Keystead
from keystead.service.usage import MAX_RESPONSE_MS

logger = logging.getLogger("keystead.gateway")

_CHUNKED = b"transfer-encoding: chunked\r\n"
_REFUSED_TOKEN = refusal(MALFORMED, 0.0)
"""A refused token's answer: the 401 of any unusable key."""


class Proxy:
    """Serves requests by one configuration."""

    def __init__(
        self, config: GatewayConfig, pools: Mapping[Origin, UpstreamPool], ks: Keystead
    ) -> None:
        self.config = config
        self.router = Router([Route(r, pools[r.upstream.origin]) for r in config.routes])
        self.ks = ks
        self._sources = config.key_sources
        self._hide = config.hide_credentials
        self._proxies = config.proxies

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        started = perf_counter()
        facts = scan(scope["headers"])
        if facts.headers is not scope["headers"]:
            scope = {**scope, "headers": facts.headers}
        path = scope["path"]
        if unsafe_path(path):
            await respond(send, BAD_PATH)
            return
        route = self.router.match(host_of(facts.host), path, scope["method"])
        if route is None:
            await respond(send, NO_ROUTE)
            return
        key = self._sources.find(scope) if route.checks_keys else None
        if key is None:
            if route.auth == "required":
                await respond(send, missing_key())
                return
            if self._hide:  # a key sent where none is checked still stays here
                scope = self._sources.strip(scope)
            await self._forward(route, scope, receive, send, facts)
            return
        if looks_like_jwt(key):
            await self._token(key, route, scope, receive, send, facts)
            return
        context = request_context(scope, route.permissions, proxies=self._proxies)
        ks = self.ks
        try:
            verdict = await ks.verify(key, context, ratelimits=route.ratelimits, record=False)
        except Exception as exc:  # whatever failed, the client gets a 503, never a 500
            if isinstance(exc, KeysteadError):
                logger.warning("keys cannot be verified: %s", exc.detail)
            else:
                logger.exception("keys cannot be verified")
            await respond(send, unavailable())
            return
        try:
            if not verdict.valid:
                answer = refusal(verdict, ks.clock.now(), windows=_windows(route, verdict))
                await respond(send, answer)
                await self._record(verdict, context, answer[0], started, 0, len(answer[2]))
                return
            if self._hide:
                scope = self._sources.strip(scope)
            extra = limit_headers(verdict, ks.clock.now(), windows=_windows(route, verdict))
            status, bytes_in, bytes_out = await self._forward(
                route, scope, receive, send, facts, verdict=verdict, extra=extra
            )
            await self._record(verdict, context, status, started, bytes_in, bytes_out)
        finally:
            if verdict.leases:
                await ks.release(verdict.leases)

    async def _token(
        self,
        token: str,
        route: Route,
        scope: Scope,
        receive: Receive,
        send: Send,
        facts: RequestFacts,
    ) -> None:
        try:
            verified = await self.ks.tokens.verifier.verify_async(token)
        except TokenRefused:
            await respond(send, _REFUSED_TOKEN)
            return
        except KeysteadError as exc:
            logger.warning("tokens cannot be verified: %s", exc.detail)
            await respond(send, unavailable())
            return
        if not own_audience(verified):
            await respond(send, _REFUSED_TOKEN)
            return
        query = route.permissions
        if query is not None and not token_identity(verified).allows(query):
            await respond(send, insufficient_permissions(query))
            return
        extra = None
        if route.ratelimits:  # the route's limits, on the counters of the token's key
            try:
                limited = await self.ks.limit_token(verified, route.ratelimits)
            except KeysteadError as exc:
                logger.warning("tokens cannot be verified: %s", exc.detail)
                await respond(send, unavailable())
                return
            now, windows = self.ks.clock.now(), route.windows or None
            if limited.code is not Code.VALID:
                await respond(send, refusal(limited, now, windows=windows))
                return
            extra = limit_headers(limited, now, windows=windows)
        if self._hide:
            scope = self._sources.strip(scope)
        identity = _headers(
            verified.key_id, verified.api_id, verified.owner_id, verified.permissions
        )
        await self._forward(route, scope, receive, send, facts, extra=extra, identity=identity)

    async def _forward(
        self,
        route: Route,
        scope: Scope,
        receive: Receive,
        send: Send,
        facts: RequestFacts,
        *,
        verdict: Verdict | None = None,
        extra: list[tuple[bytes, bytes]] | None = None,
        identity: list[tuple[bytes, bytes]] | None = None,
    ) -> tuple[int, int, int]:
        """Send the request upstream and stream the answer back; returns the status
        the client got and the bytes of both bodies."""
        limit = route.config.max_body_bytes
        length = facts.content_length
        if limit is not None and length is not None and length > limit:
            answer = too_large(limit)
            await respond(send, answer)
            return answer[0], 0, len(answer[2])
        upstream = route.upstream
        method = scope["method"]
        client = scope.get("client")
        forwarding = Forwarding(
            method=method.encode("ascii"),
            target=route.target(scope),
            host=facts.host if route.config.preserve_host and facts.host else upstream.host_header,
            client_ip=client[0].encode("ascii") if client else None,
            scheme=scope.get("scheme", "http").encode("ascii"),
            client_host=facts.host,
        )
        if facts.chunked:
            framing = _CHUNKED
        elif length is not None:
            framing = b"content-length: %d\r\n" % length
        else:
            framing = b""
        if verdict is not None:
            identity = _identity(verdict)
        head = request_head(scope["headers"], forwarding, identity or (), framing)
        exchange = Exchange(chunked=facts.chunked, limit=limit, timeout=upstream.timeout_s)
        await exchange.run(
            route.pool,
            upstream.connect_timeout_s,
            head,
            has_body=facts.chunked or bool(length),
            head_only=method == "HEAD",
            receive=receive,
            send=send,
            extra_headers=extra or (),
        )
        return exchange.status, exchange.bytes_in, exchange.bytes_out

    async def _record(
        self,
        verdict: Verdict,
        context: VerifyContext,
        status: int,
        started: float,
        bytes_in: int,
        bytes_out: int,
    ) -> None:
        waiting = self.ks.usage.complete_now(  # no coroutine while the buffer has room
            verdict,
            context,
            status=status,
            response_ms=min((perf_counter() - started) * 1000, MAX_RESPONSE_MS),
            bytes_in=bytes_in,
            bytes_out=bytes_out,
        )
        if waiting is not None:
            await waiting


def _identity(verdict: Verdict) -> list[tuple[bytes, bytes]]:
    """The headers that tell the upstream whose key this is."""
    key = verdict.key
    if key is None:
        return []
    return _headers(key.id, key.api_id, key.owner_id, verdict.permissions)


def _headers(
    key_id: str, api_id: str, owner_id: str | None, permissions: Sequence[str]
) -> list[tuple[bytes, bytes]]:
    out = [
        (b"x-keystead-key-id", header_value(key_id)),
        (b"x-keystead-api-id", header_value(api_id)),
    ]
    if owner_id is not None:
        out.append((b"x-keystead-owner", header_value(owner_id)))
    if permissions:
        out.append((b"x-keystead-permissions", header_value(",".join(permissions))))
    return out


def _windows(route: Route, verdict: Verdict) -> dict[str, int] | None:
    """The rate-limit windows the headers can tell: the key's own (memoised per
    cached key record) and the route's."""
    if not route.windows or not verdict.limits:
        return None
    return {**windows_of(verdict), **route.windows}


__all__ = ["Proxy"]
