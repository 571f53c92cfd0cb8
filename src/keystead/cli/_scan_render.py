"""How ``keystead scan`` shows its findings: a table for people, JSON for
scripts, SARIF for code-scanning UIs; to stdout or ``--output FILE``."""

from __future__ import annotations

import io
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import typer
from rich import box
from rich.console import Console
from rich.table import Table
from rich.text import Text

from keystead.cli import _output as out
from keystead.cli._runtime import UsageProblem
from keystead.cli._scan_report import render as render_reported
from keystead.scan import report, sarif
from keystead.scan.finding import Finding

FORMATS = ("table", "json", "sarif")


@dataclass(frozen=True, slots=True)
class Reported:
    """What ``--report URL`` learnt: one row per Keystead key sent."""

    url: str
    rows: list[dict[str, Any]]


_COLUMNS = (("Rule", "rule"), ("Location", "location"), ("Secret", "secret"), ("Check", "check"))


def _table(findings: Sequence[Finding], *, show_secrets: bool) -> Table:
    with_commit = any(f.commit is not None for f in findings)
    columns = [*_COLUMNS, ("Introduced in", "commit")] if with_commit else list(_COLUMNS)
    grid = Table(box=box.SIMPLE_HEAD, title_justify="left")
    for header, name in columns:
        grid.add_column(header, overflow="fold", no_wrap=name == "rule")
    for finding in findings:
        row = report.row(finding, show_secrets=show_secrets)
        grid.add_row(*(Text(row[name]) for _, name in columns))
    return grid


def _closing(findings: Sequence[Finding], summary: report.Summary) -> str:
    read = f"{summary.files} file{'s' if summary.files != 1 else ''}"
    if summary.commits is not None:
        read = f"{summary.blobs} blobs in {summary.commits} commits"
    skipped = ", ".join(f"{n} {why}" for why, n in sorted(summary.skipped.items()))
    parts = [f"{len(findings)} finding{'s' if len(findings) != 1 else ''}", f"{read} scanned"]
    if skipped:
        parts.append(f"skipped: {skipped}")
    if summary.baselined:
        parts.append(f"{summary.baselined} accepted by the baseline")
    return "; ".join(parts)


def render_table(
    console: Console, findings: Sequence[Finding], summary: report.Summary, *, show_secrets: bool
) -> None:
    if findings:
        console.print(_table(findings, show_secrets=show_secrets))
        console.print(
            Text(
                f"What to do now: keystead scan --explain {findings[0].rule_id} (a leaked key "
                "must be revoked or rotated: deleting the line leaves it in git history).",
                style="yellow",
            )
        )
    console.print(Text(_closing(findings, summary), style="bold" if findings else "green"))


def document(
    fmt: str,
    findings: Sequence[Finding],
    summary: report.Summary,
    *,
    rules: Iterable[sarif.RuleLike],
    kinds: Mapping[str, str],
    show_secrets: bool,
    root_uri: str | None,
) -> object:
    if fmt == "sarif":
        from keystead.cli._scan_explain import help_for

        return sarif.to_sarif(
            findings, rules, help_for=help_for, show_secrets=show_secrets, root_uri=root_uri
        )
    return report.document(findings, summary, kinds=kinds, show_secrets=show_secrets)


def emit(
    fmt: str,
    output: Path | None,
    findings: Sequence[Finding],
    summary: report.Summary,
    *,
    rules: Iterable[sarif.RuleLike],
    kinds: Mapping[str, str],
    show_secrets: bool,
    root_uri: str | None,
    reported: Reported | None = None,
) -> None:
    """Print or write the findings in ``fmt``; the closing line goes to stderr
    when the findings went to a file or a machine format. What ``--report``
    learnt is part of the table and the JSON, and on stderr beside SARIF."""
    if fmt == "table":
        if output is None:
            console = out.stdout()
            render_table(console, findings, summary, show_secrets=show_secrets)
            if reported is not None and reported.rows:
                render_reported(console, reported.url, reported.rows)
            return
        buffer = io.StringIO()
        console = Console(file=buffer, width=out.PIPE_WIDTH, no_color=True, highlight=False)
        render_table(console, findings, summary, show_secrets=show_secrets)
        if reported is not None and reported.rows:
            render_reported(console, reported.url, reported.rows)
        text = buffer.getvalue()
    else:
        data = document(
            fmt,
            findings,
            summary,
            rules=rules,
            kinds=kinds,
            show_secrets=show_secrets,
            root_uri=root_uri,
        )
        if reported is not None and isinstance(data, dict) and fmt == "json":
            data["reported"] = {"url": reported.url, "keys": reported.rows}
        elif reported is not None and reported.rows:
            render_reported(out.stderr(), reported.url, reported.rows)
        text = json.dumps(data, indent=2, ensure_ascii=False) + "\n"
    if output is None:
        typer.echo(text, nl=False)
        return
    try:
        output.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise UsageProblem(f"cannot write {output}: {exc.strerror}") from None
    out.note(f"{_closing(findings, summary)}; written to {output}")


__all__ = ["FORMATS", "Reported", "document", "emit", "render_table"]
