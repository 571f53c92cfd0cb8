"""``keystead audit``: the tamper-evident log of management actions: list,
verify (exit 1 on any break), export as JSON lines, the checkpoint signing key."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from keystead.cli import _output as out
from keystead.cli._connect import Json, open_client
from keystead.cli._machine import open_local_store
from keystead.cli._runtime import EXIT_ERROR, JsonOption, UsageProblem, command, state_of

app = typer.Typer(
    help="The audit log: who changed what, when and from where, hash-chained and "
    "checkpointed so tampering shows (docs/audit.md)."
)

COLUMNS = [
    ("Seq", "seq"),
    ("At", "at"),
    ("Actor", "actor"),
    ("Action", "action"),
    ("Target", "target_id"),
    ("IP", "ip"),
]


@command(app, "list")
def list_entries(
    ctx: typer.Context,
    actor: Annotated[str | None, typer.Option(help="e.g. root_key:rk_..., cli, scheduler")] = None,
    action: Annotated[str | None, typer.Option(help="An action, or a prefix: 'key.*'.")] = None,
    target: Annotated[str | None, typer.Option(help="The target's id.")] = None,
    since: Annotated[str | None, typer.Option("--from", help="ISO 8601, inclusive.")] = None,
    until: Annotated[str | None, typer.Option("--to", help="ISO 8601, exclusive.")] = None,
    cursor: Annotated[str | None, typer.Option(help="next_cursor of the previous page.")] = None,
    limit: Annotated[int, typer.Option(min=1, max=1000, help="Page size.")] = 100,
    json_out: JsonOption = False,
) -> None:
    """List entries, newest first."""
    with open_client(state_of(ctx)) as client:
        page = client.list_audit(
            actor=actor or None,
            action=action or None,
            target=target or None,
            since=since or None,
            until=until or None,
            cursor=cursor,
            limit=limit,
        )

    def render(console: Console) -> None:
        out.show_list(page["items"], COLUMNS, title="Audit log", empty="no entries")(console)
        if page.get("next_cursor"):
            out.note(f"more: --cursor {page['next_cursor']}")

    out.emit(page, json_out, render)


@command(app, "verify")
def verify(ctx: typer.Context, json_out: JsonOption = False) -> None:
    """Check every entry's hash and link, the head and the signed checkpoints.
    Exits 1 when anything was modified, deleted, inserted, reordered or truncated."""
    with open_client(state_of(ctx)) as client:
        report = client.verify_audit()

    def render(console: Console) -> None:
        summary = (
            f"{report['entries']} entries up to seq {report['head_seq']}, "
            f"{report['checkpoints']} checkpoints"
        )
        if report["ok"]:
            console.print(f"[green]The audit chain is intact[/green]: {summary}.")
            return
        console.print(f"[red]The audit chain is broken[/red]: {summary}.")
        for item in report["breaks"]:
            console.print(f"  seq {item['seq']}: {item['kind']} ({item['detail']})")
        if report.get("breaks_omitted"):
            console.print(f"  ... and {report['breaks_omitted']} more breaks")

    out.emit(report, json_out, render)
    if not report["ok"]:
        raise typer.Exit(EXIT_ERROR)


@command(app, "export")
def export(
    ctx: typer.Context,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write to this file, not stdout.")
    ] = None,
) -> None:
    """Write the whole chain, oldest first, as JSON lines (each entry with its
    hash: re-verifiable with the snippet in docs/audit.md)."""
    with open_client(state_of(ctx)) as client:
        entries = client.export_audit()
    lines = "".join(
        json.dumps(e, sort_keys=True, separators=(",", ":"), ensure_ascii=False) + "\n"
        for e in entries
    )
    if output is None:
        sys.stdout.write(lines)
        return
    try:
        output.write_text(lines, encoding="utf-8")
    except OSError as exc:
        raise UsageProblem(f"cannot write {output}: {exc.strerror or exc}") from None
    out.note(f"wrote {len(entries)} entries to {output}")


@command(app, "public-key")
def public_key(
    ctx: typer.Context,
    pem: Annotated[bool, typer.Option("--pem", help="Print the PEM form only.")] = False,
    json_out: JsonOption = False,
) -> None:
    """Print the Ed25519 public key that checkpoints are signed with (base64 raw, PEM)."""
    with open_client(state_of(ctx)) as client:
        key = client.audit_public_key()
    if pem:
        sys.stdout.write(key["pem"])
        return
    out.emit(
        key,
        json_out,
        lambda c: c.print(f"Ed25519 public key (base64): {key['public_key']}\n{key['pem']}"),
    )


@command(app, "checkpoint")
def checkpoint(ctx: typer.Context, json_out: JsonOption = False) -> None:
    """Sign a checkpoint of the chain's head now. Local store only: a server
    signs one on each pass of its scheduler."""
    with open_local_store(state_of(ctx), "keystead audit checkpoint") as local:
        operator = local.operator()
        signed = local.run(local.service.audit.checkpoint(operator))
    # no HTTP route answers a checkpoint: its shape is this command's
    written: list[Json] = [
        {"workspace_id": c.workspace_id, "seq": c.seq, "hash": c.hash} for c in signed
    ]
    out.emit(
        {"items": written},
        json_out,
        lambda c: c.print(
            f"checkpointed seq {written[0]['seq']}" if written else "nothing new to checkpoint"
        ),
    )


__all__ = ["app"]
