"""Scanner rules as data: the shipped ``rules.toml`` plus users' own files.

A rules file is TOML with one ``[[rules]]`` table per credential type. It is
checked strictly when it is loaded, so a typo in a user's file is an error
that names the file, the rule and the field, never a rule that silently finds
nothing. A user's rule with the id of a built-in one replaces it.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from keystead.errors import ValidationError
from keystead.scan.validators import VALIDATORS

BUILTIN_RULES = "rules.toml"
"""The shipped rules file, a resource of this package."""

_ID_RE = re.compile(r"[a-z0-9][a-z0-9._-]{0,63}")
_FIELDS = frozenset(
    {
        "id",
        "description",
        "regex",
        "keywords",
        "entropy",
        "validator",
        "kind",
        "allow",
        "secret_group",
    }
)
_REQUIRED = ("id", "description", "regex")
FILTER_PREFIX = "not_"
"""A validator named ``not_...`` filters out look-alikes; it proves nothing."""
_VALIDATION_LABELS = {"private_key": "pem", "pgp_private_key": "pgp"}
MAX_ENTROPY = 8.0
"""Bits per character can not exceed log2(256) for byte-sized symbols."""


@dataclass(frozen=True, slots=True)
class Rule:
    """One credential type. ``keywords`` are case-insensitive ASCII literals,
    one of which appears in every match: the engine runs the regex only on
    text that holds one."""

    id: str
    description: str
    regex: str
    keywords: tuple[str, ...] = ()
    entropy: float | None = None
    """Shannon floor in bits per character of the secret."""
    validator: str | None = None
    """A name in ``keystead.scan.validators.VALIDATORS``."""
    kind: str = "generic"
    """The response-procedure topic ``keystead scan --explain`` shows."""
    secret_group: int | str = 0
    """The group holding the secret: the named group ``secret`` when the
    regex has one, else the whole match."""
    allow: tuple[str, ...] = ()
    """Regexes of placeholders: a secret matching one is not reported."""

    @property
    def validation(self) -> str:
        """What a finding of this rule says it passed: ``checksum`` for every
        checksum validator, ``pem`` for a private key that parses, the
        validator's name for the other proofs; ``entropy`` or ``pattern`` when
        there is none or it only filters (a ``not_...`` validator such as
        ``not_placeholder``)."""
        if self.validator is not None and not self.validator.startswith(FILTER_PREFIX):
            if self.validator.endswith("checksum"):
                return "checksum"
            return _VALIDATION_LABELS.get(self.validator, self.validator)
        return "entropy" if self.entropy is not None else "pattern"

    @property
    def proven(self) -> bool:
        """Whether a match is checked by a validator that proves its format."""
        return self.validation not in ("entropy", "pattern")


class RuleSet:
    """Rules in order (built-in first, then each extra file's new ids), with
    the files they came from."""

    __slots__ = ("_by_id", "sources")

    def __init__(self, rules: Sequence[Rule], sources: Sequence[str] = ()) -> None:
        self._by_id = {rule.id: rule for rule in rules}
        self.sources = tuple(sources)

    def __iter__(self) -> Iterator[Rule]:
        return iter(self._by_id.values())

    def __len__(self) -> int:
        return len(self._by_id)

    def __contains__(self, rule_id: object) -> bool:
        return rule_id in self._by_id

    def get(self, rule_id: str) -> Rule | None:
        return self._by_id.get(rule_id)

    def __repr__(self) -> str:
        return f"RuleSet({len(self)} rules from {', '.join(self.sources) or 'nowhere'})"


def load_rules(extra: Sequence[Path] = (), *, builtin: bool = True) -> RuleSet:
    """The built-in rules (unless ``builtin`` is false) with each extra file
    applied in order; a rule whose id exists already replaces it in place.

    Raises :class:`~keystead.errors.ValidationError` for a file that can not
    be read or does not parse, naming the file, the rule and the field.
    """
    rules: dict[str, Rule] = {}
    sources: list[str] = []
    if builtin:
        text = resources.files("keystead.scan").joinpath(BUILTIN_RULES).read_text("utf-8")
        for rule in parse_rules(text, source=f"keystead/scan/{BUILTIN_RULES}"):
            rules[rule.id] = rule
        sources.append(f"keystead/scan/{BUILTIN_RULES}")
    for path in extra:
        try:
            text = Path(path).read_text("utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise ValidationError(
                f"rules file {path}: can not be read ({exc.__class__.__name__}: {exc})",
                field="rules",
            ) from None
        for rule in parse_rules(text, source=str(path)):
            rules[rule.id] = rule
        sources.append(str(path))
    return RuleSet(list(rules.values()), sources)


def parse_rules(text: str, *, source: str = "<rules>") -> list[Rule]:
    """The rules of one TOML rules file, checked field by field."""
    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ValidationError(
            f"rules file {source}: not valid TOML: {exc}", field="rules"
        ) from None
    unknown = set(document) - {"rules"}
    if unknown:
        raise ValidationError(
            f"rules file {source}: unknown top-level key {sorted(unknown)[0]!r} "
            "(a rules file holds [[rules]] tables only)",
            field="rules",
        )
    entries = document.get("rules", [])
    if not isinstance(entries, list):
        raise ValidationError(
            f"rules file {source}: 'rules' must be [[rules]] tables", field="rules"
        )
    seen: set[str] = set()
    rules = []
    for index, entry in enumerate(entries):
        rule = _parse_rule(entry, source=source, index=index)
        if rule.id in seen:
            raise _error(source, index, rule.id, "id", "is used by an earlier rule in this file")
        seen.add(rule.id)
        rules.append(rule)
    return rules


def _error(
    source: str, index: int, rule_id: str | None, field: str, problem: str
) -> ValidationError:
    who = f"rule {rule_id!r}" if rule_id else f"rule #{index + 1}"
    return ValidationError(
        f"rules file {source}: {who}: field {field!r} {problem}", field=f"rules[{index}].{field}"
    )


def _parse_rule(entry: object, *, source: str, index: int) -> Rule:
    if not isinstance(entry, Mapping):
        raise _error(source, index, None, "rules", "must be a table")
    raw_id = entry.get("id")
    rule_id = raw_id if isinstance(raw_id, str) else None

    def fail(field: str, problem: str) -> ValidationError:
        return _error(source, index, rule_id, field, problem)

    for field in sorted(set(entry) - _FIELDS):
        raise fail(field, f"is not a rule field (known: {', '.join(sorted(_FIELDS))})")
    for field in _REQUIRED:
        if field not in entry:
            raise fail(field, "is required")
    if rule_id is None or _ID_RE.fullmatch(rule_id) is None:
        raise fail("id", "must be 1 to 64 characters of a-z, 0-9, '.', '_' and '-'")
    description = _string(entry, "description", fail)
    regex = _string(entry, "regex", fail)
    pattern = _compile(regex, "regex", fail)
    if pattern.fullmatch("") is not None:
        raise fail("regex", "matches the empty string")
    keywords = _strings(entry, "keywords", fail)
    for keyword in keywords:
        if not keyword or not keyword.isascii():
            raise fail("keywords", "must hold non-empty ASCII literals")
    allow = _strings(entry, "allow", fail)
    for placeholder in allow:
        _compile(placeholder, "allow", fail)
    entropy = entry.get("entropy")
    if entropy is not None:
        if isinstance(entropy, bool) or not isinstance(entropy, int | float):
            raise fail("entropy", "must be a number (bits per character)")
        if not 0 <= entropy <= MAX_ENTROPY:
            raise fail("entropy", f"must be between 0 and {MAX_ENTROPY:g} bits per character")
    validator = entry.get("validator")
    if validator is not None and (not isinstance(validator, str) or validator not in VALIDATORS):
        raise fail(
            "validator", f"names no known validator (known: {', '.join(sorted(VALIDATORS))})"
        )
    kind = entry.get("kind", "generic")
    if not isinstance(kind, str) or not kind:
        raise fail("kind", "must be a non-empty string")
    secret_group = _secret_group(entry, pattern, fail)
    return Rule(
        id=rule_id,
        description=description,
        regex=regex,
        keywords=tuple(k.lower() for k in keywords),
        entropy=None if entropy is None else float(entropy),
        validator=validator,
        kind=kind,
        secret_group=secret_group,
        allow=tuple(allow),
    )


_Fail = Callable[[str, str], ValidationError]
"""Builds the error for one field of the rule being parsed."""


def _string(entry: Mapping[str, Any], field: str, fail: _Fail) -> str:
    value = entry[field]
    if not isinstance(value, str) or not value:
        raise fail(field, "must be a non-empty string")
    return value


def _strings(entry: Mapping[str, Any], field: str, fail: _Fail) -> list[str]:
    value = entry.get(field, [])
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise fail(field, "must be a list of strings")
    return value


def _compile(regex: str, field: str, fail: _Fail) -> re.Pattern[str]:
    try:
        return re.compile(regex)
    except (re.error, RecursionError, OverflowError) as exc:
        raise fail(field, f"is not a valid regular expression: {exc}") from None


def _secret_group(entry: Mapping[str, Any], pattern: re.Pattern[str], fail: _Fail) -> int | str:
    group = entry.get("secret_group")
    if group is None:
        return "secret" if "secret" in pattern.groupindex else 0
    if isinstance(group, str):
        if group not in pattern.groupindex:
            raise fail("secret_group", f"names no group of the regex ({group!r})")
        return group
    if isinstance(group, bool) or not isinstance(group, int) or not 0 <= group <= pattern.groups:
        raise fail("secret_group", f"must be a group name or a number from 0 to {pattern.groups}")
    return group


__all__ = ["BUILTIN_RULES", "FILTER_PREFIX", "Rule", "RuleSet", "load_rules", "parse_rules"]
