"""``keystead secrets consumers`` and ``keystead secrets rotation show|set|clear``:
who reads which version of a secret, and its rotation policy (docs/secrets.md).

The commands are plain functions; ``register(group)`` adds them to the
``keystead secrets`` group. They render what the SDK answers (``--json``: that
answer, unchanged).
"""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.console import Console

from keystead.cli import _output as out
from keystead.cli._connect import open_client
from keystead.cli._inputs import duration
from keystead.cli._output import Column
from keystead.cli._runtime import JsonOption, command, state_of

MountOption = Annotated[str, typer.Option("--mount", "-m", help="The mount the secret lives in.")]
OptionalPath = Annotated[
    str | None,
    typer.Argument(help="The secret's path; without it, the mount's default policy."),
]

CONSUMER_COLUMNS: list[Column] = [
    ("Version", "version"),
    ("Credential", "credential_shown"),
    ("First read", "first_read"),
    ("Last read", "last_read"),
    ("Count", "reads"),
]
POLICY_FIELDS: list[Column] = [
    ("Mount", "mount"),
    ("Path", "path"),
    ("Policy", "source"),
    ("Max age", "max_age"),
    ("Warn before", "warn_before"),
    ("Version", "version"),
    ("Written", "created_time"),
    ("Warns at", "warn_at"),
    ("Due at", "due_at"),
]


def consumers(
    ctx: typer.Context,
    path: Annotated[str, typer.Argument(help="The secret's path, e.g. payments/stripe.")],
    mount: MountOption = "secret",
    version: Annotated[
        int | None, typer.Option(min=1, help="Only this version: who still reads it?")
    ] = None,
    json_out: JsonOption = False,
) -> None:
    """Who read which version of a secret, when, and how often.

    Per version and credential: the first and last read and the count. Before
    revoking an old third-party key at its provider, check that nothing still
    reads the versions that hold it."""
    with open_client(state_of(ctx)) as client:
        answer = client.secret_consumers(path, mount=mount, version=version)
    rows = [{**item, "credential_shown": _credential(item)} for item in answer["items"]]
    where = f"{answer['mount']}/{answer['path']}"

    def render(console: Console) -> None:
        title = f"Consumers of {where} (current version {answer['current_version']})"
        empty = f"no recorded reads of {where}" + ("" if version is None else f" v{version}")
        out.show_list(rows, CONSUMER_COLUMNS, title=title, empty=empty)(console)

    out.emit(answer, json_out, render)


def _credential(item: dict[str, Any]) -> str:
    if item["kind"] == "root_key":
        label = item["name"] or item["credential"]
        start = f" ({item['start']}...)" if item.get("start") else ""
        revoked = " [revoked]" if item.get("revoked") else ""
        return f"{label}{start}{revoked}"
    return str(item["name"] or item["credential"])


rotation = typer.Typer(
    help="Rotation policies: a maximum age per secret or per mount; an alert and a "
    "secret.rotation_due event when the latest version gets that old."
)


@command(rotation, "show")
def show_rotation(
    ctx: typer.Context,
    path: OptionalPath = None,
    mount: MountOption = "secret",
    json_out: JsonOption = False,
) -> None:
    """Show the policy that applies to a secret (its own, else the mount's), and
    when its latest version warns and is due."""
    with open_client(state_of(ctx)) as client:
        if path is None:
            policy = client.read_mount_rotation(mount)
        else:
            policy = client.read_secret_rotation(path, mount=mount)
    out.emit(policy, json_out, _render_policy(policy))


@command(rotation, "set")
def set_rotation(
    ctx: typer.Context,
    max_age: Annotated[str, typer.Option("--max-age", help="Rotate after this long, e.g. 90d.")],
    path: OptionalPath = None,
    warn_before: Annotated[
        str | None,
        typer.Option(
            "--warn-before", help="Warn this long before, e.g. 14d (default: at max age)."
        ),
    ] = None,
    mount: MountOption = "secret",
    json_out: JsonOption = False,
) -> None:
    """Set a secret's own policy (or, without PATH, the mount's default)."""
    age = duration(max_age, "--max-age")
    warn = None if warn_before is None else duration(warn_before, "--warn-before")
    with open_client(state_of(ctx)) as client:
        if path is None:
            policy = client.set_mount_rotation(max_age=age, warn_before=warn, mount=mount)
        else:
            policy = client.set_secret_rotation(path, max_age=age, warn_before=warn, mount=mount)
    out.emit(policy, json_out, _render_policy(policy))


@command(rotation, "clear")
def clear_rotation(
    ctx: typer.Context,
    path: OptionalPath = None,
    mount: MountOption = "secret",
    json_out: JsonOption = False,
) -> None:
    """Remove a secret's own policy (the mount's default applies again), or,
    without PATH, the mount's default."""
    with open_client(state_of(ctx)) as client:
        if path is None:
            policy = client.clear_mount_rotation(mount)
        else:
            policy = client.clear_secret_rotation(path, mount=mount)
    out.emit(policy, json_out, _render_policy(policy))


def _render_policy(policy: dict[str, Any]) -> Any:
    def render(console: Console) -> None:
        shown = {
            **policy,
            "path": policy["path"] or "(mount default)",
            "source": policy["source"] or "none",
            "max_age": _span(policy["max_age_s"]),
            "warn_before": _span(policy["warn_before_s"]),
        }
        console.print(out.record(shown, POLICY_FIELDS, title="Rotation policy"))

    return render


def _span(seconds: int | None) -> str | None:
    if seconds is None:
        return None
    for unit, size in (("d", 86_400), ("h", 3600), ("m", 60)):
        if seconds and seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


def register(group: typer.Typer) -> None:
    """Add ``consumers`` and the ``rotation`` sub-group to ``group``: the
    ``keystead secrets`` group."""
    command(group, "consumers")(consumers)
    group.add_typer(rotation, name="rotation")


__all__ = [
    "clear_rotation",
    "consumers",
    "register",
    "rotation",
    "set_rotation",
    "show_rotation",
]
