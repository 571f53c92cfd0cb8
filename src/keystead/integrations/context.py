"""The ``VerifyContext`` of an incoming request: client IP, user agent, referrer,
method and path, read from an ASGI scope or a WSGI environ.

The client IP is the connection's peer. Behind a reverse proxy, pass
``TrustedProxies`` naming the proxies' addresses: ``X-Forwarded-For`` is then
read from the right, skipping trusted hops, and the first untrusted address is
the client. Without it the header is ignored (anyone can send it).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Mapping, MutableMapping
from typing import Any

from keystead.core.models import VerifyContext, verify_context
from keystead.core.text import REPLACEMENT, storable
from keystead.integrations.credentials import ContextHeaders, context_headers

_MAX_FIELD = 1024
"""Longer user agents and referrers are cut: the context is a restriction input,
not a log of whatever a client sends. What no store can hold (a NUL character, a
lone surrogate) becomes U+FFFD: the HTTP API would refuse it, and the end user's
request must not fail for it (``core.text``)."""

_MAX_PATH = 4096
_MAX_METHOD = 32

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


class TrustedProxies:
    """Addresses (``"10.0.0.0/8"``, ``"127.0.0.1"``) of reverse proxies whose
    ``X-Forwarded-For`` is believed."""

    __slots__ = ("_networks",)

    def __init__(self, networks: Iterable[str]) -> None:
        try:
            self._networks: tuple[Network, ...] = tuple(
                ipaddress.ip_network(item, strict=False) for item in networks
            )
        except ValueError as exc:
            raise ValueError(f"trusted proxies: {exc}") from None

    def trusts(self, address: str | None) -> bool:
        if address is None:
            return False
        try:
            ip = ipaddress.ip_address(address)
        except ValueError:
            return False
        return any(ip in network for network in self._networks)

    def client_ip(self, peer: str | None, forwarded_for: str | None) -> str | None:
        """The client's address: the peer unless it is a trusted proxy, then the
        rightmost ``X-Forwarded-For`` hop that is not one."""
        if forwarded_for is None or not self.trusts(peer):
            return peer
        hop = peer
        for item in reversed(forwarded_for.split(",")):
            hop = item.strip()
            if not self.trusts(hop):
                break
        return _valid_ip(hop) or peer


def request_context(
    scope: Mapping[str, Any],
    permissions: str | None = None,
    *,
    proxies: TrustedProxies | None = None,
) -> VerifyContext:
    """The context of an ASGI HTTP request (headers as lower-case bytes)."""
    return context_of(scope, context_headers(scope), permissions, proxies)


def context_of(
    scope: Mapping[str, Any],
    headers: ContextHeaders,
    permissions: str | None,
    proxies: TrustedProxies | None,
) -> VerifyContext:
    """``request_context`` of headers already read (``KeySources.read``)."""
    user_agent, referrer, forwarded = headers
    client = scope.get("client")
    peer = None if not client else client[0]
    if proxies is not None:
        peer = proxies.client_ip(peer, _field(forwarded))
    path = scope.get("path")
    if path is not None and (len(path) > _MAX_PATH or "\x00" in path or not path.isascii()):
        path = storable(path, _MAX_PATH)
    method = scope.get("method")
    if method is not None and (
        len(method) > _MAX_METHOD or "\x00" in method or not method.isascii()
    ):
        method = storable(method, _MAX_METHOD)
    # inline rather than a call per header: this runs on every request
    agent = None if user_agent is None else user_agent[:_MAX_FIELD].decode("latin-1")
    if agent is not None and "\x00" in agent:
        agent = agent.replace("\x00", REPLACEMENT)
    referred = None if referrer is None else referrer[:_MAX_FIELD].decode("latin-1")
    if referred is not None and "\x00" in referred:
        referred = referred.replace("\x00", REPLACEMENT)
    return verify_context(peer, referred, agent, method, path, permissions)


def environ_context(
    environ: MutableMapping[str, Any],
    permissions: str | None = None,
    *,
    proxies: TrustedProxies | None = None,
) -> VerifyContext:
    """The context of a WSGI request."""
    peer = environ.get("REMOTE_ADDR") or None
    if proxies is not None:
        peer = proxies.client_ip(peer, environ.get("HTTP_X_FORWARDED_FOR"))
    return VerifyContext(
        ip=peer,
        referrer=_cut(environ.get("HTTP_REFERER")),
        user_agent=_cut(environ.get("HTTP_USER_AGENT")),
        method=_cut(environ.get("REQUEST_METHOD"), _MAX_METHOD),
        path=_cut(environ_path(environ), _MAX_PATH),
        permissions=permissions,
    )


def environ_path(environ: Mapping[str, Any]) -> str:
    """SCRIPT_NAME + PATH_INFO, which WSGI carries as latin-1 of the UTF-8 bytes."""
    raw = environ.get("SCRIPT_NAME", "") + environ.get("PATH_INFO", "")
    try:
        return str(raw.encode("latin-1").decode("utf-8"))
    except (UnicodeEncodeError, UnicodeDecodeError):
        return str(raw)


def _field(value: bytes | None) -> str | None:
    """A header's text as a verify request takes it: cut, every byte a character
    (latin-1: invalid UTF-8 is no error), NUL characters replaced."""
    if value is None:
        return None
    text = value[:_MAX_FIELD].decode("latin-1")
    return text.replace("\x00", REPLACEMENT) if b"\x00" in value else text


def _cut(value: str | None, limit: int = _MAX_FIELD) -> str | None:
    """A text as a verify request takes it: cut, NUL characters and lone
    surrogates replaced (an end user's request is cleaned, never refused)."""
    if value is None or (len(value) <= limit and value.isascii() and "\x00" not in value):
        return value
    return storable(value, limit)


def _valid_ip(text: str | None) -> str | None:
    if not text:
        return None
    try:
        return str(ipaddress.ip_address(text))
    except ValueError:
        return None


__all__ = ["TrustedProxies", "context_of", "environ_context", "environ_path", "request_context"]
