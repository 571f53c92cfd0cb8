"""Dashboard pages: importing this package registers every page module."""

from keystead.web.pages import overview

__all__ = ["overview"]
