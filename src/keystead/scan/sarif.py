"""SARIF 2.1.0: the scan as code-scanning UIs (GitHub, GitLab, Azure DevOps) ingest it.

One run, the rules in ``tool.driver.rules`` with their response procedure as
``help``, one result per finding with its region, and a stable
``partialFingerprints`` entry (:attr:`Finding.fingerprint`) so a UI tracks a
finding across commits. The secret never appears unless asked for
(``--show-secrets``): messages carry :attr:`Finding.redacted`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any, Protocol
from urllib.parse import quote

from keystead import __version__
from keystead.scan import hygiene
from keystead.scan.finding import Finding

SCHEMA_URI = "https://json.schemastore.org/sarif-2.1.0.json"
FINGERPRINT_KEY = "keystead/v1"
SRCROOT = "%SRCROOT%"

Json = dict[str, Any]


class RuleLike(Protocol):
    """What SARIF needs of a rule: the scanner's rules and the hygiene rules both fit."""

    @property
    def id(self) -> str: ...
    @property
    def description(self) -> str: ...
    @property
    def kind(self) -> str: ...


def _rule(rule: RuleLike, help_for: Callable[[str], str]) -> Json:
    procedure = help_for(rule.kind)
    return {
        "id": rule.id,
        "name": "".join(part.capitalize() for part in rule.id.replace("_", "-").split("-")),
        "shortDescription": {"text": rule.description},
        "help": {"text": procedure, "markdown": procedure},
        "defaultConfiguration": {"level": "error"},
        "properties": {
            "kind": rule.kind,
            "tags": ["security", "secret", "hygiene" if rule.id in hygiene.RULE_IDS else "leak"],
            "precision": "very-high" if rule.id == "keystead-key" else "high",
            "security-severity": "9.0",
        },
    }


def _uri(path: str) -> str:
    """A relative URI reference for a path (spaces and the like percent-encoded)."""
    return quote(path.replace("\\", "/").lstrip("/"), safe="/-._~")


def _result(finding: Finding, index: int, *, show_secrets: bool) -> Json:
    if hygiene.is_hygiene(finding):
        message = f"{finding.description}: {finding.path}"
        region: Json | None = None
    else:
        shown = finding.secret if show_secrets else finding.redacted
        message = f"{finding.description}: {shown}"
        region = {
            "startLine": finding.line,
            "startColumn": finding.column,
            "endLine": finding.line,
            "endColumn": max(finding.end_column, finding.column + 1),
        }
    physical: Json = {"artifactLocation": {"uri": _uri(finding.path), "uriBaseId": SRCROOT}}
    if region is not None:
        physical["region"] = region
    properties: Json = {"validation": finding.validation}
    if finding.decoded_from:
        properties["decodedFrom"] = finding.decoded_from
    if finding.commit is not None:
        properties["commit"] = {
            "sha": finding.commit.sha,
            "author": finding.commit.author,
            "email": finding.commit.email,
            "date": finding.commit.date,
        }
    return {
        "ruleId": finding.rule_id,
        "ruleIndex": index,
        "level": "error",
        "kind": "fail",
        "message": {"text": message},
        "locations": [{"physicalLocation": physical}],
        "partialFingerprints": {FINGERPRINT_KEY: finding.fingerprint},
        "properties": properties,
    }


def to_sarif(
    findings: Sequence[Finding],
    rules: Iterable[RuleLike],
    *,
    help_for: Callable[[str], str],
    show_secrets: bool = False,
    root_uri: str | None = None,
) -> Json:
    """The SARIF log of one scan. ``rules`` lists every rule the scan ran (a rule
    a finding names but ``rules`` lacks is added from the finding), ``help_for``
    gives the response procedure of a kind, ``root_uri`` (``file:///.../``) is
    where the relative paths start."""
    driver_rules: list[Json] = []
    index: dict[str, int] = {}
    for rule in rules:
        if rule.id not in index:
            index[rule.id] = len(driver_rules)
            driver_rules.append(_rule(rule, help_for))
    for finding in findings:
        if finding.rule_id not in index:
            index[finding.rule_id] = len(driver_rules)
            driver_rules.append(_rule(_Named(finding), help_for))
    run: Json = {
        "tool": {
            "driver": {
                "name": "keystead",
                "version": __version__,
                "semanticVersion": __version__,
                "rules": driver_rules,
            }
        },
        "columnKind": "unicodeCodePoints",
        "results": [_result(f, index[f.rule_id], show_secrets=show_secrets) for f in findings],
    }
    if root_uri is not None:
        run["originalUriBaseIds"] = {SRCROOT: {"uri": root_uri}}
    return {"$schema": SCHEMA_URI, "version": "2.1.0", "runs": [run]}


class _Named:
    """A rule known only from a finding (a baseline from an older rules file)."""

    def __init__(self, finding: Finding) -> None:
        self.id = finding.rule_id
        self.description = finding.description
        self.kind = "generic"


__all__ = ["FINGERPRINT_KEY", "SCHEMA_URI", "RuleLike", "to_sarif"]
