import hmac
import secrets

from hypothesis import given
from hypothesis import strategies as st

from keystead.core.hashing import KeyHasher


@given(st.binary(min_size=32, max_size=200), st.text(max_size=100))
def test_matches_the_standard_hmac(secret: bytes, key: str) -> None:
    expected = hmac.digest(secret, key.encode("utf-8"), "sha256")
    assert KeyHasher(secret).hash(key) == expected


def test_secret_is_not_in_repr_and_short_secrets_are_refused() -> None:
    secret = secrets.token_bytes(32)
    assert secret.hex() not in repr(KeyHasher(secret))
    try:
        KeyHasher(b"short")
    except ValueError:
        pass
    else:
        raise AssertionError("a short secret was accepted")
