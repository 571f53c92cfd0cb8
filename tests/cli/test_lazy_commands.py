"""Commands are imported when they run: ``keystead scan`` and ``keystead hooks``
start without the service, the client or the HTTP stack, and ``--help`` still
lists every command."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from keystead.cli import COMMANDS

from ._support import Cli

_HEAVY = ("keystead.service", "keystead.client", "keystead.config", "keystead.http", "fastapi")
_PROBE = """
import json, sys
from keystead.cli import main
sys.argv = ["keystead", *sys.argv[1:]]
try:
    main()
except SystemExit:
    pass
print(json.dumps(sorted(sys.modules)), file=sys.stderr)
"""


def _modules_loaded_by(*args: str, cwd: Path) -> list[str]:
    done = subprocess.run(
        [sys.executable, "-c", _PROBE, *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        check=False,
    )
    loaded: list[str] = json.loads(done.stderr.strip().splitlines()[-1])
    return [m for m in loaded if m.startswith(_HEAVY)]


@pytest.mark.parametrize(
    "args",
    [
        ["scan", "settings.py"],
        ["scan", "settings.py", "--json"],
        ["hooks", "--help"],
        ["--version"],
    ],
)
def test_scan_and_hooks_start_without_the_service(tmp_path: Path, args: list[str]) -> None:
    (tmp_path / "settings.py").write_text("DEBUG = True\n", encoding="utf-8")
    assert _modules_loaded_by(*args, cwd=tmp_path) == []


def test_a_server_command_still_loads_what_it_needs(tmp_path: Path) -> None:
    assert "keystead.client" in _modules_loaded_by("keys", "--help", cwd=tmp_path)


def test_help_lists_every_command_and_each_one_loads(cli: Cli) -> None:
    listed = cli.ok("--help").stdout
    names = [name for entry in COMMANDS for name in entry.names]
    assert len(names) == len(set(names))
    for name in names:
        assert f" {name} " in listed, name
        assert "Usage: keystead " in cli.ok(name, "--help").stdout, name
    assert "rotation" in cli.ok("secrets", "--help").stdout  # extended by its register()
    assert "verify" in cli.ok("keys", "--help").stdout
