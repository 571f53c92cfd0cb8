"""Commands imported when they run, not when ``keystead`` starts.

``keystead scan`` in a pre-commit hook should not pay for importing the
service, the client and the HTTP stack that other commands need: each command
module is imported only when its command is run or listed in ``--help``.
"""

from __future__ import annotations

import importlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import typer
import typer.main
from typer.core import TyperGroup

if TYPE_CHECKING:  # the click that typer is built on (vendored by recent typer)
    from typer._click import Command, Context


@dataclass(frozen=True, slots=True)
class Lazy:
    """Where the commands ``names`` come from: ``module.app`` (a group of
    subcommands, extended by each ``extend`` module's ``register``), or the
    commands ``module.register(app)`` adds to the root (``group=False``)."""

    names: tuple[str, ...]
    module: str
    group: bool = True
    extend: tuple[str, ...] = ()

    def load(self) -> dict[str, Command]:
        module = importlib.import_module(self.module)
        if self.group:
            sub: typer.Typer = module.app
            for name in self.extend:
                importlib.import_module(name).register(sub)
            (name,) = self.names
            group = typer.main.get_group(sub)
            group.name = name
            return {name: group}
        holder = typer.Typer(add_completion=False)
        module.register(holder)
        commands = typer.main.get_group(holder).commands
        return {name: commands[name] for name in self.names}


def lazy_group(table: Sequence[Lazy]) -> type[TyperGroup]:
    """A root group whose commands come from ``table``, each module imported
    the first time one of its commands is asked for."""
    where = {name: entry for entry in table for name in entry.names}

    class LazyGroup(TyperGroup):
        def list_commands(self, ctx: Context) -> list[str]:
            loaded = super().list_commands(ctx)
            return [*loaded, *(name for name in where if name not in loaded)]

        def get_command(self, ctx: Context, cmd_name: str) -> Command | None:
            found = super().get_command(ctx, cmd_name)
            if found is None and cmd_name in where:
                for name, command in where[cmd_name].load().items():
                    self.add_command(command, name)
                found = super().get_command(ctx, cmd_name)
            return found

    return LazyGroup


__all__ = ["Lazy", "lazy_group"]
