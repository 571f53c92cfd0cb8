"""Strict reading of YAML mappings: unknown fields, wrong types and out-of-range
values raise ``ConfigError`` naming the field by its path (``routes[1].upstream.url``)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import yaml

from keystead.errors import ConfigurationError

_MISSING: Any = object()


class ConfigError(ConfigurationError):
    """A gateway configuration that cannot work; ``field`` is the path of the culprit."""

    title = "Invalid gateway configuration"

    def __init__(self, detail: str, *, field: str | None = None) -> None:
        super().__init__(f"{field}: {detail}" if field else detail)
        self.field = field


class _StrictLoader(yaml.SafeLoader):
    """``yaml.SafeLoader`` that refuses a key given twice in one mapping."""


def _mapping_without_duplicates(loader: _StrictLoader, node: yaml.MappingNode) -> dict[Any, Any]:
    seen: set[Any] = set()
    for key_node, _ in node.value:
        key = loader.construct_object(key_node)
        if key in seen:
            line = key_node.start_mark.line + 1
            raise ConfigError(f"line {line}: the field {key!r} is given twice")
        seen.add(key)
    return loader.construct_mapping(node)


_StrictLoader.add_constructor(
    yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG,
    _mapping_without_duplicates,
)


def parse_yaml(text: str, source: str) -> Any:
    try:
        return yaml.load(text, Loader=_StrictLoader)  # noqa: S506 - a safe loader
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or "not valid YAML"
        raise ConfigError(f"{source} is not valid YAML{where}: {problem}") from None


class Fields:
    """One mapping of the configuration, read field by field."""

    def __init__(self, data: Any, path: str, known: tuple[str, ...]) -> None:
        if data is None:
            data = {}
        if not isinstance(data, Mapping):
            raise ConfigError("must be a mapping of fields", field=path or None)
        for name in data:
            if name not in known:
                raise ConfigError(f"unknown field {name!r}", field=self._at(path, str(name)))
        self.data = data
        self.path = path

    @staticmethod
    def _at(path: str, name: str) -> str:
        return f"{path}.{name}" if path else name

    def where(self, name: str) -> str:
        return self._at(self.path, name)

    def raw(self, name: str, default: Any = None) -> Any:
        value = self.data.get(name, _MISSING)
        return default if value is _MISSING else value

    def required(self, name: str) -> Any:
        value = self.data.get(name, _MISSING)
        if value is _MISSING or value is None:
            raise ConfigError("is required", field=self.where(name))
        return value

    def text(self, name: str, default: str | None = None) -> str | None:
        value = self.raw(name, default)
        if value is None:
            return None
        if not isinstance(value, str) or not value or "\x00" in value:
            raise ConfigError("must be a non-empty string", field=self.where(name))
        return value

    def boolean(self, name: str, default: bool) -> bool:
        value = self.raw(name, default)
        if not isinstance(value, bool):
            raise ConfigError("must be true or false", field=self.where(name))
        return value

    def number(self, name: str, default: float, *, high: float) -> float:
        """A positive number of seconds, at most ``high``."""
        value = self.raw(name, default)
        if isinstance(value, bool) or not isinstance(value, int | float) or not 0 < value <= high:
            raise ConfigError(f"must be a number above 0, at most {high:g}", field=self.where(name))
        return float(value)

    def integer(self, name: str, default: int | None, *, low: int, high: int) -> int | None:
        value = self.raw(name, default)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            raise ConfigError(
                f"must be a whole number from {low} to {high}", field=self.where(name)
            )
        return value

    def choice(self, name: str, default: str, choices: tuple[str, ...]) -> str:
        value = self.raw(name, default)
        if value not in choices or not isinstance(value, str):
            raise ConfigError(f"must be one of {', '.join(choices)}", field=self.where(name))
        return value

    def texts(self, name: str) -> tuple[str, ...] | None:
        """A string or a list of strings (None when absent)."""
        value = self.raw(name)
        if value is None:
            return None
        items = [value] if isinstance(value, str) else value
        if not isinstance(items, list) or not items:
            raise ConfigError(
                "must be a string or a non-empty list of strings", field=self.where(name)
            )
        for index, item in enumerate(items):
            if not isinstance(item, str) or not item:
                raise ConfigError(
                    "must be a non-empty string", field=f"{self.where(name)}[{index}]"
                )
        return tuple(items)

    def items(self, name: str) -> list[Any]:
        """A list (empty when absent)."""
        value = self.raw(name)
        if value is None:
            return []
        if not isinstance(value, list):
            raise ConfigError("must be a list", field=self.where(name))
        return value


__all__ = ["ConfigError", "Fields", "parse_yaml"]
