"""The ``setup`` fixture of the token tests (token_support.py)."""

from token_support import setup

__all__ = ["setup"]
