"""What the scanner reports: one credential found at one place.

A finding holds the matched secret so that a caller can act on it (report a
Keystead key to a leak endpoint, say), but its ``repr`` and every rendering
show only :attr:`Finding.redacted`. The fingerprint identifies the finding in
a baseline or a SARIF log without carrying the secret.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

REDACT_TAIL = 4
"""Characters of the secret's end a redacted rendering keeps."""


@dataclass(frozen=True, slots=True)
class Commit:
    """The commit that introduced a finding (``--git`` scans only)."""

    sha: str
    author: str
    email: str
    date: str
    """ISO 8601 with offset, as git prints ``%aI``."""


@dataclass(frozen=True, slots=True)
class Finding:
    rule_id: str
    """The rule's id in the rules file (``keystead-key``, ``github-pat``, ...)."""
    description: str
    secret: str = field(repr=False)
    path: str
    line: int
    """1-based."""
    column: int
    """1-based, in characters."""
    end_column: int
    """1-based, exclusive."""
    validation: str
    """The offline check the secret passed: ``checksum``, ``jwt``, ``pem``,
    ``entropy`` ... or ``pattern`` when the format allows none."""
    prefix: str = ""
    """The readable head a redacted rendering keeps (``sk_live_``, ``ghp_``,
    a Keystead key's prefix); empty when the format has none."""
    decoded_from: str | None = None
    """``base64`` when the secret was found inside a decoded segment."""
    commit: Commit | None = None

    @property
    def redacted(self) -> str:
        """The prefix, an ellipsis and the last four characters."""
        tail = self.secret[-REDACT_TAIL:] if len(self.secret) > 2 * REDACT_TAIL else ""
        return f"{self.prefix}…{tail}"

    @property
    def fingerprint(self) -> str:
        """Stable across line moves and re-scans: SHA-256 over the rule, the
        path and the secret. A baseline keeps this, never the secret."""
        digest = hashlib.sha256()
        for part in (self.rule_id, self.path, self.secret):
            digest.update(part.encode("utf-8", "surrogatepass"))
            digest.update(b"\0")
        return digest.hexdigest()

    @property
    def secret_hash(self) -> str:
        """SHA-256 hex of the secret alone: the ``token_hash`` GitHub's
        partner feedback uses, to match one secret across places."""
        return hashlib.sha256(self.secret.encode("utf-8", "surrogatepass")).hexdigest()


__all__ = ["Commit", "Finding"]
