"""``ks.transit``: named keys, encrypt/decrypt/rewrap/data keys with Vault's formats,
rotation and ``min_decryption_version``, batches and deletion, on SQLite and
PostgreSQL (permissions, mounts and audit: test_transit_access.py)."""

from __future__ import annotations

import base64
import secrets as random

import pytest
from cryptography.hazmat.primitives.ciphers.aead import AESGCM, ChaCha20Poly1305
from transit_support import b64, decrypt, encrypt, one, scoped, transit_root

from keystead.config import Settings
from keystead.core.authz import Principal
from keystead.core.envelope import Sealed, unseal
from keystead.core.transit import TOO_OLD, TransitKeyNotFound, transit_key_aad
from keystead.errors import NotFound, ValidationError
from keystead.service import Keystead


@pytest.fixture
async def root(vault: Keystead) -> Principal:
    return await transit_root(vault)


# --- keys ---------------------------------------------------------------------------------


async def test_a_key_is_created_read_and_listed_without_material(
    vault: Keystead, root: Principal
) -> None:
    key = await vault.transit.create_key(root, "transit", "orders")
    assert (key.type, key.latest_version, key.min_decryption_version) == ("aes256-gcm96", 1, 1)
    assert (key.min_encryption_version, key.deletion_allowed) == (0, False)
    again = await vault.transit.create_key(root, "transit", "orders")  # idempotent, as Vault
    assert again.id == key.id
    await vault.transit.create_key(root, "transit", "cards", type="chacha20-poly1305")

    read = await vault.transit.read_key(root, "transit", "orders")
    assert [v.version for v in read.versions] == [1]
    assert await vault.transit.list_keys(root, "transit") == ["cards", "orders"]
    with pytest.raises(TransitKeyNotFound):
        await vault.transit.read_key(root, "transit", "missing")


@pytest.mark.parametrize(
    "options",
    [
        {"derived": True},
        {"convergent_encryption": True},
        {"exportable": True},
        {"allow_plaintext_backup": True},
        {"type": "rsa-2048"},
    ],
)
async def test_what_is_not_served_is_refused_clearly(
    vault: Keystead, root: Principal, options: dict[str, object]
) -> None:
    with pytest.raises(ValidationError) as refused:
        await vault.transit.create_key(root, "transit", "k", **options)  # type: ignore[arg-type]
    assert "not supported" in refused.value.detail or "unknown" in refused.value.detail
    assert await vault.transit.list_keys(root, "transit") == []


@pytest.mark.parametrize("name", ["", "a/b", "../x", "-x", "x-", "é", "a" * 129])
async def test_bad_key_names_are_refused(vault: Keystead, root: Principal, name: str) -> None:
    with pytest.raises(ValidationError):
        await vault.transit.create_key(root, "transit", name)


# --- encrypt and decrypt ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("key_type", "cipher"), [("aes256-gcm96", AESGCM), ("chacha20-poly1305", ChaCha20Poly1305)]
)
async def test_ciphertexts_are_vault_s_format_under_the_sealed_key(
    vault: Keystead, root: Principal, key_type: str, cipher: type[AESGCM]
) -> None:
    key = await vault.transit.create_key(root, "transit", "orders", type=key_type)
    text = random.token_bytes(1024)
    ciphertext = await encrypt(vault, root, "orders", text)

    prefix, version, body = ciphertext.split(":")
    assert (prefix, version) == ("vault", "v1")
    payload = base64.b64decode(body, validate=True)
    assert len(payload) == 12 + len(text) + 16
    # the key version's material, as stored: sealed under the master key
    (stored,) = await vault.store.get_transit_key_versions(root.workspace_id, key.id, [1])
    where = transit_key_aad(root.workspace_id, "transit", "orders", 1)
    material = unseal(Sealed.from_bytes(stored.sealed), where, vault.keyring)
    assert cipher(material).decrypt(payload[:12], payload[12:], None) == text
    assert await decrypt(vault, root, "orders", ciphertext) == text
    # a fresh nonce each time
    assert await encrypt(vault, root, "orders", text) != ciphertext


async def test_associated_data_binds_the_ciphertext(vault: Keystead, root: Principal) -> None:
    await vault.transit.create_key(root, "transit", "orders")
    (sealed,) = await vault.transit.encrypt(
        root, "transit", "orders", one(b"row", associated_data=b64(b"orders:42"))
    )
    assert sealed.ciphertext is not None
    (wrong,) = await vault.transit.decrypt(
        root,
        "transit",
        "orders",
        [{"ciphertext": sealed.ciphertext, "associated_data": b64(b"orders:43")}],
    )
    assert wrong.error == "invalid ciphertext: unable to decrypt"
    (right,) = await vault.transit.decrypt(
        root,
        "transit",
        "orders",
        [{"ciphertext": sealed.ciphertext, "associated_data": b64(b"orders:42")}],
    )
    assert right.plaintext == b64(b"row")


async def test_a_batch_answers_item_by_item(vault: Keystead, root: Principal) -> None:
    await vault.transit.create_key(root, "transit", "orders")
    results = await vault.transit.encrypt(
        root,
        "transit",
        "orders",
        [
            {"plaintext": b64(b"a"), "reference": "r1"},
            {"plaintext": "not base64!"},
            {"plaintext": b64(b"c"), "key_version": 7},
            {"plaintext": b64(b""), "context": b64(b"tenant")},
            {},
        ],
    )
    assert results[0].ciphertext is not None and results[0].reference == "r1"
    assert results[1].error == "plaintext is not valid base64"
    assert results[2].error is not None and "higher than the latest" in results[2].error
    assert results[3].error is not None and "derived" in results[3].error
    assert results[4].error == "missing plaintext to encrypt"

    decrypted = await vault.transit.decrypt(
        root,
        "transit",
        "orders",
        [
            {"ciphertext": results[0].ciphertext},
            {"ciphertext": "vault:v1:!!"},
            {"ciphertext": "nope"},
            {"ciphertext": "vault:v9:" + b64(bytes(40))},
            {"ciphertext": "vault:v1:" + b64(bytes(40))},
        ],
    )
    assert decrypted[0].plaintext == b64(b"a")
    assert [d.error for d in decrypted[1:]] == [
        "invalid ciphertext: could not decode base64",
        "invalid ciphertext: no prefix",
        "invalid ciphertext: version is too new",
        "invalid ciphertext: unable to decrypt",
    ]
    with pytest.raises(ValidationError, match="missing batch input"):
        await vault.transit.encrypt(root, "transit", "orders", [])


async def test_an_unknown_key_is_not_found_and_encrypt_creates_it_for_an_admin(
    vault: Keystead, root: Principal
) -> None:
    user = scoped(root, "secrets.encrypt:transit/*", "secrets.decrypt:transit/*")
    with pytest.raises(TransitKeyNotFound, match="encryption key not found"):
        await vault.transit.encrypt(user, "transit", "fresh", one(b"x"))
    with pytest.raises(TransitKeyNotFound):
        await vault.transit.decrypt(user, "transit", "fresh", [{"ciphertext": "vault:v1:AAAA"}])
    # Vault's upsert: a principal that may create the key gets it created
    ciphertext = await encrypt(vault, root, "fresh", b"x")
    assert await decrypt(vault, user, "fresh", ciphertext) == b"x"


# --- rotation, rewrap and the minimum versions --------------------------------------------


async def test_rotate_rewrap_and_min_decryption_version(vault: Keystead, root: Principal) -> None:
    await vault.transit.create_key(root, "transit", "orders")
    old = await encrypt(vault, root, "orders", b"card 4242")
    rotated = await vault.transit.rotate_key(root, "transit", "orders")
    assert rotated.latest_version == 2 and [v.version for v in rotated.versions] == [1, 2]

    new = await encrypt(vault, root, "orders", b"card 4242")
    assert new.startswith("vault:v2:")
    assert await decrypt(vault, root, "orders", old) == b"card 4242"
    (pinned,) = await vault.transit.encrypt(root, "transit", "orders", one(b"x", key_version=1))
    assert pinned.ciphertext is not None and pinned.ciphertext.startswith("vault:v1:")

    (rewrapped,) = await vault.transit.rewrap(root, "transit", "orders", [{"ciphertext": old}])
    assert rewrapped.ciphertext is not None and rewrapped.ciphertext.startswith("vault:v2:")
    assert (rewrapped.key_version, rewrapped.plaintext) == (2, None)
    assert await decrypt(vault, root, "orders", rewrapped.ciphertext) == b"card 4242"

    configured = await vault.transit.configure_key(
        root, "transit", "orders", min_decryption_version=2
    )
    assert configured.min_decryption_version == 2
    with pytest.raises(ValidationError, match="too old"):
        await decrypt(vault, root, "orders", old)
    (refused,) = await vault.transit.rewrap(root, "transit", "orders", [{"ciphertext": old}])
    assert refused.error == TOO_OLD
    assert await decrypt(vault, root, "orders", new) == b"card 4242"
    # lowering it again opens the old ciphertexts again: the material was kept
    await vault.transit.configure_key(root, "transit", "orders", min_decryption_version=1)
    assert await decrypt(vault, root, "orders", old) == b"card 4242"


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"min_decryption_version": 3}, "cannot set min decryption version of 3"),
        ({"min_encryption_version": 3}, "cannot set min encryption version of 3"),
        (
            {"min_decryption_version": 2, "min_encryption_version": 1},
            "must be greater than or equal to min decryption version",
        ),
        ({"min_decryption_version": -1}, "0 or more"),
        ({"deletion_allowed": "yes"}, "true or false"),
        ({"exportable": True}, "not supported"),
    ],
)
async def test_configuration_is_checked_as_vault_checks_it(
    vault: Keystead, root: Principal, changes: dict[str, object], message: str
) -> None:
    await vault.transit.create_key(root, "transit", "orders")
    await vault.transit.rotate_key(root, "transit", "orders")
    with pytest.raises(ValidationError, match=message):
        await vault.transit.configure_key(root, "transit", "orders", **changes)
    key = await vault.transit.read_key(root, "transit", "orders")
    assert (key.min_decryption_version, key.min_encryption_version) == (1, 0)


async def test_min_encryption_version_bounds_the_version_a_caller_names(
    vault: Keystead, root: Principal
) -> None:
    await vault.transit.create_key(root, "transit", "orders")
    await vault.transit.rotate_key(root, "transit", "orders")
    await vault.transit.configure_key(root, "transit", "orders", min_encryption_version=2)
    (refused,) = await vault.transit.encrypt(root, "transit", "orders", one(b"x", key_version=1))
    assert refused.error is not None and "less than the minimum encryption" in refused.error


async def test_a_rotation_on_another_node_holds_at_once(
    vault: Keystead, root: Principal, settings: Settings
) -> None:
    """Rules are read with each use, and material is cached by key id and version:
    a second service on the same database sees a rotation and a new minimum at once."""
    await vault.transit.create_key(root, "transit", "orders")
    old = await encrypt(vault, root, "orders", b"x")
    other = await Keystead.open(settings=settings)
    try:
        assert await decrypt(other, root, "orders", old) == b"x"  # cached there now
        await vault.transit.rotate_key(root, "transit", "orders")
        assert (await encrypt(other, root, "orders", b"y")).startswith("vault:v2:")
        await vault.transit.configure_key(root, "transit", "orders", min_decryption_version=2)
        with pytest.raises(ValidationError, match="too old"):
            await decrypt(other, root, "orders", old)
        # deleted and created again: a new key, whose material is not the old one's
        await vault.transit.configure_key(root, "transit", "orders", deletion_allowed=True)
        await vault.transit.delete_key(root, "transit", "orders")
        await vault.transit.create_key(root, "transit", "orders")
        with pytest.raises(ValidationError, match="unable to decrypt"):
            await decrypt(other, root, "orders", old)
    finally:
        await other.close()


# --- data keys ------------------------------------------------------------------------------


async def test_data_keys_plaintext_and_wrapped(vault: Keystead, root: Principal) -> None:
    await vault.transit.create_key(root, "transit", "orders")
    plain = await vault.transit.datakey(root, "transit", "orders", plaintext=True, bits=512)
    assert plain.plaintext is not None and plain.ciphertext is not None
    assert len(base64.b64decode(plain.plaintext)) == 64 and plain.key_version == 1
    assert base64.b64decode(plain.plaintext) == await decrypt(
        vault, root, "orders", plain.ciphertext
    )
    assert plain.plaintext not in repr(plain)

    wrapped = await vault.transit.datakey(root, "transit", "orders", plaintext=False)
    assert wrapped.plaintext is None and wrapped.ciphertext is not None
    assert len(await decrypt(vault, root, "orders", wrapped.ciphertext)) == 32
    for bits in (64, 257, "256", True):
        with pytest.raises(ValidationError, match="bit length"):
            await vault.transit.datakey(root, "transit", "orders", plaintext=False, bits=bits)


# --- deletion -------------------------------------------------------------------------------


async def test_a_key_is_deleted_only_once_deletion_is_allowed(
    vault: Keystead, root: Principal
) -> None:
    await vault.transit.create_key(root, "transit", "orders")
    with pytest.raises(ValidationError, match="deletion is not allowed"):
        await vault.transit.delete_key(root, "transit", "orders")
    await vault.transit.configure_key(root, "transit", "orders", deletion_allowed=True)
    await vault.transit.delete_key(root, "transit", "orders")
    with pytest.raises(TransitKeyNotFound):
        await vault.transit.read_key(root, "transit", "orders")
    assert (await vault.store.count_sealed())["transit_key_version"] == {}
    with pytest.raises(NotFound):
        await vault.transit.delete_key(root, "transit", "orders")
