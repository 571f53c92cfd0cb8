"""Failures: one clear line on stderr, the documented exit code, never a traceback."""

from __future__ import annotations

import socket
import subprocess
import sys
from pathlib import Path

import pytest

from keystead.cli import _runtime
from keystead.client import Client
from keystead.service.apis import ApiService

from ._support import Cli


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


def test_unknown_ids_are_domain_errors(ready: Cli) -> None:
    assert "no key" in ready.fails(1, "keys", "show", "key_01M81PC07QCGC810KG999WVGT0").stderr
    ready.fails(1, "keys", "revoke", "key_nope", "--yes")
    ready.fails(1, "apis", "show", "api_nope")
    ready.fails(1, "keys", "create", "--api", "api_nope")
    ready.fails(1, "root-keys", "revoke", "rk_nope", "--yes")


def test_an_unknown_root_key_permission_is_refused(ready: Cli) -> None:
    result = ready.fails(1, "root-keys", "create", "--permission", "god.mode")
    assert "unknown root key permission 'god.mode'" in result.stderr
    created = ready.json("root-keys", "create", "--permission", "keys.*")
    assert created["permissions"] == ["keys.*"]


@pytest.mark.parametrize(
    ("meta", "message"),
    [("{not json", "not valid JSON"), ("[1, 2]", "JSON object"), ("@/nonexistent", "cannot read")],
)
def test_bad_meta_is_a_usage_error(ready: Cli, meta: str, message: str) -> None:
    api = ready.json("apis", "create", "meta")

    result = ready.fails(2, "keys", "create", "--api", api["id"], "--meta", meta)

    assert message in result.stderr
    assert result.stdout == ""


def test_bad_restrictions_name_the_problem(ready: Cli) -> None:
    api = ready.json("apis", "create", "rules")

    shape = ready.fails(1, "keys", "create", "--api", api["id"], "--restrictions", '{"ipz": 1}')
    host_bits = ready.fails(
        1, "keys", "create", "--api", api["id"], "--restrictions", '{"ips": ["10.0.0.1/8"]}'
    )

    assert "ipz" in shape.stderr
    assert "restrictions.ips" in host_bits.stderr
    assert ready.json("keys", "list")["items"] == []


def test_option_conflicts_and_empty_updates_are_usage_errors(ready: Cli) -> None:
    api = ready.json("apis", "create", "opts")
    key_id = ready.json("keys", "create", "--api", api["id"])["id"]

    ready.fails(
        2, "keys", "create", "--api", api["id"], "--expires-at", "2030-01-01", "--expires-in", "1d"
    )
    ready.fails(2, "keys", "create", "--api", api["id"], "--expires-in", "soon")
    ready.fails(2, "keys", "create", "--api", api["id"], "--expires-at", "tomorrow")
    ready.fails(2, "keys", "update", key_id)
    ready.fails(2, "keys", "update", key_id, "--name", "x", "--clear-name")
    ready.fails(2, "apis", "roles", "put", api["id"], "empty")


def test_commands_before_init_say_what_to_do(cli: Cli) -> None:
    result = cli.fails(1, "apis", "list")

    assert "keystead init" in result.stderr


def test_unreachable_server_exits_3(ready: Cli, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KEYSTEAD_ROOT_KEY", "ksroot_whatever")

    result = ready.fails(3, "--url", f"http://127.0.0.1:{_closed_port()}", "apis", "list")

    assert "cannot reach" in result.stderr


def test_unreachable_store_exits_3(cli: Cli, monkeypatch: pytest.MonkeyPatch) -> None:
    cli.json("init")
    url = f"postgresql://nobody@127.0.0.1:{_closed_port()}/none"
    monkeypatch.setenv("KEYSTEAD_DATABASE_URL", url)

    result = cli.fails(3, "apis", "list")

    assert "unavailable" in result.stderr.lower()


def test_remote_mode_needs_a_root_key_from_env_or_file(ready_local: Cli, tmp_path: Path) -> None:
    url = f"http://127.0.0.1:{_closed_port()}"

    no_key = ready_local.fails(2, "--url", url, "apis", "list")
    missing_file = ready_local.fails(
        2, "--url", url, "--root-key-file", str(tmp_path / "x"), "keys", "list"
    )
    bad_url = ready_local.fails(
        2, "--url", "ftp://example.com", "--root-key-file", __file__, "keys", "list"
    )
    workspaces = ready_local.fails(2, "--url", url, "workspaces", "list")

    assert "KEYSTEAD_ROOT_KEY" in no_key.stderr
    assert "cannot read" in missing_file.stderr
    assert "http" in bad_url.stderr
    assert "local store" in workspaces.stderr


def test_there_is_no_root_key_option(ready: Cli) -> None:
    result = ready.run("--root-key", "ksroot_x", "apis", "list")

    assert result.exit_code == 2


def test_invalid_configuration_is_a_usage_error(
    ready: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KEYSTEAD_PORT", "many")

    result = ready.fails(2, "apis", "list")

    assert "KEYSTEAD_PORT" in result.stderr


def test_unexpected_errors_print_no_internals(ready: Cli, monkeypatch: pytest.MonkeyPatch) -> None:
    def explode(self: object) -> list[dict[str, object]]:
        raise RuntimeError("password=hunter2 in some internal state")

    monkeypatch.setattr(Client, "list_apis", explode)

    result = ready.fails(1, "apis", "list")

    assert "internal error" in result.stderr
    assert "hunter2" not in result.output


def test_a_failing_service_is_a_500_without_internals(
    ready_local: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Locally the service runs in this process, behind the HTTP app: what it
    raises is the app's 500 problem, never the exception's words."""

    async def explode(self: object, principal: object) -> list[object]:
        raise RuntimeError("password=hunter2 in some internal state")

    monkeypatch.setattr(ApiService, "list", explode)

    result = ready_local.fails(1, "apis", "list")

    assert "Internal Server Error (500)" in result.stderr
    assert "hunter2" not in result.output


def test_destructive_commands_ask_on_a_terminal(
    ready: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    api = ready.json("apis", "create", "ask")
    key_id = ready.json("keys", "create", "--api", api["id"])["id"]
    monkeypatch.setattr(_runtime, "interactive", lambda: True)

    declined = ready.run("keys", "delete", key_id, input="n\n")
    kept = ready.json("keys", "show", key_id)
    accepted = ready.run("keys", "delete", key_id, input="y\n")

    assert declined.exit_code == 1
    assert kept["id"] == key_id
    assert accepted.exit_code == 0
    ready.fails(1, "keys", "show", key_id)


def test_unreachable_limiter_exits_3_with_a_stable_line(
    ready_local: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    api = ready_local.json("apis", "create", "limited")
    key_id = ready_local.json("keys", "create", "--api", api["id"], "--name", "before")["id"]
    monkeypatch.setenv("KEYSTEAD_LIMITS_URL", f"redis://127.0.0.1:{_closed_port()}/0")

    result = ready_local.fails(3, "keys", "update", key_id, "--name", "after", "--credits", "5")

    assert "Service Unavailable (503): the rate-limit backend could not be reached" in (
        result.stderr
    )
    assert "Errno" not in result.stderr
    assert "refused" not in result.stderr.lower()
    assert ready_local.json("keys", "show", key_id)["name"] == "before"


def test_a_local_failure_prints_one_line_and_none_of_the_services_logs(
    ready_local: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    """In a real process (no test log capture): the in-process service's warnings
    (with the dependency's address and OS error) stay off the terminal."""
    api = ready_local.json("apis", "create", "quiet")
    key_id = ready_local.json("keys", "create", "--api", api["id"])["id"]
    monkeypatch.setenv("KEYSTEAD_LIMITS_URL", f"redis://127.0.0.1:{_closed_port()}/0")

    command = [sys.executable, "-m", "keystead.cli", "keys", "update", key_id, "--credits", "5"]
    run = subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)

    assert run.returncode == 3
    assert run.stderr.splitlines() == [
        "error: Service Unavailable (503): the rate-limit backend could not be reached; retry later"
    ]
