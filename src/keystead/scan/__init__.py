"""The leak scanner: rules as data, a multi-pattern engine, git walking and
SARIF. It needs no store and no server."""

from keystead.scan.finding import Commit, Finding

__all__ = ["Commit", "Finding"]
