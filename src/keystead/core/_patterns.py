"""Compiled matchers behind ``restrictions``: IP ranges, globs, referrer and path patterns.

Everything here is built once (when restrictions are loaded) and then only read on the
verify hot path. Parsers of one string raise ``ValueError`` with a short reason, which
``each`` turns into a ``ValidationError`` naming the list item; the JSON-shape helpers
raise ``ValidationError`` themselves.

Globs compile to regular expressions in which every ``*`` except the last one of a pattern
(or of a path segment) is an atomic group that commits to the leftmost match of the literal
run that follows it. That is exact for ``*``/``?`` globs (the literal runs have a fixed
length) and keeps matching time linear in the input for each pattern: no pattern a key
owner writes can make the server backtrack exponentially.
"""

from __future__ import annotations

import ipaddress
import re
import socket
from bisect import bisect_right
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import TypeVar

from keystead.errors import ValidationError

MAX_ENTRIES = 1000
MAX_PATTERN_LENGTH = 512
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
T = TypeVar("T")

# -- Client addresses --------------------------------------------------------------------------

_V6_OFFSET = 1 << 32  # IPv6 keys live above every IPv4 key: one number line for both
_INVALID = -1
_IP_CACHE: dict[str, int] = {}
_IP_CACHE_MAX = 4096
_IP_TEXT_MAX = 64  # longest IPv6 text with an embedded IPv4 and a zone id fits
_MAPPED = ipaddress.IPv6Network("::ffff:0:0/96")

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


def _parse_ip(text: str) -> int:
    try:
        addr = ipaddress.ip_address(text)
    except ValueError:
        return _INVALID
    if isinstance(addr, ipaddress.IPv6Address):
        mapped = addr.ipv4_mapped
        if mapped is None:
            return int(addr) + _V6_OFFSET
        return int(mapped)
    return int(addr)


def ip_key(text: str) -> int:
    """The address as one integer (IPv4-mapped IPv6 folded to IPv4), or -1 if not an address.

    Parsed addresses are kept in a bounded process-wide cache: ``ipaddress`` takes ~1.5 us
    per parse, a dict hit ~30 ns. The cache is dropped whole when full.
    """
    key = _IP_CACHE.get(text)
    if key is None:
        if len(text) > _IP_TEXT_MAX:
            return _INVALID
        key = _parse_ip(text)
        if len(_IP_CACHE) >= _IP_CACHE_MAX:
            _IP_CACHE.clear()
        _IP_CACHE[text] = key
    return key


def key_text(key: int) -> str:
    """The canonical text of an address key (IPv4 dotted quad for mapped addresses)."""
    if key < _V6_OFFSET:
        return socket.inet_ntoa(key.to_bytes(4, "big"))
    return str(ipaddress.IPv6Address(key - _V6_OFFSET))


def parse_network(text: str) -> IPNetwork:
    """A CIDR or single address; IPv4-mapped IPv6 networks become IPv4 networks.
    A zone index (``fe80::1%eth0``) names an interface of one host: refused."""
    if "%" in text:
        raise ValueError(f"{text!r} has a zone index (%...), which no allowlist can match")
    try:
        net = ipaddress.ip_network(text, strict=True)
    except ValueError as exc:
        if "has host bits set" in str(exc):
            loose = ipaddress.ip_network(text, strict=False)
            raise ValueError(f"{text!r} has host bits set (did you mean {loose}?)") from None
        raise ValueError(f"{text!r} is not an IP address or CIDR network") from None
    if isinstance(net, ipaddress.IPv6Network) and net.subnet_of(_MAPPED):
        base = int(net.network_address) & 0xFFFFFFFF
        return ipaddress.IPv4Network((base, net.prefixlen - 96))
    return net


def network_text(net: IPNetwork) -> str:
    """Normal form: compressed, without ``/32`` or ``/128`` for single addresses."""
    if net.prefixlen == net.max_prefixlen:
        return str(net.network_address)
    return str(net)


class IPRanges:
    """A set of networks as sorted, merged integer ranges; membership is one bisect."""

    __slots__ = ("_ends", "_starts")

    def __init__(self, networks: Iterable[IPNetwork]) -> None:
        ranges: list[tuple[int, int]] = []
        for net in networks:
            offset = _V6_OFFSET if net.version == 6 else 0
            ranges.append((int(net.network_address) + offset, int(net.broadcast_address) + offset))
        ranges.sort()
        starts: list[int] = []
        ends: list[int] = []
        for start, end in ranges:
            if ends and start <= ends[-1] + 1:
                ends[-1] = max(ends[-1], end)
            else:
                starts.append(start)
                ends.append(end)
        self._starts = starts
        self._ends = ends

    def __contains__(self, key: int) -> bool:
        i = bisect_right(self._starts, key) - 1
        return i >= 0 and key <= self._ends[i]

    def __len__(self) -> int:
        return len(self._starts)


# -- Globs -------------------------------------------------------------------------------------


def _run(literal: str, single: str | None) -> str:
    """A literal run of a glob; ``?`` matches one character when ``single`` is given."""
    if single is None:
        return re.escape(literal)
    return single.join(re.escape(part) for part in literal.split("?"))


def _glob(pattern: str, any_char: str, single: str | None) -> str:
    """``*`` = any run of ``any_char``; all but the last ``*`` commit to the leftmost match."""
    parts = pattern.split("*")
    if len(parts) == 1:
        return _run(pattern, single)
    head, *middle, tail = parts
    out = [_run(head, single)]
    out.extend(f"(?>{any_char}*?{_run(part, single)})" for part in middle if part)
    out.append(f"{any_char}*{_run(tail, single)}")
    return "".join(out)


def compile_globs(patterns: Iterable[str], *, ignore_case: bool) -> re.Pattern[str] | None:
    """One regex for a list of ``*``/``?`` globs, to be used with ``fullmatch``."""
    branches = [f"(?:{_glob(p, '.', '.')})" for p in patterns]
    if not branches:
        return None
    flags = re.DOTALL | (re.IGNORECASE if ignore_case else 0)
    return re.compile("|".join(branches), flags)


# -- Request paths -----------------------------------------------------------------------------

_SEGMENT_END = "(?![^/])"
# Dot segments, doubled slashes, encoded dots/slashes/backslashes: forms an application
# behind us may normalise into another path than the one we matched.
AMBIGUOUS_PATH = re.compile(r"(?:^|/)\.\.?(?:/|$)|//|\\|%2[eEfF]|%5[cC]")


def check_path_pattern(pattern: str) -> None:
    if not pattern.startswith("/"):
        raise ValueError("a path pattern must start with '/'")
    if "?" in pattern or "#" in pattern:
        raise ValueError("a path pattern matches the path only: no '?' or '#'")
    if AMBIGUOUS_PATH.search(pattern):
        raise ValueError("no '.' or '..' segments, '//', backslashes or %2E/%2F/%5C")
    for segment in pattern.split("/"):
        if "**" in segment and segment != "**":
            raise ValueError("'**' must be a whole path segment ('/**/' or a final '/**')")


def _path_regex(pattern: str) -> str:
    segments = pattern.split("/")[1:]
    runs: list[list[str]] = [[]]  # runs of ordinary segments between '**' segments
    for segment in segments:
        if segment == "**":
            if runs[-1] or len(runs) == 1:
                runs.append([])
        else:
            runs[-1].append(segment)
    trailing_any = segments[-1] == "**"

    def run_regex(run: list[str]) -> str:
        return "".join(f"/{_glob(seg, '[^/]', None)}{_SEGMENT_END}" for seg in run)

    out = [run_regex(runs[0])]
    for i, run in enumerate(runs[1:], start=1):
        if not run:
            continue
        body = f"(?:/[^/]*)*?{run_regex(run)}"
        last = i == len(runs) - 1 and not trailing_any
        out.append(f"(?:/[^/]*)*{run_regex(run)}" if last else f"(?>{body})")
    if trailing_any:
        out.append("(?:/.*)?")
    return "".join(out)


def compile_paths(patterns: Iterable[str]) -> tuple[frozenset[str], re.Pattern[str] | None]:
    """Patterns without wildcards as a set, the others as one ``fullmatch`` regex."""
    exact = frozenset(p for p in patterns if "*" not in p)
    branches = [f"(?:{_path_regex(p)})" for p in patterns if "*" in p]
    return exact, (re.compile("|".join(branches), re.DOTALL) if branches else None)


# -- Referrers ---------------------------------------------------------------------------------

_DEFAULT_PORTS = {"http": "80", "https": "443", "ws": "80", "wss": "443"}
_URL = re.compile(r"([A-Za-z][A-Za-z0-9+.\-]*)://([^/?#]*)([^?#]*)", re.DOTALL)
_HOST = re.compile(r"[a-z0-9_\-]+(?:\.[a-z0-9_\-]+)*")
_WILD_HOST = r"(?:[a-z0-9_\-]+\.)+"


def _authority(authority: str, *, wildcard: bool = False) -> tuple[str, str] | None:
    """``(host, port)`` in normal form, or None (userinfo, bad host or port)."""
    if "@" in authority or "\\" in authority:
        return None
    if authority.startswith("["):
        literal, bracket, port = authority[1:].partition("]")
        if not bracket or (port and not port.startswith(":")):
            return None
        try:
            host = f"[{ipaddress.IPv6Address(literal).compressed}]"
        except ValueError:
            return None
        port = port[1:]
    else:
        host, _, port = authority.partition(":")
        host = host.lower().removesuffix(".")
        bare = host[2:] if wildcard and host.startswith("*.") else host
        if not _HOST.fullmatch(bare):
            return None
    if port:
        if not (port.isascii() and port.isdigit() and 0 < int(port) < 65536):
            return None
        port = str(int(port))
    return host, port


def canonical_referrer(text: str) -> str | None:
    """``scheme://host:port/path`` with the default port filled in; None if unusable."""
    m = _URL.fullmatch(text.partition("#")[0].partition("?")[0])
    parsed = None if m is None else _authority(m[2])
    if m is None or parsed is None:
        return None
    scheme = m[1].lower()
    host, port = parsed
    return f"{scheme}://{host}:{port or _DEFAULT_PORTS.get(scheme, '')}{m[3] or '/'}"


def parse_referrer_pattern(pattern: str) -> tuple[str, str]:
    """``(normal form, regex over canonical referrers)`` for one referrer pattern."""
    if "?" in pattern or "#" in pattern:
        raise ValueError("a referrer pattern has no query or fragment")
    m = _URL.fullmatch(pattern)
    if m is None:
        raise ValueError("expected scheme://host[:port][/path], e.g. https://*.example.com/*")
    parsed = _authority(m[2], wildcard=True)
    if parsed is None:
        if "@" in m[2]:
            raise ValueError("a referrer pattern has no user info ('user@')")
        if "*" in m[2]:
            raise ValueError("'*' is only allowed as the whole first label of the host")
        raise ValueError("invalid host or port")
    scheme, (host, port), path = m[1].lower(), parsed, m[3]
    default = _DEFAULT_PORTS.get(scheme, "")
    port = "" if port == default else port
    any_path = path in ("", "/")
    normal = f"{scheme}://{host}{':' + port if port else ''}{'' if any_path else path}"
    wildcard = host.startswith("*.")
    host_regex = (_WILD_HOST if wildcard else "") + re.escape(host[2:] if wildcard else host)
    path_regex = "/.*" if any_path else _glob(path, ".", None)
    regex = f"{re.escape(scheme)}://{host_regex}:{re.escape(port or default)}{path_regex}"
    return normal, regex


# -- JSON shape --------------------------------------------------------------------------------


def mapping(value: object, field: str, keys: tuple[str, ...]) -> Mapping[str, object]:
    if not isinstance(value, Mapping):
        raise ValidationError("must be an object", field=field)
    for key in value:
        if key not in keys:
            raise ValidationError(
                f"unknown field {key!r}; expected {', '.join(keys)}", field=f"{field}.{key}"
            )
    return value


def items(value: object, field: str, what: str) -> list[object] | tuple[object, ...]:
    if not isinstance(value, list | tuple):
        raise ValidationError(f"must be a list of {what}", field=field)
    if len(value) > MAX_ENTRIES:
        raise ValidationError(f"at most {MAX_ENTRIES} entries", field=field)
    return value


def strings(value: object, field: str) -> list[str]:
    out: list[str] = []
    for i, item in enumerate(items(value, field, "strings")):
        if not isinstance(item, str):
            raise ValidationError("must be a string", field=f"{field}[{i}]")
        if len(item) > MAX_PATTERN_LENGTH:
            raise ValidationError(f"at most {MAX_PATTERN_LENGTH} characters", field=f"{field}[{i}]")
        out.append(item)
    return out


def each(texts: list[str], field: str, parse: Callable[[str], T]) -> list[T]:
    out: list[T] = []
    for i, item in enumerate(texts):
        try:
            out.append(parse(item))
        except ValueError as exc:
            raise ValidationError(str(exc), field=f"{field}[{i}]") from None
    return out


def allow_deny(value: object, field: str) -> tuple[list[str], list[str]]:
    data = mapping(value, field, ("allow", "deny"))
    allow = strings(data.get("allow", []), f"{field}.allow")
    return allow, strings(data.get("deny", []), f"{field}.deny")


def pair(allow: Sequence[str], deny: Sequence[str]) -> dict[str, object]:
    """Normal form of an allow/deny rule: empty lists left out."""
    return {k: list(v) for k, v in (("allow", allow), ("deny", deny)) if v}
