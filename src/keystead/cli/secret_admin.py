"""``keystead secrets metadata ...`` and ``keystead secrets mounts ...``: a secret's
settings and custom metadata, and the mounts (settings reaching every secret)."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.console import Console

from keystead.cli import _output as out
from keystead.cli._connect import open_client
from keystead.cli._inputs import duration
from keystead.cli._output import Column
from keystead.cli._runtime import JsonOption, UsageProblem, YesOption, command, confirm, state_of

metadata_app = typer.Typer(help="A secret's settings, custom metadata and versions.")
mounts_app = typer.Typer(help="Secret mounts and their settings.")

PathArg = Annotated[str, typer.Argument(help="The secret's path, e.g. payments/stripe.")]
MountOption = Annotated[str, typer.Option("--mount", "-m", help="The mount (default: secret).")]
MaxVersions = Annotated[
    int | None,
    typer.Option(min=0, help="Versions kept; older ones are removed (0: the default)."),
]
CasRequired = Annotated[
    bool | None,
    typer.Option(
        "--cas-required/--no-cas-required",
        help="Every write must name the version it replaces (--cas).",
        show_default=False,
    ),
]
DeleteAfter = Annotated[
    str | None,
    typer.Option(help="New versions read as deleted after this long (e.g. 30d, 12h; 0: never)."),
]

METADATA_FIELDS: list[Column] = [
    ("Mount", "mount"),
    ("Path", "path"),
    ("Current version", "current_version"),
    ("Oldest version", "oldest_version"),
    ("Max versions", "max_versions"),
    ("CAS required", "cas_required"),
    ("Delete after (s)", "delete_version_after"),
    ("Custom metadata", "custom_metadata"),
    ("Created", "created_time"),
    ("Updated", "updated_time"),
]
VERSION_COLUMNS: list[Column] = [
    ("Version", "version"),
    ("Created", "created_time"),
    ("Deleted", "deletion_time"),
    ("Destroyed", "destroyed"),
]
MOUNT_COLUMNS: list[Column] = [
    ("Name", "name"),
    ("Kind", "kind"),
    ("Max versions", "max_versions"),
    ("CAS required", "cas_required"),
    ("Delete after (s)", "delete_version_after"),
    ("Created", "created_at"),
]


def seconds(text: str | None, option: str) -> int | None:
    """A duration option as seconds; ``0`` means never."""
    if text is None:
        return None
    if text.strip() == "0":
        return 0
    return int(duration(text, option).total_seconds())


def _settings(
    max_versions: int | None, cas_required: bool | None, delete_after: str | None
) -> dict[str, Any]:
    found = {
        "max_versions": max_versions,
        "cas_required": cas_required,
        "delete_version_after": seconds(delete_after, "--delete-version-after"),
    }
    return {name: value for name, value in found.items() if value is not None}


def _custom(pairs: list[str] | None) -> dict[str, str] | None:
    if pairs is None:
        return None
    custom: dict[str, str] = {}
    for pair in pairs:
        name, eq, value = pair.partition("=")
        if not eq or not name:
            raise UsageProblem(f"--custom takes KEY=VALUE, not {pair!r}")
        custom[name] = value
    return custom


def _show_metadata(answer: dict[str, Any]) -> Any:
    def render(console: Console) -> None:
        console.print(out.record(answer, METADATA_FIELDS, title="Secret metadata"))
        out.show_list(answer["versions"], VERSION_COLUMNS, title="Versions",
                      empty="no versions")(console)  # fmt: skip

    return render


@command(metadata_app, "get")
def metadata_get(
    ctx: typer.Context, path: PathArg, mount: MountOption = "secret", json_out: JsonOption = False
) -> None:
    """A secret's settings and versions (never a value)."""
    with open_client(state_of(ctx)) as client:
        answer = client.read_secret_metadata(path, mount=mount)
    out.emit(answer, json_out, _show_metadata(answer))


@command(metadata_app, "set")
def metadata_set(
    ctx: typer.Context,
    path: PathArg,
    max_versions: MaxVersions = None,
    cas_required: CasRequired = None,
    delete_version_after: DeleteAfter = None,
    custom: Annotated[
        list[str] | None,
        typer.Option(help="KEY=VALUE of custom metadata (repeat); replaces the whole set."),
    ] = None,
    clear_custom: Annotated[
        bool, typer.Option("--clear-custom", help="Remove all custom metadata.")
    ] = False,
    mount: MountOption = "secret",
    json_out: JsonOption = False,
) -> None:
    """Change a secret's settings (those given; the others are kept)."""
    if custom and clear_custom:
        raise UsageProblem("give --custom or --clear-custom, not both")
    settings = _settings(max_versions, cas_required, delete_version_after)
    metadata = {} if clear_custom else _custom(custom)
    if not settings and metadata is None:
        raise UsageProblem("nothing to change: give at least one option (see --help)")
    with open_client(state_of(ctx)) as client:
        answer = client.update_secret_metadata(
            path, mount=mount, custom_metadata=metadata, **settings
        )
    out.emit(answer, json_out, _show_metadata(answer))


@command(metadata_app, "delete")
def metadata_delete(
    ctx: typer.Context,
    path: PathArg,
    mount: MountOption = "secret",
    yes: YesOption = False,
    json_out: JsonOption = False,
) -> None:
    """Delete a secret for good: its metadata and every version."""
    confirm(f"Delete {mount}/{path} and all its versions for good", yes=yes, json_mode=json_out)
    with open_client(state_of(ctx)) as client:
        client.delete_secret_metadata(path, mount=mount)
    answer = {"deleted": True, "mount": mount, "path": path}
    out.emit(answer, json_out, lambda console: out.note(f"deleted {mount}/{path}"))


def _mount_row(mount: dict[str, Any]) -> dict[str, Any]:
    return {**mount, **mount["config"]}


@command(mounts_app, "list")
def mounts_list(ctx: typer.Context, json_out: JsonOption = False) -> None:
    """The mounts this root key may list or administer."""
    with open_client(state_of(ctx)) as client:
        items = client.list_secret_mounts()
    answer = {"items": items}
    rows = [_mount_row(m) for m in items]
    out.emit(answer, json_out, out.show_list(rows, MOUNT_COLUMNS, title="Mounts", empty="none"))


def _show_mount(answer: dict[str, Any], title: str) -> Any:
    return lambda console: console.print(out.record(_mount_row(answer), MOUNT_COLUMNS, title=title))


@command(mounts_app, "enable")
def mounts_enable(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="The mount's name (a-z 0-9 _ -).")],
    max_versions: MaxVersions = None,
    cas_required: CasRequired = None,
    delete_version_after: DeleteAfter = None,
    json_out: JsonOption = False,
) -> None:
    """Enable a new mount (kind kv-v2)."""
    settings = _settings(max_versions, cas_required, delete_version_after)
    with open_client(state_of(ctx)) as client:
        answer = client.enable_secret_mount(name, **settings)
    out.emit(answer, json_out, _show_mount(answer, "Mount enabled"))


@command(mounts_app, "config")
def mounts_config(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="The mount.")],
    max_versions: MaxVersions = None,
    cas_required: CasRequired = None,
    delete_version_after: DeleteAfter = None,
    json_out: JsonOption = False,
) -> None:
    """Show a mount's settings, or change those given."""
    settings = _settings(max_versions, cas_required, delete_version_after)
    with open_client(state_of(ctx)) as client:
        if settings:
            answer = client.configure_secret_mount(name, **settings)
        else:
            answer = client.get_secret_mount(name)
    out.emit(answer, json_out, _show_mount(answer, f"Mount {name}"))


__all__ = ["metadata_app", "mounts_app", "seconds"]
