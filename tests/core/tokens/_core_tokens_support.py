"""Keys and claims the token core tests share (RSA keys are slow to make: once each)."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from keystead.core.tokens import (
    Signer,
    VerifyingKey,
    access_token_claims,
    generate_private,
)

NOW = 1_800_000_000.0
ISSUER = "https://keys.example/apis/api_1"
API_ID = "api_1"
KEY_ID = "key_1"
KID = "tsk_1"


def private_of(algorithm: str, kid: str = KID) -> bytes:
    """The private material of key ``kid``, made once per test run."""
    return _private(algorithm, kid)


@functools.cache
def _private(algorithm: str, kid: str) -> bytes:
    return generate_private(algorithm)


def signer(algorithm: str, kid: str = KID) -> Signer:
    return Signer(algorithm, kid, private_of(algorithm, kid))


def verifying(algorithm: str, kid: str = KID) -> VerifyingKey:
    return VerifyingKey.from_private(algorithm, kid, private_of(algorithm, kid))


def keys_of(*keys: VerifyingKey) -> Callable[[str | None], VerifyingKey | None]:
    by_kid = {key.kid: key for key in keys}
    return lambda kid: by_kid.get(kid) if kid is not None else None


def claims(**overrides: Any) -> dict[str, Any]:
    made = access_token_claims(
        issuer=ISSUER,
        key_id=KEY_ID,
        api_id=API_ID,
        owner_id="user_1",
        audience=API_ID,
        permissions=["documents.read"],
        issued_at=NOW,
        ttl_s=300,
        jti="tok_fixed",
    )
    made.update(overrides)
    return made
