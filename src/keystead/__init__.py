"""Keystead: self-hosted API key management.

``from keystead import Keystead`` for the async service, ``SyncKeystead`` for a
blocking one, ``VerifyContext`` to describe a request. Names load lazily, so
``import keystead`` stays cheap for tools that need only the version.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from keystead.errors import (
    ConfigurationError,
    Conflict,
    Forbidden,
    IntegrityError,
    KeysteadError,
    NotFound,
    PermissionQueryError,
    StoreUnavailable,
    Unauthorized,
    ValidationError,
)

__version__ = "0.1.0"

if TYPE_CHECKING:
    from keystead.core.models import Code, VerifyContext
    from keystead.service import Keystead
    from keystead.sync import SyncKeystead

_LAZY = {
    "Keystead": "keystead.service",
    "SyncKeystead": "keystead.sync",
    "VerifyContext": "keystead.core.models",
    "Code": "keystead.core.models",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'keystead' has no attribute '{name}'")
    import importlib

    return getattr(importlib.import_module(module), name)


__all__ = [
    "Code",
    "ConfigurationError",
    "Conflict",
    "Forbidden",
    "IntegrityError",
    "Keystead",
    "KeysteadError",
    "NotFound",
    "PermissionQueryError",
    "StoreUnavailable",
    "SyncKeystead",
    "Unauthorized",
    "ValidationError",
    "VerifyContext",
    "__version__",
]
