"""The response procedure for each kind of credential, for ``keystead scan
--explain``: revoke or rotate where, who to notify, what to check in the
provider's logs. The procedures are data (``responses.toml`` beside this
module); every leak then shares the same closing steps, added here."""

from __future__ import annotations

import importlib.resources
import tomllib
from dataclasses import dataclass
from functools import cache

CLOSING_STEPS = (
    "Put the new value where the old one was used through a secret store or environment "
    "variable, never back into the file.",
    "Remove the old value from the code. If it was committed, revoking is what protects you; "
    "rewriting history (git filter-repo) and asking hosts to purge caches and forks only "
    "limits further copies.",
    "Write down what leaked, where, when it was first exposed and what you did: the record "
    "an incident review needs.",
)
"""Steps every leak ends with, whatever the provider."""

FALLBACK_KIND = "generic"


@dataclass(frozen=True, slots=True)
class Procedure:
    kind: str
    title: str
    steps: tuple[str, ...]
    """In order: revoke or rotate, notify, investigate, then the closing steps."""
    links: tuple[str, ...]
    """The provider's revocation page first, then its logs or documentation."""


@cache
def _procedures() -> dict[str, Procedure]:
    text = importlib.resources.files(__package__).joinpath("responses.toml").read_text("utf-8")
    return {
        kind: Procedure(
            kind=kind,
            title=entry["title"],
            steps=(*entry["steps"], *CLOSING_STEPS),
            links=tuple(entry["links"]),
        )
        for kind, entry in tomllib.loads(text).items()
    }


def kinds() -> frozenset[str]:
    """The kinds with a procedure of their own."""
    return frozenset(_procedures())


def procedure(kind: str) -> Procedure:
    """The procedure for ``kind``; a kind without one (a user's own rule)
    gets the generic procedure, so ``--explain`` always has an answer."""
    procedures = _procedures()
    return procedures.get(kind, procedures[FALLBACK_KIND])


__all__ = ["CLOSING_STEPS", "Procedure", "kinds", "procedure"]
