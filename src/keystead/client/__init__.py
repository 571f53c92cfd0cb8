"""The Python client of a Keystead server (the SDK): ``Client`` blocks,
``AsyncClient`` awaits; both have every method of the HTTP API (docs/sdk.md).

>>> from keystead.client import Client
>>> with Client("http://127.0.0.1:8400", root_key) as ks:  # doctest: +SKIP
...     api = ks.create_api("payments")
...     created = ks.create_key(api["id"], name="acme")
...     ks.verify(created["key"]).valid
True
"""

from keystead.client._async import AsyncClient
from keystead.client._errors import ApiError, ClientError, ConnectionFailed, Timeout
from keystead.client._sync import Client
from keystead.client._token_verifier import (
    AsyncTokenVerifier,
    FetchFailed,
    Stale,
    TokenVerifier,
    VerifiedToken,
)
from keystead.client._tokens import IssuedToken, OAuthToken, RevocationDocument, SigningKey
from keystead.client._usage import UsageReport
from keystead.client._verify import LimitInfo, VerifyResult

__all__ = [
    "ApiError",
    "AsyncClient",
    "AsyncTokenVerifier",
    "Client",
    "ClientError",
    "ConnectionFailed",
    "FetchFailed",
    "IssuedToken",
    "LimitInfo",
    "OAuthToken",
    "RevocationDocument",
    "SigningKey",
    "Stale",
    "Timeout",
    "TokenVerifier",
    "UsageReport",
    "VerifiedToken",
    "VerifyResult",
]
