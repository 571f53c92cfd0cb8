"""Permission query language: parse once, evaluate fast.

A key holds *grants* (``documents.read``, ``billing.*``); a caller asks a
*query* over permissions (``documents.read AND NOT billing.write``). Queries
are parsed once (``parse_query_cached``) and compiled to closures, and a
``GrantSet`` answers ``covers`` from a frozenset, a prefix tuple and a small
memo, because both run on every verification.

Coverage, segment by segment: a grant segment ``*`` matches exactly one
segment, except a trailing ``*`` that matches one or more remaining segments.
A ``*`` in a queried permission is literal: only a ``*`` grant segment covers it.

A permission may be scoped to a path of a mount: ``secrets.read:secret/payments/*``.
Its path segments (``/``-separated) follow the same rule as name segments, so a
scoped grant covers a scoped query when its name covers the query's name, the mounts
are equal and its path covers the query's path. A plain grant covers its name on
every path; a scoped grant never covers a plain query. Because a queried ``*`` is
literal, ``covers`` also answers "is this grant within that one", which is what
``Principal.encloses`` asks.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable

from keystead.core._query_syntax import (
    MAX_PERMISSION_LENGTH,
    MAX_QUERY_DEPTH,
    MAX_QUERY_LENGTH,
    MAX_SCOPED_PERMISSION_LENGTH,
    _And,
    _collect_atoms,
    _Node,
    _Not,
    _Parser,
    _permission_problem,
    _preview,
    split_scoped,
)
from keystead.errors import PermissionQueryError, ValidationError

_MEMO_SIZE = 256


def validate_permission(value: str, field: str = "permissions") -> str:
    """Return ``value`` if it is a well-formed permission string, else raise
    ValidationError naming ``field`` (``permissions[2]`` for a list's third)."""
    if not isinstance(value, str):
        raise ValidationError("a permission must be a string", field=field)
    problem = _permission_problem(value)
    if problem is not None:
        raise ValidationError(f"invalid permission {_preview(value)}: {problem}", field=field)
    return value


_Pattern = tuple[tuple[str, ...], bool]


def _split_pattern(grant: str, separator: str = ".") -> _Pattern:
    """Segments of a wildcard grant, without a trailing ``*``, and whether it had one."""
    segments = tuple(grant.split(separator))
    if segments[-1] == "*":
        return segments[:-1], True
    return segments, False


def _pattern_matches(pattern: tuple[str, ...], trailing: bool, segments: list[str]) -> bool:
    if trailing:
        if len(segments) <= len(pattern):
            return False
    elif len(segments) != len(pattern):
        return False
    return all(g == "*" or g == p for g, p in zip(pattern, segments, strict=False))


class _Scoped:
    """A path-scoped grant: its name, mount and path, split for matching."""

    __slots__ = ("mount", "name", "path")

    def __init__(self, grant: str) -> None:
        name, self.mount, path = split_scoped(grant)
        self.name = _split_pattern(name)
        self.path = _split_pattern(path, "/")

    def covers(self, name: list[str], mount: str, path: list[str]) -> bool:
        return (
            mount == self.mount
            and _pattern_matches(*self.name, name)
            and _pattern_matches(*self.path, path)
        )


class GrantSet:
    """The permissions a key holds, precomputed for ``covers`` on the hot path.

    Exact grants hit a frozenset; ``prefix.*`` grants become a tuple for one
    ``str.startswith`` call; only grants with an inner ``*`` need segment
    matching. Results other than exact hits are memoised in a dict that is
    cleared when full, so distinct hostile queries cannot grow memory.
    """

    __slots__ = (
        "_exact",
        "_match_all",
        "_memo",
        "_patterns",
        "_prefixes",
        "_scoped",
        "grants",
    )

    grants: tuple[str, ...]

    def __init__(self, grants: Iterable[str] = ()) -> None:
        if isinstance(grants, str):
            raise ValidationError(
                "grants must be an iterable of permission strings, not one string",
                field="permissions",
            )
        self.grants = tuple(sorted({validate_permission(grant) for grant in grants}))
        exact: set[str] = set()
        prefixes: set[str] = set()
        patterns: list[_Pattern] = []
        scoped: list[_Scoped] = []
        for grant in self.grants:
            if "/" in grant:  # path-scoped: matched apart, and exactly when it has no '*'
                scoped.append(_Scoped(grant))
                if "*" not in grant:
                    exact.add(grant)
            elif "*" not in grant:
                exact.add(grant)
            elif grant.endswith(".*") and "*" not in grant[:-2]:
                prefixes.add(grant[:-1])  # "documents.*" -> "documents."
            elif grant != "*":
                patterns.append(_split_pattern(grant))
        self._match_all = "*" in self.grants
        self._exact = frozenset(exact)
        self._prefixes = tuple(sorted(prefixes))
        self._patterns = tuple(patterns)
        self._scoped = tuple(scoped)
        self._memo: dict[str, bool] = {}

    def covers(self, permission: str) -> bool:
        """Whether some grant covers ``permission``; raises ValidationError if it is malformed."""
        if permission in self._exact:
            return True
        hit = self._memo.get(permission)
        if hit is not None:
            return hit
        return self._covers_slow(permission)

    def _covers_slow(self, permission: str) -> bool:
        validate_permission(permission)
        if "/" in permission:
            name, mount, path = split_scoped(permission)
            result = self._covers_plain(name)
            if not result and self._scoped:
                names, paths = name.split("."), path.split("/")
                result = any(grant.covers(names, mount, paths) for grant in self._scoped)
        else:
            result = self._covers_plain(permission)
        memo = self._memo
        if len(memo) >= _MEMO_SIZE:
            memo.clear()
        memo[permission] = result
        return result

    def _covers_plain(self, permission: str) -> bool:
        """Coverage of a permission without a path by the grants without one."""
        if permission in self._exact or self._match_all or permission.startswith(self._prefixes):
            return True
        segments = permission.split(".")
        return any(_pattern_matches(p, t, segments) for p, t in self._patterns)

    def __repr__(self) -> str:
        return f"GrantSet({list(self.grants)!r})"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, GrantSet):
            return NotImplemented
        return self.grants == other.grants

    def __hash__(self) -> int:
        return hash(self.grants)


# --- compiler ------------------------------------------------------------------------------------

_Evaluator = Callable[[GrantSet], bool]


def _compile(node: _Node) -> _Evaluator:
    """Closures over the tree; atom operands test the exact-grant set inline before ``covers``.

    The inline ``in grants._exact`` saves a method call on the common exact hit;
    ``covers`` repeats it harmlessly on a miss and handles everything else.
    """
    if isinstance(node, str):
        permission = node
        return lambda grants: permission in grants._exact or grants.covers(permission)
    if isinstance(node, _Not):
        operand = node.operand
        if isinstance(operand, str):
            negated = operand
            return lambda grants: not (negated in grants._exact or grants.covers(negated))
        inner = _compile(operand)
        return lambda grants: not inner(grants)
    atoms = tuple(op for op in node.operands if isinstance(op, str))
    subs = tuple(_compile(op) for op in node.operands if not isinstance(op, str))
    return _all_of(atoms, subs) if isinstance(node, _And) else _any_of(atoms, subs)


def _all_of(atoms: tuple[str, ...], subs: tuple[_Evaluator, ...]) -> _Evaluator:
    def all_of(grants: GrantSet) -> bool:
        exact = grants._exact
        if not exact.issuperset(atoms):  # one C call when every atom is an exact grant
            for atom in atoms:
                if atom not in exact and not grants.covers(atom):
                    return False
        for sub in subs:
            if not sub(grants):
                return False
        return True

    return all_of


def _any_of(atoms: tuple[str, ...], subs: tuple[_Evaluator, ...]) -> _Evaluator:
    def any_of(grants: GrantSet) -> bool:
        if not grants._exact.isdisjoint(atoms):  # one C call when some atom is an exact grant
            return True
        for atom in atoms:
            if grants.covers(atom):
                return True
        for sub in subs:
            if sub(grants):
                return True
        return False

    return any_of


class PermissionQuery:
    """A parsed query: ``AND``/``&&``/``&``, ``OR``/``||``/``|``, ``NOT``/``!``, parentheses.

    Precedence is NOT > AND > OR, all left-associative; keywords are
    case-insensitive. Construction parses (or raises PermissionQueryError);
    ``evaluate`` runs the compiled form against a GrantSet.
    """

    __slots__ = ("_atom", "_atoms", "_evaluate", "text")

    text: str

    def __init__(self, text: str) -> None:
        if not isinstance(text, str):
            raise ValidationError("a permission query must be a string", field="permissions")
        if len(text) > MAX_QUERY_LENGTH:
            raise PermissionQueryError(
                f"query is longer than {MAX_QUERY_LENGTH} characters",
                position=MAX_QUERY_LENGTH,
                query=text,
            )
        node = _Parser(text).parse()
        atoms: set[str] = set()
        _collect_atoms(node, atoms)
        self.text = text
        self._atoms = frozenset(atoms)
        self._atom = node if isinstance(node, str) else None
        self._evaluate = _compile(node)

    @classmethod
    def parse(cls, text: str) -> PermissionQuery:
        """Parse ``text``; raise PermissionQueryError naming the offending position."""
        return cls(text)

    def evaluate(self, grants: GrantSet) -> bool:
        """Whether ``grants`` satisfy this query."""
        atom = self._atom
        if atom is not None:  # the common single-permission query: at most one covers() call
            return atom in grants._exact or grants.covers(atom)
        return self._evaluate(grants)

    def atoms(self) -> frozenset[str]:
        """Every permission the query mentions."""
        return self._atoms

    def __repr__(self) -> str:
        return f"PermissionQuery.parse({self.text!r})"


@functools.lru_cache(maxsize=4096)
def parse_query_cached(text: str) -> PermissionQuery:
    """``PermissionQuery.parse`` with a bounded cache: each distinct query parses once."""
    return PermissionQuery.parse(text)


__all__ = [
    "MAX_PERMISSION_LENGTH",
    "MAX_QUERY_DEPTH",
    "MAX_QUERY_LENGTH",
    "MAX_SCOPED_PERMISSION_LENGTH",
    "GrantSet",
    "PermissionQuery",
    "parse_query_cached",
    "validate_permission",
]
