"""Per-route protection: which requests need a key, with which permissions.

Rules are checked in order, the first match wins; a request no rule matches
gets the default (a valid key, any permissions, unless the app is public by
default). Permission queries are parsed when the rules are built, so a typo
fails at start-up, not on a request.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import TypedDict

from keystead.core.permissions import parse_query_cached
from keystead.integrations.context import TrustedProxies
from keystead.integrations.credentials import KeySources


@dataclass(frozen=True, slots=True)
class Rule:
    """Requests under ``path`` (``"/docs"`` covers ``/docs`` and ``/docs/...``;
    ``"/"`` covers everything), for ``methods`` (default: all): ``public``
    (no key needed; a route's ``require_key`` may still ask for one), or a
    valid key whose permissions satisfy ``permissions``, spending ``cost``."""

    path: str
    permissions: str | None = None
    methods: Collection[str] | None = None
    public: bool = False
    cost: int | None = None

    def __post_init__(self) -> None:
        if not self.path.startswith("/"):
            raise ValueError(f"a rule's path starts with '/': {self.path!r}")
        if self.public and self.permissions is not None:
            raise ValueError(f"the rule for {self.path!r} is public: it takes no permissions")
        if self.permissions is not None:
            parse_query_cached(self.permissions)  # raises PermissionQueryError
        if self.methods is not None:
            object.__setattr__(self, "methods", frozenset(m.upper() for m in self.methods))
        if self.cost is not None and (type(self.cost) is not int or self.cost < 0):
            raise ValueError(f"the rule for {self.path!r}: cost is a whole number, 0 or more")

    def matches(self, method: str, path: str) -> bool:
        if self.methods is not None and method not in self.methods:
            return False
        prefix = self.path
        if path.startswith(prefix):
            return prefix.endswith("/") or len(path) == len(prefix) or path[len(prefix)] == "/"
        return False


def public(path: str, methods: Collection[str] | None = None) -> Rule:
    """A rule that lets requests under ``path`` through without a key."""
    return Rule(path, methods=methods, public=True)


class Routes:
    """The compiled rules and default of one middleware."""

    __slots__ = ("default", "rules")

    def __init__(
        self, rules: Sequence[Rule] = (), *, permissions: str | None = None, public: bool = False
    ) -> None:
        self.rules = tuple(rules)
        self.default = Rule("/", permissions, public=public)

    def match(self, method: str, path: str) -> Rule:
        for rule in self.rules:
            if rule.matches(method, path):
                return rule
        return self.default


class ProtectOptions(TypedDict, total=False):
    """The options of every middleware: ``rules`` (first match wins), the
    ``permissions`` other requests need (any valid key when None), or none when
    ``public``; ``sources`` of the key; ``proxies`` whose X-Forwarded-For is
    believed."""

    rules: Sequence[Rule]
    permissions: str | None
    public: bool
    sources: KeySources | None
    proxies: TrustedProxies | None


class Protection:
    """What a middleware checks: its routes, where the key comes from, which
    proxies it believes."""

    def __init__(self, options: ProtectOptions) -> None:
        self.routes = Routes(
            options.get("rules", ()),
            permissions=options.get("permissions"),
            public=options.get("public", False),
        )
        self.sources = options.get("sources") or KeySources()
        self.proxies = options.get("proxies")


__all__ = ["ProtectOptions", "Protection", "Routes", "Rule", "public"]
