"""Query parameters of a sink URI, read once each; leftovers are an error."""

from __future__ import annotations

from urllib.parse import parse_qsl

from keystead.errors import ConfigurationError


class Options:
    """``?facility=local3&max_size=2048`` of ``url``, with typed getters."""

    def __init__(self, url: str, query: str) -> None:
        self._scheme = url.partition(":")[0]
        try:
            self._values = dict(parse_qsl(query, keep_blank_values=True, strict_parsing=False))
        except ValueError:
            raise ConfigurationError(f"bad query string in a {self._scheme}:// URL") from None

    def text(self, name: str, default: str) -> str:
        return self._values.pop(name, default)

    def integer(self, name: str, default: int, *, minimum: int, maximum: int | None = None) -> int:
        raw = self._values.pop(name, None)
        if raw is None:
            return default
        try:
            value = int(raw)
        except ValueError:
            raise ConfigurationError(
                f"{self._scheme}:// option {name} must be an integer"
            ) from None
        if value < minimum or (maximum is not None and value > maximum):
            bound = f"between {minimum} and {maximum}" if maximum is not None else f">= {minimum}"
            raise ConfigurationError(f"{self._scheme}:// option {name} must be {bound}")
        return value

    def number(self, name: str, default: float, *, minimum: float) -> float:
        raw = self._values.pop(name, None)
        if raw is None:
            return default
        try:
            value = float(raw)
        except ValueError:
            raise ConfigurationError(f"{self._scheme}:// option {name} must be a number") from None
        if not value >= minimum:
            raise ConfigurationError(f"{self._scheme}:// option {name} must be >= {minimum}")
        return value

    def finish(self) -> None:
        """Refuse options nobody read (a typo would otherwise pass silently)."""
        if self._values:
            unknown = ", ".join(sorted(self._values))
            raise ConfigurationError(f"unknown {self._scheme}:// option(s): {unknown}")


__all__ = ["Options"]
