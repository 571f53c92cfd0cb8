"""Dashboard pages: importing this package registers every page module."""

from keystead.web.pages import alerts, audit, overview, webhooks

__all__ = ["alerts", "audit", "overview", "webhooks"]
