"""``keystead scan --report URL``: send the Keystead keys a scan found to the
server that issued them (``POST /v1/leaks``), and show what each was.

The server answers per key ``live`` (its leak policy acted now: revoked,
rotated or notified), ``already_revoked`` or ``unknown``; it never sends a key
back. Each key is sent once however often it was found, with where it was
found and, from ``--git``, when it was first exposed: the commit's date.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any

from rich import box
from rich.console import Console
from rich.table import Table
from rich.text import Text

from keystead.cli._runtime import CliState
from keystead.scan.finding import Finding

KEYSTEAD_RULE = "keystead-key"
SOURCE = "scanner"
BATCH = 100
"""Reports per request (the endpoint takes up to 1,000): about 15 ms a live key, so
a request of 100 stays well inside the SDK's timeout."""

Json = dict[str, Any]


def keys_to_report(findings: Sequence[Finding]) -> list[Finding]:
    """The first finding of each distinct Keystead key."""
    first: dict[str, Finding] = {}
    for finding in findings:
        if finding.rule_id == KEYSTEAD_RULE:
            first.setdefault(finding.secret, finding)
    return list(first.values())


def _where(finding: Finding) -> str:
    place = f"{finding.path}#L{finding.line}"
    return place if finding.commit is None else f"{place}@{finding.commit.sha}"


def _report(finding: Finding) -> Json:
    report: Json = {"token": finding.secret, "url": _where(finding), "source": SOURCE}
    if finding.commit is not None and finding.commit.date:
        report["exposed_at"] = finding.commit.date
    return report


def report(state: CliState, url: str, keys: Sequence[Finding]) -> list[Json]:
    """Send ``keys`` to the server at ``url``; one row per key, in order, without
    the key (its redacted form and hash instead)."""
    from keystead.cli._connect import open_client  # the client, only to report

    rows: list[Json] = []
    with open_client(dataclasses.replace(state, url=url)) as client:
        for start in range(0, len(keys), BATCH):
            batch = keys[start : start + BATCH]
            answer = client.leaks.report(*(_report(f) for f in batch))
            for finding, item in zip(batch, answer["items"], strict=True):
                rows.append(
                    {
                        "key": finding.redacted,
                        "token_hash": item["token_hash"],
                        "location": _where(finding),
                        "status": item["status"],
                        "outcome": item["outcome"],
                        "key_id": item.get("key_id"),
                        "incident_id": item.get("incident_id"),
                    }
                )
    return rows


_SAID = {
    "live": "live: {outcome} now",
    "already_revoked": "already revoked",
    "unknown": "unknown to this server",
}


def render(console: Console, url: str, rows: Sequence[Json]) -> None:
    grid = Table(title=f"Reported to {url}", box=box.SIMPLE_HEAD, title_justify="left")
    for header in ("Key", "Found at", "Status", "Key id", "Incident"):
        grid.add_column(header, overflow="fold")
    for row in rows:
        status = str(row["status"])
        said = _SAID.get(status, status).format(outcome=row["outcome"])
        style = "bold red" if row["status"] == "live" else ""
        grid.add_row(
            Text(row["key"]),
            Text(row["location"]),
            Text(said, style=style),
            Text(row["key_id"] or "-"),
            Text(row["incident_id"] or "-"),
        )
    console.print(grid)


__all__ = ["KEYSTEAD_RULE", "keys_to_report", "render", "report"]
