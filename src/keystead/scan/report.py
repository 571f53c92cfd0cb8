"""The shapes a scan is reported in: one JSON document, and the rows of the table.

Both show :attr:`Finding.redacted` unless the caller asks for the secret
(``--show-secrets``); the fingerprint is always there, so a finding can be
put in a baseline or explained (``--explain``) without the secret.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from keystead.scan import hygiene
from keystead.scan.finding import Finding

Json = dict[str, Any]


@dataclass(slots=True)
class Summary:
    """What was read: counts for the closing line and the JSON ``summary``."""

    files: int = 0
    bytes: int = 0
    skipped: Counter[str] = field(default_factory=Counter)
    commits: int | None = None
    """``--git`` only: commits walked."""
    blobs: int | None = None
    """``--git`` / ``--staged``: distinct blobs read."""
    baselined: int = 0
    """Findings left out because the baseline accepted them."""

    def as_json(self) -> Json:
        data: Json = {
            "files": self.files,
            "bytes": self.bytes,
            "skipped": dict(sorted(self.skipped.items())),
            "baselined": self.baselined,
        }
        if self.commits is not None:
            data["commits"] = self.commits
        if self.blobs is not None:
            data["blobs"] = self.blobs
        return data


def secret_text(finding: Finding, *, show_secrets: bool) -> str:
    """What a rendering shows in place of the secret."""
    if hygiene.is_hygiene(finding):
        return "(whole file)"
    return finding.secret if show_secrets else finding.redacted


def finding_json(finding: Finding, *, kind: str, show_secrets: bool) -> Json:
    commit = finding.commit
    return {
        "rule_id": finding.rule_id,
        "description": finding.description,
        "kind": kind,
        "path": finding.path,
        "line": finding.line,
        "column": finding.column,
        "end_column": finding.end_column,
        "secret": secret_text(finding, show_secrets=show_secrets),
        "redacted": not show_secrets,
        "validation": finding.validation,
        "decoded_from": finding.decoded_from,
        "fingerprint": finding.fingerprint,
        "commit": None
        if commit is None
        else {
            "sha": commit.sha,
            "author": commit.author,
            "email": commit.email,
            "date": commit.date,
        },
    }


def document(
    findings: Sequence[Finding],
    summary: Summary,
    *,
    kinds: Mapping[str, str],
    show_secrets: bool,
) -> Json:
    """The ``--format json`` document: findings in report order, and the summary."""
    return {
        "findings": [
            finding_json(f, kind=kinds.get(f.rule_id, "generic"), show_secrets=show_secrets)
            for f in findings
        ],
        "summary": {"findings": len(findings), **summary.as_json()},
    }


def ordered(findings: Sequence[Finding]) -> list[Finding]:
    """Report order: by path, line, column, then rule."""
    return sorted(findings, key=lambda f: (f.path, f.line, f.column, f.rule_id))


def location(finding: Finding) -> str:
    return finding.path if hygiene.is_hygiene(finding) else f"{finding.path}:{finding.line}"


def row(finding: Finding, *, show_secrets: bool) -> dict[str, str]:
    """One table row (strings only): what a person reads first."""
    commit = finding.commit
    check = finding.validation + (f", {finding.decoded_from}" if finding.decoded_from else "")
    return {
        "rule": finding.rule_id,
        "location": location(finding),
        "secret": secret_text(finding, show_secrets=show_secrets),
        "check": check,
        "commit": ""
        if commit is None
        else f"{commit.sha[:10]} {commit.author} {commit.date[:10]}".strip(),
    }


__all__ = [
    "Json",
    "Summary",
    "document",
    "finding_json",
    "location",
    "ordered",
    "row",
    "secret_text",
]
