"""``keystead secret``: the server secret that keys and root keys are hashed under:
its versions, rotation and retirement (docs/operations.md, "Rotating the server
secret"). Renders what the SDK answers, locally or with ``--url``."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

from keystead.cli import _output as out
from keystead.cli._connect import Json, open_client
from keystead.cli._runtime import JsonOption, YesOption, command, confirm, state_of

app = typer.Typer(
    help="The server secret keys are hashed under: its versions, rotation and "
    "retirement (docs/operations.md)."
)

VERSION_COLUMNS = [
    ("Version", "version"),
    ("State", "state"),
    ("Keys", "keys"),
    ("Root keys", "root_keys"),
    ("Created", "created_at"),
    ("Newest from", "activates_at"),
    ("Retired", "retired_at"),
]


def _version(shown: Json, number: int) -> dict[str, Any]:
    found: dict[str, Any] = next(
        (v for v in shown["versions"] if v["version"] == number), {"keys": 0, "root_keys": 0}
    )
    return found


def _render(shown: Json, title: str) -> Callable[[Console], None]:
    def render(console: Console) -> None:
        console.print(out.table(shown["versions"], VERSION_COLUMNS, title=title))
        console.print(
            f"New keys are hashed under version {shown['newest']}; a lookup tries at most "
            f"{shown['versions_max']} versions; every node re-reads them every "
            f"{shown['refresh_s']:g} s."
        )

    return render


@command(app, "status")
def status(ctx: typer.Context, json_out: JsonOption = False) -> None:
    """The versions, their state, and how many keys and root keys each still hashes."""
    with open_client(state_of(ctx)) as client:
        shown = client.server_secret_status()
    out.emit(shown, json_out, _render(shown, "Server secret"))


@command(app, "rotate")
def rotate(
    ctx: typer.Context,
    settle: Annotated[
        float | None,
        typer.Option(
            "--settle",
            min=0,
            max=86_400,
            help="Seconds the new version stays pending, so every node knows it before "
            "a key is hashed under it (default: twice KEYSTEAD_SECRET_REFRESH_S).",
        ),
    ] = None,
    wait: Annotated[
        bool, typer.Option("--wait", help="Wait, with a progress bar, until it is the newest.")
    ] = False,
    json_out: JsonOption = False,
) -> None:
    """Add a server-secret version (needs a master key). Keys hashed under older
    versions keep verifying and move to the new one at their first verification."""
    with open_client(state_of(ctx)) as client:
        shown = client.rotate_server_secret(settle_s=settle)
        added = max(v["version"] for v in shown["versions"])
        if wait and shown["newest"] != added:
            shown = _wait_for(client.server_secret_status, added, shown, quiet=json_out)
    out.emit(shown, json_out, _render(shown, f"Server secret version {added} added"))


def _wait_for(
    status: Callable[[], Json], added: int, shown: Json, *, quiet: bool
) -> dict[str, Any]:
    pending = _version(shown, added)
    settle = float(shown["refresh_s"]) * 2
    with Progress(
        TextColumn("version {task.fields[version]} pending"),
        BarColumn(),
        TimeRemainingColumn(),
        console=out.stderr(),
        disable=quiet,
    ) as bar:
        task = bar.add_task("settle", total=settle, version=added)
        started = time.monotonic()
        while shown["newest"] != added and pending.get("state") == "pending":
            time.sleep(0.25)
            bar.update(task, completed=min(settle, time.monotonic() - started))
            shown = status()
            pending = _version(shown, added)
        bar.update(task, completed=settle)
    return shown


@command(app, "retire")
def retire(
    ctx: typer.Context,
    version: Annotated[int, typer.Argument(min=1, help="The version to stop trying.")],
    force: Annotated[
        bool,
        typer.Option(
            "--force", help="Retire although keys still use it: those keys stop verifying."
        ),
    ] = False,
    yes: YesOption = False,
    json_out: JsonOption = False,
) -> None:
    """Stop trying a server-secret version, for good. Refused while keys or root
    keys still use it (each moves to the newest version at its first verification),
    unless --force."""
    with open_client(state_of(ctx)) as client:
        used = _version(client.server_secret_status(), version)
        keys, root_keys = used["keys"], used["root_keys"]
        if (keys or root_keys) and force:
            out.warn(
                f"{keys} keys and {root_keys} root keys are hashed under version {version}: "
                "they stop verifying for good once it is retired"
            )
        confirm(f"Retire server-secret version {version} for good", yes=yes, json_mode=json_out)
        shown = client.retire_server_secret(version, force=force)
    out.emit(shown, json_out, _render(shown, f"Server secret version {version} retired"))
