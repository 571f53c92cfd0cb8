"""Short-lived access tokens (RFC 9068 JWTs): keys, JWS, claims, policy, revocation.

Pure: no I/O and no wall clock; callers pass the time in.
"""

from __future__ import annotations

from keystead.core.tokens.claims import LEEWAY_S, access_token_claims, check_claims, new_jti
from keystead.core.tokens.errors import REASONS, TokenRefused
from keystead.core.tokens.jws import MAX_TOKEN_BYTES, ParsedToken, looks_like_jwt, parse, verified
from keystead.core.tokens.keys import (
    ALGORITHMS,
    Signer,
    VerifyingKey,
    generate_private,
    public_jwk,
)
from keystead.core.tokens.policy import TokenPolicy
from keystead.core.tokens.revocation import (
    Denial,
    RevocationState,
    denials_of_document,
    document_claims,
)

__all__ = [
    "ALGORITHMS",
    "LEEWAY_S",
    "MAX_TOKEN_BYTES",
    "REASONS",
    "Denial",
    "ParsedToken",
    "RevocationState",
    "Signer",
    "TokenPolicy",
    "TokenRefused",
    "VerifyingKey",
    "access_token_claims",
    "check_claims",
    "denials_of_document",
    "document_claims",
    "generate_private",
    "looks_like_jwt",
    "new_jti",
    "parse",
    "public_jwk",
    "verified",
]
