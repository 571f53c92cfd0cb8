"""Cost of verifying an access token: Keystead's core against PyJWT, same run.

Run: .venv/bin/python bench/token_crypto.py [--seconds 0.5] [--rounds 5]

Each verification is of a token not seen before (no cache on either side):
Keystead's ``verified()`` + ``check_claims()`` with its loaded key, PyJWT's
``jwt.decode(token, key, algorithms=[...], audience=..., issuer=...)`` with the
key object already loaded (PyJWT is in the dev extra). Both check the signature,
exp/nbf/iat, issuer and audience. The two are measured in alternating rounds and
the median round is reported, so the machine's noise hits both alike. HS256's
row shows the cost of everything but the public-key arithmetic.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable, Sequence
from typing import Any

import jwt
from _common import fmt_ratio, fmt_us, median, print_machine, print_table
from cryptography.hazmat.primitives import serialization

from keystead.core.tokens import (
    Signer,
    VerifyingKey,
    access_token_claims,
    check_claims,
    generate_private,
    new_jti,
    verified,
)

ISSUER = "http://127.0.0.1:8000/apis/api_bench"
AUDIENCE = "api_bench"
TOKENS = 4000


def per_call(fn: Callable[[str], object], tokens: Sequence[str], seconds: float) -> float:
    """Seconds per call of ``fn`` over distinct tokens, for about ``seconds``."""
    calls = 0
    start = time.perf_counter()
    while True:
        for token in tokens:
            fn(token)
        calls += len(tokens)
        elapsed = time.perf_counter() - start
        if elapsed >= seconds:
            return elapsed / calls


def tokens_for(signer: Signer, now: float) -> list[str]:
    return [
        signer.sign(
            access_token_claims(
                issuer=ISSUER,
                key_id="key_bench",
                api_id=AUDIENCE,
                owner_id="user_1",
                audience=AUDIENCE,
                permissions=["documents.read", "documents.write"],
                issued_at=now,
                ttl_s=3600,
                jti=new_jti(),
            )
        )
        for _ in range(TOKENS)
    ]


def measure(algorithm: str, seconds: float, rounds: int) -> tuple[float, float, float]:
    private = generate_private(algorithm)
    signer = Signer(algorithm, "tsk_bench", private)
    key = VerifyingKey.from_private(algorithm, "tsk_bench", private)
    peer_key: Any = private  # HS256: the shared secret
    if algorithm != "HS256":
        peer_key = serialization.load_der_private_key(private, password=None).public_key()
    now = time.time()
    tokens = tokens_for(signer, now)

    def keys(kid: str | None) -> VerifyingKey | None:
        return key if kid == key.kid else None

    def keystead(token: str) -> object:
        parsed = verified(token, keys)
        check_claims(parsed.claims, now=time.time(), issuer=ISSUER, audience=AUDIENCE)
        return parsed

    def pyjwt(token: str) -> object:
        return jwt.decode(token, peer_key, algorithms=[algorithm], audience=AUDIENCE, issuer=ISSUER)

    sign_s = per_call(lambda _: signer.sign({"sub": "key_bench", "iat": 0}), tokens[:500], 0.2)
    ours: list[float] = []
    theirs: list[float] = []
    for _ in range(rounds):
        ours.append(per_call(keystead, tokens, seconds))
        theirs.append(per_call(pyjwt, tokens, seconds))
    return median(ours), median(theirs), sign_s


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=0.5, help="per round and side")
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    print_machine()
    rows = [("algorithm", "Keystead verify", f"PyJWT {jwt.__version__} decode", "ratio", "sign")]
    for algorithm in ("EdDSA", "ES256", "HS256"):
        ours, theirs, sign_s = measure(algorithm, args.seconds, args.rounds)
        rows.append(
            (algorithm, fmt_us(ours), fmt_us(theirs), fmt_ratio(theirs / ours), fmt_us(sign_s))
        )
    print_table(
        "Access token verification, a first-seen token (ratio > 1: Keystead is faster)", rows
    )


if __name__ == "__main__":
    main()
