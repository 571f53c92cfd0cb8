"""The offline validators, fed by each format's own tools where one exists:
``cryptography`` and ``ssh-keygen`` for keys, ``joserfc`` for JWTs,
``pymacaroons`` (what PyPI mints with) for PyPI tokens, the BIP 173 reference
``bech32`` for age identities."""

from __future__ import annotations

import random
import shutil
import string
import subprocess
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import dsa, ec, ed25519, rsa
from joserfc import jwt
from joserfc.jwk import ECKey, OctKey

from keystead.core import keyformat
from keystead.scan.validators import VALIDATORS

from ._rule_samples import age_identity, break_last, github_style, pypi_token

PEM = serialization.Encoding.PEM
NONE = serialization.NoEncryption()


def test_github_checksum_accepts_the_scheme_and_refuses_a_changed_character() -> None:
    check = VALIDATORS["github_checksum"]
    for prefix in ("ghp_", "gho_", "ghu_", "ghs_", "ghr_", "npm_"):
        token = github_style(prefix)
        assert check(token)
        assert not check(break_last(token))
        assert not check(token[:10] + ("a" if token[10] != "a" else "b") + token[11:])
    assert not check("ghp_")
    assert not check("ghp_" + "é" * 36)


def test_keystead_checksum_is_keyformat_parse() -> None:
    key = keyformat.generate("acme_live")
    assert VALIDATORS["keystead_checksum"](key)
    assert not VALIDATORS["keystead_checksum"](break_last(key))


@pytest.mark.parametrize(
    ("make", "fmt"),
    [
        (
            lambda: rsa.generate_private_key(65537, 2048),
            serialization.PrivateFormat.TraditionalOpenSSL,
        ),
        (lambda: rsa.generate_private_key(65537, 2048), serialization.PrivateFormat.PKCS8),
        (
            lambda: ec.generate_private_key(ec.SECP384R1()),
            serialization.PrivateFormat.TraditionalOpenSSL,
        ),
        pytest.param(
            lambda: dsa.generate_private_key(2048),
            serialization.PrivateFormat.PKCS8,
            marks=pytest.mark.filterwarnings(
                "ignore::cryptography.utils.CryptographyDeprecationWarning"
            ),
        ),
        (ed25519.Ed25519PrivateKey.generate, serialization.PrivateFormat.PKCS8),
        (ed25519.Ed25519PrivateKey.generate, serialization.PrivateFormat.OpenSSH),
    ],
)
def test_private_keys_in_every_container_parse(
    make: object, fmt: serialization.PrivateFormat
) -> None:
    assert callable(make)
    key = make()
    pem = key.private_bytes(PEM, fmt, NONE).decode()
    assert VALIDATORS["private_key"](pem)
    # the same key inside a JSON string and indented in YAML
    assert VALIDATORS["private_key"](pem.replace("\n", "\\n"))
    assert VALIDATORS["private_key"]("\n".join("    " + line for line in pem.splitlines()))


def test_encrypted_keys_count_and_broken_ones_do_not() -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    protect = serialization.BestAvailableEncryption(b"correct horse")
    pkcs8 = key.private_bytes(PEM, serialization.PrivateFormat.PKCS8, protect).decode()
    traditional = key.private_bytes(
        PEM, serialization.PrivateFormat.TraditionalOpenSSL, protect
    ).decode()
    assert VALIDATORS["private_key"](pkcs8)
    assert VALIDATORS["private_key"](traditional)
    lines = traditional.splitlines()
    truncated = "\n".join([*lines[:4], lines[4][:-3], lines[-1]])
    assert not VALIDATORS["private_key"](truncated), "ciphertext not whole blocks"
    plain = key.private_bytes(PEM, serialization.PrivateFormat.PKCS8, NONE).decode()
    assert not VALIDATORS["private_key"](plain.replace(plain.splitlines()[1][:8], "AAAAAAAA"))


@pytest.mark.skipif(shutil.which("ssh-keygen") is None, reason="ssh-keygen not installed")
def test_an_ssh_keygen_key_with_a_passphrase_counts(tmp_path: Path) -> None:
    path = tmp_path / "id_ed25519"
    subprocess.run(
        ["ssh-keygen", "-q", "-t", "ed25519", "-N", "a passphrase", "-f", str(path)],
        check=True,
        capture_output=True,
    )
    assert VALIDATORS["private_key"](path.read_text())


def test_jwt_signed_by_joserfc_validates_and_unsigned_or_mangled_do_not() -> None:
    claims = {"sub": "user-1", "iat": 1_700_000_000}
    hs = jwt.encode({"alg": "HS256"}, claims, OctKey.generate_key(256))
    es = jwt.encode({"alg": "ES256"}, claims, ECKey.generate_key("P-256"))
    assert VALIDATORS["jwt"](hs)
    assert VALIDATORS["jwt"](es)
    head, payload, signature = hs.split(".")
    assert not VALIDATORS["jwt"](f"{head}.{payload}")
    assert not VALIDATORS["jwt"](f"{head}.{payload[:-3]}.{signature}")
    assert not VALIDATORS["jwt"](f"{head}.{head[:-1]}x.{signature}")


def test_supabase_service_role_only() -> None:
    key = OctKey.generate_key(256)
    service = jwt.encode({"alg": "HS256"}, {"iss": "supabase", "role": "service_role"}, key)
    anon = jwt.encode({"alg": "HS256"}, {"iss": "supabase", "role": "anon"}, key)
    assert VALIDATORS["supabase_service_role"](service)
    assert not VALIDATORS["supabase_service_role"](anon)


def test_pypi_and_test_pypi_tokens_minted_by_pymacaroons_parse() -> None:
    assert VALIDATORS["pypi_macaroon"](pypi_token())
    assert VALIDATORS["pypi_macaroon"](pypi_token("test.pypi.org"))
    assert not VALIDATORS["pypi_macaroon"](pypi_token("example.org"))
    token = pypi_token()
    assert not VALIDATORS["pypi_macaroon"](token[:-4]), "a cut signature"
    assert not VALIDATORS["pypi_macaroon"](token + "AAAA"), "bytes after the signature"


def test_age_identity_from_the_bech32_reference_validates() -> None:
    identity = age_identity()
    assert VALIDATORS["age_bech32_checksum"](identity)
    assert VALIDATORS["age_bech32_checksum"](identity.lower())
    assert not VALIDATORS["age_bech32_checksum"](break_last(identity))
    assert not VALIDATORS["age_bech32_checksum"](
        identity.replace("AGE-SECRET-KEY-", "AGE-PUBLIC-KEY-")
    )


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("xxxxxxxxxxxx", False),
        ("abababababab", False),
        ("abcdefghijkl", False),
        ("9876543210", False),
        ("qwertyuiop", False),
        ("sk_live_…nHoN", False),  # a redacted rendering, as `keystead scan` prints
        ("Zt3k...Lp2Xw", False),
        ("Zt3kQ9vLp2Xw", True),
    ],
)
def test_not_placeholder(value: str, expected: bool) -> None:
    assert VALIDATORS["not_placeholder"](value) is expected


def test_validators_never_raise_on_garbage() -> None:
    for name, check in VALIDATORS.items():
        for junk in ("", "_", ".", "..", "=", "-----BEGIN", "eyJ.eyJ.x", "\x00\xff", "é" * 50):
            assert check(junk) in (True, False), name


@pytest.mark.parametrize(
    "name",
    [
        "ConfigAttribute",
        "DSAPrivateKey",
        "MLDSA44Ed25519PrivateKey",
        "_get_new_csrf_string",
        "CertificateIssuerPrivateKeyTypes",
        "ReadOnlyPasswordHashField",
        "HTTPPasswordMgr",
        "urllib_request_HTTPPasswordMgrWithDefaultRealm",
        "secret_key_123",
    ],
)
def test_names_from_code_are_not_secrets(name: str) -> None:
    assert not VALIDATORS["not_placeholder_or_identifier"](name)


def test_random_values_pass_the_identifier_filter_nearly_always() -> None:
    rng = random.Random(7)
    alphabet = string.ascii_letters + string.digits
    values = ["".join(rng.choice(alphabet) for _ in range(32)) for _ in range(2000)]
    kept = sum(VALIDATORS["not_placeholder_or_identifier"](value) for value in values)
    assert kept >= 0.98 * len(values)
