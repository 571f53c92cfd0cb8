"""A baseline: findings a team has looked at and accepted, so later scans stay
quiet about them.

The file is JSON and holds fingerprints (SHA-256 over rule, path and secret),
never a secret. The rule id, path and line sit beside each fingerprint for the
people reading the file in review; matching uses the fingerprint alone, so a
finding that moves to another line stays accepted.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterable
from pathlib import Path

from keystead.errors import ValidationError
from keystead.scan.finding import Finding

VERSION = 1
_FINGERPRINT = re.compile(r"[0-9a-f]{64}")


class Baseline:
    """A set of accepted fingerprints."""

    __slots__ = ("fingerprints",)

    def __init__(self, fingerprints: Iterable[str] = ()) -> None:
        self.fingerprints = frozenset(fingerprints)

    def __len__(self) -> int:
        return len(self.fingerprints)

    def contains(self, finding: Finding) -> bool:
        return finding.fingerprint in self.fingerprints

    def filter(self, findings: Iterable[Finding]) -> list[Finding]:
        """The findings the baseline does not accept."""
        return [finding for finding in findings if finding.fingerprint not in self.fingerprints]

    @classmethod
    def load(cls, path: Path) -> Baseline:
        """Read a baseline file; a missing, unreadable or malformed one raises
        :class:`~keystead.errors.ValidationError` saying what is wrong."""
        try:
            document = json.loads(Path(path).read_bytes())
        except OSError as exc:
            raise ValidationError(
                f"baseline {path}: can not be read ({exc.strerror or exc})", field="baseline"
            ) from None
        except (ValueError, RecursionError) as exc:
            raise ValidationError(
                f"baseline {path}: not valid JSON ({exc})", field="baseline"
            ) from None
        if not isinstance(document, dict) or not isinstance(document.get("findings"), list):
            raise ValidationError(
                f'baseline {path}: expected {{"version": {VERSION}, "findings": [...]}}',
                field="baseline",
            )
        if document.get("version") != VERSION:
            raise ValidationError(
                f"baseline {path}: version {document.get('version')!r} is not supported "
                f"(this Keystead writes version {VERSION})",
                field="baseline",
            )
        fingerprints = []
        for index, entry in enumerate(document["findings"]):
            fingerprint = entry.get("fingerprint") if isinstance(entry, dict) else None
            if not isinstance(fingerprint, str) or _FINGERPRINT.fullmatch(fingerprint) is None:
                raise ValidationError(
                    f"baseline {path}: findings[{index}] has no valid 'fingerprint' "
                    "(64 lowercase hex digits)",
                    field="baseline",
                )
            fingerprints.append(fingerprint)
        return cls(fingerprints)

    @classmethod
    def write(cls, path: Path, findings: Iterable[Finding]) -> Baseline:
        """Write the findings' fingerprints to ``path`` (replacing it
        atomically) and return the baseline they make. Sorted, one entry per
        fingerprint, so the file diffs well."""
        entries: dict[str, dict[str, object]] = {}
        for finding in findings:
            entries.setdefault(
                finding.fingerprint,
                {
                    "fingerprint": finding.fingerprint,
                    "rule_id": finding.rule_id,
                    "path": finding.path,
                    "line": finding.line,
                },
            )
        ordered = sorted(entries.values(), key=lambda e: (str(e["path"]), str(e["fingerprint"])))
        text = json.dumps({"version": VERSION, "findings": ordered}, indent=2) + "\n"
        target = Path(path)
        temporary = target.with_name(f".{target.name}.tmp")
        try:
            temporary.write_text(text, "utf-8")
            os.replace(temporary, target)
        except OSError as exc:
            raise ValidationError(
                f"baseline {path}: can not be written ({exc.strerror or exc})", field="baseline"
            ) from None
        return cls(entries)


__all__ = ["Baseline"]
