"""Header rewriting in both directions, on ASGI header lists (lower-case bytes names).

Removed both ways: the RFC 9110 hop-by-hop set (``HOP_BY_HOP``) and every header
a ``Connection`` header names. Towards the upstream the gateway also drops
``Expect`` (it answered the expectation itself), rewrites or keeps ``Host``,
re-frames the body (``Content-Length`` or chunked), appends itself to
``X-Forwarded-For``/``-Proto``/``-Host`` and ``Via``, and adds the identity
headers. ``X-Keystead-*`` headers a client sent never get past ``scan``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import NamedTuple
from urllib.parse import quote

Headers = list[tuple[bytes, bytes]]

HOP_BY_HOP = frozenset(
    {
        b"connection",
        b"keep-alive",
        b"proxy-connection",
        b"te",
        b"trailer",
        b"transfer-encoding",
        b"upgrade",
        b"proxy-authenticate",
        b"proxy-authorization",
    }
)
IDENTITY_PREFIX = b"x-keystead-"
VIA = b"1.1 keystead"
_CRLF = b"\r\n"
_SEP = b": "
# headers of the client's request that the gateway sets itself (or drops)
_REPLACED = HOP_BY_HOP | {b"host", b"content-length", b"expect"}
_APPENDED = (b"x-forwarded-for", b"x-forwarded-proto", b"x-forwarded-host", b"via")
_ALWAYS_HOP = frozenset({b"close", b"keep-alive"})
_HEADER_VALUE_SAFE = "".join(chr(c) for c in range(0x20, 0x7F) if chr(c) != "%")


class RequestFacts(NamedTuple):
    """What the gateway needs from the request headers before it forwards them."""

    headers: Headers
    """The headers with every ``X-Keystead-*`` removed."""
    host: bytes | None
    content_length: int | None
    chunked: bool


def scan(headers: Headers) -> RequestFacts:
    """One pass over the request headers: take out spoofed identity headers and
    read ``Host`` and the body framing."""
    host = None
    length = None
    chunked = False
    spoofed = False
    for name, value in headers:
        if name == b"host":
            host = value
        elif name == b"content-length":
            length = int(value)  # the server's parser has validated it
        elif name == b"transfer-encoding":
            chunked = True
        elif name.startswith(IDENTITY_PREFIX):
            spoofed = True
    if spoofed:
        headers = [(n, v) for n, v in headers if not n.startswith(IDENTITY_PREFIX)]
    return RequestFacts(headers, host, None if chunked else length, chunked)


def _connection_tokens(headers: Iterable[tuple[bytes, bytes]]) -> frozenset[bytes]:
    """Header names the ``Connection`` headers declare hop-by-hop (beyond the usual)."""
    tokens: set[bytes] = set()
    for name, value in headers:
        if name == b"connection":
            tokens.update(t.strip().lower() for t in value.split(b","))
    tokens -= _ALWAYS_HOP
    tokens.discard(b"")
    return frozenset(tokens)


class Forwarding(NamedTuple):
    """The per-request values ``request_head`` adds."""

    method: bytes
    target: bytes
    host: bytes
    client_ip: bytes | None
    scheme: bytes
    client_host: bytes | None


def request_head(
    headers: Headers,
    forwarding: Forwarding,
    identity: Sequence[tuple[bytes, bytes]],
    framing: bytes,
) -> bytes:
    """The request line and headers to send upstream. ``framing`` is the body
    framing header line (``b"content-length: 12\\r\\n"``, chunked, or ``b""``)."""
    out = [forwarding.method, b" ", forwarding.target, b" HTTP/1.1\r\nhost: ", forwarding.host]
    out.append(_CRLF)
    appended: dict[bytes, bytes] = {}
    connection = False
    for name, value in headers:
        if name in _REPLACED:
            connection = connection or name == b"connection"
            continue
        if name in _APPENDED:
            prior = appended.get(name)
            appended[name] = value if prior is None else prior + b", " + value
            continue
        out += (name, _SEP, value, _CRLF)
    if connection:
        tokens = _connection_tokens(headers)
        if tokens:
            return request_head(
                [(n, v) for n, v in headers if n not in tokens and n != b"connection"],
                forwarding,
                identity,
                framing,
            )
    _append(out, appended, b"x-forwarded-for", forwarding.client_ip)
    _append(out, appended, b"x-forwarded-proto", forwarding.scheme)
    _append(out, appended, b"x-forwarded-host", forwarding.client_host)
    _append(out, appended, b"via", VIA)
    for name, value in identity:
        out += (name, _SEP, value, _CRLF)
    out += (framing, _CRLF)
    return b"".join(out)


def _append(out: list[bytes], prior: dict[bytes, bytes], name: bytes, value: bytes | None) -> None:
    before = prior.get(name)
    if value is None:
        if before is None:
            return
        value = before
    elif before is not None:
        value = before + b", " + value
    out += (name, _SEP, value, _CRLF)


def response_headers(headers: Headers) -> Headers:
    """The upstream's response headers as the client gets them: hop-by-hop and
    ``Connection``-named ones removed, ``Content-Length`` dropped when the body
    was chunked (the server re-frames it), the gateway added to ``Via``."""
    out: Headers = []
    via = None
    chunked = connection = False
    for name, value in headers:
        if name in HOP_BY_HOP:
            chunked = chunked or name == b"transfer-encoding"
            connection = connection or name == b"connection"
        elif name == b"via":
            via = value if via is None else via + b", " + value
        else:
            out.append((name, value))
    if connection:
        tokens = _connection_tokens(headers)
        if tokens:
            out = [(n, v) for n, v in out if n not in tokens]
    if chunked:
        out = [(n, v) for n, v in out if n != b"content-length"]
    out.append((b"via", VIA if via is None else via + b", " + VIA))
    return out


def header_value(text: str) -> bytes:
    """``text`` as a header value: printable ASCII as is, anything else (and ``%``)
    percent-encoded as UTF-8, so no value can break a header or inject one."""
    if text.isascii() and text.isprintable() and "%" not in text:
        return text.encode("ascii")
    return quote(text, safe=_HEADER_VALUE_SAFE).encode("ascii")


__all__ = [
    "HOP_BY_HOP",
    "IDENTITY_PREFIX",
    "VIA",
    "Forwarding",
    "Headers",
    "RequestFacts",
    "header_value",
    "request_head",
    "response_headers",
    "scan",
]
