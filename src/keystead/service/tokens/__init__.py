"""Short-lived access tokens: issuance, OAuth 2.0 client credentials, introspection,
revocation, signing keys and the in-process verifier (docs/tokens.md)."""

from keystead.service.tokens._types import (
    Issued,
    NoMasterKey,
    OAuthError,
    SigningKeyInfo,
    TokenRequest,
    VerifiedToken,
)
from keystead.service.tokens.service import TokenService
from keystead.service.tokens.verifier import InProcessTokenVerifier

__all__ = [
    "InProcessTokenVerifier",
    "Issued",
    "NoMasterKey",
    "OAuthError",
    "SigningKeyInfo",
    "TokenRequest",
    "TokenService",
    "VerifiedToken",
]
