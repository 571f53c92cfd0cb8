"""The dashboard's navigation: an area is listed only when the principal holds
a permission that opens it (the pages check again through the service)."""

from __future__ import annotations

from dataclasses import dataclass

from keystead.core.authz import Principal


@dataclass(frozen=True, slots=True)
class NavEntry:
    label: str
    url: str
    permissions: tuple[str, ...]
    """Any one of these shows the entry (empty: always)."""
    grant_prefix: str | None = None
    """Or any grant starting with this (path-scoped grants such as ``secrets.read:kv/app/*``)."""


NAV: tuple[NavEntry, ...] = (
    NavEntry("Overview", "/ui/", ()),
    NavEntry("APIs", "/ui/apis", ("apis.read",)),
    NavEntry("Keys", "/ui/keys", ("keys.read",)),
    NavEntry("Plans", "/ui/plans", ("plans.read",)),
    NavEntry("Owners", "/ui/owners", ("owners.read",)),
    NavEntry("Roles", "/ui/roles", ("roles.read",)),
    NavEntry("Root keys", "/ui/root-keys", ("root_keys.read",)),
    NavEntry("Secrets", "/ui/secrets", ("secrets.read",), grant_prefix="secrets."),
    NavEntry("Leaks", "/ui/leaks", ("incidents.read",)),
    NavEntry("Incidents", "/ui/incidents", ("incidents.read",)),
    NavEntry("Tokens", "/ui/tokens", ("tokens.keys.read",)),
    NavEntry("Webhooks", "/ui/webhooks", ("webhooks.read",)),
    NavEntry("Alerts", "/ui/alerts", ("alerts.read",)),
    NavEntry("Audit", "/ui/audit", ("audit.read",)),
    NavEntry("What-if", "/ui/what-if", ("usage.read",)),
)


def allowed(principal: Principal, permissions: tuple[str, ...]) -> bool:
    """Whether ``principal`` holds any of ``permissions`` (none asked: yes)."""
    return not permissions or any(principal.grants.covers(p) for p in permissions)


def shows(principal: Principal, entry: NavEntry) -> bool:
    if allowed(principal, entry.permissions) and entry.permissions:
        return True
    prefix = entry.grant_prefix
    if prefix is not None:
        return any(grant.startswith(prefix) for grant in principal.grants.grants)
    return not entry.permissions


def nav_for(principal: Principal) -> list[NavEntry]:
    return [entry for entry in NAV if shows(principal, entry)]
