"""The permission query language: coverage rules, grammar, error positions, and properties."""

from __future__ import annotations

import re
from dataclasses import dataclass

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from keystead.core.permissions import (
    MAX_QUERY_DEPTH,
    MAX_QUERY_LENGTH,
    GrantSet,
    PermissionQuery,
    parse_query_cached,
    validate_permission,
)
from keystead.errors import PermissionQueryError, ValidationError

# --- permission strings --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "permission",
    ["documents.read", "billing.invoices.write", "documents.*", "*", "a", "x_y:z-1.*.b", "a" * 128],
)
def test_valid_permissions_are_returned_unchanged(permission: str) -> None:
    assert validate_permission(permission) == permission


@pytest.mark.parametrize(
    ("permission", "reason"),
    [
        ("", "must not be empty"),
        ("a" * 129, "longer than 128"),
        ("documents..read", "empty segment"),
        (".documents", "empty segment"),
        ("documents.", "empty segment"),
        ("documents.re*d", "mixes '*'"),
        ("**", "mixes '*'"),
        ("documents read", "invalid character ' '"),
        ("docs/read", "name:mount/path"),  # a '/' makes a path-scoped permission
        ("café.read", "invalid character 'é'"),
    ],
)
def test_invalid_permissions_say_why(permission: str, reason: str) -> None:
    with pytest.raises(ValidationError, match=re.escape(reason)) as caught:
        validate_permission(permission)
    assert caught.value.field == "permissions"


# --- coverage ------------------------------------------------------------------------------------

COVERAGE = [
    # (grant, permission, covered)
    ("documents.read", "documents.read", True),
    ("documents.read", "documents.write", False),
    ("documents.read", "documents", False),
    ("documents.read", "documents.read.all", False),
    ("documents.*", "documents.read", True),
    ("documents.*", "documents.files.read", True),
    ("documents.*", "documents", False),
    ("documents.*", "documentsx.read", False),
    ("documents.*", "billing.read", False),
    ("*", "documents", True),
    ("*", "billing.invoices.write", True),
    ("*", "*", True),
    ("a.*.c", "a.b.c", True),
    ("a.*.c", "a.b.d", False),
    ("a.*.c", "a.b.c.d", False),
    ("a.*.c", "a.c", False),
    ("*.read", "documents.read", True),
    ("*.read", "documents.files.read", False),
    ("*.*", "a", False),
    ("*.*", "a.b", True),
    ("*.*", "a.b.c", True),
    ("a.*.c.*", "a.b.c.d.e", True),
    ("a.*.c.*", "a.b.c", False),
    # a star in the queried permission is literal
    ("documents.*", "documents.*", True),
    ("documents.read", "documents.*", False),
    ("a.*.c", "a.*.c", True),
    ("a.b.c", "a.*.c", False),
    ("*", "*.read", True),
]


@pytest.mark.parametrize(("grant", "permission", "covered"), COVERAGE)
def test_grant_coverage(grant: str, permission: str, covered: bool) -> None:
    grants = GrantSet([grant])
    assert grants.covers(permission) is covered
    assert grants.covers(permission) is covered  # the memoised answer agrees


def test_grant_set_sorts_and_deduplicates() -> None:
    grants = GrantSet(["b.read", "a.*", "b.read"])
    assert grants.grants == ("a.*", "b.read")
    assert grants == GrantSet(["a.*", "b.read"])
    assert hash(grants) == hash(GrantSet(["a.*", "b.read"]))


def test_empty_grant_set_covers_nothing() -> None:
    assert not GrantSet().covers("documents.read")


def test_grant_set_rejects_invalid_grants_and_a_bare_string() -> None:
    with pytest.raises(ValidationError, match="empty segment"):
        GrantSet(["documents..read"])
    with pytest.raises(ValidationError, match="not one string"):
        GrantSet("documents.read")


def test_covers_rejects_a_malformed_permission() -> None:
    with pytest.raises(ValidationError):
        GrantSet(["*"]).covers("documents.")


def test_memo_stays_bounded_under_many_distinct_queries() -> None:
    grants = GrantSet(["documents.*"])
    for index in range(10_000):
        assert grants.covers(f"documents.d{index}")
        assert not grants.covers(f"billing.d{index}")
    assert len(grants._memo) <= 256


# --- query evaluation ----------------------------------------------------------------------------

GRANTS = GrantSet(["a", "b", "docs.*"])  # c and d are not granted

EVALUATION = [
    ("a", True),
    ("c", False),
    ("docs.read", True),
    ("docs.*", True),
    ("a AND b", True),
    ("a AND c", False),
    ("c OR a", True),
    ("c OR d", False),
    ("NOT c", True),
    ("NOT a", False),
    ("NOT NOT a", True),
    # precedence: NOT > AND > OR
    ("a OR b AND c", True),  # a OR (b AND c)
    ("c AND d OR a", True),  # (c AND d) OR a
    ("(a OR b) AND c", False),
    ("NOT a OR b", True),  # (NOT a) OR b
    ("NOT (a OR b)", False),
    ("NOT a AND b", False),  # (NOT a) AND b
    ("a AND NOT c AND NOT d", True),
    ("((a))", True),
    ("(a AND (b OR NOT c))", True),
    # synonyms and case-insensitive keywords
    ("a && b", True),
    ("a & c", False),
    ("c || a", True),
    ("c | d", False),
    ("!c", True),
    ("!!a", True),
    ("a and not c", True),
    ("c Or A", False),  # permissions are case-sensitive; keywords are not
    ("a aNd b", True),
    # whitespace-insensitive
    ("a&&b", True),
    ("(c|a)&!d", True),
    ("  \ta\n AND\r\n b  ", True),
]


@pytest.mark.parametrize(("text", "expected"), EVALUATION)
def test_query_evaluation(text: str, expected: bool) -> None:
    query = PermissionQuery.parse(text)
    assert query.text == text
    assert query.evaluate(GRANTS) is expected


def test_atoms_lists_every_permission_mentioned() -> None:
    query = PermissionQuery.parse("a AND (b OR NOT docs.read) OR a")
    assert query.atoms() == frozenset({"a", "b", "docs.read"})


def test_cached_parse_returns_the_same_object() -> None:
    assert parse_query_cached("a AND b") is parse_query_cached("a AND b")


def test_long_chains_do_not_recurse_deeply() -> None:
    nots = "!" * (MAX_QUERY_LENGTH - 1) + "a"
    assert PermissionQuery.parse(nots).evaluate(GRANTS) is False  # 1023 negations: odd
    chain = " AND ".join(["a"] * 200)[:MAX_QUERY_LENGTH].rsplit(" AND ", 1)[0]
    assert PermissionQuery.parse(chain).evaluate(GRANTS) is True
    nested = "(" * MAX_QUERY_DEPTH + "a" + ")" * MAX_QUERY_DEPTH
    assert PermissionQuery.parse(nested).evaluate(GRANTS) is True
    siblings = " AND ".join(["(a)"] * (MAX_QUERY_DEPTH + 8))  # depth counts nesting, not groups
    assert PermissionQuery.parse(siblings).evaluate(GRANTS) is True


# --- parse errors --------------------------------------------------------------------------------

PARSE_ERRORS = [
    # (query, position, message fragment)
    ("", 0, "expected a permission or '(' but found end of query"),
    ("   ", 3, "found end of query"),
    (")", 0, "expected a permission or '(' but found ')'"),
    ("a)", 1, "unmatched ')'"),
    ("(a", 2, "unclosed '(' at position 0"),
    ("(a AND (b)", 10, "unclosed '(' at position 0"),
    ("a AND", 5, "expected a permission or '(' but found end of query"),
    ("AND a", 0, "found 'AND'"),
    ("a OR OR b", 5, "found 'OR'"),
    ("a || && b", 5, "found '&&'"),
    ("a b", 2, "expected 'AND', 'OR' or end of query but found 'b'"),
    ("(a b)", 3, "expected 'AND', 'OR' or ')' but found 'b'"),
    ("a NOT b", 2, "found 'NOT'"),
    ("()", 1, "found ')'"),
    ("a AND docs..read", 6, "invalid permission 'docs..read': has an empty segment"),
    ("a AND b$c", 6, "invalid character '$'"),
    ("a OR re*d", 5, "mixes '*'"),
    ("NOT", 3, "found end of query"),
    ("!", 1, "found end of query"),
    ("(" * (MAX_QUERY_DEPTH + 1) + "a" + ")" * (MAX_QUERY_DEPTH + 1), 32, "nested deeper than 32"),
    ("a" * (MAX_QUERY_LENGTH + 1), MAX_QUERY_LENGTH, "longer than 1024 characters"),
]


@pytest.mark.parametrize(("text", "position", "fragment"), PARSE_ERRORS)
def test_parse_errors_name_the_offending_position(text: str, position: int, fragment: str) -> None:
    with pytest.raises(PermissionQueryError) as caught:
        PermissionQuery.parse(text)
    error = caught.value
    assert error.position == position
    assert error.query == text
    assert fragment in error.detail
    assert error.field == "permissions"


def test_parse_errors_are_not_cached() -> None:
    for _ in range(2):
        with pytest.raises(PermissionQueryError):
            parse_query_cached("a AND")


# --- property tests ------------------------------------------------------------------------------


def reference_covers(grant: str, permission: str) -> bool:
    """The coverage rule as a regex: ``*`` is one segment, a trailing ``*`` is one or more."""
    segments = grant.split(".")
    parts = ["[^.]+" if segment == "*" else re.escape(segment) for segment in segments]
    if segments[-1] == "*":
        parts[-1] = "[^.]+(?:\\.[^.]+)*"
    return re.fullmatch("\\.".join(parts), permission) is not None


segment_names = st.sampled_from(["a", "b", "c", "*"])
permissions = st.lists(segment_names, min_size=1, max_size=4).map(".".join)


@given(grants=st.lists(permissions, max_size=5), permission=permissions)
def test_covers_matches_the_reference(grants: list[str], permission: str) -> None:
    grant_set = GrantSet(grants)
    expected = any(reference_covers(grant, permission) for grant in grants)
    assert grant_set.covers(permission) is expected
    assert grant_set.covers(permission) is expected


@dataclass(frozen=True)
class Op:
    """An operator node of a reference AST; ``spelling`` picks a synonym from SPELLINGS."""

    name: str  # "and", "or" or "not"
    operands: tuple[Ast, ...]
    spelling: int


Ast = str | Op
ATOMS = ["a", "b", "c", "a.b", "a.*", "b.c"]
SPELLINGS = {
    "and": ["AND", "and", "And", "&&", "&"],
    "or": ["OR", "or", "oR", "||", "|"],
    "not": ["NOT", "not", "Not", "!"],
}
PRECEDENCE = {"or": 1, "and": 2, "not": 3}


def build(children: st.SearchStrategy[Ast]) -> st.SearchStrategy[Ast]:
    binary = st.builds(
        Op, st.sampled_from(["and", "or"]), st.tuples(children, children), st.integers(0, 4)
    )
    negation = st.builds(Op, st.just("not"), st.tuples(children), st.integers(0, 3))
    return binary | negation


asts: st.SearchStrategy[Ast] = st.recursive(st.sampled_from(ATOMS), build, max_leaves=12)


def render_full(ast: Ast) -> str:
    """Every operator wrapped in parentheses."""
    if isinstance(ast, str):
        return ast
    word = SPELLINGS[ast.name][ast.spelling]
    if ast.name == "not":
        return f"({word} {render_full(ast.operands[0])})"
    left, right = ast.operands
    return f"({render_full(left)} {word} {render_full(right)})"


def render_minimal(ast: Ast) -> str:
    """Parentheses only where precedence and left-associativity need them."""
    if isinstance(ast, str):
        return ast
    level = PRECEDENCE[ast.name]

    def operand(node: Ast, *, right: bool) -> str:
        inner = 4 if isinstance(node, str) else PRECEDENCE[node.name]
        needs = inner <= level if right else inner < level
        return f"({render_minimal(node)})" if needs else render_minimal(node)

    word = SPELLINGS[ast.name][ast.spelling]
    if ast.name == "not":
        return f"{word} {operand(ast.operands[0], right=False)}"
    left, right = ast.operands
    return f"{operand(left, right=False)} {word} {operand(right, right=True)}"


def reference_evaluate(ast: Ast, grants: list[str]) -> bool:
    if isinstance(ast, str):
        return any(reference_covers(grant, ast) for grant in grants)
    values = [reference_evaluate(node, grants) for node in ast.operands]
    if ast.name == "not":
        return not values[0]
    return all(values) if ast.name == "and" else any(values)


@settings(max_examples=300)
@given(ast=asts, grants=st.lists(permissions, max_size=4))
def test_parsed_queries_evaluate_like_the_reference(ast: Ast, grants: list[str]) -> None:
    grant_set = GrantSet(grants)
    expected = reference_evaluate(ast, grants)
    for text in (render_full(ast), render_minimal(ast)):
        assert PermissionQuery.parse(text).evaluate(grant_set) is expected, text


OPERATOR_PIECES = ["(", ")", "AND", "or", "not", "&", "&&", "|", "||", "!"]
ODD_PIECES = [" ", "\t", ".", "..", "$", "é", "x*y", "\x00", "\u00a0", "\uff4e\uff4f\uff54"]
query_pieces = st.sampled_from(["a", "b.c", "a.*", "*", *OPERATOR_PIECES, *ODD_PIECES])


@given(text=st.lists(query_pieces, max_size=30).map("".join) | st.text(max_size=60))
def test_garbage_parses_or_raises_a_query_error(text: str) -> None:
    try:
        query = PermissionQuery.parse(text)
    except PermissionQueryError as error:
        assert 0 <= error.position <= len(text)
        assert error.query == text
    else:
        query.evaluate(GRANTS)  # must not raise either
        assert all(validate_permission(atom) == atom for atom in query.atoms())
