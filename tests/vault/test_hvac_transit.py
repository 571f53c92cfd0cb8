"""Transit through the unchanged ``hvac`` client against a real ``keystead serve``,
on SQLite and PostgreSQL (docs/secrets.md, "Transit")."""

from __future__ import annotations

import base64
import secrets
from pathlib import Path

import httpx
import hvac
import psycopg
import pytest
from hvac import exceptions

from conftest import backend_database

from .conftest import Vault


def b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode()


@pytest.fixture(scope="module")
def transit_mount(vault: Vault) -> str:
    """``transit`` enabled once per server, as an operator does."""
    vault.client().sys.enable_secrets_engine("transit")
    return "transit"


@pytest.fixture
def client(vault: Vault, transit_mount: str) -> hvac.Client:
    return vault.client()


@pytest.fixture
def key() -> str:
    """A key name of this test's own on the shared server's transit mount."""
    return f"k{secrets.token_hex(6)}"


def test_the_mount_is_listed_as_transit(client: hvac.Client) -> None:
    mounts = client.sys.list_mounted_secrets_engines()["data"]
    assert mounts["transit/"]["type"] == "transit"
    assert mounts["secret/"]["type"] == "kv"


def test_create_read_and_list_keys(client: hvac.Client, key: str) -> None:
    transit = client.secrets.transit
    created = transit.create_key(name=key)
    assert created["data"]["name"] == key
    transit.create_key(name=f"{key}-cc", key_type="chacha20-poly1305")

    read = transit.read_key(name=key)["data"]
    assert read["type"] == "aes256-gcm96"
    assert read["latest_version"] == 1 and read["min_decryption_version"] == 1
    assert read["min_encryption_version"] == 0 and read["deletion_allowed"] is False
    assert read["exportable"] is False and read["derived"] is False
    assert list(read["keys"]) == ["1"] and isinstance(read["keys"]["1"], int)
    assert transit.read_key(name=f"{key}-cc")["data"]["type"] == "chacha20-poly1305"
    assert {key, f"{key}-cc"} <= set(transit.list_keys()["data"]["keys"])


def test_encrypt_and_decrypt(client: hvac.Client, key: str) -> None:
    transit = client.secrets.transit
    transit.create_key(name=key)
    text = secrets.token_bytes(1024)
    encrypted = transit.encrypt_data(name=key, plaintext=b64(text))["data"]
    assert encrypted["ciphertext"].startswith("vault:v1:") and encrypted["key_version"] == 1
    decrypted = transit.decrypt_data(name=key, ciphertext=encrypted["ciphertext"])
    assert base64.b64decode(decrypted["data"]["plaintext"]) == text

    bound = transit.encrypt_data(
        name=key, plaintext=b64(b"row 42"), associated_data=b64(b"orders:42")
    )["data"]["ciphertext"]
    with pytest.raises(exceptions.InvalidRequest, match="unable to decrypt"):
        transit.decrypt_data(name=key, ciphertext=bound, associated_data=b64(b"orders:43"))
    opened = transit.decrypt_data(name=key, ciphertext=bound, associated_data=b64(b"orders:42"))
    assert opened["data"]["plaintext"] == b64(b"row 42")


def test_batch_input(client: hvac.Client, key: str) -> None:
    transit = client.secrets.transit
    transit.create_key(name=key)
    values = [b"alice@example.com", b"bob@example.com", b""]
    encrypted = transit.encrypt_data(
        name=key,
        batch_input=[{"plaintext": b64(v), "reference": str(i)} for i, v in enumerate(values)],
    )["data"]["batch_results"]
    assert [r["reference"] for r in encrypted] == ["0", "1", "2"]
    assert all(r["ciphertext"].startswith("vault:v1:") for r in encrypted)
    decrypted = transit.decrypt_data(
        name=key, batch_input=[{"ciphertext": r["ciphertext"]} for r in encrypted]
    )["data"]["batch_results"]
    assert [base64.b64decode(r["plaintext"]) for r in decrypted] == values

    # a bad item: Vault's 400 with every item's result, the good ones served
    with pytest.raises(exceptions.InvalidRequest) as raised:
        transit.decrypt_data(
            name=key,
            batch_input=[{"ciphertext": encrypted[0]["ciphertext"]}, {"ciphertext": "nope"}],
        )
    results = raised.value.json["data"]["batch_results"]
    assert base64.b64decode(results[0]["plaintext"]) == values[0]
    assert results[1] == {"error": "invalid ciphertext: no prefix"}
    # partial_failure_response_code: the same answer with the status asked for
    answer = client.adapter.post(
        f"/v1/transit/decrypt/{key}",
        json={
            "batch_input": [{"ciphertext": encrypted[1]["ciphertext"]}, {"ciphertext": "nope"}],
            "partial_failure_response_code": 200,
        },
    )
    assert [r.get("error") for r in answer["data"]["batch_results"]] == [
        None,
        "invalid ciphertext: no prefix",
    ]


def test_rotate_rewrap_and_min_decryption_version(client: hvac.Client, key: str) -> None:
    transit = client.secrets.transit
    transit.create_key(name=key)
    old = transit.encrypt_data(name=key, plaintext=b64(b"4242"))["data"]["ciphertext"]
    rotated = transit.rotate_key(name=key)
    assert rotated["data"]["latest_version"] == 2
    assert sorted(transit.read_key(name=key)["data"]["keys"]) == ["1", "2"]
    new = transit.encrypt_data(name=key, plaintext=b64(b"4242"))["data"]
    assert new["ciphertext"].startswith("vault:v2:") and new["key_version"] == 2

    rewrapped = transit.rewrap_data(name=key, ciphertext=old)["data"]
    assert rewrapped["ciphertext"].startswith("vault:v2:") and rewrapped["key_version"] == 2
    assert "plaintext" not in rewrapped
    batch = transit.rewrap_data(name=key, ciphertext=None, batch_input=[{"ciphertext": old}])
    assert batch["data"]["batch_results"][0]["ciphertext"].startswith("vault:v2:")
    assert transit.decrypt_data(name=key, ciphertext=rewrapped["ciphertext"])["data"][
        "plaintext"
    ] == b64(b"4242")

    transit.update_key_configuration(name=key, min_decryption_version=2)
    assert transit.read_key(name=key)["data"]["min_decryption_version"] == 2
    with pytest.raises(exceptions.InvalidRequest, match="too old"):
        transit.decrypt_data(name=key, ciphertext=old)
    assert transit.decrypt_data(name=key, ciphertext=new["ciphertext"])["data"]["plaintext"]
    with pytest.raises(exceptions.InvalidRequest, match="latest key version is 2"):
        transit.update_key_configuration(name=key, min_decryption_version=3)


def test_generate_data_key(client: hvac.Client, key: str) -> None:
    transit = client.secrets.transit
    transit.create_key(name=key)
    plain = transit.generate_data_key(name=key, key_type="plaintext", bits=512)["data"]
    assert len(base64.b64decode(plain["plaintext"])) == 64 and plain["key_version"] == 1
    opened = transit.decrypt_data(name=key, ciphertext=plain["ciphertext"])["data"]["plaintext"]
    assert opened == plain["plaintext"]

    wrapped = transit.generate_data_key(name=key, key_type="wrapped")["data"]
    assert "plaintext" not in wrapped and wrapped["ciphertext"].startswith("vault:v1:")
    with pytest.raises(exceptions.InvalidRequest, match="bit length"):
        client.adapter.post(f"/v1/transit/datakey/plaintext/{key}", json={"bits": 64})


def test_delete_key(client: hvac.Client, key: str) -> None:
    transit = client.secrets.transit
    transit.create_key(name=key)
    with pytest.raises(exceptions.InvalidRequest, match="deletion is not allowed"):
        transit.delete_key(name=key)
    transit.update_key_configuration(name=key, deletion_allowed=True)
    assert transit.delete_key(name=key).status_code == 204
    with pytest.raises(exceptions.InvalidPath):
        transit.read_key(name=key)
    assert key not in transit.list_keys()["data"]["keys"]


def test_errors_as_hvac_raises_them(vault: Vault, client: hvac.Client, key: str) -> None:
    transit = client.secrets.transit
    transit.create_key(name=key)
    ciphertext = transit.encrypt_data(name=key, plaintext=b64(b"x"))["data"]["ciphertext"]
    # unknown key: a read is a 404, the crypto endpoints Vault's 400
    with pytest.raises(exceptions.InvalidPath):
        transit.read_key(name=f"{key}-none")
    with pytest.raises(exceptions.InvalidRequest, match="encryption key not found"):
        transit.decrypt_data(name=f"{key}-none", ciphertext=ciphertext)
    # bad input
    with pytest.raises(exceptions.InvalidRequest, match="base64"):
        transit.encrypt_data(name=key, plaintext="not base64!")
    with pytest.raises(exceptions.InvalidRequest, match="base64"):
        transit.decrypt_data(name=key, ciphertext="vault:v1:***")
    with pytest.raises(exceptions.InvalidRequest, match="not supported"):
        transit.create_key(name=f"{key}-d", derived=True)
    with pytest.raises(exceptions.InvalidRequest):
        transit.create_key(name=f"{key}-r", key_type="rsa-4096")
    with pytest.raises(exceptions.InvalidRequest, match="transit key name"):
        transit.create_key(name="-bad-")
    with pytest.raises(exceptions.InvalidPath):  # no such route, as in Vault
        transit.create_key(name="bad/name/x")
    # tokens: none, scoped to another key, scoped to encrypt only
    with pytest.raises(exceptions.Forbidden):
        hvac.Client(url=vault.url).secrets.transit.encrypt_data(name=key, plaintext=b64(b"x"))
    elsewhere = vault.client(vault.scoped("secrets.encrypt:transit/other")).secrets.transit
    with pytest.raises(exceptions.Forbidden):
        elsewhere.encrypt_data(name=key, plaintext=b64(b"x"))
    encrypter = vault.client(vault.scoped(f"secrets.encrypt:transit/{key}")).secrets.transit
    assert encrypter.encrypt_data(name=key, plaintext=b64(b"x"))["data"]["ciphertext"]
    with pytest.raises(exceptions.Forbidden):
        encrypter.decrypt_data(name=key, ciphertext=ciphertext)
    with pytest.raises(exceptions.Forbidden):
        encrypter.rotate_key(name=key)
    # another workspace has no such mount
    other = vault.client(vault.other_workspace_key).secrets.transit
    with pytest.raises(exceptions.InvalidPath):
        other.decrypt_data(name=key, ciphertext=ciphertext)
    # a KV call on the transit mount is refused clearly
    with pytest.raises(exceptions.InvalidPath):
        client.secrets.kv.v2.read_secret(
            path="x", mount_point="transit", raise_on_deleted_version=True
        )


def test_an_encrypted_column_in_the_app_s_own_postgresql_table(
    vault: Vault, client: hvac.Client, key: str, tmp_path: Path
) -> None:
    """docs/secrets.md's pattern: the app keeps ciphertexts in a table of its own
    PostgreSQL database and holds a token that can encrypt and decrypt with one key,
    nothing more; the table never holds an address in plain."""
    client.secrets.transit.create_key(name=key)
    app = vault.client(
        vault.scoped(f"secrets.encrypt:transit/{key}", f"secrets.decrypt:transit/{key}")
    ).secrets.transit

    def seal(text: str) -> str:
        plaintext = base64.b64encode(text.encode()).decode()
        return str(app.encrypt_data(name=key, plaintext=plaintext)["data"]["ciphertext"])

    def unseal(ciphertext: str) -> str:
        answer = app.decrypt_data(name=key, ciphertext=ciphertext)
        return base64.b64decode(answer["data"]["plaintext"]).decode()

    emails = ["alice@example.com", "bob@example.com"]
    with backend_database("postgres", tmp_path) as url, psycopg.connect(url) as db:
        db.execute("CREATE TABLE customers (id serial PRIMARY KEY, email text NOT NULL)")
        for email in emails:
            db.execute("INSERT INTO customers (email) VALUES (%s)", [seal(email)])
        stored = [row[0] for row in db.execute("SELECT email FROM customers ORDER BY id")]
        dump = " ".join(str(row) for row in db.execute("SELECT * FROM customers"))
    assert all(value.startswith("vault:v1:") for value in stored)
    assert not [email for email in emails if email in dump]
    assert [unseal(value) for value in stored] == emails
    # the key rotates: the rows written before still read
    client.secrets.transit.rotate_key(name=key)
    assert unseal(stored[0]) == emails[0]
    with pytest.raises(exceptions.Forbidden):  # the app's token cannot manage the key
        app.rotate_key(name=key)


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("encrypt/{key}", {"batch_input": "not a list"}),
        ("encrypt/{key}", {"batch_input": [1, 2]}),
        ("encrypt/{key}", {"batch_input": []}),
        ("encrypt/{key}", {"batch_input": [{"plaintext": "eA=="}] * 1001}),
        ("encrypt/{key}", {"plaintext": 12}),
        ("encrypt/{key}", {"plaintext": "eA==", "key_version": "abc"}),
        ("encrypt/{key}", {"plaintext": "eA==", "key_version": -1}),
        ("encrypt/{key}", {"plaintext": "eA==", "associated_data": "%%%"}),
        ("encrypt/{key}", {}),
        ("decrypt/{key}", {"ciphertext": ["vault:v1:x"]}),
        ("decrypt/{key}", {"ciphertext": "vault:v99999999999:eA=="}),
        ("decrypt/{key}", {"ciphertext": "vault:v1"}),
        ("decrypt/{key}", {"ciphertext": "vault:v\u0661:eA=="}),
        ("rewrap/{key}", {"ciphertext": "vault:v1:eA==", "key_version": 9}),
        ("datakey/plaintext/{key}", {"bits": 10**30}),
        ("datakey/other/{key}", {}),
        ("keys/{key}/config", {"min_decryption_version": "x"}),
        ("keys/{key}/config", {"deletion_allowed": "maybe"}),
        ("keys/{key}/config", {"min_encryption_version": 2**40}),
        ("keys/%2e%2e", {}),
        ("keys/{key}/nope", {}),
        ("encrypt/{key}/extra", {"plaintext": "eA=="}),
    ],
)
def test_hostile_bodies_and_paths_are_4xx(
    client: hvac.Client, key: str, path: str, body: dict[str, object]
) -> None:
    client.secrets.transit.create_key(name=key)
    url = f"{client.url}/v1/transit/{path.format(key=key)}"
    answer = httpx.post(url, json=body, headers={"X-Vault-Token": client.token}, timeout=10)
    assert 400 <= answer.status_code < 500, answer.text
    assert answer.json().get("errors") is not None or "batch_results" in answer.json()["data"]
