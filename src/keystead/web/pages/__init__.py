"""Dashboard pages: importing this package registers every page module."""

from keystead.web.pages import incidents, leaks, overview, secrets, tokens

__all__ = ["incidents", "leaks", "overview", "secrets", "tokens"]
