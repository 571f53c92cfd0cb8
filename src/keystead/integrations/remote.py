"""Remote mode: verify against a Keystead server through the SDK.

Each request is verified with ``record=False``; once it is answered, its usage
report (status, time, sizes) goes to the client's background queue
(``queue_usage``), which posts batches to ``POST /v1/usage/records``: never one
call per request, never blocking the answer.

An access token (a JWT) is verified offline by the SDK's token verifier
(``AsyncTokenVerifier`` / ``TokenVerifier``): keys from the API's JWKS,
revocations from its signed revocation document, polled every ``refresh_s``.
Token requests are not recorded as usage (their exchange was).
"""

from __future__ import annotations

import time
from collections.abc import Awaitable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Unpack

from keystead.client import AsyncClient, Client, ClientError, UsageReport, VerifyResult
from keystead.client._token_state import Fetch, Stale
from keystead.client._token_verifier import AsyncTokenVerifier, FetchFailed, TokenVerifier
from keystead.core.models import VerifyContext
from keystead.core.tokens import TokenRefused, looks_like_jwt
from keystead.integrations.credentials import UNUSABLE
from keystead.integrations.guard import (
    DRAIN_SECONDS,
    Check,
    GuardOptions,
    InFlight,
    Served,
    at_exit,
    decided,
    failed,
    log,
    unusable,
)
from keystead.integrations.identity import identity_of_result
from keystead.integrations.tokens import VerifiedLike, token_check


class _Requests:
    """How both remote guards turn a request into SDK calls and back."""

    def __init__(self, options: GuardOptions) -> None:
        self.cost = options.get("cost", 1)
        self.ratelimits = [dict(item) for item in options.get("ratelimits", ())] or None
        self.tags = tuple(options.get("tags", ()))

    def arguments(self, context: VerifyContext, cost: int | None) -> dict[str, Any]:
        return {
            "ip": context.ip,
            "referrer": context.referrer,
            "user_agent": context.user_agent,
            "method": context.method,
            "path": context.path,
            "permissions": context.permissions,
            "ratelimits": self.ratelimits,
            "cost": self.cost if cost is None else cost,
            "record": False,
        }

    @staticmethod
    def decide(result: VerifyResult, context: VerifyContext) -> Check:
        identity = identity_of_result(result) if result.valid else None
        windows = {limit.name: limit.window for limit in result.limits if limit.window}
        return decided(result, context, identity, time.time(), result.leases, windows)

    def report(self, check: Check, served: Served) -> UsageReport | None:
        result = check.outcome
        if not isinstance(result, VerifyResult):
            return None
        context = check.context
        return UsageReport(
            key_id=result.key_id,
            code=result.code,
            at=time.time() - served.response_ms / 1000,
            ip=context.ip,
            user_agent=context.user_agent,
            method=context.method,
            path=context.path,
            status=served.status,
            response_ms=served.response_ms,
            bytes_in=served.bytes_in,
            bytes_out=served.bytes_out,
            tags=self.tags,
        )


def _unreachable(context: VerifyContext, error: ClientError) -> Check:
    log.warning("could not verify an API key: %s", type(error).__name__)
    return failed(context)


def _audience(options: GuardOptions) -> str | tuple[str, ...] | None:
    audience = options.get("audience")
    return audience if audience is None or isinstance(audience, str) else tuple(audience)


def _token_failed(context: VerifyContext, error: Exception) -> Check:
    """A token that cannot be checked now (its revocation document is stale,
    or the server cannot be asked): 503, as for a key."""
    log.warning("could not verify an access token: %s", error)
    return failed(context)


class Remote:
    """Verify through ``keystead.client.AsyncClient``: the one given, or one made
    from ``url`` and ``root_key`` (which needs ``keys.verify``) and closed by
    ``close()``. A server that cannot be reached answers 503.

    Access tokens are verified offline by ``token_verifier`` (default: an
    ``AsyncTokenVerifier`` of the client, with the guard's ``audience``)."""

    def __init__(
        self,
        client: AsyncClient | None = None,
        *,
        url: str | None = None,
        root_key: str | None = None,
        token_verifier: AsyncTokenVerifier | None = None,
        **options: Unpack[GuardOptions],
    ) -> None:
        self._owned = client is None
        self.client = client or AsyncClient(_required(url, "url"), _required(root_key, "root_key"))
        self._requests = _Requests(options)
        self.tokens: AsyncTokenVerifier | None = None
        if options.get("tokens", True):
            self.tokens = token_verifier or AsyncTokenVerifier(
                self.client, audience=_audience(options)
            )
        self._owns_tokens = token_verifier is None

    async def check(self, key: str, context: VerifyContext, cost: int | None = None) -> Check:
        if key == UNUSABLE:
            return unusable(context)
        tokens = self.tokens
        if tokens is not None and looks_like_jwt(key):
            try:
                token: VerifiedLike = await tokens.verify(key)
            except TokenRefused:
                return unusable(context)
            except (Stale, FetchFailed) as error:
                return _token_failed(context, error)
            return token_check(token, context)
        try:
            result = await self.client.verify(key, **self._requests.arguments(context, cost))
        except ClientError as error:
            return _unreachable(context, error)
        return self._requests.decide(result, context)

    def check_now(self, key: str, context: VerifyContext, cost: int | None = None) -> Check | None:
        """A token decided without I/O (the ASGI middleware asks first); None
        for a key, or a token whose API's keys must be fetched."""
        tokens = self.tokens
        if tokens is None or not looks_like_jwt(key):
            return None
        try:
            token: VerifiedLike = tokens.verify_now(key)
        except Fetch:
            return None
        except TokenRefused:
            return unusable(context)
        except Stale as error:
            return _token_failed(context, error)
        return token_check(token, context)

    def finish_now(self, check: Check, served: Served) -> Awaitable[None] | None:
        """``finish`` without a coroutine when no lease is to be handed back."""
        if check.leases:
            return self.finish(check, served)
        report = self._requests.report(check, served)
        if report is not None:
            self.client.queue_usage(report)
        return None

    async def finish(self, check: Check, served: Served) -> None:
        report = self._requests.report(check, served)
        if report is not None:
            self.client.queue_usage(report)
        if check.leases:
            try:
                await self.client.release(check.leases)
            except ClientError as error:
                log.warning("could not release concurrency leases: %s", type(error).__name__)

    async def close(self) -> None:
        if self.tokens is not None and self._owns_tokens:
            await self.tokens.aclose()
        if self._owned:
            await self.client.aclose()
        else:
            await self.client.flush_usage()


class SyncRemote:
    """``Remote`` for threaded servers, through ``keystead.client.Client``;
    leases are handed back from a background thread, so ``finish`` never waits.
    Access tokens are verified offline by ``token_verifier`` (default: a
    ``TokenVerifier`` of the client, with the guard's ``audience``)."""

    def __init__(
        self,
        client: Client | None = None,
        *,
        url: str | None = None,
        root_key: str | None = None,
        token_verifier: TokenVerifier | None = None,
        **options: Unpack[GuardOptions],
    ) -> None:
        self._owned = client is None
        self.client = client or Client(_required(url, "url"), _required(root_key, "root_key"))
        self._requests = _Requests(options)
        self.tokens: TokenVerifier | None = None
        if options.get("tokens", True):
            self.tokens = token_verifier or TokenVerifier(self.client, audience=_audience(options))
        self._owns_tokens = token_verifier is None
        self._releaser = ThreadPoolExecutor(1, thread_name_prefix="keystead-leases")
        self._in_flight = InFlight()
        self._closed = False
        if self._owned:
            at_exit(self.close)  # send the reports still queued

    def check(self, key: str, context: VerifyContext, cost: int | None = None) -> Check:
        if key == UNUSABLE:
            return unusable(context)
        tokens = self.tokens
        if tokens is not None and looks_like_jwt(key):
            try:
                token: VerifiedLike = tokens.verify(key)
            except TokenRefused:
                return unusable(context)
            except (Stale, FetchFailed) as error:
                return _token_failed(context, error)
            return token_check(token, context)
        try:
            result = self.client.verify(key, **self._requests.arguments(context, cost))
        except ClientError as error:
            return _unreachable(context, error)
        check = self._requests.decide(result, context)
        self._in_flight.begin()
        return check

    def finish(self, check: Check, served: Served) -> None:
        if not isinstance(check.outcome, VerifyResult):  # a token's: nothing to finish
            return
        try:
            report = self._requests.report(check, served)
            if report is not None:
                self.client.queue_usage(report)
            if check.leases and not self._closed:
                self._releaser.submit(self._release, check.leases)
        finally:
            self._in_flight.end()

    def _release(self, leases: tuple[str, ...]) -> None:
        try:
            self.client.release(leases)
        except ClientError as error:
            log.warning("could not release concurrency leases: %s", type(error).__name__)

    def close(self) -> None:
        if self._closed:
            return
        self._in_flight.drain(DRAIN_SECONDS)
        self._closed = True
        if self.tokens is not None and self._owns_tokens:
            self.tokens.close()
        self._releaser.shutdown(wait=True)
        if self._owned:
            self.client.close()
        else:
            self.client.flush_usage()


def _required(value: str | None, name: str) -> str:
    if not value:
        raise ValueError(f"remote mode needs the Keystead server's {name}, or a client")
    return value


__all__ = ["Remote", "SyncRemote"]
