"""An end user's hostile request through the gateway, as raw bytes on a real
socket: header values with NUL, invalid UTF-8, an encoded surrogate, control
characters or 60 kB, and paths with NUL or an encoded surrogate. Each is
proxied or refused cleanly by the HTTP parser (never a 500), what is recorded
is cleaned, and a normal request after them is recorded. On every store."""

from __future__ import annotations

import pytest

from keystead.service import Keystead
from poison import RAW_HEADER_VALUES, cleaned

from .gatewaykit import config_of, head_and_body, raw_exchange, route, site
from .upstreams import serving, status_echo

PATHS = [b"/a%00b", b"/a/%ED%A0%80", b"/a/" + b"x" * 6000]


def request(path: bytes, key: str, extra: bytes = b"") -> bytes:
    return (
        b"GET " + path + b" HTTP/1.1\r\nHost: gw\r\nConnection: close\r\n"
        b"X-API-Key: " + key.encode() + b"\r\n" + extra + b"\r\n"
    )


@pytest.mark.parametrize("raw", RAW_HEADER_VALUES)
async def test_hostile_headers_and_paths(keystead: Keystead, raw: bytes) -> None:
    async with serving(status_echo(200)) as up, site(keystead, config_of([route(up.url)])) as s:
        key, key_id = await s.key()
        sent = [
            request(b"/a", key, b"User-Agent: " + raw + b"\r\n"),
            request(b"/a", key, b"Referer: " + raw + b"\r\n"),
            *(request(path, key) for path in PATHS),
        ]
        proxied = 0
        for hostile in sent:
            status, _, _ = head_and_body(await raw_exchange(s.url, hostile))
            code = int(status.split()[1])
            assert code < 500, status
            proxied += code == 200
        normal, _, _ = head_and_body(await raw_exchange(s.url, request(b"/a", key)))
        assert normal.startswith("HTTP/1.1 200")
        await keystead.flush()
        records = await keystead.usage.records(s.operator, key_id=key_id, limit=100)

    assert keystead.usage.recorder.pending == 0
    assert len(records) == proxied + 1
    assert records[0].path == "/a"
    for record in records:
        for value in (record.ip, record.user_agent, record.method, record.path):
            assert value is None or cleaned(value)
