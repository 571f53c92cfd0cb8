"""Which environment variables come from which secret, and their values.

Three sources, all checked before anything is read:

- ``--path mount/path``: every field of the secret, under its env-safe name
  (``envnames``);
- ``--map NAME=mount/path#field``: one field under a name of your choice;
- ``--env-file F``: each line ``NAME=value``; a value ``keystead://mount/path#field``
  is a reference (resolved), anything else is passed through as written.

A name given twice, by any two sources (or two fields of ``--path`` secrets with the
same env-safe name), is an error naming both. Each secret is read once however many
variables it feeds.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from keystead.consume.dotenv import read_env_file
from keystead.consume.envnames import check_env_name, env_name
from keystead.core.secret_paths import REFERENCE_SCHEME, SecretRef, parse_reference
from keystead.errors import NotFound, ValidationError

Address = tuple[str, str]
"""(mount, path) of one secret."""


@dataclass(frozen=True, slots=True)
class SecretValue:
    """What the reader answers for one secret: its fields and its version."""

    data: Mapping[str, str]
    version: int | None = None


Reader = Callable[[str, str], SecretValue]
"""``read(mount, path)``: the secret's current value (raises when it cannot)."""


@dataclass(frozen=True, slots=True)
class Binding:
    """One variable: a field of a secret (``ref``), or a plain value."""

    name: str
    source: str
    ref: SecretRef | None = None
    value: str | None = field(default=None, repr=False)


@dataclass(frozen=True, slots=True)
class Plan:
    paths: tuple[SecretRef, ...]
    """Whole secrets (``--path``)."""
    bindings: tuple[Binding, ...]

    def addresses(self) -> list[Address]:
        """Every secret the plan reads, once each, in order."""
        seen: dict[Address, None] = {}
        for ref in self.paths:
            seen[(ref.mount, ref.path)] = None
        for binding in self.bindings:
            if binding.ref is not None:
                seen[(binding.ref.mount, binding.ref.path)] = None
        return list(seen)

    @property
    def empty(self) -> bool:
        return not self.paths and not self.bindings


@dataclass(frozen=True, slots=True)
class Resolved:
    env: dict[str, str] = field(repr=False)
    """The variables, in order: name -> value."""
    secret_values: tuple[str, ...] = field(repr=False)
    """The values that came from secrets (to mask); plain values are not here."""
    versions: dict[Address, int | None]
    """The version of each secret read."""


def is_reference(value: str) -> bool:
    return value[: len(REFERENCE_SCHEME)].lower() == REFERENCE_SCHEME


def field_reference(text: str, *, where: str) -> SecretRef:
    """A reference that names a field (``mount/path#field``)."""
    ref = parse_reference(text, field=where)
    if ref.field is None:
        raise ValidationError(
            f"{where}: the reference names no field (mount/path#field)", field=where
        )
    return ref


def build_plan(
    paths: Sequence[str] = (), env_files: Sequence[Path] = (), maps: Sequence[str] = ()
) -> Plan:
    """The plan of the command line's sources (ValidationError when one is wrong)."""
    whole: list[SecretRef] = []
    for text in paths:
        ref = parse_reference(text, field="--path")
        if ref.field is not None:
            raise ValidationError(
                f"--path {text}: names a field; use --map NAME={text} for one field",
                field="--path",
            )
        whole.append(ref)
    bindings: list[Binding] = []
    for text in maps:
        name, equals, target = text.partition("=")
        where = f"--map {name}"
        if not equals:
            raise ValidationError(f"--map {text!r}: expected NAME=mount/path#field", field="--map")
        check_env_name(name, where="--map")
        bindings.append(Binding(name, where, ref=field_reference(target, where=where)))
    for env_file in env_files:
        for line in read_env_file(env_file):
            where = f"{env_file}, line {line.line}"
            if is_reference(line.value):
                ref = field_reference(line.value, where=where)
                bindings.append(Binding(line.name, where, ref=ref))
            else:
                bindings.append(Binding(line.name, where, value=line.value))
    _no_duplicates((b.name, b.source) for b in bindings)
    return Plan(tuple(whole), tuple(bindings))


def resolve(plan: Plan, read: Reader) -> Resolved:
    """Read every secret of ``plan`` once and build the environment."""
    values = {address: read(*address) for address in plan.addresses()}
    env: dict[str, str] = {}
    sources: dict[str, str] = {}
    masked: list[str] = []

    def put(name: str, value: str, source: str, secret: bool) -> None:
        if name in env:
            raise ValidationError(
                f"{name} is given twice: by {sources[name]} and by {source}", field="name"
            )
        env[name], sources[name] = value, source
        if secret:
            masked.append(value)

    for ref in plan.paths:
        data = values[(ref.mount, ref.path)].data
        for field_name, value in data.items():
            put(env_name(field_name), value, f"--path {ref} (field {field_name!r})", True)
    for binding in plan.bindings:
        if binding.ref is None:
            put(binding.name, binding.value or "", binding.source, False)
            continue
        ref = binding.ref
        data = values[(ref.mount, ref.path)].data
        if ref.field not in data:
            raise NotFound(
                f"{binding.source}: the secret {ref.mount}/{ref.path} has no field {ref.field!r}"
            )
        put(binding.name, data[str(ref.field)], binding.source, True)
    versions = {address: value.version for address, value in values.items()}
    return Resolved(env, tuple(masked), versions)


def _no_duplicates(named: Iterable[tuple[str, str]]) -> None:
    seen: dict[str, str] = {}
    for name, source in named:
        if name in seen:
            raise ValidationError(
                f"{name} is given twice: by {seen[name]} and by {source}", field="name"
            )
        seen[name] = source


__all__ = [
    "Address",
    "Binding",
    "Plan",
    "Reader",
    "Resolved",
    "SecretValue",
    "build_plan",
    "field_reference",
    "is_reference",
    "resolve",
]
