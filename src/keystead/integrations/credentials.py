"""Where a request carries its API key, and how to take it out before the app runs.

ASGI scopes carry headers as lower-case ``bytes`` pairs; WSGI environs carry
them as ``HTTP_*`` strings (latin-1). Both readers return the key as ``str``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, MutableMapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote_to_bytes

from keystead.core.tokens import MAX_TOKEN_BYTES

Scope = MutableMapping[str, Any]
Environ = dict[str, Any]
ContextHeaders = tuple[bytes | None, bytes | None, bytes | None]
"""A request's User-Agent, Referer and X-Forwarded-For (repeated ones joined)."""

_AUTHORIZATION = b"authorization"
_COOKIE = b"cookie"
_USER_AGENT = b"user-agent"
_REFERER = b"referer"
_FORWARDED_FOR = b"x-forwarded-for"
_BEARER = b"bearer "
MAX_KEY_LENGTH = 512
"""Longer credentials are not keys: they are treated as a wrong key, unread
(but for an access token, a JWT, up to ``MAX_TOKEN_BYTES``)."""
_JWT_START = b"eyJ"
UNUSABLE = "\x00"
"""What ``find`` returns for a credential no key can be (too long, not ASCII):
it fails verification as MALFORMED, like any wrong key."""


@dataclass(frozen=True, slots=True)
class KeySources:
    """Where to look for the key, in order: ``Authorization: Bearer``, a header
    (``X-API-Key``), a cookie, a query parameter. A query parameter is off by
    default: URLs end up in access logs, proxies and browser history."""

    bearer: bool = True
    header: str | None = "x-api-key"
    cookie: str | None = None
    query: str | None = None
    _header: bytes | None = field(init=False, repr=False, compare=False, default=None)

    def __post_init__(self) -> None:
        for name in ("header", "cookie", "query"):
            value = getattr(self, name)
            if value is not None and (not value or not value.isascii()):
                raise ValueError(f"KeySources.{name} must be a non-empty ASCII name")
        if self.header is not None:  # ASGI header names are lower-case bytes
            object.__setattr__(self, "_header", self.header.lower().encode("ascii"))

    def find(self, scope: Scope) -> str | None:
        """The key an ASGI request carries, or None when it carries none."""
        header = self._header
        bearer = named = cookies = None
        for name, value in scope.get("headers", ()):
            if name == _AUTHORIZATION:
                bearer = value
            elif name == header:
                named = value
            elif name == _COOKIE:
                cookies = value
        return self._pick(self._token(bearer), named, cookies, scope.get("query_string", b""))

    def find_in_environ(self, environ: Environ) -> str | None:
        """The key a WSGI request carries, or None when it carries none."""
        header = None if self.header is None else _environ_name(self.header)
        bearer = environ.get("HTTP_AUTHORIZATION")
        named = None if header is None else environ.get(header)
        cookies = environ.get("HTTP_COOKIE")
        query = environ.get("QUERY_STRING", "")
        token = self._token(_latin1(bearer))
        return self._pick(token, _latin1(named), _latin1(cookies), _latin1(query) or b"")

    def _token(self, authorization: bytes | None) -> bytes | None:
        """The Bearer token of an Authorization header, when Bearer is a source."""
        if authorization is None or not self.bearer:
            return None
        return bearer_token(authorization)

    def _pick(
        self, token: bytes | None, named: bytes | None, cookies: bytes | None, query: bytes
    ) -> str | None:
        if token is not None:
            return _text(token)
        if self.header is not None and named is not None:
            return _text(named.strip())
        if self.cookie is not None and cookies is not None:
            value = _cookie_value(cookies, self.cookie.encode("ascii"))
            if value is not None:
                return _text(value)
        if self.query is not None and query:
            value = _query_value(query, self.query)
            if value is not None:
                return _text(value)
        return None

    def take(self, scope: Scope) -> tuple[str | None, Scope]:
        """``find`` and ``strip`` in one pass over the headers: the key (None when
        the request carries none, and then the scope itself) and the scope the
        app gets."""
        key, stripped, _ = self.read(scope)
        return key, stripped

    def read(self, scope: Scope) -> tuple[str | None, Scope, ContextHeaders]:
        """``take``, and in the same pass the headers a request's context is read
        from (``integrations.context.context_of``)."""
        header = self._header
        bearer = named = cookies = user_agent = referrer = forwarded = None
        kept: list[tuple[bytes, bytes]] = []
        for pair in scope.get("headers", ()):
            name = pair[0]
            if name == _AUTHORIZATION:
                bearer = pair[1]
                continue
            if name == header:
                named = pair[1]
                continue
            if name == _COOKIE:
                cookies = pair[1]
                continue
            if name == _USER_AGENT:
                user_agent = pair[1]
            elif name == _REFERER:
                referrer = pair[1]
            elif name == _FORWARDED_FOR:
                forwarded = _joined(forwarded, pair[1])
            kept.append(pair)
        seen = (user_agent, referrer, forwarded)
        query = scope.get("query_string", b"")
        token = self._token(bearer)
        key = self._pick(token, named, cookies, query)
        if key is None:
            return None, scope, seen
        if bearer is not None and token is None:  # not ours: Basic, or Bearer unused
            kept.append((_AUTHORIZATION, bearer))
        if cookies is not None:
            if self.cookie is not None:
                cookies = _without_cookie(cookies, self.cookie.encode("ascii"))
            if cookies:
                kept.append((_COOKIE, cookies))
        stripped = dict(scope)
        stripped["headers"] = kept
        if self.query is not None and query:
            stripped["query_string"] = _without_query(query, self.query)
        return key, stripped, seen

    def strip(self, scope: Scope) -> Scope:
        """A shallow copy of the scope without the credential: the Authorization
        header when it is a Bearer token, the key header, the key cookie and the
        key query parameter."""
        header = self._header
        cookie = None if self.cookie is None else self.cookie.encode("ascii")
        kept: list[tuple[bytes, bytes]] = []
        for name, value in scope.get("headers", ()):
            if name == header or (name == _AUTHORIZATION and self._token(value) is not None):
                continue
            if cookie is not None and name == _COOKIE:
                value = _without_cookie(value, cookie)
                if not value:
                    continue
            kept.append((name, value))
        stripped = dict(scope)
        stripped["headers"] = kept
        query = scope.get("query_string", b"")
        if self.query is not None and query:
            stripped["query_string"] = _without_query(query, self.query)
        return stripped

    def strip_environ(self, environ: Environ) -> Environ:
        """The WSGI counterpart of ``strip``: a shallow copy of the environ."""
        stripped = dict(environ)
        if self.header is not None:
            stripped.pop(_environ_name(self.header), None)
        authorization = _latin1(environ.get("HTTP_AUTHORIZATION"))
        if self._token(authorization) is not None:
            del stripped["HTTP_AUTHORIZATION"]
        cookies = _latin1(environ.get("HTTP_COOKIE"))
        if self.cookie is not None and cookies is not None:
            kept = _without_cookie(cookies, self.cookie.encode("ascii"))
            if kept:
                stripped["HTTP_COOKIE"] = kept.decode("latin-1")
            else:
                del stripped["HTTP_COOKIE"]
        query = _latin1(environ.get("QUERY_STRING"))
        if self.query is not None and query:
            stripped["QUERY_STRING"] = _without_query(query, self.query).decode("latin-1")
        return stripped


def context_headers(scope: Mapping[str, Any]) -> ContextHeaders:
    """The headers a request's context is read from, as ``KeySources.read``
    gives them: for a request no middleware has read yet."""
    user_agent = referrer = forwarded = None
    for name, value in scope.get("headers", ()):
        if name == _USER_AGENT:
            user_agent = value
        elif name == _REFERER:
            referrer = value
        elif name == _FORWARDED_FOR:
            forwarded = _joined(forwarded, value)
    return user_agent, referrer, forwarded


def _joined(forwarded: bytes | None, value: bytes) -> bytes:
    """Repeated X-Forwarded-For headers, as one list of hops."""
    return value if forwarded is None else forwarded + b"," + value


def bearer_token(value: bytes) -> bytes | None:
    """The token of ``Bearer <token>`` (scheme case-insensitive), else None."""
    if len(value) > 7 and value[:7].lower() == _BEARER:
        token = value[7:].strip()
        return token or None
    return None


def _text(raw: bytes) -> str:
    """The key as text. Anything a key or token can never be (too long, not
    ASCII) still counts as a credential: it becomes ``UNUSABLE``, refused like
    any wrong key."""
    if not raw.isascii():
        return UNUSABLE
    if len(raw) > MAX_KEY_LENGTH and (len(raw) > MAX_TOKEN_BYTES or not raw.startswith(_JWT_START)):
        return UNUSABLE
    return raw.decode("ascii")


def _latin1(value: str | None) -> bytes | None:
    return None if value is None else value.encode("latin-1", "replace")


def _environ_name(header: str) -> str:
    return "HTTP_" + header.upper().replace("-", "_")


def _cookie_pairs(cookies: bytes) -> Iterable[tuple[bytes, bytes, bytes]]:
    """(name, value, raw pair) of each ``name=value`` in a Cookie header."""
    for raw in cookies.split(b";"):
        pair = raw.strip()
        name, sep, value = pair.partition(b"=")
        if sep:
            yield name.strip(), value.strip().strip(b'"'), pair


def _cookie_value(cookies: bytes, wanted: bytes) -> bytes | None:
    for name, value, _ in _cookie_pairs(cookies):
        if name == wanted and value:
            return value
    return None


def _without_cookie(cookies: bytes, unwanted: bytes) -> bytes:
    return b"; ".join(pair for name, _, pair in _cookie_pairs(cookies) if name != unwanted)


def _query_value(query: bytes, wanted: str) -> bytes | None:
    target = wanted.encode("ascii")
    for item in query.split(b"&"):
        name, sep, value = item.partition(b"=")
        if sep and unquote_to_bytes(name.replace(b"+", b" ")) == target and value:
            return unquote_to_bytes(value.replace(b"+", b" "))
    return None


def _without_query(query: bytes, unwanted: str) -> bytes:
    """The query string without the parameter; every other byte stays as sent."""
    target = unwanted.encode("ascii")
    return b"&".join(
        item
        for item in query.split(b"&")
        if unquote_to_bytes(item.partition(b"=")[0].replace(b"+", b" ")) != target
    )


__all__ = [
    "MAX_KEY_LENGTH",
    "UNUSABLE",
    "ContextHeaders",
    "KeySources",
    "bearer_token",
    "context_headers",
]
