"""What every command shares: global options, settings, error handling, exit codes.

Exit codes: 0 success; 1 a domain error (not found, invalid input, conflict,
refused) or a failed ``keys verify``; 2 a usage error; 3 the store, the limiter
or the server could not be reached. A command never ends in a traceback: unexpected errors
print "internal error" (``KEYSTEAD_DEBUG=1`` shows the traceback).
"""

from __future__ import annotations

import functools
import logging
import os
import sys
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, ParamSpec, TypeVar

import typer

from keystead.cli import _output
from keystead.errors import KeysteadError, LimiterUnavailable, StoreUnavailable, ValidationError

if TYPE_CHECKING:  # settings and the client are loaded by the commands that use them
    from keystead.config import Settings

P = ParamSpec("P")
R = TypeVar("R")

EXIT_ERROR = 1
EXIT_USAGE = 2
EXIT_UNREACHABLE = 3
_UNREACHABLE_STATUSES = frozenset({502, 503, 504})

JsonOption = Annotated[
    bool, typer.Option("--json", help="Print one JSON document on stdout (for scripts).")
]
YesOption = Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")]


class UsageProblem(Exception):
    """The command line cannot work as given (exit code 2)."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(slots=True)
class CliState:
    """The global options, read once by the root callback."""

    url: str | None = None
    root_key_file: Path | None = None
    workspace: str | None = None
    _settings: Settings | None = field(default=None, repr=False)

    def settings(self) -> Settings:
        if self._settings is None:
            self._settings = load_settings()
        return self._settings

    def server_url(self) -> str | None:
        return self.url or self.settings().url

    def require_local(self, what: str) -> None:
        if self.server_url():
            raise UsageProblem(f"{what} works on the local store only; unset KEYSTEAD_URL / --url")


def load_settings() -> Settings:
    import pydantic

    from keystead.config import Settings

    try:
        return Settings()
    except pydantic.ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"]) or "settings"
        raise UsageProblem(
            f"invalid configuration: KEYSTEAD_{where.upper()}: {first['msg']}"
        ) from None


def quiet_service_logs() -> None:
    """Keep the log lines of a service running in this process (local mode) off
    the terminal: the command prints its one error line, and a dependency's own
    words (an address, an OS error) appear only with ``KEYSTEAD_DEBUG=1``."""
    if os.environ.get("KEYSTEAD_DEBUG"):
        return
    logger = logging.getLogger("keystead")
    if not any(isinstance(h, logging.NullHandler) for h in logger.handlers):
        logger.addHandler(logging.NullHandler())  # found: Python's last-resort printer stays idle


def state_of(ctx: typer.Context) -> CliState:
    root = ctx.find_root()
    if not isinstance(root.obj, CliState):
        root.obj = CliState()
    return root.obj


def read_root_key(state: CliState) -> str:
    """The root key for remote mode: from --root-key-file, else KEYSTEAD_ROOT_KEY."""
    if state.root_key_file is not None:
        try:
            text = state.root_key_file.read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise UsageProblem(
                f"cannot read the root key file {state.root_key_file}: {exc.strerror}"
            ) from None
        if not text:
            raise UsageProblem(f"the root key file {state.root_key_file} is empty")
        return text
    secret = state.settings().root_key
    if secret is None or not secret.get_secret_value().strip():
        raise UsageProblem(
            "a server needs a root key: set KEYSTEAD_ROOT_KEY or pass --root-key-file PATH"
        )
    return secret.get_secret_value().strip()


def interactive() -> bool:
    """Whether someone can answer a question: stdin is a terminal."""
    return sys.stdin.isatty()


def confirm(action: str, *, yes: bool, json_mode: bool) -> None:
    """Ask before a destructive action, unless told not to or nobody can answer."""
    if yes or json_mode or not interactive():
        return
    if not typer.confirm(f"{action}?", default=False, err=True):
        raise typer.Abort()


def guarded(func: Callable[P, R]) -> Callable[P, R]:
    """Turn every error of a command into one line on stderr and an exit code."""

    @functools.wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return func(*args, **kwargs)
        except (typer.Exit, typer.Abort, typer.BadParameter):
            raise
        except UsageProblem as exc:
            code, message = EXIT_USAGE, exc.message
        except (StoreUnavailable, LimiterUnavailable) as exc:
            code, message = EXIT_UNREACHABLE, _unreachable(exc)
        except KeysteadError as exc:
            field_name = exc.field if isinstance(exc, ValidationError) else None
            code, message = EXIT_ERROR, _describe(exc.title, None, exc.detail, field_name)
        except Exception as exc:
            code, message = _client_error(exc)
        _output.error(message)
        raise typer.Exit(code)

    return wrapper


def _client_error(exc: Exception) -> tuple[int, str]:
    """The exit code and line for an error of the client (imported only when
    one was raised: a command that never loaded the client raised none), or
    "internal error" for anything else."""
    if "keystead.client" in sys.modules:
        from keystead.client import ApiError, ConnectionFailed

        if isinstance(exc, ConnectionFailed):
            return EXIT_UNREACHABLE, str(exc)
        if isinstance(exc, ApiError):
            code = EXIT_UNREACHABLE if exc.status in _UNREACHABLE_STATUSES else EXIT_ERROR
            field_name = (exc.body or {}).get("field")
            return code, _describe(exc.title, exc.status, exc.detail, field_name)
    if os.environ.get("KEYSTEAD_DEBUG"):
        traceback.print_exc()
    return EXIT_ERROR, "internal error (set KEYSTEAD_DEBUG=1 to see the details)"


def _unreachable(exc: KeysteadError) -> str:
    """The stable line a server would answer; the dependency's own words (an
    address, an OS error) only with ``KEYSTEAD_DEBUG=1``."""
    message = f"{exc.title}: {exc.public_detail or exc.detail}"
    if os.environ.get("KEYSTEAD_DEBUG") and exc.public_detail:
        message += f" ({exc.detail})"
    return message


def _describe(title: str, status: int | None, detail: str | None, field_name: object) -> str:
    """``Title (status): field: detail``; the field only when the detail does not name it."""
    head = title if status is None else f"{title} ({status})"
    if not detail:
        return head
    if isinstance(field_name, str) and field_name and field_name not in detail:
        detail = f"{field_name}: {detail}"
    return f"{head}: {detail}"


def command(
    app: typer.Typer, name: str | None = None
) -> Callable[[Callable[P, R]], Callable[P, R]]:
    """``@app.command()`` with the error handling of :func:`guarded`."""

    def register(func: Callable[P, R]) -> Callable[P, R]:
        app.command(name)(guarded(func))
        return func

    return register


__all__ = [
    "EXIT_ERROR",
    "EXIT_UNREACHABLE",
    "EXIT_USAGE",
    "CliState",
    "JsonOption",
    "UsageProblem",
    "YesOption",
    "command",
    "confirm",
    "guarded",
    "interactive",
    "load_settings",
    "quiet_service_logs",
    "read_root_key",
    "state_of",
]
