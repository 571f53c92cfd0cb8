"""Syntax of permission strings and of the permission query language.

Tokenizer and recursive-descent parser; ``permissions`` compiles the tree the
parser returns. Precedence NOT > AND > OR, left-associative; keywords are
case-insensitive; every error names the 0-based position of the offending token.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import NamedTuple

from keystead.core.secret_paths import (
    MAX_MOUNT_LENGTH,
    MAX_PATH_LENGTH,
    MOUNT_PATTERN,
    RESERVED_MOUNTS,
    segments_problem,
)
from keystead.errors import PermissionQueryError

MAX_PERMISSION_LENGTH = 128
MAX_SCOPED_PERMISSION_LENGTH = MAX_PERMISSION_LENGTH + 1 + MAX_MOUNT_LENGTH + 1 + MAX_PATH_LENGTH
MAX_QUERY_LENGTH = 1024
MAX_QUERY_DEPTH = 32

_SEGMENT = r"(?:[A-Za-z0-9_:\-]+|\*)"
_PERMISSION_RE = re.compile(rf"{_SEGMENT}(?:\.{_SEGMENT})*")
_SEGMENT_RE = re.compile(_SEGMENT)
_MOUNT_RE = re.compile(MOUNT_PATTERN)
_SCOPE_EXAMPLE = "e.g. secrets.read:secret/payments/*"


def _preview(text: str, limit: int = 40) -> str:
    """``repr`` of ``text``, shortened so a hostile input cannot bloat a message."""
    return repr(text) if len(text) <= limit else repr(text[:limit]) + "..."


def split_scoped(value: str) -> tuple[str, str, str]:
    """``name:mount/path`` as ``(name, mount, path)``; the mount ends at the first ``/``
    and starts after the last ``:`` before it (a name may hold ``:``, a mount may not)."""
    head, _, path = value.partition("/")
    name, _, mount = head.rpartition(":")
    return name, mount, path


def _scoped_problem(value: str) -> str | None:
    """Why ``name:mount/path-glob`` is not a path-scoped permission, or ``None``.

    The path must already be canonical (NFC, no slash at either end): a grant is
    compared as written, so a form that a path would be normalised from is refused.
    """
    if len(value) > MAX_SCOPED_PERMISSION_LENGTH:
        return f"is longer than {MAX_SCOPED_PERMISSION_LENGTH} characters"
    name, mount, path = split_scoped(value)
    if ":" not in value.partition("/")[0]:
        return f"a permission with a path is name:mount/path ({_SCOPE_EXAMPLE})"
    problem = _permission_problem(name)
    if problem is not None:
        return f"name {problem}"
    if _MOUNT_RE.fullmatch(mount) is None or mount in RESERVED_MOUNTS:
        return f"mount {_preview(mount)} is not a mount name ({_SCOPE_EXAMPLE})"
    if not path:
        return f"path is empty (the whole mount is {mount}/*)"
    if unicodedata.normalize("NFC", path) != path:
        return "path is not in Unicode NFC"
    problem = segments_problem(path, glob=True)
    return None if problem is None else f"path {problem}"


def _permission_problem(value: str) -> str | None:
    """Why ``value`` is not a permission string, or ``None`` when it is one.

    A ``/`` makes it path-scoped (``secrets.read:secret/payments/*``); the
    characters of a plain permission never include one.
    """
    if "/" in value:
        return _scoped_problem(value)
    if 0 < len(value) <= MAX_PERMISSION_LENGTH and _PERMISSION_RE.fullmatch(value):
        return None
    if not value:
        return "must not be empty"
    if len(value) > MAX_PERMISSION_LENGTH:
        return f"is longer than {MAX_PERMISSION_LENGTH} characters"
    for segment in value.split("."):
        if not segment:
            return "has an empty segment"
        if not _SEGMENT_RE.fullmatch(segment):
            if "*" in segment:
                return f"segment {_preview(segment)} mixes '*' with other characters"
            bad = next(ch for ch in segment if not _SEGMENT_RE.fullmatch(ch))
            return f"has an invalid character {bad!r} (allowed: A-Z a-z 0-9 _ : - and '.')"
    return "is not a permission"  # pragma: no cover - every failure is named above


# --- syntax tree ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Not:
    operand: _Node


@dataclass(frozen=True, slots=True)
class _And:
    operands: tuple[_Node, ...]


@dataclass(frozen=True, slots=True)
class _Or:
    operands: tuple[_Node, ...]


_Node = str | _Not | _And | _Or  # a str is an atom: one permission


# --- tokenizer -----------------------------------------------------------------------------------


class _Token(NamedTuple):
    kind: str  # "(", ")", "AND", "OR", "NOT", "ATOM" or "END"
    text: str
    pos: int


_TOKEN_RE = re.compile(
    r"(?P<ws>\s+)|(?P<lparen>\()|(?P<rparen>\))|(?P<and>&&?)|(?P<or>\|\|?)|(?P<not>!)"
    r"|(?P<word>[^\s()&|!]+)"
)
_KINDS = {"lparen": "(", "rparen": ")", "and": "AND", "or": "OR", "not": "NOT"}
_KEYWORDS = {"and": "AND", "or": "OR", "not": "NOT"}


def _tokenize(text: str) -> list[_Token]:
    tokens: list[_Token] = []
    for match in _TOKEN_RE.finditer(text):  # contiguous: "word" takes every other character
        group, value, pos = match.lastgroup, match.group(), match.start()
        if group == "word":
            keyword = _KEYWORDS.get(value.lower()) if value.isascii() else None
            tokens.append(_Token(keyword or "ATOM", value, pos))
        elif group != "ws":
            tokens.append(_Token(_KINDS[str(group)], value, pos))
    tokens.append(_Token("END", "", len(text)))
    return tokens


# --- parser --------------------------------------------------------------------------------------


def _describe(token: _Token) -> str:
    return "end of query" if token.kind == "END" else _preview(token.text)


def _join(kind: type[_And] | type[_Or], operands: list[_Node]) -> _Node:
    """One n-ary node, flattening same-kind children so long chains stay shallow."""
    if len(operands) == 1:
        return operands[0]
    flat: list[_Node] = []
    for operand in operands:
        if isinstance(operand, kind):
            flat.extend(operand.operands)
        else:
            flat.append(operand)
    return kind(tuple(flat))


class _Parser:
    """Recursive descent: or := and (OR and)*; and := not (AND not)*; not := NOT* primary."""

    __slots__ = ("_depth", "_index", "_text", "_tokens")

    def __init__(self, text: str) -> None:
        self._text = text
        self._tokens = _tokenize(text)
        self._index = 0
        self._depth = 0

    def parse(self) -> _Node:
        node = self._or()
        token = self._tokens[self._index]
        if token.kind == ")":
            raise self._error("unmatched ')'", token)
        if token.kind != "END":
            raise self._error(
                f"expected 'AND', 'OR' or end of query but found {_describe(token)}", token
            )
        return node

    def _error(self, message: str, token: _Token) -> PermissionQueryError:
        return PermissionQueryError(message, position=token.pos, query=self._text)

    def _or(self) -> _Node:
        operands = [self._and()]
        while self._tokens[self._index].kind == "OR":
            self._index += 1
            operands.append(self._and())
        return _join(_Or, operands)

    def _and(self) -> _Node:
        operands = [self._not()]
        while self._tokens[self._index].kind == "AND":
            self._index += 1
            operands.append(self._not())
        return _join(_And, operands)

    def _not(self) -> _Node:
        negate = False
        while self._tokens[self._index].kind == "NOT":  # a loop, so "!!!...!a" cannot recurse deep
            self._index += 1
            negate = not negate
        node = self._primary()
        if not negate:
            return node
        return node.operand if isinstance(node, _Not) else _Not(node)

    def _primary(self) -> _Node:
        token = self._tokens[self._index]
        self._index += 1
        if token.kind == "ATOM":
            problem = _permission_problem(token.text)
            if problem is not None:
                raise self._error(f"invalid permission {_preview(token.text)}: {problem}", token)
            return token.text
        if token.kind == "(":
            if self._depth >= MAX_QUERY_DEPTH:
                raise self._error(f"parentheses nested deeper than {MAX_QUERY_DEPTH} levels", token)
            self._depth += 1
            node = self._or()
            close = self._tokens[self._index]
            if close.kind != ")":
                message = f"expected 'AND', 'OR' or ')' but found {_describe(close)}"
                if close.kind == "END":
                    message = f"unclosed '(' at position {token.pos}: {message}"
                raise self._error(message, close)
            self._index += 1
            self._depth -= 1
            return node
        raise self._error(f"expected a permission or '(' but found {_describe(token)}", token)


def _collect_atoms(node: _Node, into: set[str]) -> None:
    if isinstance(node, str):
        into.add(node)
    elif isinstance(node, _Not):
        _collect_atoms(node.operand, into)
    else:
        for operand in node.operands:
            _collect_atoms(operand, into)
