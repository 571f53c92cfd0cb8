"""Files that should never be tracked, whatever they contain.

A tracked ``.env``, private key or Terraform state is a leak even when no
rule matches a line of it (an unfamiliar secret, a key in a binary
container). Each is reported as a finding of its own rule, at line 1 with no
secret, and ``--fix-gitignore`` appends the patterns that keep them out.
"""

from __future__ import annotations

import fnmatch
import posixpath
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from keystead.scan.finding import Finding

GITIGNORE_HEADER = "# Secrets that must never be committed (keystead scan --fix-gitignore)"
VALIDATION = "path"
"""A hygiene finding's ``validation``: matched on the file name alone."""


@dataclass(frozen=True, slots=True)
class HygieneRule:
    id: str
    description: str
    kind: str
    """The response procedure to show (``keystead scan --explain``)."""
    names: tuple[str, ...]
    """Globs on the file name (lower-cased), not the directory."""
    unless: tuple[str, ...] = ()
    """Globs of names that are safe templates (``.env.example``)."""
    ignore: tuple[str, ...] = ()
    """The ``.gitignore`` lines that keep such files out."""


_KEY_FILES = (
    "*.pem", "*.key", "id_rsa", "id_dsa", "id_ecdsa", "id_ed25519",
    "*.p12", "*.pfx", "*.jks", "*.keystore", "*.ppk",
)  # fmt: skip
_CREDENTIAL_FILES = (
    "credentials.json", ".git-credentials", ".netrc", "_netrc", ".pgpass",
    ".htpasswd", ".dockercfg", "client_secret*.json",
)  # fmt: skip
_TEMPLATES = (".env.example", ".env.sample", ".env.template", ".env.dist", ".env.*.example")

RULES: tuple[HygieneRule, ...] = (
    HygieneRule(
        id="tracked-env-file",
        description="A .env file is tracked: environment files hold live secrets",
        kind="env-file",
        names=(".env", ".env.*", "*.env"),
        unless=_TEMPLATES,
        ignore=(".env", ".env.*", "!.env.example", "!.env.sample", "!.env.template"),
    ),
    HygieneRule(
        id="tracked-private-key",
        description="A private key or key store is tracked",
        kind="private-key",
        names=_KEY_FILES,
        ignore=_KEY_FILES,
    ),
    HygieneRule(
        id="tracked-credentials-file",
        description="A credentials file is tracked",
        kind="credentials-file",
        names=("credentials", *_CREDENTIAL_FILES),
        ignore=_CREDENTIAL_FILES,
    ),
    HygieneRule(
        id="tracked-terraform-state",
        description="Terraform state is tracked: it holds every secret the plan touched",
        kind="terraform-state",
        names=("terraform.tfstate", "*.tfstate", "*.tfstate.backup"),
        ignore=("*.tfstate", "*.tfstate.*"),
    ),
)
RULE_IDS = frozenset(rule.id for rule in RULES)


def rule_for(path: str) -> HygieneRule | None:
    """The rule a file name breaks, if any."""
    name = posixpath.basename(path.replace("\\", "/")).lower()
    for rule in RULES:
        if any(fnmatch.fnmatchcase(name, g) for g in rule.names) and not any(
            fnmatch.fnmatchcase(name, g) for g in rule.unless
        ):
            return rule
    return None


def check(paths: Iterable[str]) -> list[Finding]:
    """One finding per path whose name should never be tracked."""
    found: list[Finding] = []
    for path in sorted(set(paths)):
        rule = rule_for(path)
        if rule is not None:
            found.append(
                Finding(
                    rule_id=rule.id,
                    description=rule.description,
                    secret="",
                    path=path,
                    line=1,
                    column=1,
                    end_column=1,
                    validation=VALIDATION,
                )
            )
    return found


def is_hygiene(finding: Finding) -> bool:
    return finding.rule_id in RULE_IDS


def gitignore_lines(findings: Sequence[Finding]) -> list[str]:
    """The ``.gitignore`` lines for the rules these findings broke, in rule order."""
    broken = {f.rule_id for f in findings}
    lines: list[str] = []
    for rule in RULES:
        if rule.id in broken:
            lines.extend(line for line in rule.ignore if line not in lines)
    return lines


def fix_gitignore(gitignore: Path, lines: Sequence[str]) -> list[str]:
    """Append the lines the file lacks (under one header); return those added.
    Running it twice adds nothing the second time."""
    text = gitignore.read_text(encoding="utf-8") if gitignore.exists() else ""
    present = {line.strip() for line in text.splitlines()}
    missing = [line for line in lines if line not in present]
    if not missing:
        return []
    block = ([] if GITIGNORE_HEADER in present else [GITIGNORE_HEADER]) + missing
    separator = "" if not text or text.endswith("\n") else "\n"
    gap = "\n" if text.strip() and GITIGNORE_HEADER not in present else ""
    with gitignore.open("a", encoding="utf-8") as handle:
        handle.write(separator + gap + "\n".join(block) + "\n")
    return missing


__all__ = [
    "GITIGNORE_HEADER",
    "RULES",
    "RULE_IDS",
    "HygieneRule",
    "check",
    "fix_gitignore",
    "gitignore_lines",
    "is_hygiene",
    "rule_for",
]
