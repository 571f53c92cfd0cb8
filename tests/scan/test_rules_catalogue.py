"""The shipped rules file: every rule finds its true sample and stays silent
on its decoys, under the semantics the engine applies (regex, ``secret``
group, allow list, entropy floor, validator), and every regex compiles in
each engine the scanner may use."""

from __future__ import annotations

import importlib.resources
import importlib.util
import math
import re
import shutil
import subprocess
import tomllib
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from keystead.core import keyformat
from keystead.scan.engine import Scanner
from keystead.scan.rules import load_rules
from keystead.scan.validators import VALIDATORS

from ._rule_samples import SAMPLES, break_last

RULES: list[dict[str, Any]] = tomllib.loads(
    importlib.resources.files("keystead.scan").joinpath("rules.toml").read_text("utf-8")
)["rules"]
BY_ID = {rule["id"]: rule for rule in RULES}


def entropy(text: str) -> float:
    counts = Counter(text)
    return -sum(n / len(text) * math.log2(n / len(text)) for n in counts.values())


def found(rule: dict[str, Any], text: str) -> list[str]:
    """What the rule reports from ``text``: the engine's pipeline, in short."""
    pattern = re.compile(rule["regex"])
    secrets = []
    for match in pattern.finditer(text):
        secret = match.group("secret") if "secret" in pattern.groupindex else match.group(0)
        if any(re.search(allow, secret) for allow in rule.get("allow", ())):
            continue
        if "entropy" in rule and entropy(secret) < rule["entropy"]:
            continue
        if "validator" in rule and not VALIDATORS[rule["validator"]](secret):
            continue
        secrets.append(secret)
    return secrets


def test_the_catalogue_covers_forty_credential_types_with_unique_ids() -> None:
    ids = [rule["id"] for rule in RULES]
    assert len(ids) == len(set(ids))
    assert len(ids) >= 40
    assert len({rule["kind"] for rule in RULES}) >= 40


def test_every_rule_is_complete() -> None:
    for rule in RULES:
        assert set(rule) <= {
            "id",
            "description",
            "regex",
            "keywords",
            "entropy",
            "validator",
            "kind",
            "allow",
        }, rule["id"]
        assert rule["description"] and rule["kind"], rule["id"]
        assert rule["keywords"], f"{rule['id']}: the prefilter needs a keyword"
        if "validator" in rule:
            assert rule["validator"] in VALIDATORS, rule["id"]
        if "entropy" in rule:
            assert 0 < rule["entropy"] < 6, rule["id"]


def test_every_rule_has_samples() -> None:
    assert set(BY_ID) == set(SAMPLES) | {"pgp-private-key"}


LOOKAROUND_OR_BACKREFERENCE = re.compile(r"\(\?<?[=!]|\\[1-9]|\(\?P=")


@pytest.mark.parametrize("rule", RULES, ids=lambda rule: rule["id"])
def test_regex_is_portable(rule: dict[str, Any]) -> None:
    assert LOOKAROUND_OR_BACKREFERENCE.search(rule["regex"]) is None
    for count in re.findall(r"\{(\d+)(?:,(\d*))?\}", rule["regex"]):
        assert all(int(n) <= 1000 for n in count if n), "RE2 caps repetition at 1000"
    re.compile(rule["regex"])
    for allow in rule.get("allow", ()):
        re.compile(allow)


@pytest.mark.skipif(importlib.util.find_spec("re2") is None, reason="google-re2 not installed")
def test_every_regex_compiles_with_re2() -> None:
    import re2  # type: ignore[import-not-found, import-untyped, unused-ignore]

    for rule in RULES:
        re2.compile(rule["regex"])


@pytest.mark.skipif(importlib.util.find_spec("hyperscan") is None, reason="hyperscan not installed")
def test_every_regex_compiles_with_hyperscan_with_start_of_match() -> None:
    import hyperscan  # type: ignore[import-not-found, import-untyped, unused-ignore]

    for rule in RULES:
        database = hyperscan.Database()
        database.compile(
            expressions=[rule["regex"].encode()],
            ids=[0],
            elements=1,
            flags=[hyperscan.HS_FLAG_SOM_LEFTMOST],
        )


@pytest.mark.parametrize("rule_id", sorted(SAMPLES))
def test_true_sample_is_found_and_validated(rule_id: str) -> None:
    sample = SAMPLES[rule_id]
    assert found(BY_ID[rule_id], sample.text) == [sample.secret]


@pytest.mark.parametrize("rule_id", sorted(SAMPLES))
def test_decoys_are_not_found(rule_id: str) -> None:
    sample = SAMPLES[rule_id]
    assert sample.decoys
    for decoy in sample.decoys:
        assert found(BY_ID[rule_id], decoy) == [], decoy


@pytest.mark.parametrize("rule_id", sorted(SAMPLES))
def test_a_keyword_appears_in_every_true_match(rule_id: str) -> None:
    """The prefilter skips text without a keyword: a keyword missing from a
    real match would hide the secret."""
    rule = BY_ID[rule_id]
    match = re.search(rule["regex"], SAMPLES[rule_id].text)
    assert match is not None
    assert any(k.lower() in match.group(0).lower() for k in rule["keywords"])


def test_keystead_keys_of_any_prefix_are_all_found_and_broken_ones_never() -> None:
    rule = BY_ID["keystead-key"]
    for n in range(300):
        prefix = "p" + "x" * (n % 20) + ("_live" if n % 3 else "") + str(n % 7)
        key = keyformat.generate(prefix, 27 + n % 38)
        assert found(rule, f'KEY="{key}"') == [key]
        assert found(rule, f"key: {break_last(key)}\n") == []


def test_keystead_key_inside_a_longer_identifier_is_not_a_finding() -> None:
    key = keyformat.generate("ks")
    assert found(BY_ID["keystead-key"], f"x{key}y") == []


@pytest.mark.skipif(shutil.which("gpg") is None, reason="gpg not installed")
def test_pgp_secret_key_block_exported_by_gpg_is_found(tmp_path: Path) -> None:
    home = tmp_path / "gnupg"
    home.mkdir(mode=0o700)
    gpg = ["gpg", "--homedir", str(home), "--batch", "--pinentry-mode", "loopback"]
    subprocess.run(
        [*gpg, "--passphrase", "", "--quick-gen-key", "Demo <demo@example.invalid>", "ed25519"],
        check=True,
        capture_output=True,
    )
    armored = subprocess.run(
        [*gpg, "--passphrase", "", "--armor", "--export-secret-keys"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    rule = BY_ID["pgp-private-key"]
    assert found(rule, armored) == [armored.strip()]
    lines = armored.strip().splitlines()
    body = next(i for i, line in enumerate(lines) if len(line) > 40)
    lines[body] = lines[body][:10] + ("A" if lines[body][10] != "A" else "B") + lines[body][11:]
    assert found(rule, "\n".join(lines)) == [], "a changed body no longer matches its CRC-24"


def test_generic_rule_reads_env_yaml_json_and_code() -> None:
    rule = BY_ID["generic-secret-assignment"]
    value = SAMPLES["generic-secret-assignment"].secret
    for line in (
        f"DB_PASSWORD={value}",
        f"  client_secret: {value}",
        f'{{"apiKey": "{value}"}}',
        f"const authToken = '{value}';",
        f'conn(password="{value}")',
        f"secret := `{value}`",
    ):
        assert found(rule, line) == [value], line
    for line in (f"password_hash = '{value}'", f"token_url = '{value}'"):
        assert found(rule, line) == [], line


def test_the_rules_page_lists_every_rule_and_validator() -> None:
    page = (Path(__file__).resolve().parents[2] / "docs" / "scanning" / "scan-rules.md").read_text()
    for rule in RULES:
        assert f"| `{rule['id']}` |" in page, rule["id"]
    for name in VALIDATORS:
        assert f"| `{name}` |" in page, name


@pytest.fixture(scope="module")
def scanner() -> Scanner:
    return Scanner(load_rules())


@pytest.mark.parametrize("rule_id", sorted(SAMPLES))
def test_the_engine_reports_each_true_sample_under_its_rule(scanner: Scanner, rule_id: str) -> None:
    sample = SAMPLES[rule_id]
    reported = {(f.rule_id, f.secret) for f in scanner.scan_text(sample.text, "sample.txt")}
    assert (rule_id, sample.secret) in reported


@pytest.mark.parametrize("rule_id", sorted(SAMPLES))
def test_the_engine_reports_no_decoy_under_its_rule(scanner: Scanner, rule_id: str) -> None:
    for decoy in SAMPLES[rule_id].decoys:
        reported = [f.rule_id for f in scanner.scan_text(decoy, "decoy.txt")]
        assert rule_id not in reported, decoy


@pytest.mark.parametrize(
    ("rule_id", "shadowed"),
    [("supabase-service-key", "jwt"), ("gcp-service-account-key", "private-key")],
)
def test_the_specific_rule_wins_over_the_general_one(
    scanner: Scanner, rule_id: str, shadowed: str
) -> None:
    sample = SAMPLES[rule_id]
    reported = [f.rule_id for f in scanner.scan_text(sample.text, "sample.json")]
    assert rule_id in reported
    assert shadowed not in reported


def test_no_rule_reports_any_decoy(scanner: Scanner) -> None:
    """A decoy of one rule is not picked up by another (the generic rule
    on a token whose checksum is wrong, the JWT rule on a public key)."""
    for rule_id, sample in sorted(SAMPLES.items()):
        for decoy in sample.decoys:
            reported = [f.rule_id for f in scanner.scan_text(decoy, "decoy.txt")]
            assert reported == [], (rule_id, reported)
