"""The key format is public: the scanner snippet in docs/security.md must agree
with the implementation, or third-party scanners built from it would be wrong."""

import re
from pathlib import Path
from typing import Any

from keystead.core import keyformat

DOC = Path(__file__).resolve().parents[2] / "docs" / "security.md"


def _documented() -> dict[str, Any]:
    text = DOC.read_text()
    block = re.search(r"```python\n(.*?)```", text, re.S)
    assert block is not None
    namespace: dict[str, Any] = {}
    exec(compile(block.group(1), str(DOC), "exec"), namespace)  # noqa: S102 - our own doc
    pattern = re.search(r"```\n(\\b.*?)\n```", text, re.S)
    assert pattern is not None
    namespace["PATTERN"] = re.compile(pattern.group(1))
    return namespace


def test_documented_checker_and_regex_match_the_implementation() -> None:
    doc = _documented()
    for prefix in ("ks", "acme_live", "ksroot", "a" * 32):
        key = keyformat.generate(prefix)
        assert doc["looks_like_keystead_key"](key)
        assert doc["checksum"](key[:-6]) == keyformat.checksum(key[:-6])
        found = doc["PATTERN"].findall(f"token={key}; other")
        assert found == [key]
        tampered = key[:-1] + ("A" if key[-1] != "A" else "B")
        assert not doc["looks_like_keystead_key"](tampered)
