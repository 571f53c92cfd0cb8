"""Portal pages: importing this package registers every portal module
(``key_page`` imports ``keys`` first: ``/portal/keys/new`` matches before
``/portal/keys/{key_id}``)."""

from keystead.web.portal import key_page, keys

__all__ = ["key_page", "keys"]
