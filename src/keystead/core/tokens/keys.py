"""Signing keys for access tokens: generation, JWK export, signing, verifying.

Each algorithm's key is loaded into a ``cryptography`` object once, when a
``Signer`` or ``VerifyingKey`` is built; signing and verifying then call one
prepared function. The verifying side knows its algorithm from the key (the
stored key or the JWK's ``alg``), never from a token's header.

- EdDSA: Ed25519 (the default).
- ES256: ECDSA over P-256 with SHA-256; signatures are raw ``r || s`` (64 bytes)
  as JOSE requires, converted from and to the DER form ``cryptography`` speaks.
- RS256: RSASSA-PKCS1-v1_5 with SHA-256, keys of 2048 bits or more.
- HS256: HMAC-SHA-256 over a shared secret of 32 bytes or more; never published.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import re
import secrets
from collections.abc import Callable, Mapping
from typing import Any

import orjson
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import (
    decode_dss_signature,
    encode_dss_signature,
)

from keystead.errors import ValidationError

ALGORITHMS: tuple[str, ...] = ("EdDSA", "ES256", "RS256", "HS256")
PUBLISHED_ALGORITHMS: tuple[str, ...] = ("EdDSA", "ES256", "RS256")
"""The algorithms whose keys appear in a JWKS (HS256's secret never does)."""
RSA_BITS = 2048
HMAC_SECRET_BYTES = 32

_SHA256 = hashes.SHA256()
_ECDSA = ec.ECDSA(_SHA256)
_PKCS1 = padding.PKCS1v15()
_P256_BYTES = 32
_ES256_SIGNATURE_BYTES = 2 * _P256_BYTES
_PKCS8_DER = (
    serialization.Encoding.DER,
    serialization.PrivateFormat.PKCS8,
    serialization.NoEncryption(),
)

_BASE64URL = re.compile(r"[A-Za-z0-9_-]+").fullmatch
_TO_STANDARD = bytes.maketrans(b"-_", b"+/")
_PADS = (b"", b"", b"==", b"=")
_CANONICAL_LAST = (
    "",
    "",
    "AQgw",  # 2 characters over: the last one's low 4 bits are spare
    "AEIMQUYcgkosw048",  # 3 over: its low 2 bits are spare
)

_PrivateKey = ed25519.Ed25519PrivateKey | ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey
_PublicKey = ed25519.Ed25519PublicKey | ec.EllipticCurvePublicKey | rsa.RSAPublicKey
_Verify = Callable[[bytes, bytes], bool]
_Sign = Callable[[bytes], bytes]


def b64url_encode(data: bytes) -> str:
    """Base64url without padding (RFC 7515 §2)."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_decode(text: str) -> bytes:
    """The bytes of unpadded base64url text in its canonical form (spare bits
    zero, so each byte string has one spelling); ValueError otherwise."""
    if not isinstance(text, str) or not _BASE64URL(text):
        raise ValueError("not base64url")
    return b64url_decode_alphabet(text)


def b64url_decode_alphabet(text: str) -> bytes:
    """``b64url_decode`` of text already known to hold only base64url characters
    (a whole token matched against the alphabet once)."""
    over = len(text) % 4
    if over == 1 or (over > 1 and text[-1] not in _CANONICAL_LAST[over]):
        raise ValueError("not canonical base64url")
    try:
        return binascii.a2b_base64(text.encode("ascii").translate(_TO_STANDARD) + _PADS[over])
    except binascii.Error as exc:
        raise ValueError("not base64url") from exc


def _check_algorithm(algorithm: str) -> str:
    if algorithm not in ALGORITHMS:
        raise ValidationError(
            f"unsupported algorithm {algorithm!r}; one of {', '.join(ALGORITHMS)}",
            field="algorithm",
        )
    return algorithm


def generate_private(algorithm: str) -> bytes:
    """New private material: PKCS#8 DER (asymmetric) or 32 random bytes (HS256)."""
    _check_algorithm(algorithm)
    if algorithm == "HS256":
        return secrets.token_bytes(HMAC_SECRET_BYTES)
    key: _PrivateKey
    if algorithm == "EdDSA":
        key = ed25519.Ed25519PrivateKey.generate()
    elif algorithm == "ES256":
        key = ec.generate_private_key(ec.SECP256R1())
    else:
        key = rsa.generate_private_key(public_exponent=65537, key_size=RSA_BITS)
    return key.private_bytes(*_PKCS8_DER)


def _load_private(algorithm: str, private: bytes) -> _PrivateKey:
    """The private key object of ``private``, which must suit ``algorithm``."""
    try:
        key = serialization.load_der_private_key(private, password=None)
    except (ValueError, TypeError) as exc:
        raise ValidationError("the private key does not load", field="private") from exc
    if algorithm == "EdDSA" and isinstance(key, ed25519.Ed25519PrivateKey):
        return key
    if (
        algorithm == "ES256"
        and isinstance(key, ec.EllipticCurvePrivateKey)
        and isinstance(key.curve, ec.SECP256R1)
    ):
        return key
    if algorithm == "RS256" and isinstance(key, rsa.RSAPrivateKey) and key.key_size >= RSA_BITS:
        return key
    raise ValidationError(f"the private key does not suit {algorithm}", field="private")


def _check_secret(secret: bytes) -> bytes:
    if len(secret) < HMAC_SECRET_BYTES:
        raise ValidationError(
            f"an HS256 secret has {HMAC_SECRET_BYTES} bytes or more", field="private"
        )
    return bytes(secret)


def _uint(value: int, size: int | None = None) -> str:
    length = size if size is not None else max(1, (value.bit_length() + 7) // 8)
    return b64url_encode(value.to_bytes(length, "big"))


def _jwk_of(public: _PublicKey) -> dict[str, str]:
    if isinstance(public, ed25519.Ed25519PublicKey):
        raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        return {"kty": "OKP", "crv": "Ed25519", "x": b64url_encode(raw)}
    if isinstance(public, ec.EllipticCurvePublicKey):
        numbers = public.public_numbers()
        return {
            "kty": "EC",
            "crv": "P-256",
            "x": _uint(numbers.x, _P256_BYTES),
            "y": _uint(numbers.y, _P256_BYTES),
        }
    rsa_numbers = public.public_numbers()
    return {"kty": "RSA", "n": _uint(rsa_numbers.n), "e": _uint(rsa_numbers.e)}


def public_jwk(algorithm: str, private: bytes, kid: str) -> dict[str, str] | None:
    """The public JWK (kid, alg, use, kty, crv/x/y or n/e); None for HS256."""
    if _check_algorithm(algorithm) == "HS256":
        return None
    jwk = _jwk_of(_load_private(algorithm, private).public_key())
    return {**jwk, "kid": kid, "alg": algorithm, "use": "sig"}


def _verifier(algorithm: str, key: _PublicKey | bytes) -> _Verify:
    """One prepared function that checks a signature for ``algorithm``."""
    if isinstance(key, bytes):
        secret = key

        def verify_hs256(data: bytes, signature: bytes) -> bool:
            return hmac.compare_digest(hmac.digest(secret, data, "sha256"), signature)

        return verify_hs256
    if isinstance(key, ed25519.Ed25519PublicKey):
        ed_verify = key.verify

        def verify_eddsa(data: bytes, signature: bytes) -> bool:
            try:
                ed_verify(signature, data)
            except InvalidSignature:
                return False
            return True

        return verify_eddsa
    if isinstance(key, ec.EllipticCurvePublicKey):
        ec_verify = key.verify

        def verify_es256(data: bytes, signature: bytes) -> bool:
            if len(signature) != _ES256_SIGNATURE_BYTES:
                return False
            der = encode_dss_signature(
                int.from_bytes(signature[:_P256_BYTES], "big"),
                int.from_bytes(signature[_P256_BYTES:], "big"),
            )
            try:
                ec_verify(der, data, _ECDSA)
            except InvalidSignature:
                return False
            return True

        return verify_es256
    rsa_verify = key.verify

    def verify_rs256(data: bytes, signature: bytes) -> bool:
        try:
            rsa_verify(signature, data, _PKCS1, _SHA256)
        except InvalidSignature:
            return False
        return True

    return verify_rs256


def _signer(key: _PrivateKey | bytes) -> _Sign:
    if isinstance(key, bytes):
        secret = key
        return lambda data: hmac.digest(secret, data, "sha256")
    if isinstance(key, ed25519.Ed25519PrivateKey):
        return key.sign
    if isinstance(key, ec.EllipticCurvePrivateKey):
        ec_sign = key.sign

        def sign_es256(data: bytes) -> bytes:
            r, s = decode_dss_signature(ec_sign(data, _ECDSA))
            return r.to_bytes(_P256_BYTES, "big") + s.to_bytes(_P256_BYTES, "big")

        return sign_es256
    rsa_sign = key.sign
    return lambda data: rsa_sign(data, _PKCS1, _SHA256)


class Signer:
    """A loaded private key that signs claims into a JWS compact token."""

    __slots__ = ("_headers", "_sign", "algorithm", "kid")

    def __init__(self, algorithm: str, kid: str, private: bytes) -> None:
        _check_algorithm(algorithm)
        self.algorithm = algorithm
        self.kid = kid
        loaded = (
            _check_secret(private) if algorithm == "HS256" else _load_private(algorithm, private)
        )
        self._sign = _signer(loaded)
        self._headers: dict[str, str] = {}

    def _header(self, typ: str) -> str:
        encoded = self._headers.get(typ)
        if encoded is None:
            header = {"alg": self.algorithm, "typ": typ, "kid": self.kid}
            encoded = self._headers[typ] = b64url_encode(orjson.dumps(header))
        return encoded

    def sign(self, claims: Mapping[str, Any], typ: str = "at+jwt") -> str:
        """The compact JWS of ``claims`` with header ``{alg, typ, kid}``."""
        payload = b64url_encode(orjson.dumps(claims if isinstance(claims, dict) else dict(claims)))
        signing_input = f"{self._header(typ)}.{payload}"
        return f"{signing_input}.{b64url_encode(self._sign(signing_input.encode('ascii')))}"

    def __repr__(self) -> str:
        return f"Signer({self.algorithm!r}, kid={self.kid!r})"


_JWK_SHAPES: dict[str, tuple[str, str | None]] = {
    "EdDSA": ("OKP", "Ed25519"),
    "ES256": ("EC", "P-256"),
    "RS256": ("RSA", None),
}


def _jwk_field(jwk: Mapping[str, Any], name: str) -> bytes:
    value = jwk.get(name)
    try:
        if not isinstance(value, str):
            raise ValueError(name)
        return b64url_decode(value)
    except ValueError as exc:
        raise ValidationError(f"the JWK's {name!r} is not base64url", field=name) from exc


def _public_of_jwk(algorithm: str, jwk: Mapping[str, Any]) -> _PublicKey:
    kty, crv = _JWK_SHAPES[algorithm]
    if jwk.get("kty") != kty or (crv is not None and jwk.get("crv") != crv):
        raise ValidationError(f"the JWK's kty/crv do not suit {algorithm}", field="kty")
    try:
        if algorithm == "EdDSA":
            return ed25519.Ed25519PublicKey.from_public_bytes(_jwk_field(jwk, "x"))
        if algorithm == "ES256":
            x, y = _jwk_field(jwk, "x"), _jwk_field(jwk, "y")
            if len(x) != _P256_BYTES or len(y) != _P256_BYTES:
                raise ValueError("P-256 coordinates are 32 bytes")
            numbers = ec.EllipticCurvePublicNumbers(
                int.from_bytes(x, "big"), int.from_bytes(y, "big"), ec.SECP256R1()
            )
            return numbers.public_key()
        n = int.from_bytes(_jwk_field(jwk, "n"), "big")
        e = int.from_bytes(_jwk_field(jwk, "e"), "big")
        if n.bit_length() < RSA_BITS:
            raise ValueError(f"RSA keys have {RSA_BITS} bits or more")
        return rsa.RSAPublicNumbers(e, n).public_key()
    except ValueError as exc:
        raise ValidationError(f"the JWK is not a valid {algorithm} key", field="jwk") from exc


class VerifyingKey:
    """A loaded public key (or HS256 secret) with its algorithm and kid."""

    __slots__ = ("algorithm", "kid", "verify")

    algorithm: str
    kid: str
    verify: _Verify
    """``verify(signing_input, signature) -> bool``: a prepared function, no lookups."""

    def __init__(self, algorithm: str, kid: str, key: _PublicKey | bytes) -> None:
        self.algorithm = algorithm
        self.kid = kid
        self.verify = _verifier(algorithm, key)

    @classmethod
    def from_jwk(cls, jwk: Mapping[str, Any]) -> VerifyingKey:
        """The key of a published JWK. Its ``alg`` is required and names the only
        algorithm tokens may use with it; HS256 (``oct``) is never accepted from a
        JWK. Raises ``ValidationError`` for anything else."""
        algorithm = jwk.get("alg")
        if not isinstance(algorithm, str) or algorithm not in PUBLISHED_ALGORITHMS:
            raise ValidationError(
                f"a JWK names its alg, one of {', '.join(PUBLISHED_ALGORITHMS)}", field="alg"
            )
        if jwk.get("use", "sig") != "sig":
            raise ValidationError("the JWK is not for signatures", field="use")
        kid = jwk.get("kid")
        if not isinstance(kid, str) or not kid:
            raise ValidationError("a JWK names its kid", field="kid")
        return cls(algorithm, kid, _public_of_jwk(algorithm, jwk))

    @classmethod
    def from_private(cls, algorithm: str, kid: str, private: bytes) -> VerifyingKey:
        """The verifying half of stored private material (HS256: the secret)."""
        if _check_algorithm(algorithm) == "HS256":
            return cls(algorithm, kid, _check_secret(private))
        return cls(algorithm, kid, _load_private(algorithm, private).public_key())

    def __repr__(self) -> str:
        return f"VerifyingKey({self.algorithm!r}, kid={self.kid!r})"


__all__ = [
    "ALGORITHMS",
    "HMAC_SECRET_BYTES",
    "PUBLISHED_ALGORITHMS",
    "RSA_BITS",
    "Signer",
    "VerifyingKey",
    "b64url_decode",
    "b64url_decode_alphabet",
    "b64url_encode",
    "generate_private",
    "public_jwk",
]
