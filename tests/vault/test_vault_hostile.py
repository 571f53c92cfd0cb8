"""Hostile paths, bodies and headers on the Vault face of a real ``keystead serve``:
every one is a Vault 4xx ``{"errors": [...]}`` in JSON, never a 500 (raw bytes on
a socket, so that no client library tidies the request first)."""

from __future__ import annotations

import select
import socket
from urllib.parse import urlsplit

import orjson
import pytest

from .conftest import Vault


def raw(vault: Vault, request: bytes) -> tuple[int, dict[str, str], bytes]:
    """Send ``request`` as is (a large one in pieces, stopping once the server has
    answered); the status, headers and body of the answer."""
    where = urlsplit(vault.server.url)
    with socket.create_connection((where.hostname or "", where.port or 80), timeout=10) as conn:
        for start in range(0, len(request), 16384):
            conn.sendall(request[start : start + 16384])
            # a large request goes slowly, so that the server has read all that was
            # sent when it answers early (413) and closes: no reset loses the answer
            if len(request) > 16384 and select.select([conn], [], [], 0.02)[0]:
                break
        chunks = []
        while chunk := conn.recv(65536):
            chunks.append(chunk)
    head, _, body = b"".join(chunks).partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = {}
    for line in lines[1:]:
        key, _, value = line.partition(":")
        headers[key.strip().lower()] = value.strip()
    return int(lines[0].split(" ")[1]), headers, body


ROOT = "<the server's root key>"


def call(
    vault: Vault,
    method: str,
    target: str,
    body: bytes = b"",
    *,
    token: str | None = ROOT,
    extra: bytes = b"",
) -> tuple[int, dict[str, str], bytes]:
    auth = b""
    if token is not None:
        value = vault.root_key if token is ROOT else token
        auth = b"X-Vault-Token: " + value.encode() + b"\r\n"
    request = (
        f"{method} /vault/v1/{target} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n".encode()
        + auth
        + extra
        + (b"Content-Length: %d\r\n" % len(body) if body else b"")
        + b"\r\n"
        + body
    )
    return raw(vault, request)


def assert_vault_4xx(answer: tuple[int, dict[str, str], bytes], *statuses: int) -> None:
    status, headers, body = answer
    assert status in statuses, (status, body[:300])
    assert headers["content-type"] == "application/json"
    errors = orjson.loads(body)["errors"]
    assert isinstance(errors, list)
    assert all(isinstance(e, str) for e in errors)


PATHS = [
    ("secret/data/../x", 400),
    ("secret/data/a/%2e%2e/x", 400),
    ("secret/data/%252e%252e/x", 400),
    ("secret/data/a//b", 400),
    ("secret/data/a%00b", 400),
    ("secret/data/a%0ab", 400),
    ("secret/data/a%0db", 400),
    ("secret/data/a%ffb", 400),
    ("secret/data/a%5cb", 400),
    ("secret/data/" + "a/" * 40 + "b", 400),
    ("secret/data/" + "a" * 600, 400),
    ("secret/data/", 404),
    ("secret/data", 404),
    ("secret/nothing/x", 404),
    ("%2e%2e/data/x", 404),
    ("Secret/data/x", 404),
    ("sys/data/x", 404),
    ("cubbyhole/x", 404),
    ("", 404),
    ("sys/nothing", 404),
    ("auth/token/create", 404),
    ("secret/data/x?version=-1", 400),
    ("secret/data/x?version=abc", 400),
    ("secret/data/x?version=99999999999999999999", 400),
]


@pytest.mark.parametrize(("target", "status"), PATHS)
def test_hostile_paths(vault: Vault, target: str, status: int) -> None:
    assert_vault_4xx(call(vault, "GET", target), status)


BODIES = [
    ("POST", "secret/data/hb", b"not json", 400),
    ("POST", "secret/data/hb", b"[1, 2]", 400),
    ("POST", "secret/data/hb", b'"text"', 400),
    ("POST", "secret/data/hb", b'{"data": "text"}', 400),
    ("POST", "secret/data/hb", b'{"data": {"k": 1}}', 400),
    ("POST", "secret/data/hb", b'{"data": {"k": {"n": "v"}}}', 400),
    ("POST", "secret/data/hb", b'{"data": {"": "v"}}', 400),
    ("POST", "secret/data/hb", b'{"data": {"a/b": "v"}}', 400),
    ("POST", "secret/data/hb", b'{"data": {"k": "v"}, "options": []}', 400),
    ("POST", "secret/data/hb", b'{"data": {"k": "v"}, "options": {"cas": "x"}}', 400),
    ("POST", "secret/data/hb", b'{"data": {"k": "v"}, "options": {"cas": -1}}', 400),
    ("POST", "secret/data/hb", b'{"data": {"k": "v"}, "options": {"cas": true}}', 400),
    ("POST", "secret/data/hb", b'{"data": {"k": "\\ud800"}}', 400),
    ("POST", "secret/data/hb", b'{"data": {"k": NaN}}', 400),
    ("POST", "secret/data/hb", b"{}", 400),
    ("POST", "secret/delete/hb", b'{"versions": "1"}', 400),
    ("POST", "secret/delete/hb", b'{"versions": [0]}', 400),
    ("POST", "secret/delete/hb", b'{"versions": [true]}', 400),
    ("POST", "secret/destroy/hb", b'{"versions": [1.5]}', 400),
    ("POST", "secret/undelete/hb", b'{"versions": {}}', 400),
    ("POST", "secret/metadata/hb", b'{"max_versions": "x"}', 400),
    ("POST", "secret/metadata/hb", b'{"max_versions": -1}', 400),
    ("POST", "secret/metadata/hb", b'{"cas_required": "yes"}', 400),
    ("POST", "secret/metadata/hb", b'{"delete_version_after": "-1s"}', 400),
    ("POST", "secret/metadata/hb", b'{"delete_version_after": "1.5s"}', 400),
    ("POST", "secret/metadata/hb", b'{"delete_version_after": "9999999h"}', 400),
    ("POST", "secret/metadata/hb", b'{"delete_version_after": [1]}', 400),
    ("POST", "secret/metadata/hb", b'{"custom_metadata": ["a"]}', 400),
    ("POST", "secret/metadata/hb", b'{"custom_metadata": {"k": 1}}', 400),
    ("POST", "secret/config", b'{"max_versions": 100000}', 400),
    ("POST", "sys/mounts/hb", b"{}", 400),
    ("POST", "sys/mounts/hb", b'{"type": 5}', 400),
    ("POST", "sys/mounts/hb", b'{"type": "kv", "options": "2"}', 400),
    ("POST", "sys/mounts/hb", b'{"type": "kv"}', 400),
    ("POST", "sys/mounts/%2e%2e", b'{"type": "kv-v2"}', 400),
    ("POST", "sys/mounts/sys", b'{"type": "kv-v2"}', 400),
    ("POST", "sys/mounts/a/b", b'{"type": "kv-v2"}', 404),
    ("PATCH", "secret/data/hb", b'{"data": {"k": "v"}}', 415),
    ("DELETE", "sys/mounts", b"", 405),
    ("POST", "secret/subkeys/hb", b"{}", 405),
    ("POST", "sys/health", b"", 405),
]


@pytest.mark.parametrize(("method", "target", "body", "status"), BODIES)
def test_hostile_bodies(vault: Vault, method: str, target: str, body: bytes, status: int) -> None:
    assert_vault_4xx(call(vault, method, target, body), status)


def test_too_large_bodies(vault: Vault) -> None:
    big = b'{"data": {"k": "' + b"x" * (2 * 1024 * 1024) + b'"}}'
    assert_vault_4xx(call(vault, "POST", "secret/data/big", big), 413)
    chunked = (
        b"POST /vault/v1/secret/data/big HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
        b"X-Vault-Token: " + vault.root_key.encode() + b"\r\n"
        b"Transfer-Encoding: chunked\r\n\r\n"
        + b"".join(b"%x\r\n%s\r\n" % (65536, b"x" * 65536) for _ in range(20))
        + b"0\r\n\r\n"
    )
    assert_vault_4xx(raw(vault, chunked), 413)
    under_limit = b'{"data": {"k": "' + b"x" * (600 * 1024) + b'"}}'
    assert_vault_4xx(call(vault, "POST", "secret/data/big", under_limit), 413)


TOKENS = [
    None,
    "",
    "x",
    "ksroot_" + "A" * 40,
    "Bearer whatever",
    "ksroot_\u00e9\u00e9",
]


@pytest.mark.parametrize("token", TOKENS)
def test_bad_tokens_are_permission_denied(vault: Vault, token: str | None) -> None:
    status, _, body = call(vault, "GET", "secret/data/x", token=token)
    assert status == 403 and orjson.loads(body) == {"errors": ["permission denied"]}


def test_a_key_pasted_into_a_path_is_not_echoed(vault: Vault) -> None:
    key = vault.other_workspace_key
    status, _, body = call(vault, "GET", f"{key}/data/x")
    assert status == 404 and key.encode() not in body and b"<redacted>" in body


def test_odd_headers_are_accepted(vault: Vault) -> None:
    extra = b"X-Vault-Namespace: ns1/\r\nX-Vault-Request: true\r\n"
    status, _, _ = call(vault, "GET", "sys/mounts", extra=extra)
    assert status == 200


def test_response_wrapping_is_refused(vault: Vault) -> None:
    answer = call(vault, "GET", "secret/data/x", extra=b"X-Vault-Wrap-TTL: 60s\r\n")
    assert_vault_4xx(answer, 400)
    assert b"wrapping" in answer[2]


def test_list_arrives_in_pieces(vault: Vault, name: str) -> None:
    """The LIST method split across packets, and with a query of its own."""
    vault.client().secrets.kv.v2.create_or_update_secret(path=f"{name}/a", secret={"k": "v"})
    where = urlsplit(vault.server.url)
    head = (
        f"LIST /vault/v1/secret/metadata/{name}?x=1 HTTP/1.1\r\nHost: x\r\n"
        f"Connection: close\r\nX-Vault-Token: {vault.root_key}\r\n\r\n"
    ).encode()
    with socket.create_connection((where.hostname or "", where.port or 80), timeout=10) as conn:
        for piece in (head[:2], head[2:9]):
            conn.sendall(piece)
            conn.settimeout(0.05)
            with pytest.raises(TimeoutError):
                conn.recv(1)  # the line is not complete: nothing is answered yet
            conn.settimeout(10)
        conn.sendall(head[9:])
        chunks = []
        while chunk := conn.recv(65536):
            chunks.append(chunk)
    answer = b"".join(chunks)
    assert answer.startswith(b"HTTP/1.1 200"), answer[:200]
    assert orjson.loads(answer.partition(b"\r\n\r\n")[2])["data"]["keys"] == ["a"]


def test_other_methods_starting_with_l_are_left_alone(vault: Vault) -> None:
    """``LOCK`` (which the parser knows) is not taken for ``LIST``: Vault's 405."""
    assert_vault_4xx(call(vault, "LOCK", "sys/mounts"), 405)


def test_a_kept_alive_connection_gets_then_lists(vault: Vault, name: str) -> None:
    """The LIST rewrite watches each request's start on a kept-alive connection."""
    vault.client().secrets.kv.v2.create_or_update_secret(path=f"{name}/a", secret={"k": "v"})
    first = b"GET /vault/v1/sys/health HTTP/1.1\r\nHost: x\r\n\r\n"
    then = (
        f"LIST /vault/v1/secret/metadata/{name} HTTP/1.1\r\nHost: x\r\n"
        f"Connection: close\r\nX-Vault-Token: {vault.root_key}\r\n\r\n"
    ).encode()
    where = urlsplit(vault.server.url)
    with socket.create_connection((where.hostname or "", where.port or 80), timeout=10) as conn:
        conn.sendall(first)
        chunks = [conn.recv(65536)]
        conn.sendall(then)
        while chunk := conn.recv(65536):
            chunks.append(chunk)
    answers = b"".join(chunks)
    assert answers.startswith(b"HTTP/1.1 200") and answers.count(b"HTTP/1.1 200") == 2
    assert b'"keys":["a"]' in answers
