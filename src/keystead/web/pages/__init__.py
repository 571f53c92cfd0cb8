"""Dashboard pages: importing this package registers every page module."""

from keystead.web.pages import alerts, audit, overview, owners, plans, roles, root_keys, webhooks

__all__ = ["alerts", "audit", "overview", "owners", "plans", "roles", "root_keys", "webhooks"]
