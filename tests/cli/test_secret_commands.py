"""``keystead secrets``: locally and against a real server (``ready``), with the
exit codes and messages scripts rely on; values never from argv."""

from __future__ import annotations

from pathlib import Path

import pytest

from keystead.cli import _secret_input

from ._support import Cli


def test_put_get_and_field(ready: Cli, tmp_path: Path) -> None:
    secret_file = tmp_path / "pw"
    secret_file.write_text("s3cret-from-file", encoding="utf-8")
    written = ready.json("secrets", "put", "app/db", f"password=@{secret_file}", "user=-",
                         input="admin\n")  # fmt: skip
    assert (written["mount"], written["path"], written["metadata"]["version"]) == (
        "secret",
        "app/db",
        1,
    )
    assert "s3cret" not in str(written)

    read = ready.json("secrets", "get", "app/db")
    assert read["data"] == {"password": "s3cret-from-file", "user": "admin"}
    only = ready.ok("secrets", "get", "app/db", "--field", "password")
    assert only.stdout == "s3cret-from-file\n"
    table = ready.ok("secrets", "get", "app/db").stdout
    assert "password" in table and "s3cret-from-file" in table and "admin" in table

    missing = ready.fails(1, "secrets", "get", "app/db", "--field", "nope")
    assert "no field 'nope'" in missing.stderr and "s3cret" not in missing.output


def test_a_value_on_the_command_line_is_refused(ready: Cli) -> None:
    refused = ready.fails(2, "secrets", "put", "app/db", "password=hunter2")
    assert "shell history" in refused.stderr and "password=@FILE" in refused.stderr
    assert "hunter2" not in refused.stderr
    assert ready.fails(1, "secrets", "get", "app/db").stderr.startswith("error: Not Found")
    ready.fails(2, "secrets", "put", "app/db")  # no field at all
    ready.fails(2, "secrets", "put", "app/db", "a=-", "b=-", input="x\n")
    nofile = ready.fails(2, "secrets", "put", "app/db", "a=@/nonexistent/file")
    assert "cannot read the file" in nofile.stderr
    # a field alone asks for its value, which needs a terminal
    assert "needs a terminal" in ready.fails(2, "secrets", "put", "app/db", "password").stderr


def test_a_field_alone_is_prompted_without_echo(
    ready: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(_secret_input, "interactive", lambda: True)
    result = ready.ok("secrets", "put", "app/db", "password", input="typed-secret\n")
    assert "typed-secret" not in result.output  # hidden input: not echoed
    assert ready.json("secrets", "get", "app/db")["data"] == {"password": "typed-secret"}


def test_versions_delete_undelete_destroy_rollback(ready: Cli) -> None:
    for value in ("one", "two"):
        ready.json("secrets", "put", "app/db", "v=-", input=f"{value}\n")
    ready.json("secrets", "patch", "app/db", "extra=-", input="x\n")
    versions = ready.json("secrets", "versions", "app/db")
    assert [v["version"] for v in versions["versions"]] == [1, 2, 3]
    assert "Version" in ready.ok("secrets", "versions", "app/db").stdout

    ready.json("secrets", "delete", "app/db")
    gone = ready.fails(1, "secrets", "get", "app/db")
    assert "deleted" in gone.stderr and "undelete" in gone.stderr
    ready.json("secrets", "undelete", "app/db", "--version", "3")
    ready.fails(2, "secrets", "undelete", "app/db")  # which versions?
    ready.json("secrets", "destroy", "app/db", "-v", "1", "--yes")
    assert "destroyed" in ready.fails(1, "secrets", "get", "app/db", "--version", "1").stderr
    assert "destroyed" in ready.fails(1, "secrets", "rollback", "app/db", "1").stderr
    rolled = ready.json("secrets", "rollback", "app/db", "2")
    assert rolled["metadata"]["version"] == 4
    assert ready.json("secrets", "get", "app/db")["data"] == {"v": "two"}
    assert (
        "check-and-set"
        in ready.fails(1, "secrets", "put", "app/db", "v=-", "--cas", "1", input="x\n").stderr
    )


def test_list_and_metadata(ready: Cli) -> None:
    for path in ("payments/stripe", "payments/eu/adyen", "db"):
        ready.json("secrets", "put", path, "k=-", input="v\n")
    assert ready.json("secrets", "list")["keys"] == ["db", "payments/"]
    assert ready.json("secrets", "list", "payments")["keys"] == ["eu/", "stripe"]
    assert ready.json("secrets", "list", "nothing")["keys"] == []
    assert "stripe" in ready.ok("secrets", "list", "payments").stdout

    changed = ready.json("secrets", "metadata", "set", "db", "--max-versions", "3",
                         "--custom", "team=core", "--delete-version-after", "30d")  # fmt: skip
    assert (changed["max_versions"], changed["custom_metadata"]) == (3, {"team": "core"})
    assert changed["delete_version_after"] == 30 * 86400
    shown = ready.ok("secrets", "metadata", "get", "db").stdout
    assert "team" in shown and "Max versions" in shown
    ready.fails(2, "secrets", "metadata", "set", "db")  # nothing to change
    ready.fails(2, "secrets", "metadata", "set", "db", "--custom", "novalue")
    ready.json("secrets", "metadata", "delete", "db", "--yes")
    assert "Not Found" in ready.fails(1, "secrets", "metadata", "get", "db").stderr


def test_mounts(ready: Cli) -> None:
    listed = ready.json("secrets", "mounts", "list")
    assert [m["name"] for m in listed["items"]] == ["secret"]
    made = ready.json("secrets", "mounts", "enable", "team-a", "--max-versions", "2")
    assert made["config"]["max_versions"] == 2
    assert "Conflict" in ready.fails(1, "secrets", "mounts", "enable", "team-a").stderr
    changed = ready.json("secrets", "mounts", "config", "team-a", "--cas-required")
    assert changed["config"]["cas_required"] is True
    assert ready.json("secrets", "mounts", "config", "team-a") == changed
    needs_cas = ready.fails(1, "secrets", "put", "x", "k=-", "--mount", "team-a", input="v\n")
    assert "check-and-set" in needs_cas.stderr
    ready.json("secrets", "put", "x", "k=-", "--mount", "team-a", "--cas", "0", input="v\n")
    bad = ready.fails(1, "secrets", "mounts", "enable", "Bad/Name")
    assert "mount" in bad.stderr


@pytest.mark.parametrize("path", ["a/../b", "a//b", "a/%2e%2e/b"])
def test_crafted_paths_are_refused(ready: Cli, path: str) -> None:
    refused = ready.fails(1, "secrets", "get", path)
    assert "path" in refused.stderr
