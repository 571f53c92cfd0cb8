"""Routes compiled for the request path: matching (host, path prefix, method; the
first route that matches wins) and the request target sent upstream."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import quote

from keystead.gateway.config import RouteConfig
from keystead.gateway.pool import UpstreamPool

_HEX = frozenset(b"0123456789abcdefABCDEF")


def host_of(header: bytes | None) -> str | None:
    """The host name of a ``Host`` header: lower case, without port or final dot."""
    if not header:
        return None
    text = header.decode("latin-1").lower()
    if text.startswith("["):
        end = text.find("]")
        return text[: end + 1] if end > 0 else text
    name, sep, port = text.rpartition(":")
    if sep and port.isdigit():
        text = name
    return text.rstrip(".")


def unsafe_path(path: str) -> bool:
    """A path that is not absolute, or holds ``.`` or ``..`` segments (encoded or
    not): the upstream could resolve it to a path another route protects."""
    if not path.startswith("/"):
        return True
    return "/." in path and any(s == "." or s == ".." for s in path.split("/"))


class Route:
    """One route of the running configuration, with its upstream's pool."""

    __slots__ = (
        "_exact_hosts",
        "_host_suffixes",
        "_prefix",
        "_prefix_dir",
        "_strip",
        "auth",
        "checks_keys",
        "config",
        "methods",
        "permissions",
        "pool",
        "ratelimits",
        "upstream",
        "windows",
    )

    def __init__(self, config: RouteConfig, pool: UpstreamPool) -> None:
        self.config = config
        self.pool = pool
        self.upstream = config.upstream
        self.auth = config.auth
        self.checks_keys = config.auth != "none"
        self.permissions = config.permissions
        self.ratelimits = config.ratelimits
        self.windows = config.windows
        self.methods = config.methods
        self._exact_hosts = frozenset(h for h in config.hosts if not h.startswith("*."))
        self._host_suffixes = tuple(h[1:] for h in config.hosts if h.startswith("*."))
        prefix = config.path_prefix
        self._prefix = prefix
        self._prefix_dir = prefix if prefix.endswith("/") else prefix + "/"
        self._strip = len(prefix.rstrip("/").encode("utf-8")) if config.strip_prefix else 0

    def matches(self, host: str | None, path: str, method: str) -> bool:
        if self.methods is not None and method not in self.methods:
            return False
        if self._exact_hosts or self._host_suffixes:
            if host is None:
                return False
            if host not in self._exact_hosts and not host.endswith(self._host_suffixes):
                return False
        return path.startswith(self._prefix_dir) or path == self._prefix

    def target(self, scope: Mapping[str, Any]) -> bytes:
        """The request target sent upstream: the base path of the upstream URL, the
        client's path as it was encoded (less the prefix with ``strip_prefix``), and
        the query string."""
        raw = scope.get("raw_path")
        path: bytes = raw if isinstance(raw, bytes) else quote(scope["path"]).encode("ascii")
        if self._strip:
            path = path[_raw_index(path, self._strip) :] or b"/"
        query = scope.get("query_string")
        base = self.upstream.base_path
        if base:
            path = base + path
        if query and isinstance(query, bytes):
            return path + b"?" + query
        return path


def _raw_index(raw: bytes, decoded_bytes: int) -> int:
    """Where in the percent-encoded ``raw`` the first ``decoded_bytes`` bytes end."""
    index = count = 0
    size = len(raw)
    while count < decoded_bytes and index < size:
        escaped = raw[index] == 0x25 and index + 2 < size
        if escaped and raw[index + 1] in _HEX and raw[index + 2] in _HEX:
            index += 3
        else:
            index += 1
        count += 1
    return index


class Router:
    """Routes in configuration order; ``match`` returns the first that fits."""

    __slots__ = ("routes",)

    def __init__(self, routes: Sequence[Route]) -> None:
        self.routes = tuple(routes)

    def match(self, host: str | None, path: str, method: str) -> Route | None:
        for route in self.routes:
            if route.matches(host, path, method):
                return route
        return None


__all__ = ["Route", "Router", "host_of", "unsafe_path"]
