"""Files that should never be tracked, and the .gitignore lines that keep them out."""

from __future__ import annotations

from pathlib import Path

import pytest

from keystead.scan import hygiene


@pytest.mark.parametrize(
    ("path", "rule_id"),
    [
        (".env", "tracked-env-file"),
        ("app/.env.production", "tracked-env-file"),
        ("deploy/staging.env", "tracked-env-file"),
        ("certs/server.pem", "tracked-private-key"),
        ("tls/site.KEY", "tracked-private-key"),
        ("home/.ssh/id_rsa", "tracked-private-key"),
        ("id_ed25519", "tracked-private-key"),
        ("signing/release.p12", "tracked-private-key"),
        ("win/cert.pfx", "tracked-private-key"),
        ("gcp/credentials.json", "tracked-credentials-file"),
        ("web/.htpasswd", "tracked-credentials-file"),
        (".git-credentials", "tracked-credentials-file"),
        ("infra/terraform.tfstate", "tracked-terraform-state"),
        ("infra/prod.tfstate.backup", "tracked-terraform-state"),
    ],
)
def test_files_that_must_not_be_tracked_are_flagged(path: str, rule_id: str) -> None:
    (finding,) = hygiene.check([path])
    assert finding.rule_id == rule_id
    assert finding.path == path
    assert finding.secret == ""
    assert hygiene.is_hygiene(finding)


@pytest.mark.parametrize(
    "path",
    [
        ".env.example",
        "config/.env.sample",
        ".env.template",
        "environment.py",
        "id_rsa.pub",
        "keys.py",
        "src/credentials.py",
        "terraform.tf",
        "docs/env.md",
    ],
)
def test_templates_and_public_files_are_not_flagged(path: str) -> None:
    assert hygiene.check([path]) == []


def test_findings_are_sorted_and_deduplicated() -> None:
    found = hygiene.check(["b/.env", "a/id_rsa", "b/.env", "README.md"])
    assert [f.path for f in found] == ["a/id_rsa", "b/.env"]
    assert len({f.fingerprint for f in found}) == 2


def test_fix_gitignore_appends_once(tmp_path: Path) -> None:
    gitignore = tmp_path / ".gitignore"
    gitignore.write_text("node_modules/\n.env\n", encoding="utf-8")  # one line is there already
    lines = hygiene.gitignore_lines(hygiene.check([".env.local", "server.pem"]))
    assert ".env.*" in lines and "!.env.example" in lines and "*.pem" in lines

    added = hygiene.fix_gitignore(gitignore, lines)

    assert ".env" not in added and "*.pem" in added
    text = gitignore.read_text(encoding="utf-8")
    assert text.startswith("node_modules/\n.env\n\n" + hygiene.GITIGNORE_HEADER + "\n")
    assert text.count(".env.*") == 1
    assert hygiene.fix_gitignore(gitignore, lines) == []
    assert gitignore.read_text(encoding="utf-8") == text  # idempotent


def test_fix_gitignore_creates_the_file_and_mends_a_missing_newline(tmp_path: Path) -> None:
    fresh = tmp_path / "fresh" / ".gitignore"
    fresh.parent.mkdir()
    assert hygiene.fix_gitignore(fresh, ["*.tfstate"]) == ["*.tfstate"]
    assert fresh.read_text(encoding="utf-8") == f"{hygiene.GITIGNORE_HEADER}\n*.tfstate\n"

    unterminated = tmp_path / ".gitignore"
    unterminated.write_text("build", encoding="utf-8")
    hygiene.fix_gitignore(unterminated, ["*.pem"])
    assert unterminated.read_text(encoding="utf-8").splitlines() == [
        "build",
        "",
        hygiene.GITIGNORE_HEADER,
        "*.pem",
    ]
