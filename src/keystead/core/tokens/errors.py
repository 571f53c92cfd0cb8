"""The one error a token verifier raises: why a token was refused.

The reason is a fixed word, for logs, metrics and introspection; the message
never echoes the token, its claims or its signature.
"""

from __future__ import annotations

from keystead.errors import KeysteadError

REASONS: frozenset[str] = frozenset(
    {
        "malformed",
        "too_large",
        "algorithm",
        "unknown_kid",
        "signature",
        "expired",
        "not_yet_valid",
        "issuer",
        "audience",
        "revoked",
        "claims",
    }
)


class TokenRefused(KeysteadError):
    """A token that must not be honoured; ``reason`` is one of ``REASONS``."""

    status = 401
    title = "Unauthorized"
    public_detail = "invalid token"

    def __init__(self, reason: str, detail: str | None = None) -> None:
        if reason not in REASONS:
            raise ValueError(f"unknown refusal reason {reason!r}")
        super().__init__(detail or reason)
        self.reason = reason

    def __repr__(self) -> str:
        return f"TokenRefused({self.reason!r})"


__all__ = ["REASONS", "TokenRefused"]
