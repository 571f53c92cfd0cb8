"""docs/tokens.md's first Python example (exchange a key, verify the token with
PyJWT through the JWKS URL) runs as printed, in a fresh interpreter, against a real
``keystead serve``."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from .kit import Deployment

DOCUMENT = Path(__file__).resolve().parents[2] / "docs" / "tokens.md"
PYTHON_BLOCK = re.compile(r"^```python\n(.*?)^```", re.M | re.S)


def first_example() -> str:
    found = PYTHON_BLOCK.search(DOCUMENT.read_text())
    assert found is not None, "docs/tokens.md has no Python example"
    return found.group(1)


def test_the_pyjwt_example_runs(deployment: Deployment, tmp_path: Path) -> None:
    example = first_example()
    assert "PyJWKClient" in example and "jwt.decode" in example
    api_id = deployment.new_api()
    key = deployment.new_key(api_id, ["documents.read"])
    script = tmp_path / "example.py"
    script.write_text(example)
    env = {k: v for k, v in deployment.env.items() if not k.startswith("KEYSTEAD_")} | {
        "KEYSTEAD_URL": deployment.url,
        "API_ID": api_id,
        "KEYSTEAD_API_KEY": key.secret,
    }
    done = subprocess.run(
        [sys.executable, str(script)], env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == [key.id, "['documents.read']"]
