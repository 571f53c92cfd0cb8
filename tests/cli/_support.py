"""A small driver for the CLI in tests: run a command, check it never showed a
traceback, parse its JSON."""

from __future__ import annotations

import json
import re
from typing import Any

from typer.testing import CliRunner, Result

from keystead.cli import app

KEY_PATTERN = re.compile(r"\b[a-z][a-z0-9_]*_[0-9A-Za-z]{33,70}\b")
ROOT_KEY_PATTERN = re.compile(r"\bksroot_[0-9A-Za-z]{33,70}\b")


class Cli:
    """Runs ``keystead`` in-process with the environment the fixture set up."""

    def __init__(self) -> None:
        self.runner = CliRunner()
        self.outputs: list[str] = []

    def run(self, *args: str, input: str | None = None) -> Result:
        result = self.runner.invoke(app, list(args), input=input)
        self.outputs.append(result.output)
        assert "Traceback" not in result.output, result.output
        if result.exception is not None and not isinstance(result.exception, SystemExit):
            raise AssertionError(f"the command raised {result.exception!r}") from result.exception
        return result

    def ok(self, *args: str, input: str | None = None) -> Result:
        result = self.run(*args, input=input)
        assert result.exit_code == 0, f"exit {result.exit_code}: {result.output}"
        return result

    def json(self, *args: str, input: str | None = None) -> Any:
        """Run with --json, expect success, parse stdout as one JSON document."""
        result = self.ok(*args, "--json", input=input)
        return json.loads(result.stdout)

    def fails(self, code: int, *args: str, input: str | None = None) -> Result:
        """Run, expect exit ``code`` with a one-line message on stderr."""
        result = self.run(*args, input=input)
        assert result.exit_code == code, f"exit {result.exit_code}: {result.output}"
        assert result.stderr.strip(), "a failure must explain itself on stderr"
        return result

    def everything_printed(self) -> str:
        return "\n".join(self.outputs)
