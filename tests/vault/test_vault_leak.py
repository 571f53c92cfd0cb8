"""No stored secret value is ever at rest or in a log in the clear.

A real ``keystead serve`` (at DEBUG) on SQLite and on PostgreSQL takes secret values
through every face that carries them: hvac on the Vault face (KV v2 writes, patches,
reads of old versions, deletes, destroys; Transit encrypt, decrypt, rewrap and data
keys) and Keystead's own ``/v1/secrets`` routes. Then every stored byte (the SQLite
file with its WAL, or every row of every table of the PostgreSQL schema), every line
of the server's log and every audit entry is searched for each value, as text, hex and
base64. None may be found: values live only sealed (docs/secrets.md, "Encryption at
rest")."""

from __future__ import annotations

import base64
import secrets
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import hvac
import psycopg
import pytest
from psycopg import sql

from conftest import BACKENDS, backend_database
from serving import Server, serving
from storedkit import as_bytes, mariadb_rows

pytestmark = [
    pytest.mark.slow,
    # hvac's own patch() reads without raise_on_deleted_version and warns about it
    pytest.mark.filterwarnings("ignore:The raise_on_deleted_version parameter:DeprecationWarning"),
]


@dataclass
class Exercised:
    server: Server
    database_url: str
    home: Path
    values: list[bytes] = field(default_factory=list)
    """Every secret value written or handed out, as bytes."""

    def value(self, label: str) -> str:
        made = f"{label}-{secrets.token_hex(12)}"
        self.values.append(made.encode())
        return made


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode()


def _exercise(run: Exercised) -> None:
    vault = hvac.Client(url=f"{run.server.url}/vault", token=run.server.root_key)
    kv = vault.secrets.kv.v2
    kv.create_or_update_secret(path="app/db", secret={"password": run.value("db1")})
    kv.create_or_update_secret(path="app/db", secret={"password": run.value("db2")}, cas=1)
    kv.patch(path="app/db", secret={"user": run.value("user")})
    assert kv.read_secret_version(path="app/db", version=1, raise_on_deleted_version=True)
    kv.update_metadata(path="app/db", custom_metadata={"owner": "payments-team"})
    kv.list_secrets(path="app")
    kv.delete_secret_versions(path="app/db", versions=[2])
    kv.undelete_secret_versions(path="app/db", versions=[2])
    kv.destroy_secret_versions(path="app/db", versions=[1])
    kv.create_or_update_secret(path="gone", secret={"token": run.value("gone")})
    kv.delete_metadata_and_all_versions(path="gone")

    vault.sys.enable_secrets_engine("transit")
    transit = vault.secrets.transit
    transit.create_key(name="cards")
    card = run.value("card").encode()
    sealed = transit.encrypt_data(name="cards", plaintext=_b64(card))["data"]["ciphertext"]
    transit.rotate_key(name="cards")
    rewrapped = transit.rewrap_data(name="cards", ciphertext=sealed)["data"]["ciphertext"]
    opened = transit.decrypt_data(name="cards", ciphertext=rewrapped)["data"]["plaintext"]
    assert base64.b64decode(opened) == card
    datakey = transit.generate_data_key(name="cards", key_type="plaintext")["data"]
    run.values.append(base64.b64decode(datakey["plaintext"]))

    own = httpx.Client(
        base_url=run.server.url, headers={"Authorization": f"Bearer {run.server.root_key}"}
    )
    with own:
        body = {"data": {"api_key": run.value("stripe")}}
        assert own.put("/v1/secrets/secret/data/payments", json=body).status_code == 200
        assert own.get("/v1/secrets/secret/data/payments").status_code == 200
        patch = {"data": {"webhook": run.value("whsec")}}
        assert own.patch("/v1/secrets/secret/data/payments", json=patch).status_code == 200
        audit = own.get("/v1/audit", params={"limit": 500})
        assert audit.status_code == 200, audit.text
        assert any(e["action"].startswith("secret.") for e in audit.json()["items"])
        (run.home / "audit.json").write_text(audit.text)


def _stored_bytes(run: Exercised) -> bytes:
    if run.database_url.startswith("sqlite"):
        db = Path(run.database_url.removeprefix("sqlite:///"))
        return b"".join(p.read_bytes() for p in db.parent.glob(db.name + "*"))
    if run.database_url.startswith("mysql"):
        stored = mariadb_rows(run.database_url)
        assert len(stored) > 20
        return b"\n".join(as_bytes(cell) for found in stored.values() for r in found for cell in r)
    rows: list[str] = []
    with psycopg.connect(run.database_url) as conn:
        tables = conn.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema()"
        ).fetchall()
        assert len(tables) > 20
        for (table,) in tables:
            query = sql.SQL("SELECT row_to_json(t)::text FROM {} t").format(sql.Identifier(table))
            found = conn.execute(query).fetchall()
            rows.extend(row[0] for row in found)
    return "\n".join(rows).encode()


@pytest.fixture(scope="module", params=BACKENDS)
def exercised(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Exercised]:
    home = tmp_path_factory.mktemp("leak")
    with backend_database(request.param, home) as database_url:
        settings = {"KEYSTEAD_DATABASE_URL": database_url, "KEYSTEAD_LOG_LEVEL": "debug"}
        with serving(home, settings) as server:
            run = Exercised(server, database_url, home)
            _exercise(run)
        yield run  # the server has stopped: its log and store are complete


def test_the_values_were_written_and_read(exercised: Exercised) -> None:
    assert len(exercised.values) == 8
    log = exercised.server.log.read_text()
    assert "/vault/v1/secret/data/app/db" in log  # the access log saw the calls


@pytest.mark.parametrize("where", ["store", "log", "audit"])
def test_no_value_is_found_in_the_clear(exercised: Exercised, where: str) -> None:
    haystack = {
        "store": lambda: _stored_bytes(exercised),
        "log": lambda: exercised.server.log.read_bytes(),
        "audit": lambda: (exercised.home / "audit.json").read_bytes(),
    }[where]()
    # the search sees what is there: each place holds the path, which is no secret
    control = {"store": b"app/db", "log": b"/vault/v1/secret/data/app/db", "audit": b"app/db"}
    assert control[where] in haystack
    found = [
        value
        for value in exercised.values
        for form in (value, value.hex().encode(), _b64(value).encode())
        if form in haystack
    ]
    assert not found, f"{where} holds {found}"
