"""``keystead scan --explain FINDING``: what to do about a finding, now.

FINDING is a rule id (``aws-access-key``), a fingerprint or its first 8+
hex digits from a previous JSON or SARIF output (the paths are scanned again
to find it: the fingerprint does not carry the secret), or a kind.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from keystead.cli import _output as out
from keystead.cli._runtime import UsageProblem
from keystead.scan.finding import Finding
from keystead.scan.responses import Procedure, procedure
from keystead.scan.responses import kinds as procedure_kinds

_FINGERPRINT = re.compile(r"[0-9a-f]{8,64}")


@dataclass(frozen=True, slots=True)
class Explained:
    query: str
    kind: str
    rule_id: str | None
    description: str | None
    procedure: Procedure
    finding: Finding | None = None

    def as_json(self) -> dict[str, object]:
        data: dict[str, object] = {
            "query": self.query,
            "rule_id": self.rule_id,
            "description": self.description,
            "kind": self.kind,
            "procedure": {
                "title": self.procedure.title,
                "steps": list(self.procedure.steps),
                "links": list(self.procedure.links),
            },
        }
        if self.finding is not None:
            data["finding"] = {
                "path": self.finding.path,
                "line": self.finding.line,
                "fingerprint": self.finding.fingerprint,
                "secret": self.finding.redacted,
            }
        return data


def explain(
    query: str,
    *,
    descriptions: Mapping[str, str],
    kinds: Mapping[str, str],
    rescan: Callable[[], Sequence[Finding]],
) -> Explained:
    """Resolve ``query`` (rule id, fingerprint, kind) to its response procedure."""
    target = query.strip()
    if target in kinds:
        kind = kinds[target]
        return Explained(target, kind, target, descriptions.get(target), procedure(kind))
    if _FINGERPRINT.fullmatch(target.lower()):
        matches = [f for f in rescan() if f.fingerprint.startswith(target.lower())]
        if len(matches) > 1 and len({f.fingerprint for f in matches}) > 1:
            raise UsageProblem(f"{query} starts more than one fingerprint: give more digits")
        if matches:
            found = matches[0]
            kind = kinds.get(found.rule_id, "generic")
            return Explained(target, kind, found.rule_id, found.description, procedure(kind), found)
        raise UsageProblem(
            f"no finding with fingerprint {query} in the scanned paths (scan the same "
            "paths, --git or --staged as the output it came from)"
        )
    if target in set(kinds.values()) | procedure_kinds():
        return Explained(target, target, None, None, procedure(target))
    raise UsageProblem(
        f"{query} is neither a rule id, a kind nor a fingerprint "
        "(the rule ids: keystead scan --format json, field rule_id)"
    )


def markdown(proc: Procedure) -> str:
    """A procedure as Markdown: the title, numbered steps, then the links."""
    lines = [f"**{proc.title}: what to do now**", ""]
    lines += [f"{number}. {step}" for number, step in enumerate(proc.steps, 1)]
    if proc.links:
        lines += ["", "See: " + ", ".join(proc.links)]
    return "\n".join(lines)


def help_for(kind: str) -> str:
    """The procedure of ``kind`` as SARIF ``help`` (Markdown)."""
    return markdown(procedure(kind))


def show(explained: Explained) -> None:
    from rich.markdown import Markdown
    from rich.text import Text

    console = out.stdout()
    title = explained.rule_id or explained.kind
    if explained.description:
        title += f": {explained.description}"
    console.print(Text(title, style="bold"))
    if explained.finding is not None:
        found = explained.finding
        console.print(Text(f"found at {found.path}:{found.line} ({found.redacted})"))
    console.print(Markdown(markdown(explained.procedure)))


__all__ = ["Explained", "explain", "help_for", "markdown", "show"]
