"""``keystead master-key``: the master key that wraps encrypted data (local store
only: it acts on this machine's key material, which no HTTP route touches)."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from keystead.cli import _output as out
from keystead.cli._connect import Json
from keystead.cli._machine import open_local_store
from keystead.cli._runtime import JsonOption, YesOption, command, confirm, state_of
from keystead.service.sealed_material import BATCH

app = typer.Typer(
    help="The master key that wraps encrypted data: status, rotation, rewrap and "
    "retirement (local store only; docs/secrets.md)."
)

FIELDS = [
    ("URL", "url"),
    ("Present", "present"),
    ("Read-only", "read_only"),
    ("Current version", "current_version"),
    ("Versions", "versions"),
    ("Recorded by the store", "checked"),
    ("Store check under version", "check_version"),
]
USES = [("Version", "version"), ("Current", "current"), ("Still wraps", "uses")]
KINDS = [
    ("Kind", "kind"),
    ("Before", "before"),
    ("Converted", "converted"),
    ("Rewrapped", "rewrapped"),
]


@command(app, "status")
def status(ctx: typer.Context, json_out: JsonOption = False) -> None:
    """Where the master key lives, its versions, the current one, and what each
    version still wraps. Local store only."""
    with open_local_store(state_of(ctx), "keystead master-key status") as local:
        found = local.run(local.service.master_keys.status())
    shown: Json = dataclasses.asdict(found)
    out.emit(shown, json_out, _render(shown, "Master key"))


@command(app, "rotate")
def rotate(ctx: typer.Context, json_out: JsonOption = False) -> None:
    """Add a master-key version, used from now on. Local store only.

    Older versions still decrypt. A file:// key is rewritten in place: processes
    using that file pick the new version up on their next use. Then run
    'keystead master-key rewrap' to move what older versions wrap."""
    with open_local_store(state_of(ctx), "keystead master-key rotate") as local:
        found = local.run(local.service.master_keys.rotate())
    shown: Json = dataclasses.asdict(found)
    out.emit(
        shown, json_out, _render(shown, f"Master key rotated to version {found.current_version}")
    )


@command(app, "rewrap")
def rewrap(
    ctx: typer.Context,
    batch: Annotated[int, typer.Option(min=1, max=10_000, help="Rows per transaction.")] = BATCH,
    json_out: JsonOption = False,
) -> None:
    """Re-wrap every data key (secret versions, webhook secrets, pickups) to the
    current master-key version, without decrypting any value. Local store only.

    Works in batches, each its own transaction; an interrupted run loses nothing,
    and running it again carries on with what is left."""
    with open_local_store(state_of(ctx), "keystead master-key rewrap") as local:
        keys = local.service.master_keys
        pending = local.run(keys.pending())
        with Progress(
            TextColumn("{task.description:<20}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeRemainingColumn(),
            console=out.stderr(),
            disable=json_out or not sum(pending.values()),
        ) as bar:
            task = bar.add_task("rewrap", total=sum(pending.values()))

            def advance(kind: str, done: int) -> None:
                bar.update(task, advance=done, description=kind)

            found = local.run(keys.rewrap(batch=batch, progress=advance))
    shown: Json = dataclasses.asdict(found)
    out.emit(shown, json_out, _render_rewrap(shown))


@command(app, "retire")
def retire(
    ctx: typer.Context,
    version: Annotated[int, typer.Argument(min=1, help="The master-key version to remove.")],
    yes: YesOption = False,
    json_out: JsonOption = False,
) -> None:
    """Remove an old master-key version from the keyring for good. Local store only.

    Refused while it is the current version or while anything is still wrapped
    under it ('keystead master-key status' shows what; 'rewrap' moves it)."""
    confirm(f"Remove master key version {version} for good", yes=yes, json_mode=json_out)
    with open_local_store(state_of(ctx), "keystead master-key retire") as local:
        found = local.run(local.service.master_keys.retire(version))
    shown: Json = dataclasses.asdict(found)
    out.emit(shown, json_out, _render(shown, f"Master key version {version} retired"))


def _uses(counts: dict[str, int]) -> str:
    return ", ".join(f"{n} {kind}" for kind, n in sorted(counts.items()) if n) or "nothing"


def _render(shown: Json, title: str) -> Callable[[Console], None]:
    def render(console: Console) -> None:
        listed = {**shown, "versions": ", ".join(str(v) for v in shown["versions"]) or "none"}
        console.print(out.record(listed, FIELDS, title=title))
        references: dict[int, dict[str, int]] = shown.get("references") or {}
        rows: list[dict[str, Any]] = []
        for version in shown["versions"]:
            uses = dict(references.get(version, {}))
            if shown.get("check_version") == version:
                uses["store_check"] = 1
            rows.append(
                {
                    "version": version,
                    "current": version == shown["current_version"],
                    "uses": _uses(uses),
                }
            )
        if rows:
            console.print(out.table(rows, USES, title="What each version wraps"))
        legacy = shown.get("legacy") or {}
        if legacy:
            out.note(f"still sealed under the server secret: {_uses(legacy)}")

    return render


def _render_rewrap(shown: Json) -> Callable[[Console], None]:
    def render(console: Console) -> None:
        before: dict[int, dict[str, int]] = shown["before"]
        names = sorted(
            {*shown["rewrapped"], *shown["converted"], *(k for c in before.values() for k in c)}
        )
        rows = [
            {
                "kind": name,
                "before": _uses(
                    {f"under v{v}": c[name] for v, c in sorted(before.items()) if name in c}
                ),
                "converted": shown["converted"].get(name, 0),
                "rewrapped": shown["rewrapped"].get(name, 0),
            }
            for name in names
        ]
        title = f"Rewrapped to master key version {shown['current_version']}"
        console.print(out.table(rows, KINDS, title=title))
        if shown["check_rewrapped"]:
            out.note("the store's master-key check was re-wrapped too")
        skipped = sum(shown["skipped"].values())
        if skipped:
            out.note(f"{skipped} items changed meanwhile or unreadable: run it again to finish")

    return render


__all__ = ["app"]
