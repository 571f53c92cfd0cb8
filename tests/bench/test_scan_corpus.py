"""The scanner bench's seeded secrets are what the bench says they are.

Recall means something only if every seeded token is well formed and every
decoy is not: checked here against the formats' own rules (an independent
base62 CRC-32 check for GitHub and npm, ``keyformat.parse`` for Keystead keys,
``cryptography`` for the PEM keys, JSON for the JWT parts), and the recorded
line of every seed is the line that holds it.
"""

from __future__ import annotations

import base64
import importlib.util
import json
import random
import sys
import zlib
from pathlib import Path
from types import ModuleType

from cryptography.hazmat.primitives.serialization import load_pem_private_key

from keystead.core import keyformat

BENCH = Path(__file__).resolve().parents[2] / "bench"


def _load(name: str) -> ModuleType:
    if str(BENCH) not in sys.path:
        sys.path.insert(0, str(BENCH))
    spec = importlib.util.spec_from_file_location(name, BENCH / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


tokens = _load("_scan_tokens")
corpus = _load("scan_corpus")


def _github_crc_ok(token: str) -> bool:
    """GitHub's published scheme, decoded independently of the generator."""
    body, check = token.split("_")[-1][:-6], token[-6:]
    value = 0
    for ch in check:
        value = value * 62 + keyformat.ALPHABET.index(ch)
    return value == zlib.crc32(body.encode())


def test_github_and_npm_tokens_carry_a_valid_crc_and_decoys_do_not() -> None:
    rng = random.Random(1)
    for prefix in ("ghp", "gho", "ghs", "ghu", "ghr", "npm"):
        token = tokens.github_token(rng, prefix)
        assert len(token) == len(prefix) + 1 + 36
        assert _github_crc_ok(token)
    assert not any(_github_crc_ok(tokens.broken_github_token(rng)) for _ in range(50))


def test_keystead_keys_parse_and_broken_ones_do_not() -> None:
    rng = random.Random(2)
    assert all(keyformat.parse(tokens.keystead_key(rng)) for _ in range(50))
    assert not any(keyformat.parse(tokens.broken_keystead_key(rng)) for _ in range(50))


def test_pem_keys_load_and_jwts_decode() -> None:
    rng = random.Random(3)
    for _ in range(6):
        load_pem_private_key(tokens.pem_private_key(rng).encode(), password=None)
    header, payload, _ = tokens.jwt(rng).split(".")
    for part in (header, payload):
        assert isinstance(json.loads(base64.urlsafe_b64decode(part + "==")), dict)


def test_the_same_seed_gives_the_same_secrets() -> None:
    first = [tokens.draw_seed(random.Random(7)) for _ in range(3)]
    again = [tokens.draw_seed(random.Random(7)) for _ in range(3)]
    assert first == again
    many = [tokens.draw_seed(random.Random(n)) for n in range(100)]
    assert {s.group for s in many} >= {"keystead", "provider", "keystead-decoy", "placeholder"}


def test_recorded_lines_hold_the_seeds() -> None:
    rng = random.Random(4)
    text = "\n".join(f"line {n}" for n in range(30)) + "\n"
    seeds = [tokens.draw_seed(rng) for _ in range(8)]
    placements = [(rng.randrange(30), seed) for seed in seeds] + [(0, seeds[0])]
    out, placed = corpus.insert_seeds(text, placements, "f.py")
    lines = out.split("\n")
    assert len(placed) == 9
    for where in placed:
        held = tuple(lines[where.line - 1 : where.end_line])
        assert held in {seed.lines for seed in seeds}
    assert [line for line in lines if line.startswith("line ")] == text.split("\n")[:-1]
