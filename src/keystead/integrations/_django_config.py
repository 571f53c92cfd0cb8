"""``settings.KEYSTEAD`` read once, with a clear ``ImproperlyConfigured`` for
anything wrong in it."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ImproperlyConfigured
from django.utils.module_loading import import_string

from keystead.config import Settings
from keystead.errors import KeysteadError
from keystead.integrations.context import TrustedProxies
from keystead.integrations.credentials import KeySources
from keystead.integrations.embedded import SyncEmbedded
from keystead.integrations.guard import SyncGuard
from keystead.integrations.rules import Routes, Rule

_KNOWN = frozenset(
    {
        "GUARD",
        "REMOTE",
        "DATABASE_URL",
        "RULES",
        "PERMISSIONS",
        "PUBLIC",
        "KEY_SOURCES",
        "TRUSTED_PROXIES",
    }
)


@dataclass(frozen=True, slots=True)
class Config:
    guard: SyncGuard
    routes: Routes
    sources: KeySources
    proxies: TrustedProxies | None


def load_config(raw: Mapping[str, Any]) -> Config:
    if not isinstance(raw, Mapping):
        raise ImproperlyConfigured("settings.KEYSTEAD is a dict")
    unknown = set(raw) - _KNOWN
    if unknown:
        raise ImproperlyConfigured(f"settings.KEYSTEAD: unknown keys {sorted(unknown)}")
    try:
        rules = [_rule(item) for item in raw.get("RULES", ())]
        routes = Routes(
            rules, permissions=raw.get("PERMISSIONS"), public=bool(raw.get("PUBLIC", False))
        )
        sources = raw.get("KEY_SOURCES") or KeySources()
        if isinstance(sources, Mapping):
            sources = KeySources(**sources)
        proxies = raw.get("TRUSTED_PROXIES")
        trusted = None if proxies is None else TrustedProxies(proxies)
    except (TypeError, ValueError, KeysteadError) as exc:
        raise ImproperlyConfigured(f"settings.KEYSTEAD: {exc}") from None
    return Config(_guard(raw), routes, sources, trusted)


def _rule(item: Rule | Mapping[str, Any]) -> Rule:
    return item if isinstance(item, Rule) else Rule(**item)


def _guard(raw: Mapping[str, Any]) -> SyncGuard:
    guard = raw.get("GUARD")
    if isinstance(guard, str):
        guard = import_string(guard)
        if isinstance(guard, type) or (callable(guard) and not hasattr(guard, "check")):
            guard = guard()  # a guard class, or a function making one
    if guard is not None:
        return guard  # type: ignore[no-any-return]
    remote = raw.get("REMOTE")
    if remote is not None:
        from keystead.integrations.remote import SyncRemote

        try:
            return SyncRemote(url=remote["URL"], root_key=remote["ROOT_KEY"])
        except KeyError as missing:
            raise ImproperlyConfigured(f"settings.KEYSTEAD['REMOTE'] needs {missing}") from None
    url = raw.get("DATABASE_URL")
    return SyncEmbedded(settings=None if url is None else Settings(database_url=url))


__all__ = ["Config", "load_config"]
