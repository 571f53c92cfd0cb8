"""One error hierarchy for the whole package.

Faces map these to HTTP statuses or CLI exit codes in one place each; nothing
else in the package raises bare built-in exceptions across a layer boundary.
No error message ever carries a plaintext key or secret.
"""

from __future__ import annotations


class KeysteadError(Exception):
    """Base of every error Keystead raises on purpose."""

    status: int = 500
    title: str = "Internal error"
    public_detail: str | None = None
    """When set, what a client is told instead of ``detail``: the detail may
    carry a driver's or the OS's text (an address, ``[Errno 111] ...``), which
    belongs in the logs only."""

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


class ValidationError(KeysteadError):
    """Input that does not make sense; ``field`` names where, when known."""

    status = 422
    title = "Invalid request"

    def __init__(self, detail: str, *, field: str | None = None) -> None:
        super().__init__(detail)
        self.field = field


class PermissionQueryError(ValidationError):
    """A permission query that does not parse; ``position`` is a 0-based offset."""

    status = 400
    title = "Invalid permission query"

    def __init__(self, detail: str, *, position: int, query: str) -> None:
        super().__init__(f"{detail} at position {position}", field="permissions")
        self.position = position
        self.query = query


class PayloadTooLarge(ValidationError):
    """Input over a size bound (a secret version's bytes, its field count): 413."""

    status = 413
    title = "Content too large"


class Unauthorized(KeysteadError):
    status = 401
    title = "Unauthorized"


class Forbidden(KeysteadError):
    status = 403
    title = "Forbidden"


class TooManyAttempts(KeysteadError):
    """The client IP spent its failed-attempts allowance: refused until it refills."""

    status = 429
    title = "Too many failed attempts"

    def __init__(self, detail: str, *, retry_after: float | None = None) -> None:
        super().__init__(detail)
        self.retry_after = retry_after


class NotFound(KeysteadError):
    status = 404
    title = "Not found"


class Conflict(KeysteadError):
    status = 409
    title = "Conflict"


class CheckAndSetMismatch(Conflict):
    """A write whose check-and-set version (``cas``) is not the secret's current
    version, or that omits it where it is required. Vault answers 400; Keystead 409."""

    title = "Check-and-set mismatch"


class AlreadyInitialised(Conflict):
    title = "Already initialised"


class IntegrityError(KeysteadError):
    """A sealed item that does not open: altered, copied to another place (its
    associated data differs), or the master key is not the one that sealed it.

    409, never a 500: the request was fine, what is stored cannot serve it. The
    detail names no value and no key."""

    status = 409
    title = "Integrity check failed"


class ConfigurationError(KeysteadError):
    """Settings that cannot work (missing secret, unknown backend scheme...)."""

    title = "Configuration error"


class MissingDependency(ConfigurationError):
    """An optional driver is not installed; the message names the extra."""


class _Unavailable(KeysteadError):
    """A dependency failed: clients read the stable ``public_detail``, the logs
    the cause; ``safe=True`` when the detail is itself stable and for clients."""

    status = 503

    def __init__(self, detail: str, *, safe: bool = False) -> None:
        super().__init__(detail)
        if safe:
            self.public_detail = detail


class StoreUnavailable(_Unavailable):
    """The backing store could not be reached or failed mid-operation."""

    title = "Store unavailable"
    public_detail = "the store could not be reached; retry later"


class LimiterUnavailable(_Unavailable):
    """The rate-limit backend could not be reached or failed mid-decision.

    Callers apply their configured fail-open/fail-closed policy on it.
    """

    title = "Limiter unavailable"
    public_detail = "the rate-limit backend could not be reached; retry later"


__all__ = [
    "AlreadyInitialised",
    "CheckAndSetMismatch",
    "ConfigurationError",
    "Conflict",
    "Forbidden",
    "IntegrityError",
    "KeysteadError",
    "LimiterUnavailable",
    "MissingDependency",
    "NotFound",
    "PayloadTooLarge",
    "PermissionQueryError",
    "StoreUnavailable",
    "TooManyAttempts",
    "Unauthorized",
    "ValidationError",
]
