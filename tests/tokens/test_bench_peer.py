"""bench/tokens.py's PyJWT peer is a real verifier, not a strawman: behind it the
endpoint answers a genuine token and refuses a tampered one, a foreign audience
and no token, as Keystead's middleware does (so the ratio compares like work)."""

from __future__ import annotations

import importlib
import sys
from pathlib import Path

import pytest

from .kit import Deployment, parts, segment

BENCH = Path(__file__).resolve().parents[2] / "bench"
if str(BENCH) not in sys.path:
    sys.path.insert(0, str(BENCH))
bench = importlib.import_module("_token_middleware")


async def test_the_pyjwt_peer_verifies_what_the_middleware_verifies(
    deployment: Deployment,
) -> None:
    api_id = deployment.new_api({"audiences": ["reports-service"]})
    key = deployment.new_key(api_id)
    token = deployment.exchange(key)["token"]
    app = bench.endpoint_app(
        bench.PyJWTMiddleware,
        jwks_url=deployment.jwks_url(api_id),
        audience=api_id,
        issuer=deployment.issuer(api_id),
    )
    call = bench.asgi_get(app)
    await call(token)

    header_part, _, signature_part = token.split(".")
    tampered = f"{header_part}.{segment({**parts(token)[1], 'sub': 'key_x'})}.{signature_part}"
    foreign = deployment.exchange(key, audience="reports-service")["token"]
    for refused in (tampered, foreign, "", "not-a-token"):
        with pytest.raises(RuntimeError, match="did not answer 200"):
            await call(refused)
