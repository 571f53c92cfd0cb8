"""Dashboard pages: importing this package registers every page module."""

from keystead.web.pages import (
    alerts,
    apis,
    audit,
    key_actions,
    key_detail,
    keys,
    overview,
    owners,
    plans,
    roles,
    root_keys,
    webhooks,
    what_if,
)

__all__ = [
    "alerts",
    "apis",
    "audit",
    "key_actions",
    "key_detail",
    "keys",
    "overview",
    "owners",
    "plans",
    "roles",
    "root_keys",
    "webhooks",
    "what_if",
]
