"""``secrets export`` formats: each one, read back by what it is meant for (a real
POSIX shell for ``shell``, the env-file parser for ``dotenv``, json for ``json``)."""

from __future__ import annotations

import json
import shutil
import subprocess

import pytest

from keystead.consume.dotenv import parse_env
from keystead.consume.formats import render

ENV = {
    "PLAIN": "value",
    "QUOTES": 'it\'s "quoted"',
    "SHELLY": "$(touch /tmp/pwned) `id` ${HOME}; rm -rf / &",
    "LINES": "one\ntwo\r\n",
    "EMPTY": "",
    "UNICODE": "ключ ✓",
}


def test_dotenv_reads_back_exactly() -> None:
    text = render(ENV, "dotenv")
    assert {line.name: line.value for line in parse_env(text)} == ENV


def test_json_is_one_object() -> None:
    assert json.loads(render(ENV, "json")) == ENV


@pytest.mark.skipif(shutil.which("sh") is None, reason="needs a POSIX shell")
def test_shell_lines_give_the_exact_values_to_a_real_shell() -> None:
    script = render(ENV, "shell") + "".join(f'printf "%s\\0" "${name}"\n' for name in ENV)
    result = subprocess.run(["sh", "-c", script], capture_output=True, check=True)
    assert result.stdout.decode().split("\0")[:-1] == list(ENV.values())
