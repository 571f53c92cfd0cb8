"""The SQL store implements the store protocols to the letter: every method the
service may call, with the same parameter names, kinds, defaults and types.

mypy checks that ``SqlStore`` is a ``Store`` but lets a positional parameter's
name or a default's value drift; a caller passing it by keyword, or a second
backend written from the protocol, would then behave differently."""

from __future__ import annotations

import inspect
import typing
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager
from typing import Any

import pytest

from keystead.store.audit import AuditSnapshot
from keystead.store.base import Store
from keystead.store.sql import SqlStore
from keystead.store.sql.audit_queries import SqlAuditSnapshot

# (protocol, its SQL implementation)
PAIRS: list[tuple[type[Any], type[Any]]] = [(Store, SqlStore), (AuditSnapshot, SqlAuditSnapshot)]
IMPLEMENTS = {protocol: implementation for protocol, implementation in PAIRS}


def members(protocol: type[Any]) -> dict[str, Callable[..., Any]]:
    """The methods of ``protocol`` and of the protocols it extends."""
    found: dict[str, Callable[..., Any]] = {}
    for cls in reversed(protocol.__mro__):
        if getattr(cls, "_is_protocol", False) and cls is not typing.Protocol:
            found.update(
                (name, value)
                for name, value in vars(cls).items()
                if inspect.isfunction(value) and not name.startswith("_")
            )
    return found


def _same_return(promised: Any, given: Any) -> bool:
    """Equal, or an ``asynccontextmanager`` yielding the implementation of what
    the protocol's context manager promises."""
    if promised == given:
        return True
    if typing.get_origin(promised) is AbstractAsyncContextManager:
        if typing.get_origin(given) is AsyncIterator:
            (inner,), (yielded,) = typing.get_args(promised), typing.get_args(given)
            return IMPLEMENTS.get(inner) is yielded
    return False


def differences(protocol: type[Any], implementation: type[Any]) -> list[str]:
    wrong = []
    for name, promised in members(protocol).items():
        given = getattr(implementation, name, None)
        if given is None:
            wrong.append(f"{name}: missing")
            continue
        shape = [
            (p.name, p.kind, p.default) for p in inspect.signature(promised).parameters.values()
        ]
        real = [(p.name, p.kind, p.default) for p in inspect.signature(given).parameters.values()]
        if shape != real:
            wrong.append(f"{name}: parameters {real} instead of {shape}")
        hints, real_hints = typing.get_type_hints(promised), typing.get_type_hints(given)
        returns, real_returns = hints.pop("return"), real_hints.pop("return")
        if hints != real_hints:
            wrong.append(f"{name}: parameter types {real_hints} instead of {hints}")
        if not _same_return(returns, real_returns):
            wrong.append(f"{name}: returns {real_returns} instead of {returns}")
        if inspect.iscoroutinefunction(promised) != inspect.iscoroutinefunction(given):
            wrong.append(f"{name}: async in one and not the other")
    return wrong


@pytest.mark.parametrize(("protocol", "implementation"), PAIRS, ids=[p.__name__ for p, _ in PAIRS])
def test_the_sql_store_has_every_method_as_the_protocol_states_it(
    protocol: type[Any], implementation: type[Any]
) -> None:
    wrong = differences(protocol, implementation)
    assert not wrong, "\n".join(wrong)


def test_the_sql_store_offers_nothing_the_protocol_does_not() -> None:
    """The service holds a ``Store``: a public coroutine outside the protocol is
    one no face can reach and no other backend knows it must offer."""
    promised = members(Store)
    extra = [
        name
        for name, value in inspect.getmembers(SqlStore, inspect.iscoroutinefunction)
        if not name.startswith("_") and name not in promised
    ]
    assert extra == []
