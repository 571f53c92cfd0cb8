"""The remote token verifier's book (``client._token_state``), pure of I/O:
tokens signed by core's ``Signer``, JWKS and revocation documents handed in as
a server would answer them, time driven by the test."""

from __future__ import annotations

from typing import Any

import pytest

from keystead.client._token_state import ApiKnowledge, Fetch, Stale, TokenBook
from keystead.core.ids import new_id
from keystead.core.tokens import (
    Denial,
    Signer,
    TokenRefused,
    access_token_claims,
    document_claims,
    generate_private,
    new_jti,
    public_jwk,
)
from keystead.core.tokens.keys import b64url_encode

BASE = "http://keystead.test"
NOW = 1_750_000_000.0


class Clock:
    def __init__(self) -> None:
        self.wall = NOW
        self.mono = 1000.0

    def advance(self, seconds: float) -> None:
        self.wall += seconds
        self.mono += seconds


class Issuer:
    """One API's signing key, as the server holds it."""

    def __init__(self, algorithm: str = "EdDSA") -> None:
        self.api_id = new_id("api", NOW)
        self.kid = new_id("tsk", NOW)
        private = generate_private(algorithm)
        self.signer = Signer(algorithm, self.kid, private)
        self.jwks = {"keys": [public_jwk(algorithm, private, self.kid)]}
        self.issuer = f"{BASE}/apis/{self.api_id}"

    def token(self, *, at: float = NOW, ttl_s: int = 300, **changes: Any) -> str:
        claims = access_token_claims(
            issuer=self.issuer,
            key_id="key_1",
            api_id=self.api_id,
            owner_id="acme",
            audience=self.api_id,
            permissions=["documents.read"],
            issued_at=at,
            ttl_s=ttl_s,
            jti=new_jti(),
        )
        claims.update(changes)
        return self.signer.sign(claims)

    def document(self, denials: list[Denial], seq: int, since: int | None = None) -> str:
        claims = document_claims(
            issuer=self.issuer,
            api_id=self.api_id,
            denials=denials,
            seq=seq,
            since=since,
            issued_at=NOW,
        )
        return self.signer.sign(claims, typ="revocations+jwt")


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def book(clock: Clock) -> TokenBook:
    return TokenBook(BASE, wall=lambda: clock.wall, monotonic=lambda: clock.mono)


def load(book: TokenBook, issuer: Issuer, denials: list[Denial] | None = None) -> ApiKnowledge:
    """What the driver does for an API met for the first time."""
    api = book.api(issuer.api_id)
    book.keys_fetched(api, issuer.jwks, '"jwks-1"')
    assert book.document_fetched(api, issuer.document(denials or [], seq=len(denials or [])), "1")
    return api


def refusal(book: TokenBook, token: str) -> str:
    with pytest.raises(TokenRefused) as refused:
        book.verify_now(token)
    return refused.value.reason


def test_a_first_token_asks_for_its_api_then_verifies(book: TokenBook) -> None:
    issuer = Issuer()
    token = issuer.token()
    with pytest.raises(Fetch) as fetch:
        book.verify_now(token)
    assert fetch.value.api_id == issuer.api_id and fetch.value.first
    load(book, issuer)
    verified = book.verify_now(token)
    assert (verified.key_id, verified.api_id, verified.owner_id) == ("key_1", issuer.api_id, "acme")
    assert verified.permissions == ("documents.read",)
    assert book.verify_now(token) is verified  # the repeat comes from the cache


def test_a_key_denial_refuses_its_tokens_even_cached(book: TokenBook, clock: Clock) -> None:
    issuer = Issuer()
    api = load(book, issuer)
    token = issuer.token()
    book.verify_now(token)
    denial = Denial(1, "key", "key_1", not_before=NOW + 1, expires_at=NOW + 4000)
    assert book.document_fetched(api, issuer.document([denial], seq=1, since=0), "2")
    assert refusal(book, token) == "revoked"
    later = issuer.token(at=NOW + 2)  # issued after the denial: accepted
    assert book.verify_now(later).key_id == "key_1"


def test_a_jti_denial_refuses_that_token_alone(book: TokenBook) -> None:
    issuer = Issuer()
    api = load(book, issuer)
    token, other = issuer.token(jti="tok_one"), issuer.token()
    denial = Denial(1, "jti", "tok_one", not_before=NOW, expires_at=NOW + 400)
    assert book.document_fetched(api, issuer.document([denial], seq=1, since=0), "2")
    assert refusal(book, token) == "revoked"
    assert book.verify_now(other).jti != "tok_one"


def test_a_stale_document_refuses_until_refreshed(book: TokenBook, clock: Clock) -> None:
    issuer = Issuer()
    api = load(book, issuer)
    token = issuer.token(ttl_s=3600)
    book.verify_now(token)
    clock.advance(31)
    with pytest.raises(Stale):
        book.verify_now(token)
    book.document_unchanged(api)  # a 304
    assert book.verify_now(token).key_id == "key_1"


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"aud": "somebody-else"}, "audience"),
        ({"iss": "https://evil.test/apis/x"}, "issuer"),
        ({"exp": int(NOW) - 10}, "expired"),
        ({"nbf": int(NOW) + 60}, "not_yet_valid"),
        ({"api_id": "api_0000000000AAAAAAAAAAAAAAAA"}, "claims"),
    ],
)
def test_claims_are_checked(book: TokenBook, changes: dict[str, Any], reason: str) -> None:
    issuer = Issuer()
    load(book, issuer)
    assert refusal(book, issuer.token(**changes)) == reason


def test_tampered_and_unsigned_tokens_are_refused(book: TokenBook) -> None:
    issuer = Issuer()
    load(book, issuer)
    head, body, signature = issuer.token().split(".")
    other_body = issuer.token(permissions=["admin"]).split(".")[1]
    assert refusal(book, f"{head}.{other_body}.{signature}") == "signature"
    none = b64url_encode(b'{"alg":"none","typ":"at+jwt","kid":"%s"}' % issuer.kid.encode())
    assert refusal(book, f"{none}.{body}.") == "algorithm"


def test_unknown_kids_are_fetched_at_most_once_a_second(book: TokenBook, clock: Clock) -> None:
    issuer = Issuer()
    api = load(book, issuer)
    stranger = Issuer()
    stranger.api_id, stranger.issuer = issuer.api_id, issuer.issuer  # a kid the API never had
    clock.advance(2)
    with pytest.raises(Fetch) as fetch:
        book.verify_now(stranger.token())
    assert not fetch.value.first
    book.keys_fetched(api, issuer.jwks, '"jwks-1"')  # without the kid
    with pytest.raises(TokenRefused):
        book.verify_now(stranger.token(), fetch=False)  # the driver's retry
    assert refusal(book, stranger.token()) == "unknown_kid"  # no second fetch this second
    clock.advance(1)
    with pytest.raises(Fetch):
        book.verify_now(stranger.token())


def test_a_rotated_keys_first_token_is_fetched_at_once(book: TokenBook) -> None:
    issuer = Issuer()
    load(book, issuer)  # keys fetched just now
    rotated = Issuer()
    rotated.api_id, rotated.issuer = issuer.api_id, issuer.issuer
    with pytest.raises(Fetch):
        book.verify_now(rotated.token())


def test_the_fetch_budget_caps_made_up_apis(clock: Clock) -> None:
    book = TokenBook(BASE, fetches_per_s=3, wall=lambda: clock.wall, monotonic=lambda: clock.mono)
    asked = 0
    for _ in range(10):
        try:
            book.verify_now(Issuer().token())
        except Fetch:
            asked += 1
        except TokenRefused as refused:
            assert refused.reason == "unknown_kid"
    assert asked == 3


def test_a_document_with_a_gap_is_fetched_whole_again(book: TokenBook) -> None:
    issuer = Issuer()
    api = load(book, issuer)
    denial = Denial(7, "key", "key_1", not_before=NOW + 1, expires_at=NOW + 4000)
    assert book.document_fetched(api, issuer.document([denial], seq=7, since=5), "7")
    assert api.document_etag is None and api.revocations.seq == 0
    assert book.document_fetched(api, issuer.document([denial], seq=7), "7")
    assert api.revocations.seq == 7


def test_a_document_of_another_api_or_type_is_refused(book: TokenBook) -> None:
    issuer = Issuer()
    api = load(book, issuer)
    with pytest.raises(TokenRefused):
        book.document_fetched(api, issuer.token(), "x")  # an access token, not a document


def test_an_api_whose_document_never_came_is_asked_again(book: TokenBook, clock: Clock) -> None:
    issuer = Issuer()
    api = book.api(issuer.api_id)
    book.keys_fetched(api, issuer.jwks, None)  # then the document's fetch failed
    token = issuer.token()
    with pytest.raises(Stale):  # not within a second of the last fetch
        book.verify_now(token)
    clock.advance(1)
    with pytest.raises(Fetch) as fetch:
        book.verify_now(token)
    assert fetch.value.first
    assert book.document_fetched(api, issuer.document([], seq=0), "0")
    assert book.verify_now(token).api_id == issuer.api_id
