"""``keystead secrets export``, on the local store and against a real server: the
three formats read back by what they are for, a 0600 output file, and the warning
when git would carry that file."""

from __future__ import annotations

import json
import shutil
import stat
import subprocess
from pathlib import Path

import pytest

from keystead.consume.dotenv import parse_env

from ._secrets_support import STRIPE, put
from ._support import Cli

HARD = 'it\'s "$(id)" `x` $HOME\nline two'


def seed() -> None:
    put("payments", {"stripe_key": STRIPE, "note": HARD})


def test_json_dotenv_and_shell(ready: Cli, tmp_path: Path) -> None:
    seed()
    env_file = tmp_path / ".env"
    env_file.write_text("KEY=keystead://secret/payments#stripe_key\nLOG_LEVEL=info\n")
    expected = {"STRIPE_KEY": STRIPE, "NOTE": HARD, "KEY": STRIPE, "LOG_LEVEL": "info"}
    sources = ["secrets", "export", "--path", "secret/payments", "--env-file", str(env_file)]

    as_json = json.loads(ready.ok(*sources, "--format", "json").stdout)
    assert as_json == expected

    dotenv = ready.ok(*sources).stdout
    assert {line.name: line.value for line in parse_env(dotenv)} == expected

    shell = ready.ok(*sources, "--format", "shell").stdout
    assert all(line.startswith("export ") for line in shell.splitlines() if "=" in line)
    if shutil.which("sh"):
        script = shell + 'printf "%s" "$NOTE"'
        printed = subprocess.run(["sh", "-c", script], capture_output=True, text=True, check=True)
        assert printed.stdout == HARD


def test_a_map_alone(ready: Cli) -> None:
    seed()
    out = ready.ok("secrets", "export", "--map", "S=secret/payments#stripe_key", "-f", "json")
    assert json.loads(out.stdout) == {"S": STRIPE}


def test_output_is_a_0600_file_and_json_names_no_value(ready: Cli, tmp_path: Path) -> None:
    seed()
    target = tmp_path / "ci.env"
    target.write_text("old\n")
    target.chmod(0o644)
    summary = ready.json("secrets", "export", "-p", "secret/payments", "--output", str(target))

    assert summary == {
        "output": str(target),
        "format": "dotenv",
        "variables": ["NOTE", "STRIPE_KEY"],  # a secret's fields in name order
    }
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    assert {x.name: x.value for x in parse_env(target.read_text())}["STRIPE_KEY"] == STRIPE
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".ci.env.")] == []


def git(cwd: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True)


@pytest.mark.skipif(shutil.which("git") is None, reason="needs git")
def test_a_warning_when_git_would_carry_the_file(ready: Cli, tmp_path: Path) -> None:
    seed()
    repo = tmp_path / "repo"
    repo.mkdir()
    git(repo, "init", "-q")
    (repo / ".gitignore").write_text("*.local\n")
    (repo / "ci.env").write_text("placeholder\n")
    git(repo, "add", "ci.env", ".gitignore")
    git(repo, "-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "-qm", "x")

    def export_to(name: str) -> str:
        done = ready.ok("secrets", "export", "-p", "secret/payments", "-o", str(repo / name))
        assert STRIPE not in done.output
        return done.stderr

    assert "is tracked by git" in export_to("ci.env")
    assert "not ignored" in export_to("new.env")
    assert "warning:" not in export_to("ci.local")


def test_errors(ready: Cli) -> None:
    seed()
    assert (
        "--format is one of"
        in ready.fails(2, "secrets", "export", "-p", "secret/payments", "-f", "yaml").stderr
    )
    assert "nothing to export" in ready.fails(2, "secrets", "export").stderr
    missing = ready.fails(1, "secrets", "export", "-p", "secret/missing")
    assert "404" in missing.stderr
