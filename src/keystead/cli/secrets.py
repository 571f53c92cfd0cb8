"""``keystead secrets``: stored secrets (docs/secrets.md), over the SDK.

``put`` never takes a value as an argument (``_secret_input``); ``get --field F``
prints that one value alone, for scripts. Settings and mounts are in
``secret_admin`` (``secrets metadata ...``, ``secrets mounts ...``).
"""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

from keystead.cli import _output as out
from keystead.cli import secret_admin
from keystead.cli._connect import open_client
from keystead.cli._output import Column
from keystead.cli._runtime import (
    JsonOption,
    UsageProblem,
    YesOption,
    command,
    confirm,
    state_of,
)
from keystead.cli._secret_input import read_fields
from keystead.errors import NotFound

app = typer.Typer(
    help="Stored secrets: versioned, encrypted under the master key, path-scoped.",
    no_args_is_help=True,
)
app.add_typer(secret_admin.metadata_app, name="metadata")
app.add_typer(secret_admin.mounts_app, name="mounts")

PathArg = Annotated[str, typer.Argument(help="The secret's path, e.g. payments/stripe.")]
MountOption = Annotated[str, typer.Option("--mount", "-m", help="The mount (default: secret).")]
CasOption = Annotated[
    int | None,
    typer.Option(help="Write only while the current version is this one (0: create only)."),
]
VersionsOption = Annotated[
    list[int] | None, typer.Option("--version", "-v", help="A version (repeat for several).")
]

WRITTEN_FIELDS: list[Column] = [("Mount", "mount"), ("Path", "path"), ("Version", "version"),
                                ("Created", "created_time")]  # fmt: skip
VERSION_COLUMNS: list[Column] = [
    ("Version", "version"),
    ("Created", "created_time"),
    ("Deleted", "deletion_time"),
    ("Destroyed", "destroyed"),
]


def _written(answer: dict[str, Any], title: str) -> Any:
    flat = {"mount": answer["mount"], "path": answer["path"], **answer["metadata"]}
    return out.record(flat, WRITTEN_FIELDS, title=title)


def _required(versions: list[int] | None) -> list[int]:
    if not versions:
        raise UsageProblem("name the versions: --version N (repeat for several)")
    return versions


@command(app, "put")
def put(
    ctx: typer.Context,
    path: PathArg,
    fields: Annotated[
        list[str] | None,
        typer.Argument(
            help="FIELD=@FILE (the file's text), FIELD=- (stdin) or FIELD alone (a prompt "
            "that does not echo). Never FIELD=VALUE: it would land in the shell history.",
            show_default=False,
        ),
    ] = None,
    mount: MountOption = "secret",
    cas: CasOption = None,
    json_out: JsonOption = False,
) -> None:
    """Write a new version of a secret, with these fields (the value is whole:
    fields not given are not kept; see 'secrets patch')."""
    data = read_fields(fields or [])
    with open_client(state_of(ctx)) as client:
        answer = client.put_secret(path, data, mount=mount, cas=cas)
    out.emit(answer, json_out, lambda console: console.print(_written(answer, "Secret written")))


@command(app, "patch")
def patch(
    ctx: typer.Context,
    path: PathArg,
    fields: Annotated[
        list[str] | None,
        typer.Argument(help="As for put: the fields to set.", show_default=False),
    ] = None,
    remove: Annotated[
        list[str] | None, typer.Option("--remove", help="A field to remove (repeat).")
    ] = None,
    mount: MountOption = "secret",
    cas: CasOption = None,
    json_out: JsonOption = False,
) -> None:
    """Set or remove some fields, keeping the others, as a new version."""
    changes: dict[str, str | None] = dict(read_fields(fields or [])) if fields else {}
    for name in remove or []:
        changes[name] = None
    if not changes:
        raise UsageProblem("nothing to change: give fields to set or --remove FIELD")
    with open_client(state_of(ctx)) as client:
        answer = client.patch_secret(path, changes, mount=mount, cas=cas)
    out.emit(answer, json_out, lambda console: console.print(_written(answer, "Secret patched")))


@command(app, "get")
def get(
    ctx: typer.Context,
    path: PathArg,
    version: Annotated[int | None, typer.Option(help="A version (default: the current).")] = None,
    field: Annotated[
        str | None, typer.Option("--field", "-f", help="Print only this field's value.")
    ] = None,
    mount: MountOption = "secret",
    json_out: JsonOption = False,
) -> None:
    """Read a secret: its fields as a table, or one value with --field."""
    with open_client(state_of(ctx)) as client:
        answer = client.read_secret(path, mount=mount, version=version)
    data: dict[str, str] = answer["data"]
    if field is not None:
        if field not in data:
            raise NotFound(f"the secret has no field {field!r} (it has: {', '.join(data)})")
        if json_out:
            out.print_json(data[field])
        else:
            typer.echo(data[field], nl=not data[field].endswith("\n"))
        return

    def render(console: Console) -> None:
        meta = answer["metadata"]
        grid = Table(title=f"{answer['mount']}/{answer['path']}  version {meta['version']}",
                     title_justify="left", show_header=True)  # fmt: skip
        grid.add_column("Field", style="bold", no_wrap=True)
        grid.add_column("Value", overflow="fold")
        for name, value in data.items():
            grid.add_row(name, Text(value))
        console.print(grid)

    out.emit(answer, json_out, render)


@command(app, "list")
def list_secrets(
    ctx: typer.Context,
    folder: Annotated[str, typer.Argument(help="A folder (default: the mount's top).")] = "",
    mount: MountOption = "secret",
    json_out: JsonOption = False,
) -> None:
    """The names one level below a folder; folders end with '/'."""
    with open_client(state_of(ctx)) as client:
        keys = client.list_secrets(folder, mount=mount)
    answer = {"keys": keys}
    rows = [{"name": name} for name in keys]
    render = out.show_list(rows, [("Name", "name")], title=f"{mount}/{folder}", empty="nothing")
    out.emit(answer, json_out, render)


@command(app, "versions")
def versions(
    ctx: typer.Context, path: PathArg, mount: MountOption = "secret", json_out: JsonOption = False
) -> None:
    """The versions kept of a secret (metadata only, never a value)."""
    with open_client(state_of(ctx)) as client:
        answer = client.read_secret_metadata(path, mount=mount)
    title = f"{mount}/{answer['path']}  current version {answer['current_version']}"
    out.emit(answer, json_out, out.show_list(answer["versions"], VERSION_COLUMNS, title=title,
                                             empty="no versions"))  # fmt: skip


def _versions_changed(answer: dict[str, Any], title: str) -> Any:
    return out.show_list(answer["versions"], VERSION_COLUMNS, title=title, empty="no versions")


@command(app, "delete")
def delete(
    ctx: typer.Context,
    path: PathArg,
    version: VersionsOption = None,
    mount: MountOption = "secret",
    json_out: JsonOption = False,
) -> None:
    """Soft-delete versions (default: the current one); 'undelete' brings them back."""
    with open_client(state_of(ctx)) as client:
        answer = client.delete_secret(path, mount=mount, versions=version or None)
    out.emit(answer, json_out, _versions_changed(answer, "Deleted"))


@command(app, "undelete")
def undelete(
    ctx: typer.Context,
    path: PathArg,
    version: VersionsOption = None,
    mount: MountOption = "secret",
    json_out: JsonOption = False,
) -> None:
    """Bring soft-deleted versions back."""
    chosen = _required(version)
    with open_client(state_of(ctx)) as client:
        answer = client.undelete_secret(path, chosen, mount=mount)
    out.emit(answer, json_out, _versions_changed(answer, "Undeleted"))


@command(app, "destroy")
def destroy(
    ctx: typer.Context,
    path: PathArg,
    version: VersionsOption = None,
    mount: MountOption = "secret",
    yes: YesOption = False,
    json_out: JsonOption = False,
) -> None:
    """Erase versions' values for good (their metadata stays)."""
    chosen = _required(version)
    confirm(f"Destroy versions {chosen} of {mount}/{path} for good", yes=yes, json_mode=json_out)
    with open_client(state_of(ctx)) as client:
        answer = client.destroy_secret(path, chosen, mount=mount)
    out.emit(answer, json_out, _versions_changed(answer, "Destroyed"))


@command(app, "rollback")
def rollback(
    ctx: typer.Context,
    path: PathArg,
    version: Annotated[int, typer.Argument(help="The version whose value is written again.")],
    mount: MountOption = "secret",
    cas: CasOption = None,
    json_out: JsonOption = False,
) -> None:
    """Write an old version's value again, as a new version."""
    with open_client(state_of(ctx)) as client:
        answer = client.rollback_secret(path, version, mount=mount, cas=cas)
    out.emit(answer, json_out, lambda console: console.print(_written(answer, "Rolled back")))


__all__ = ["app"]
