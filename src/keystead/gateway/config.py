"""The gateway configuration (``gateway.yaml``), read strictly: every error names
its field. Reference: docs/gateway.md."""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

import pydantic

from keystead.config import Settings
from keystead.core.permissions import PermissionQuery
from keystead.errors import ValidationError
from keystead.gateway._fields import ConfigError, Fields, parse_yaml
from keystead.gateway.pool import Origin
from keystead.integrations.context import TrustedProxies
from keystead.integrations.credentials import KeySources
from keystead.limits import RateLimit

Auth = Literal["required", "optional", "none"]

DEFAULT_PORT = 8080
DEFAULT_MAX_BODY_BYTES = 10 * 1024 * 1024
MAX_TIMEOUT_S = 86_400.0
_TOKEN = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")
_HOST = re.compile(r"(\*\.)?[a-z0-9_]([a-z0-9_.-]*[a-z0-9_])?|\[[0-9a-f:.]+\]")
_NOT_SETTINGS = frozenset({"url", "root_key", "host", "port"})
"""Settings of the HTTP API server and the remote CLI: no meaning for a gateway."""


@dataclass(frozen=True, slots=True)
class ListenConfig:
    host: str = "127.0.0.1"
    port: int = DEFAULT_PORT
    trusted_proxies: tuple[str, ...] = ()
    """Addresses of load balancers in front whose ``X-Forwarded-For`` is believed."""


@dataclass(frozen=True, slots=True)
class UpstreamConfig:
    url: str
    origin: Origin
    host_header: bytes
    """``Host`` sent upstream unless the route preserves the client's."""
    base_path: bytes
    """The URL's path without its trailing ``/``, put before every forwarded path."""
    timeout_s: float = 30.0
    connect_timeout_s: float = 5.0


@dataclass(frozen=True, slots=True)
class RouteConfig:
    name: str
    upstream: UpstreamConfig
    hosts: tuple[str, ...] = ()
    """Lower-case host names (``*.example.com`` for any subdomain); empty: any host."""
    path_prefix: str = "/"
    methods: frozenset[str] | None = None
    auth: Auth = "required"
    permissions: str | None = None
    ratelimits: tuple[RateLimit, ...] = ()
    strip_prefix: bool = False
    preserve_host: bool = False
    max_body_bytes: int | None = DEFAULT_MAX_BODY_BYTES

    @property
    def windows(self) -> dict[str, int]:
        """The rate-limit headers' window (``w``) of each of this route's limits."""
        return {limit.name: max(1, math.ceil(limit.duration_s)) for limit in self.ratelimits}


@dataclass(frozen=True, slots=True)
class GatewayConfig:
    routes: tuple[RouteConfig, ...]
    listen: ListenConfig = field(default_factory=ListenConfig)
    keystead: Mapping[str, Any] = field(default_factory=dict)
    """Settings (``Settings`` field names) over the ``KEYSTEAD_*`` environment."""
    key_sources: KeySources = field(default_factory=KeySources)
    hide_credentials: bool = True

    def settings(self) -> Settings:
        return Settings(**self.keystead)

    @property
    def proxies(self) -> TrustedProxies | None:
        trusted = self.listen.trusted_proxies
        return TrustedProxies(trusted) if trusted else None


def load_config(path: str | Path) -> GatewayConfig:
    """Read and check the configuration file; ``ConfigError`` says what is wrong."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"cannot read {path}: {exc.strerror or exc}") from None
    except UnicodeDecodeError:
        raise ConfigError(f"{path} is not UTF-8 text") from None
    return parse_config(text, source=str(path))


def parse_config(text: str, *, source: str = "the configuration") -> GatewayConfig:
    top = Fields(
        parse_yaml(text, source),
        "",
        ("listen", "keystead", "key_sources", "hide_credentials", "routes"),
    )
    routes = top.items("routes")
    if not routes:
        raise ConfigError("at least one route is required", field="routes")
    return GatewayConfig(
        routes=tuple(_route(item, f"routes[{index}]") for index, item in enumerate(routes)),
        listen=_listen(top.raw("listen")),
        keystead=_keystead(top.raw("keystead")),
        key_sources=_key_sources(top.raw("key_sources")),
        hide_credentials=top.boolean("hide_credentials", True),
    )


def _listen(data: Any) -> ListenConfig:
    f = Fields(data, "listen", ("host", "port", "trusted_proxies"))
    proxies = f.texts("trusted_proxies") or ()
    try:
        TrustedProxies(proxies)
    except ValueError as exc:
        raise ConfigError(str(exc), field=f.where("trusted_proxies")) from None
    port = f.integer("port", DEFAULT_PORT, low=1, high=65535)
    return ListenConfig(f.text("host", "127.0.0.1") or "", port or DEFAULT_PORT, proxies)


def _keystead(data: Any) -> dict[str, Any]:
    known = tuple(name for name in Settings.model_fields if name not in _NOT_SETTINGS)
    values = dict(Fields(data, "keystead", known).data)
    try:
        Settings(**values)
    except pydantic.ValidationError as exc:
        first = exc.errors(include_url=False)[0]
        where = ".".join(str(part) for part in first["loc"])
        raise ConfigError(first["msg"], field=f"keystead.{where}") from None
    return values


def _key_sources(data: Any) -> KeySources:
    f = Fields(data, "key_sources", ("bearer", "header", "cookie", "query"))
    names = {}
    for name in ("header", "cookie", "query"):
        value = f.text(name, "x-api-key" if name == "header" else None)
        if value is not None and not _TOKEN.fullmatch(value):
            raise ConfigError("must be a header, cookie or parameter name", field=f.where(name))
        names[name] = value
    sources = KeySources(bearer=f.boolean("bearer", True), **names)
    if not (sources.bearer or sources.header or sources.cookie or sources.query):
        raise ConfigError("name at least one place to read keys from", field="key_sources")
    return sources


def _route(data: Any, path: str) -> RouteConfig:
    f = Fields(
        data,
        path,
        (
            "name",
            "match",
            "upstream",
            "auth",
            "permissions",
            "ratelimits",
            "strip_prefix",
            "preserve_host",
            "max_body_bytes",
        ),
    )
    auth: Auth = f.choice("auth", "required", ("required", "optional", "none"))  # type: ignore[assignment]
    permissions = f.text("permissions")
    if permissions is not None:
        try:
            PermissionQuery.parse(permissions)
        except ValidationError as exc:
            raise ConfigError(exc.detail, field=f.where("permissions")) from None
    ratelimits = _ratelimits(f.items("ratelimits"), f.where("ratelimits"))
    if auth == "none" and (permissions is not None or ratelimits):
        raise ConfigError("a route with auth: none checks no permissions or limits", field=path)
    match = Fields(f.raw("match"), f.where("match"), ("host", "path_prefix", "methods"))
    return RouteConfig(
        name=f.text("name", path) or path,
        upstream=_upstream(f.required("upstream"), f.where("upstream")),
        hosts=_hosts(match),
        path_prefix=_path_prefix(match),
        methods=_methods(match),
        auth=auth,
        permissions=permissions,
        ratelimits=ratelimits,
        strip_prefix=f.boolean("strip_prefix", False),
        preserve_host=f.boolean("preserve_host", False),
        max_body_bytes=f.integer("max_body_bytes", DEFAULT_MAX_BODY_BYTES, low=0, high=2**62),
    )


def _hosts(match: Fields) -> tuple[str, ...]:
    hosts = match.texts("host") or ()
    for index, host in enumerate(hosts):
        if not _HOST.fullmatch(host.lower()):
            raise ConfigError(
                "must be a host name without scheme or port (*.example.com for subdomains)",
                field=f"{match.where('host')}" + (f"[{index}]" if len(hosts) > 1 else ""),
            )
    return tuple(host.lower() for host in hosts)


def _path_prefix(match: Fields) -> str:
    prefix = match.text("path_prefix", "/") or "/"
    if not prefix.startswith("/") or "?" in prefix or "#" in prefix:
        raise ConfigError("must be a path starting with /", field=match.where("path_prefix"))
    if any(segment in (".", "..") for segment in prefix.split("/")):
        raise ConfigError("must not hold . or .. segments", field=match.where("path_prefix"))
    return prefix


def _methods(match: Fields) -> frozenset[str] | None:
    methods = match.texts("methods")
    if methods is None:
        return None
    for index, method in enumerate(methods):
        if not _TOKEN.fullmatch(method):
            raise ConfigError("must be an HTTP method", field=f"{match.where('methods')}[{index}]")
    return frozenset(method.upper() for method in methods)


def _ratelimits(items: list[Any], path: str) -> tuple[RateLimit, ...]:
    out: list[RateLimit] = []
    for index, item in enumerate(items):
        where = f"{path}[{index}]"
        try:
            spec = RateLimit.from_dict(item, where)
        except ValidationError as exc:
            raise ConfigError(exc.detail, field=exc.field or where) from None
        if "\x00" in spec.name or any(spec.name == seen.name for seen in out):
            raise ConfigError("names must differ and hold no NUL", field=f"{where}.name")
        out.append(spec)
    return tuple(out)


def _upstream(data: Any, path: str) -> UpstreamConfig:
    f = Fields(
        data,
        path,
        (
            "url",
            "timeout_s",
            "connect_timeout_s",
            "keepalive_s",
            "max_idle",
            "tls_verify",
            "ca_file",
        ),
    )
    url = f.required("url")
    where = f.where("url")
    if not isinstance(url, str):
        raise ConfigError("must be an http:// or https:// URL", field=where)
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise ConfigError(f"is not a valid URL: {exc}", field=where) from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError("must be an http:// or https:// URL with a host", field=where)
    if parts.query or parts.fragment or parts.username or parts.password:
        raise ConfigError("must hold no query, fragment or credentials", field=where)
    if not parts.path.isascii():
        raise ConfigError("the path must be ASCII (percent-encode it)", field=where)
    default_port = 443 if parts.scheme == "https" else 80
    host = parts.hostname
    try:
        shown = f"[{host}]" if ":" in host else host.encode("idna").decode("ascii")
    except UnicodeError:
        raise ConfigError("has a host name that is not valid", field=where) from None
    origin = Origin(
        scheme=parts.scheme,
        host=host,
        port=port or default_port,
        keepalive_s=f.number("keepalive_s", 4.0, high=MAX_TIMEOUT_S),
        max_idle=f.integer("max_idle", 64, low=0, high=100_000) or 0,
        tls_verify=f.boolean("tls_verify", True),
        ca_file=f.text("ca_file"),
    )
    return UpstreamConfig(
        url=url,
        origin=origin,
        host_header=(shown if port in (None, default_port) else f"{shown}:{port}").encode(),
        base_path=parts.path.rstrip("/").encode("ascii"),
        timeout_s=f.number("timeout_s", 30.0, high=MAX_TIMEOUT_S),
        connect_timeout_s=f.number("connect_timeout_s", 5.0, high=MAX_TIMEOUT_S),
    )


__all__ = [
    "ConfigError",
    "GatewayConfig",
    "ListenConfig",
    "RouteConfig",
    "UpstreamConfig",
    "load_config",
    "parse_config",
]
