"""Offline verification of Keystead access tokens (JWTs) against a server:
``TokenVerifier`` (blocking, on a ``Client``) and ``AsyncTokenVerifier`` (on
an ``AsyncClient``).

A token is verified without asking the server: its signature with the API's
published keys (``GET /apis/{api_id}/.well-known/jwks.json``, fetched once and
again for an unknown ``kid``, rate-limited), ``exp``/``nbf`` with
``LEEWAY_S`` of leeway, ``iss``, ``aud`` and revocation. Revocations arrive in
the API's signed revocation document (``GET /apis/{api_id}/.well-known/
revocations.jwt``), polled every ``refresh_s`` with ``If-None-Match`` and
``?since=`` (only what changed) by a background thread or task: a revoked key's
tokens are refused at most ``refresh_s`` plus one request's time later. When
the document cannot be refreshed for ``max_stale_s``, the API's tokens are
refused (``Stale``: fail closed) until it can.

A verified token is kept (by a digest of its text) until it expires; a repeat
costs a dictionary lookup and the revocation check.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from collections.abc import Collection
from typing import Any

import httpx

from keystead.client._async import AsyncClient
from keystead.client._sync import Client
from keystead.client._token_state import (
    ApiKnowledge,
    Fetch,
    Stale,
    TokenBook,
    VerifiedToken,
)
from keystead.core.tokens import TokenRefused

log = logging.getLogger("keystead.client")

_JWKS = "/apis/{}/.well-known/jwks.json"
_REVOCATIONS = "/apis/{}/.well-known/revocations.jwt"


class FetchFailed(Exception):
    """The server could not be asked (or answered an error): tokens of the API
    cannot be verified for now."""


def _jwks_request(api: ApiKnowledge) -> tuple[str, dict[str, str]]:
    headers = {"Accept": "application/json"}
    if api.jwks_etag is not None:
        headers["If-None-Match"] = api.jwks_etag
    return _JWKS.format(api.api_id), headers


def _document_request(api: ApiKnowledge) -> tuple[str, dict[str, str], dict[str, str]]:
    headers = {"Accept": "application/jwt"}
    params: dict[str, str] = {}
    if api.loaded and api.document_etag is not None:
        headers["If-None-Match"] = api.document_etag
        params["since"] = str(api.revocations.seq)
    return _REVOCATIONS.format(api.api_id), headers, params


def _keys_answer(book: TokenBook, api: ApiKnowledge, response: httpx.Response) -> None:
    if response.status_code == 404:
        book.missing(api)
        raise TokenRefused("unknown_kid", "the server knows no such API")
    if response.status_code == 304:
        book.keys_unchanged(api)
    elif response.status_code == 200:
        try:
            jwks = response.json()
        except ValueError:
            raise FetchFailed("the JWKS is not JSON") from None
        book.keys_fetched(api, jwks, response.headers.get("etag"))
    else:
        raise FetchFailed(f"the JWKS answered {response.status_code}")


def _document_answer(book: TokenBook, api: ApiKnowledge, response: httpx.Response) -> bool:
    """Apply a revocation document answer; False: fetch the keys and retry."""
    if response.status_code == 304:
        book.document_unchanged(api)
        return True
    if response.status_code == 404:
        book.missing(api)
        raise TokenRefused("unknown_kid", "the server knows no such API")
    if response.status_code != 200:
        raise FetchFailed(f"the revocation document answered {response.status_code}")
    try:
        return book.document_fetched(api, response.text, response.headers.get("etag"))
    except TokenRefused as refused:
        raise FetchFailed(f"the revocation document is refused ({refused.reason})") from None


class _Options:
    """What both verifiers take."""

    def __init__(
        self,
        base_url: str,
        audience: str | Collection[str] | None,
        apis: Collection[str] | None,
        refresh_s: float,
        max_stale_s: float,
    ) -> None:
        if not refresh_s > 0:
            raise ValueError("refresh_s must be positive")
        self.refresh_s = refresh_s
        self.book = TokenBook(base_url, audience=audience, apis=apis, max_stale_s=max_stale_s)
        self._failing: set[str] = set()

    def _refreshed(self, api: ApiKnowledge, error: Exception | None) -> None:
        """Log a refresh that failed once, until it succeeds again (the server
        may be down for a while: one line, not one a second)."""
        if error is None:
            if api.api_id in self._failing:
                self._failing.discard(api.api_id)
                log.warning("the revocation document of %s is current again", api.api_id)
        elif api.api_id not in self._failing:
            self._failing.add(api.api_id)
            log.warning("could not refresh the revocation document of %s: %s", api.api_id, error)


class TokenVerifier(_Options):
    """Verify tokens offline for threaded apps, through a ``Client`` (which
    needs no permission for this: the JWKS and revocation documents are public).

    ``audience``: accepted ``aud`` values (default: the token's own API id);
    ``apis``: API ids whose tokens are accepted (default: any of the server's).
    ``verify`` blocks only when an API is met for the first time or a ``kid``
    is unknown. Safe to share between threads; ``close`` stops the refresher."""

    def __init__(
        self,
        client: Client,
        *,
        audience: str | Collection[str] | None = None,
        apis: Collection[str] | None = None,
        refresh_s: float = 1.0,
        max_stale_s: float = 30.0,
    ) -> None:
        super().__init__(client.base_url, audience, apis, refresh_s, max_stale_s)
        self.client = client
        self._lock = threading.Lock()
        self._stopped = threading.Event()
        self._refresher: threading.Thread | None = None

    def verify(self, token: str) -> VerifiedToken:
        """The verified token; raises ``TokenRefused`` (refuse with 401),
        ``Stale`` or ``FetchFailed`` (the server cannot be asked: 503)."""
        book = self.book
        try:
            return book.verify_now(token)
        except Fetch as fetch:
            self._fetch(fetch.api_id)
        return book.verify_now(token, fetch=False)

    def _fetch(self, api_id: str) -> None:
        with self._lock:  # one fetch at a time; the others wait for its result
            book = self.book
            api = book.api(api_id)
            self._keys(api)
            if not api.loaded:
                self._document(api)
                self._start()

    def _get(self, path: str, headers: dict[str, str], params: Any = None) -> httpx.Response:
        try:
            return self.client.http.get(path, headers=headers, params=params)
        except httpx.HTTPError as error:
            raise FetchFailed(type(error).__name__) from None

    def _keys(self, api: ApiKnowledge) -> None:
        path, headers = _jwks_request(api)
        response = self._get(path, headers)
        _keys_answer(self.book, api, response)

    def _document(self, api: ApiKnowledge) -> None:
        for _ in range(2):
            path, headers, params = _document_request(api)
            if _document_answer(self.book, api, self._get(path, headers, params)):
                return
            self._keys(api)
        raise FetchFailed("the revocation document is signed by an unknown key")

    def refresh(self) -> None:
        """Fetch every known API's revocation document once (what the
        background thread does every ``refresh_s``)."""
        for api in self.book.loaded():
            try:
                with self._lock:
                    self._document(api)
            except (FetchFailed, TokenRefused) as error:
                self._refreshed(api, error)
            else:
                self._refreshed(api, None)

    def _start(self) -> None:
        if self._refresher is None and not self._stopped.is_set():
            self._refresher = threading.Thread(
                target=self._run, name="keystead-token-revocations", daemon=True
            )
            self._refresher.start()

    def _run(self) -> None:
        while not self._stopped.wait(self.refresh_s):
            try:
                self.refresh()
            except Exception:  # keep refreshing: the next round may go through
                log.exception("could not refresh revocation documents")

    def close(self) -> None:
        """Stop the background refresh (the client stays open)."""
        self._stopped.set()
        thread, self._refresher = self._refresher, None
        if thread is not None:
            thread.join(5.0)


class AsyncTokenVerifier(_Options):
    """``TokenVerifier`` for asyncio apps, through an ``AsyncClient``:
    ``verify_now`` answers without I/O when it can (raising ``Fetch`` when it
    cannot), ``verify`` awaits what must be fetched. The refresher is a task
    of the loop of the first fetch; ``aclose`` cancels it."""

    def __init__(
        self,
        client: AsyncClient,
        *,
        audience: str | Collection[str] | None = None,
        apis: Collection[str] | None = None,
        refresh_s: float = 1.0,
        max_stale_s: float = 30.0,
    ) -> None:
        super().__init__(client.base_url, audience, apis, refresh_s, max_stale_s)
        self.client = client
        self._lock: asyncio.Lock | None = None
        self._refresher: asyncio.Task[None] | None = None
        self._closed = False

    def verify_now(self, token: str) -> VerifiedToken:
        """``verify`` without I/O: raises ``Fetch`` when it would need some."""
        return self.book.verify_now(token)

    async def verify(self, token: str) -> VerifiedToken:
        book = self.book
        try:
            return book.verify_now(token)
        except Fetch as fetch:
            await self._fetch(fetch.api_id)
        return book.verify_now(token, fetch=False)

    async def _fetch(self, api_id: str) -> None:
        if self._lock is None:
            self._lock = asyncio.Lock()
        async with self._lock:
            api = self.book.api(api_id)
            await self._keys(api)
            if not api.loaded:
                await self._document(api)
                self._start()

    async def _get(self, path: str, headers: dict[str, str], params: Any = None) -> httpx.Response:
        try:
            return await self.client.http.get(path, headers=headers, params=params)
        except httpx.HTTPError as error:
            raise FetchFailed(type(error).__name__) from None

    async def _keys(self, api: ApiKnowledge) -> None:
        path, headers = _jwks_request(api)
        response = await self._get(path, headers)
        _keys_answer(self.book, api, response)

    async def _document(self, api: ApiKnowledge) -> None:
        for _ in range(2):
            path, headers, params = _document_request(api)
            if _document_answer(self.book, api, await self._get(path, headers, params)):
                return
            await self._keys(api)
        raise FetchFailed("the revocation document is signed by an unknown key")

    async def refresh(self) -> None:
        """Fetch every known API's revocation document once."""
        for api in self.book.loaded():
            try:
                await self._document(api)
            except (FetchFailed, TokenRefused) as error:
                self._refreshed(api, error)
            else:
                self._refreshed(api, None)

    def _start(self) -> None:
        if self._refresher is None and not self._closed:
            self._refresher = asyncio.create_task(self._run(), name="keystead-token-revocations")

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self.refresh_s)
            try:
                await self.refresh()
            except Exception:  # keep refreshing: the next round may go through
                log.exception("could not refresh revocation documents")

    async def aclose(self) -> None:
        """Cancel the background refresh (the client stays open)."""
        self._closed = True
        task, self._refresher = self._refresher, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task


__all__ = [
    "AsyncTokenVerifier",
    "Fetch",
    "FetchFailed",
    "Stale",
    "TokenVerifier",
    "VerifiedToken",
]
