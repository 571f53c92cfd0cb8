"""What a remote token verifier knows, pure of I/O: for each API its published
keys (JWKS) and its revocation state (the signed revocation document), and
the tokens it verified. ``_token_verifier`` fetches; this decides.

``verify_now`` never does I/O: it answers, refuses (``TokenRefused``), says
that the API's revocation document is too old to trust (``Stale``), or that
something must be fetched first (``Fetch``), which the driver does before
asking again.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Collection
from typing import Any

from keystead.core.ids import looks_like_id
from keystead.core.tokens import (
    LEEWAY_S,
    RevocationState,
    TokenRefused,
    VerifyingKey,
    check_claims,
    denials_of_document,
    parse,
    verified,
)
from keystead.core.tokens.revocation import DOCUMENT_TYPE, MAX_DOCUMENT_BYTES
from keystead.core.tokens.verified_token import VerifiedToken, accepted
from keystead.errors import KeysteadError

MAX_CACHED = 10_000
"""Verified tokens kept at most; when full, the cache starts over."""
MAX_MISSING = 1_000


class Stale(KeysteadError):
    """The API's revocation document could not be refreshed for longer than
    ``max_stale_s``: its tokens are refused until it is (fail closed)."""

    status = 503
    title = "Service Unavailable"


class Fetch(Exception):
    """Raised by ``verify_now``: fetch the API's keys (and, for an API seen for
    the first time, its revocation document), then verify again."""

    def __init__(self, api_id: str, first: bool) -> None:
        super().__init__(api_id)
        self.api_id = api_id
        self.first = first


class ApiKnowledge:
    """One API: its keys, its revocation state and how fresh that is."""

    __slots__ = (
        "api_id",
        "document_etag",
        "fresh_at",
        "fruitless_at",
        "issuer",
        "jwks_at",
        "jwks_etag",
        "keys",
        "loaded",
        "revocations",
    )

    def __init__(self, api_id: str, issuer: str) -> None:
        self.api_id = api_id
        self.issuer = issuer
        self.keys: dict[str, VerifyingKey] = {}
        self.jwks_etag: str | None = None
        self.jwks_at = -1e18
        """When the JWKS was last fetched (monotonic)."""
        self.fruitless_at = -1e18
        """When a JWKS fetched for an unknown kid last did not have it."""
        self.revocations = RevocationState()
        self.document_etag: str | None = None
        self.fresh_at = -1e18
        """When the revocation document was last known current (monotonic)."""
        self.loaded = False
        """Both the keys and a first revocation document arrived."""

    def key(self, kid: str | None) -> VerifyingKey | None:
        return None if kid is None else self.keys.get(kid)


class _Entry:
    __slots__ = ("api", "token", "until")

    def __init__(self, token: VerifiedToken, api: ApiKnowledge, until: float) -> None:
        self.token = token
        self.api = api
        self.until = until


def fingerprint(token: str) -> bytes:
    """How the cache finds a token: a digest of its whole text (a token that
    differs by one byte is another entry, verified in full; the text itself
    is not kept)."""
    return hashlib.blake2b(token.encode("ascii", "replace"), digest_size=24).digest()


class TokenBook:
    """Keys, revocations and verified tokens of every API a verifier met.

    ``audience``: the audiences accepted (default: the token's own API id);
    ``apis``: the APIs whose tokens are accepted (default: any API of the
    server); ``max_stale_s``: how old a revocation document may get before
    the API's tokens are refused; ``refetch_s``: after a fetch of an API's
    keys that did not bring an unknown ``kid``, none for this long, and no
    more than ``fetches_per_s`` fetches start in any second, so a flood of
    made-up kids or APIs costs the server little."""

    def __init__(
        self,
        base_url: str,
        *,
        audience: str | Collection[str] | None = None,
        apis: Collection[str] | None = None,
        max_stale_s: float = 30.0,
        refetch_s: float = 1.0,
        fetches_per_s: int = 10,
        wall: Callable[[], float] = time.time,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        if not max_stale_s > 0 or refetch_s < 0 or fetches_per_s < 1:
            raise ValueError("max_stale_s must be positive, refetch_s and fetches_per_s not less")
        self.base_url = base_url.rstrip("/")
        self.audience = (
            audience if audience is None or isinstance(audience, str) else frozenset(audience)
        )
        self.apis = None if apis is None else frozenset(apis)
        self.max_stale_s = max_stale_s
        self.refetch_s = refetch_s
        self.fetches_per_s = fetches_per_s
        self.wall = wall
        self.monotonic = monotonic
        self.by_api: dict[str, ApiKnowledge] = {}
        self._kids: dict[str, ApiKnowledge] = {}
        self._cache: dict[bytes, _Entry] = {}
        self._missing: dict[str, float] = {}
        self._window = (0, 0)

    # ---- verification (any thread, no I/O) ----

    def verify_now(self, token: str, *, fetch: bool = True) -> VerifiedToken:
        """The verified token, or ``TokenRefused`` / ``Stale`` / ``Fetch``."""
        print_ = fingerprint(token)
        entry = self._cache.get(print_)
        if entry is not None:
            api = entry.api
            if self.wall() < entry.until and api.loaded:
                if self.monotonic() - api.fresh_at > self.max_stale_s:
                    raise Stale("the revocation document is out of date")
                if api.revocations.refuses(entry.token.claims):
                    raise TokenRefused("revoked")
                return entry.token
            self._cache.pop(print_, None)
        accepted, api = self._verify(token, fetch)
        cache = self._cache
        if len(cache) >= MAX_CACHED:
            cache.clear()
        cache[print_] = _Entry(accepted, api, accepted.expires_at + LEEWAY_S)
        return accepted

    def _verify(self, token: str, fetch: bool) -> tuple[VerifiedToken, ApiKnowledge]:
        kids = self._kids
        try:
            parsed = verified(token, self._key)
        except TokenRefused as refused:
            if refused.reason == "unknown_kid":
                if fetch:
                    self._ask_fetch(token)
                else:  # fetched for it, and still unknown
                    self._fruitless(token)
            raise
        api = kids.get(parsed.kid or "")
        if api is None:  # the API's keys changed since (another thread)
            raise TokenRefused("unknown_kid")
        if not api.loaded:  # keys arrived, its revocation document did not (yet)
            now = self.monotonic()
            if fetch and now - api.jwks_at >= self.refetch_s and self._spend(now):
                raise Fetch(api.api_id, True)
            raise Stale("the revocation document could not be fetched")
        claims = parsed.claims
        if claims.get("api_id") != api.api_id:
            raise TokenRefused("claims", "the token names another API than its key's")
        audience = self.audience if self.audience is not None else api.api_id
        check_claims(claims, now=self.wall(), issuer=api.issuer, audience=audience)
        if self.monotonic() - api.fresh_at > self.max_stale_s:
            raise Stale("the revocation document is out of date")
        if api.revocations.refuses(claims):
            raise TokenRefused("revoked")
        return accepted(claims, api.api_id), api

    def _key(self, kid: str | None) -> VerifyingKey | None:
        api = None if kid is None else self._kids.get(kid)
        return None if api is None or kid is None else api.keys.get(kid)

    def _fruitless(self, token: str) -> None:
        api = self.by_api.get(_claimed_api(token) or "")
        if api is not None:
            api.fruitless_at = self.monotonic()

    def _ask_fetch(self, token: str) -> None:
        """Raise ``Fetch`` for the API a token with an unknown kid names, when
        that is allowed now; return (the token is then refused) otherwise. A
        known API's keys are fetched again at most once per ``refetch_s`` after
        a fetch that did not bring the kid (so a rotated key's first token is
        not kept waiting by the last fetch)."""
        api_id = _claimed_api(token)
        if api_id is None or (self.apis is not None and api_id not in self.apis):
            return
        now = self.monotonic()
        api = self.by_api.get(api_id)
        last = self._missing.get(api_id) if api is None else api.fruitless_at
        if last is not None and now - last < self.refetch_s:
            return
        if not self._spend(now):
            return
        raise Fetch(api_id, api is None or not api.loaded)

    def _spend(self, now: float) -> bool:
        """One fetch from the budget of this second; False when it is spent."""
        second, count = self._window
        if int(now) != second:
            second, count = int(now), 0
        if count >= self.fetches_per_s:
            return False
        self._window = (second, count + 1)
        return True

    # ---- what the driver fetched ----

    def api(self, api_id: str) -> ApiKnowledge:
        """The API's knowledge (made on first use; its issuer per the URL
        scheme, ``{base}/apis/{api_id}``, until a revocation document says)."""
        api = self.by_api.get(api_id)
        if api is None:
            api = self.by_api[api_id] = ApiKnowledge(api_id, f"{self.base_url}/apis/{api_id}")
        return api

    def missing(self, api: ApiKnowledge) -> None:
        """The server knows no such API (or no longer): forget it; its tokens
        are refused, and it is not asked for again within ``refetch_s``."""
        api.loaded = False
        if self.by_api.get(api.api_id) is api:
            del self.by_api[api.api_id]
        kids = self._kids
        for kid in api.keys:
            if kids.get(kid) is api:
                del kids[kid]
        if len(self._missing) >= MAX_MISSING:
            self._missing.clear()
        self._missing[api.api_id] = self.monotonic()

    def keys_fetched(self, api: ApiKnowledge, jwks: Any, etag: str | None) -> None:
        """A JWKS answer (200): its usable keys replace the API's."""
        api.jwks_at = self.monotonic()
        keys: dict[str, VerifyingKey] = {}
        items = jwks.get("keys") if isinstance(jwks, dict) else None
        for item in items if isinstance(items, list) else ():
            try:
                key = VerifyingKey.from_jwk(item) if isinstance(item, dict) else None
            except KeysteadError:
                continue  # a key this verifier cannot use (another alg): skipped
            if key is not None:
                keys[key.kid] = key
        kids = self._kids
        for kid in api.keys.keys() - keys.keys():
            if kids.get(kid) is api:
                del kids[kid]
        for kid in keys:
            kids[kid] = api
        api.keys = keys
        api.jwks_etag = etag

    def keys_unchanged(self, api: ApiKnowledge) -> None:
        api.jwks_at = self.monotonic()

    def document_fetched(self, api: ApiKnowledge, text: str, etag: str | None) -> bool:
        """A revocation document (200): checked against the API's keys and
        applied. False when it is signed by a key this verifier does not know
        yet (fetch the keys, then offer it again); ``TokenRefused`` when it is
        not a valid document of this API."""
        try:
            document = verified(text, api.key, typ=DOCUMENT_TYPE, max_bytes=MAX_DOCUMENT_BYTES)
        except TokenRefused as refused:
            if refused.reason == "unknown_kid":
                return False
            raise
        claims = document.claims
        if claims.get("api_id") != api.api_id:
            raise TokenRefused("claims", "not a revocation document of this API")
        seq, since, denials = denials_of_document(claims)
        state = api.revocations
        if since is None:
            state = RevocationState()
        elif since > state.seq:  # a gap: ask for the whole document again
            api.document_etag = None
            state.seq = 0
            return True
        state.apply(denials)
        state.seq = max(state.seq, seq)
        state.prune(self.wall())
        issuer = claims.get("iss")
        if isinstance(issuer, str) and issuer:
            api.issuer = issuer
        api.revocations = state
        api.document_etag = etag
        api.fresh_at = self.monotonic()
        api.loaded = True
        return True

    def document_unchanged(self, api: ApiKnowledge) -> None:
        api.fresh_at = self.monotonic()

    def loaded(self) -> list[ApiKnowledge]:
        """The APIs whose revocation documents are kept fresh."""
        return [api for api in self.by_api.values() if api.loaded]


def _claimed_api(token: str) -> str | None:
    """The API a token says it is for, unverified: only which keys to fetch."""
    try:
        api_id = parse(token).claims.get("api_id")
    except TokenRefused:
        return None
    return api_id if isinstance(api_id, str) and looks_like_id("api", api_id) else None


__all__ = ["ApiKnowledge", "Fetch", "Stale", "TokenBook", "VerifiedToken", "fingerprint"]
