from __future__ import annotations

import json
from pathlib import Path

import pytest

from keystead.core import keyformat
from keystead.errors import ValidationError
from keystead.scan.baseline import Baseline
from keystead.scan.engine import Scanner
from keystead.scan.rules import load_rules


def test_a_baseline_accepts_its_findings_and_no_others(tmp_path: Path) -> None:
    scanner = Scanner(load_rules(), cache_dir=False)
    accepted, fresh = keyformat.generate("ks"), keyformat.generate("ks")
    findings = scanner.scan_text(f"a = '{accepted}'\n", "app.py")
    path = tmp_path / ".keystead-baseline.json"
    written = Baseline.write(path, findings + findings)

    text = path.read_text("utf-8")
    assert accepted not in text
    assert accepted[-8:] not in text
    document = json.loads(text)
    assert document == {
        "version": 1,
        "findings": [
            {
                "fingerprint": findings[0].fingerprint,
                "rule_id": "keystead-key",
                "path": "app.py",
                "line": 1,
            }
        ],
    }

    loaded = Baseline.load(path)
    assert len(loaded) == len(written) == 1
    # the accepted key moved two lines down: still accepted; a new key is not
    later = scanner.scan_text(f"\n\na = '{accepted}'\nb = '{fresh}'\n", "app.py")
    assert [loaded.contains(f) for f in later] == [True, False]
    assert [f.secret for f in loaded.filter(later)] == [fresh]
    # the same key in another file is a different finding
    elsewhere = scanner.scan_text(f"a = '{accepted}'\n", "other.py")
    assert not loaded.contains(elsewhere[0])


@pytest.mark.parametrize(
    ("content", "words"),
    [
        ("{not json", "not valid JSON"),
        ("[]", "expected"),
        ('{"version": 2, "findings": []}', "version 2 is not supported"),
        ('{"version": 1, "findings": [{"fingerprint": "abc"}]}', "findings[0]"),
        ('{"version": 1, "findings": ["x"]}', "findings[0]"),
    ],
)
def test_a_malformed_baseline_is_a_clear_error(tmp_path: Path, content: str, words: str) -> None:
    path = tmp_path / "baseline.json"
    path.write_text(content, "utf-8")
    with pytest.raises(ValidationError) as caught:
        Baseline.load(path)
    assert str(path) in str(caught.value)
    assert words in str(caught.value)


def test_a_missing_baseline_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match="can not be read"):
        Baseline.load(tmp_path / "absent.json")
