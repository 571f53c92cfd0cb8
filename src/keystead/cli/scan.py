"""``keystead scan``: find Keystead keys and provider credentials before they leak.

    keystead scan                      # the working directory
    keystead scan --git                # every blob of the reachable history, once
    keystead scan --staged             # what the next commit adds (hooks)
    keystead scan --format sarif --output keystead.sarif

Exit codes: 0 clean, 1 findings, 2 usage error (a bad path, a bad rules file,
not a git repository, ...). Secrets are shown redacted unless --show-secrets.
It reads files and git only: no store, no server (but ``--report``).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, ParamSpec

import typer

from keystead.cli import _output as out
from keystead.cli import _scan_explain, _scan_render, _scan_report, _scan_sources
from keystead.cli._runtime import EXIT_ERROR, JsonOption, UsageProblem, guarded, state_of
from keystead.errors import ValidationError
from keystead.scan import git, hygiene
from keystead.scan.baseline import Baseline
from keystead.scan.engine import Scanner
from keystead.scan.files import DEFAULT_MAX_BYTES
from keystead.scan.finding import Finding
from keystead.scan.report import ordered
from keystead.scan.rules import RuleSet, load_rules

P = ParamSpec("P")


def register(app: typer.Typer) -> None:
    app.command("scan")(guarded(_usage_errors(scan)))


def _usage_errors(func: Callable[P, None]) -> Callable[P, None]:
    """A bad path, glob, rules or baseline file is the caller's to fix: exit 2."""

    @functools.wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> None:
        try:
            func(*args, **kwargs)
        except ValidationError as exc:
            raise UsageProblem(exc.detail or exc.title) from None

    return wrapper


def scan(
    ctx: typer.Context,
    paths: Annotated[
        list[Path] | None,
        typer.Argument(help="Files and directories to scan (default: .).", show_default=False),
    ] = None,
    git_mode: Annotated[
        bool,
        typer.Option(
            "--git", help="Scan the whole reachable git history, each blob once (not the files)."
        ),
    ] = False,
    since: Annotated[
        str | None,
        typer.Option(help="--git: only commits after this revision (a tag, a sha, main~50)."),
    ] = None,
    branch: Annotated[
        list[str] | None,
        typer.Option(
            "--branch", help="--git: walk these branches (repeatable; default: all refs)."
        ),
    ] = None,
    staged: Annotated[
        bool, typer.Option("--staged", help="Scan what the next commit adds (the index).")
    ] = False,
    stdin: Annotated[bool, typer.Option("--stdin", help="Scan standard input.")] = False,
    exclude: Annotated[
        list[str] | None,
        typer.Option("--exclude", help="Skip paths matching this glob (repeatable)."),
    ] = None,
    baseline: Annotated[
        Path | None,
        typer.Option(help="Leave out the findings this baseline accepted.", dir_okay=False),
    ] = None,
    write_baseline: Annotated[
        Path | None,
        typer.Option(
            help="Accept every finding: write their fingerprints (never the secrets) to "
            "this file, and exit 0.",
            dir_okay=False,
        ),
    ] = None,
    rules: Annotated[
        list[Path] | None,
        typer.Option("--rules", help="An extra rules file (TOML, repeatable).", dir_okay=False),
    ] = None,
    max_bytes: Annotated[
        int, typer.Option(min=1, help="Skip files and blobs larger than this.")
    ] = DEFAULT_MAX_BYTES,
    show_secrets: Annotated[
        bool, typer.Option("--show-secrets", help="Print the secrets found, unredacted.")
    ] = False,
    fmt: Annotated[str, typer.Option("--format", help="Output: table, json or sarif.")] = "table",
    json_mode: JsonOption = False,
    output: Annotated[
        Path | None,
        typer.Option("--output", "-o", help="Write the output to this file.", dir_okay=False),
    ] = None,
    fix_gitignore: Annotated[
        bool,
        typer.Option(
            "--fix-gitignore",
            help="Append .gitignore lines for tracked files that should never be tracked.",
        ),
    ] = False,
    report_url: Annotated[
        str | None,
        typer.Option(
            "--report",
            metavar="URL",
            help="Send the Keystead keys found to this server's leak endpoint (root key from "
            "KEYSTEAD_ROOT_KEY or --root-key-file, with leaks.report) and show what each was.",
        ),
    ] = None,
    explain: Annotated[
        str | None,
        typer.Option(
            "--explain",
            metavar="FINDING",
            help="Print the response procedure for a rule id, a kind or a fingerprint.",
        ),
    ] = None,
) -> None:
    """Find Keystead keys and provider credentials in files, git history, the index or
    stdin. Exit 0 clean, 1 findings, 2 usage error."""
    fmt = "json" if json_mode else fmt.lower()
    if fmt not in _scan_render.FORMATS:
        raise UsageProblem(f"--format is one of {', '.join(_scan_render.FORMATS)}, not {fmt}")
    modes = [
        name for name, on in (("--git", git_mode), ("--staged", staged), ("--stdin", stdin)) if on
    ]
    if len(modes) > 1:
        raise UsageProblem(f"choose one of {' and '.join(modes)}")
    if (since or branch) and not git_mode:
        raise UsageProblem("--since and --branch go with --git")
    if modes and paths:
        raise UsageProblem(f"{modes[0]} takes no paths (paths are for a scan of files)")
    ruleset = _load(rules or [])
    scanner = Scanner(ruleset)
    kinds = {rule.id: rule.kind for rule in (*ruleset, *hygiene.RULES)}
    descriptions = {rule.id: rule.description for rule in (*ruleset, *hygiene.RULES)}
    targets = paths or [Path(".")]
    repo = _repository(targets[0], bare_ok=git_mode) if git_mode or staged else None

    def collect() -> _scan_sources.Collected:
        try:
            return _collect()
        except git.GitError as exc:
            raise UsageProblem(exc.message) from None

    def _collect() -> _scan_sources.Collected:
        if repo is not None and git_mode:
            return _scan_sources.scan_history(
                scanner, repo, branches=branch or [], since=since,
                exclude=exclude or [], max_bytes=max_bytes,
            )  # fmt: skip
        if repo is not None:
            return _scan_sources.scan_staged(
                scanner, repo, exclude=exclude or [], max_bytes=max_bytes
            )
        if stdin:
            return _scan_sources.scan_stdin(scanner, max_bytes=max_bytes)
        for path in targets:
            if not path.exists():
                raise UsageProblem(f"{path}: no such file or directory")
        return _scan_sources.scan_paths(
            scanner, targets, exclude=exclude or [], max_bytes=max_bytes
        )

    if explain is not None:
        explained = _scan_explain.explain(
            explain, descriptions=descriptions, kinds=kinds, rescan=lambda: collect().findings
        )
        out.emit(explained.as_json(), fmt == "json", lambda _c: _scan_explain.show(explained))
        return

    got = collect()
    findings = ordered(got.findings)
    if baseline is not None:
        accepted = _baseline(baseline)
        kept = [f for f in findings if not accepted.contains(f)]
        got.summary.baselined = len(findings) - len(kept)
        findings = kept
    if write_baseline is not None:
        Baseline.write(write_baseline, findings)
        out.note(f"{len(findings)} finding(s) accepted in {write_baseline}")
        return
    if fix_gitignore:
        _fix_gitignore(findings, repo or _repository_or_cwd(targets[0]))
    reported = None if report_url is None else _report(ctx, report_url, findings)
    root = (repo or Path.cwd()).resolve().as_uri() + "/"
    _scan_render.emit(
        fmt, output, findings, got.summary, rules=[*ruleset, *hygiene.RULES], kinds=kinds,
        show_secrets=show_secrets, root_uri=root, reported=reported,
    )  # fmt: skip
    if findings:
        if staged:
            out.warn(
                f"commit blocked: {len(findings)} finding(s) in the staged files. Remove the "
                "secret (and revoke it if it was ever pushed), mark a test value with a "
                "`keystead:allow` comment, or accept it in a baseline (--write-baseline, "
                "then --baseline)."
            )
        raise typer.Exit(EXIT_ERROR)


def _report(ctx: typer.Context, url: str, findings: list[Finding]) -> _scan_render.Reported:
    keys = _scan_report.keys_to_report(findings)
    if not keys:
        out.note(f"no Keystead key found: nothing reported to {url}")
        return _scan_render.Reported(url, [])
    return _scan_render.Reported(url, _scan_report.report(state_of(ctx), url, keys))


def _load(paths: list[Path]) -> RuleSet:
    for path in paths:
        if not path.is_file():
            raise UsageProblem(f"--rules {path}: no such file")
    return load_rules(paths)


def _baseline(path: Path) -> Baseline:
    if not path.is_file():
        raise UsageProblem(f"--baseline {path}: no such file (write one with --write-baseline)")
    return Baseline.load(path)


def _repository(path: Path, *, bare_ok: bool = False) -> Path:
    try:
        return git.history_root(path.resolve()) if bare_ok else git.toplevel(path.resolve())
    except git.GitError as exc:
        raise UsageProblem(exc.message) from None


def _repository_or_cwd(path: Path) -> Path:
    try:
        return git.toplevel(path.resolve())
    except git.GitError:
        return Path.cwd()


def _fix_gitignore(findings: list[Finding], root: Path) -> None:
    lines = hygiene.gitignore_lines([f for f in findings if hygiene.is_hygiene(f)])
    added = hygiene.fix_gitignore(root / ".gitignore", lines)
    if added:
        out.note(f"added to {root / '.gitignore'}: {', '.join(added)}")
        tracked = sorted({f.path for f in findings if hygiene.is_hygiene(f)})
        out.note(
            f"they stay tracked until removed from the index: git rm --cached {' '.join(tracked)}"
        )
    else:
        out.note(".gitignore already has every line needed")


__all__ = ["register", "scan"]
