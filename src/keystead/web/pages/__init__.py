"""Dashboard pages: importing this package registers every page module."""

from keystead.web.pages import apis, key_actions, key_detail, keys, overview

__all__ = ["apis", "key_actions", "key_detail", "keys", "overview"]
