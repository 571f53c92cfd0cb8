"""The Vault wire formats: durations and timestamps as Go prints and parses them."""

from __future__ import annotations

import os
import uuid
from datetime import UTC, datetime

import pytest

from keystead.http.vault.wire import (
    VaultError,
    format_duration,
    new_request_id,
    parse_duration,
    rfc3339,
)


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("0s", 0),
        ("0", 0),
        ("30s", 30),
        ("1h", 3600),
        ("2h45m", 9900),
        ("1h30m15s", 5415),
        ("90m", 5400),
        ("1.5h", 5400),
        ("1500ms", None),
        ("2000ms", 2),
        ("3d", 259200),
        ("45", 45),
        ("", 0),
        (45, 45),
        (45.0, 45),
    ],
)
def test_parse_duration(text: str | int | float, seconds: int | None) -> None:
    if seconds is None:
        with pytest.raises(VaultError):
            parse_duration(text, "d")
    else:
        assert parse_duration(text, "d") == seconds


@pytest.mark.parametrize(
    "text", ["s", "-1s", "1x", "1h 30m", "h1", "1.5.5s", "1e3s", True, None, [1], -3, 1.5]
)
def test_parse_duration_refuses(text: object) -> None:
    with pytest.raises(VaultError) as raised:
        parse_duration(text, "delete_version_after")
    assert raised.value.status == 400
    assert raised.value.messages[0].startswith("delete_version_after")


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(0, "0s"), (45, "45s"), (60, "1m0s"), (9900, "2h45m0s"), (90061, "25h1m1s")],
)
def test_format_duration_is_gos(seconds: int, text: str) -> None:
    assert format_duration(seconds) == text
    assert parse_duration(text, "d") == seconds


def test_rfc3339_as_go_prints_it() -> None:
    assert rfc3339(None) == ""
    assert rfc3339(datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)) == "2026-01-02T03:04:05Z"
    moment = datetime(2026, 1, 2, 3, 4, 5, 123400, tzinfo=UTC)
    assert rfc3339(moment) == "2026-01-02T03:04:05.1234Z"


def test_request_ids_are_version_4_uuids_and_differ_across_forked_workers() -> None:
    ids = {new_request_id() for _ in range(1000)}
    assert len(ids) == 1000
    assert all(str(uuid.UUID(i)) == i and uuid.UUID(i).version == 4 for i in ids)
    read, write = os.pipe()
    child = os.fork()
    if child == 0:  # a worker of `keystead serve --workers N`
        os.write(write, new_request_id().encode())
        os._exit(0)
    os.waitpid(child, 0)
    os.close(write)
    from_child = os.read(read, 64).decode()
    os.close(read)
    assert from_child != new_request_id()
    assert uuid.UUID(from_child).version == 4
