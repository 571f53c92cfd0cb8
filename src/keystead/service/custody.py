"""Custody of a key nobody was there to receive (a rotation by policy or event).

Two ways to hold it, chosen by the key's owner:

* the owner registered a public JWK -> ``jwe``: the key is encrypted to that
  public key (ECDH-ES+A256KW, A256GCM). The server cannot read it again; the
  JWE goes both into the pickup and into the ``key.rotated`` event, so a
  webhook carries it to the owner directly.
* otherwise -> ``sealed``: under the master key (:mod:`keystead.core.at_rest`:
  a fresh data key, the workspace and pickup ids as associated data, so a
  ciphertext moved to another pickup row does not open). A store opened without
  a master key seals the legacy way, AES-256-GCM under a key derived from the
  server secret (HKDF-SHA256, info ``keystead pickups v1``, the pickup id as
  associated data); those rows move under the master key once there is one.
  The event names the pickup only.

Either way the plaintext never rests or travels unencrypted: it is shown once,
to the root key that claims the pickup (docs/lifecycle.md).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from joserfc import jwe
from joserfc.jwk import ECKey, OKPKey

from keystead.core.at_rest import (
    LegacyBox,
    MasterKey,
    is_legacy,
    open_item,
    pickup_aad,
    seal_item,
)
from keystead.core.ids import new_id
from keystead.core.models import CreatedKey, Pickup
from keystead.errors import IntegrityError, ValidationError
from keystead.service.context import ServiceContext

SEALED = "sealed"
JWE = "jwe"
JWE_ALG = "ECDH-ES+A256KW"
JWE_ENC = "A256GCM"
_INFO = b"keystead pickups v1"

_EC_CURVES = frozenset({"P-256", "P-384", "P-521"})
_OKP_CURVES = frozenset({"X25519"})
_PRIVATE_MEMBERS = ("d", "p", "q", "dp", "dq", "qi", "oth", "k")
_ALLOWED_MEMBERS = frozenset({"kty", "crv", "x", "y", "kid", "use", "alg", "key_ops"})
_MAX_MEMBER_CHARS = 256


def derive_sealing_key(secret: bytes) -> bytes:
    """The 256-bit legacy pickup key, derived from the server secret (never stored)."""
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_INFO).derive(secret)


def public_jwk(value: object, field: str = "jwk") -> dict[str, Any]:
    """A public EC (P-256/384/521) or OKP (X25519) key usable for ECDH-ES, in its
    canonical form (kty, crv, x, y?, kid?). Refuses private parts, other key
    types and curves, and anything that does not import as a key."""
    if not isinstance(value, Mapping):
        raise ValidationError("the public key is a JWK (a JSON object)", field=field)
    for member in _PRIVATE_MEMBERS:
        if member in value:
            raise ValidationError(
                "this JWK holds a private key: send the public part only",
                field=f"{field}.{member}",
            )
    kty, crv = value.get("kty"), value.get("crv")
    if kty == "EC":
        if crv not in _EC_CURVES:
            raise ValidationError("an EC key's crv is P-256, P-384 or P-521", field=f"{field}.crv")
        required: tuple[str, ...] = ("x", "y")
    elif kty == "OKP":
        if crv not in _OKP_CURVES:
            raise ValidationError("an OKP key's crv is X25519", field=f"{field}.crv")
        required = ("x",)
        if "y" in value:
            raise ValidationError("an OKP key has no y", field=f"{field}.y")
    else:
        raise ValidationError(
            "kty is EC or OKP: a key for ECDH-ES key agreement", field=f"{field}.kty"
        )
    for member, item in value.items():
        if member not in _ALLOWED_MEMBERS:
            raise ValidationError(f"unexpected JWK member '{member}'", field=f"{field}.{member}")
        if member != "key_ops" and (not isinstance(item, str) or len(item) > _MAX_MEMBER_CHARS):
            raise ValidationError(
                f"{member} is a string of at most {_MAX_MEMBER_CHARS} characters",
                field=f"{field}.{member}",
            )
    for member in required:
        if member not in value:
            raise ValidationError(f"{member} is required", field=f"{field}.{member}")
    _check_usage(value, field)
    canonical = {"kty": kty, "crv": crv, **{m: value[m] for m in required}}
    try:
        encrypt_to(canonical, "probe")  # a key that takes one encryption takes them all
    except Exception:  # any failure here is a bad key, never a 500
        raise ValidationError(
            "the coordinates do not make a valid public key on this curve", field=f"{field}.x"
        ) from None
    if "kid" in value:
        canonical["kid"] = value["kid"]
    return canonical


def _check_usage(value: Mapping[str, Any], field: str) -> None:
    if value.get("use", "enc") != "enc":
        raise ValidationError("use must be 'enc' (or absent)", field=f"{field}.use")
    if value.get("alg", JWE_ALG) != JWE_ALG:
        raise ValidationError(f"alg must be '{JWE_ALG}' (or absent)", field=f"{field}.alg")
    ops = value.get("key_ops")
    if ops is not None and (
        not isinstance(ops, list)
        or len(ops) > 8
        or not all(isinstance(op, str) for op in ops)
        or not {"deriveKey", "deriveBits", "wrapKey"} & set(ops)
    ):
        raise ValidationError(
            "key_ops must allow deriveKey, deriveBits or wrapKey", field=f"{field}.key_ops"
        )


def encrypt_to(jwk: Mapping[str, Any], plaintext: str) -> str:
    """A compact JWE of ``plaintext`` that only the holder of ``jwk``'s
    private key can open."""
    key = (
        ECKey.import_key(_material(jwk))
        if jwk["kty"] == "EC"
        else OKPKey.import_key(_material(jwk))
    )
    header: dict[str, Any] = {"alg": JWE_ALG, "enc": JWE_ENC, "cty": "text/plain"}
    if "kid" in jwk:
        header["kid"] = jwk["kid"]
    return jwe.encrypt_compact(header, plaintext.encode(), key, algorithms=[JWE_ALG, JWE_ENC])


def _material(jwk: Mapping[str, Any]) -> dict[str, Any]:
    return {m: jwk[m] for m in ("kty", "crv", "x", "y") if m in jwk}


class Custody:
    """The ``KeyCustody`` of this node: seals keys into pickups, and opens
    sealed ones at their one claim."""

    def __init__(
        self, ctx: ServiceContext, sealing_key: bytes, master: MasterKey | None = None
    ) -> None:
        self._ctx = ctx
        self._legacy = LegacyBox(sealing_key)
        self._master = master

    def __repr__(self) -> str:
        return "Custody(<sealing key hidden>)"

    @property
    def legacy(self) -> LegacyBox:
        """The legacy opener: for converting rows to the master key only."""
        return self._legacy

    async def seal(
        self, created: CreatedKey, expires_at: datetime
    ) -> tuple[Pickup, dict[str, Any]]:
        key = created.key
        pickup_id = new_id("pck", self._ctx.clock.now())
        jwk = None
        if key.owner_id is not None:
            owner = await self._ctx.store.get_owner(key.workspace_id, key.owner_id)
            jwk = None if owner is None else owner.public_jwk
        extra: dict[str, Any] = {"pickup_format": SEALED if jwk is None else JWE}
        if jwk is None:
            form, ciphertext = SEALED, self._seal(key.workspace_id, pickup_id, created.plaintext)
        else:
            token = encrypt_to(jwk, created.plaintext)
            form, ciphertext = JWE, token.encode("ascii")
            extra["new_key_jwe"] = token
        pickup = Pickup(
            id=pickup_id,
            workspace_id=key.workspace_id,
            key_id=key.id,
            owner_id=key.owner_id,
            format=form,
            ciphertext=ciphertext,
            created_at=self._ctx.now(),
            expires_at=expires_at,
        )
        return pickup, extra

    def open_sealed(self, workspace_id: str, pickup_id: str, ciphertext: bytes) -> str:
        """The plaintext of a sealed pickup (raises ``ValueError`` if the
        ciphertext was altered, moved, or sealed under another key)."""
        try:
            if is_legacy(ciphertext):
                return self._legacy.open(ciphertext, pickup_id).decode()
            if self._master is None:
                raise IntegrityError("no master key")
            return open_item(ciphertext, pickup_aad(workspace_id, pickup_id), self._master).decode()
        except IntegrityError:
            raise ValueError("the sealed pickup does not open") from None

    def _seal(self, workspace_id: str, pickup_id: str, plaintext: str) -> bytes:
        master = self._master
        if master is not None and master.exists():
            return seal_item(plaintext.encode(), pickup_aad(workspace_id, pickup_id), master)
        return self._legacy.seal(plaintext.encode(), pickup_id)


__all__ = [
    "JWE",
    "JWE_ALG",
    "JWE_ENC",
    "SEALED",
    "Custody",
    "derive_sealing_key",
    "encrypt_to",
    "public_jwk",
]
