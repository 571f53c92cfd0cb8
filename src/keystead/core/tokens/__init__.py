"""Short-lived access tokens (RFC 9068 JWTs): keys, JWS, claims, policy, revocation.

Pure: no I/O and no wall clock; callers pass the time in.
"""

from __future__ import annotations

from keystead.core.tokens.claims import (
    LEEWAY_S,
    REGISTERED_CLAIMS,
    access_token_claims,
    check_claims,
    new_jti,
)
from keystead.core.tokens.errors import REASONS, TokenRefused
from keystead.core.tokens.jws import (
    ACCESS_TOKEN_TYPES,
    MAX_TOKEN_BYTES,
    ParsedToken,
    looks_like_jwt,
    parse,
    verified,
)
from keystead.core.tokens.keys import (
    ALGORITHMS,
    PUBLISHED_ALGORITHMS,
    Signer,
    VerifyingKey,
    generate_private,
    public_jwk,
)
from keystead.core.tokens.policy import InvalidTokenRequest, TokenPolicy
from keystead.core.tokens.revocation import (
    DOCUMENT_TYPE,
    MAX_DOCUMENT_BYTES,
    Denial,
    RevocationState,
    denials_of_document,
    document_claims,
    verified_document,
)
from keystead.core.tokens.verified_token import VerifiedToken, accepted

__all__ = [
    "ACCESS_TOKEN_TYPES",
    "ALGORITHMS",
    "DOCUMENT_TYPE",
    "LEEWAY_S",
    "MAX_DOCUMENT_BYTES",
    "MAX_TOKEN_BYTES",
    "PUBLISHED_ALGORITHMS",
    "REASONS",
    "REGISTERED_CLAIMS",
    "Denial",
    "InvalidTokenRequest",
    "ParsedToken",
    "RevocationState",
    "Signer",
    "TokenPolicy",
    "TokenRefused",
    "VerifiedToken",
    "VerifyingKey",
    "accepted",
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
    "verified_document",
]
