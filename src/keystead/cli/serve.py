"""``keystead init`` (bootstrap the local store) and ``keystead serve`` (the HTTP API)."""

from __future__ import annotations

import asyncio
import copy
import logging
import os
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.text import Text

from keystead.cli import _output as out
from keystead.cli._runtime import EXIT_ERROR, JsonOption, UsageProblem, command, state_of
from keystead.cli._workers import require_shared_state
from keystead.config import Settings
from keystead.core import keyformat
from keystead.errors import AlreadyInitialised

if TYPE_CHECKING:  # the service is loaded by the commands that open it, not by every one
    from keystead.service import Bootstrap

APP_FACTORY = "keystead.http.app:create_app"
LOG_LEVELS = ("critical", "error", "warning", "info", "debug", "trace")


def register(app: typer.Typer) -> None:
    command(app, "init")(init)
    command(app, "serve")(serve)


def init(
    ctx: typer.Context,
    name: Annotated[str, typer.Option(help="Name of the first workspace.")] = "default",
    if_needed: Annotated[
        bool, typer.Option("--if-needed", help="Succeed quietly when already initialised.")
    ] = False,
    json_out: JsonOption = False,
) -> None:
    """Initialise the local store: server secret, master key, first workspace, first root key.

    The root key is printed once. Run it again with --if-needed in scripts."""
    state = state_of(ctx)
    state.require_local("keystead init")
    settings = state.settings()
    new_secret = settings.secret is None and not settings.secret_file.exists()
    try:
        boot, workspace_id, master_key = asyncio.run(_initialise(settings, name))
    except BaseException:
        if new_secret:  # do not leave behind a secret nothing was stored with
            settings.secret_file.unlink(missing_ok=True)
        # a master key it created stays: the store may have recorded it already
        raise
    if master_key is not None and master_key.startswith("pkcs11:"):
        out.note(
            f"generated the master key on the token {master_key}: it cannot leave the "
            "token, so back the token up as its vendor provides; without it no encrypted "
            "secret can be read"
        )
    elif master_key is not None:
        out.note(
            f"created the master key {master_key} (mode 0600): back it up, apart from "
            "the database; without it no encrypted secret can be read"
        )
    if boot is None:
        if not if_needed:
            out.error("already initialised: this store already has a root key")
            out.note("use 'keystead root-keys create' for another root key, or --if-needed")
            raise typer.Exit(EXIT_ERROR)
        out.note("already initialised")
        if json_out:
            out.print_json({"already_initialised": True, "workspace_id": workspace_id})
        return
    if new_secret:
        out.note(
            f"created the server secret {settings.secret_file} (mode 0600): back it up; "
            "without it no stored key can be verified"
        )
    result = {
        "already_initialised": False,
        "workspace_id": boot.workspace.id,
        "root_key_id": boot.root_key.root_key.id,
        "root_key": boot.root_key.plaintext,
    }

    def render(console: Console) -> None:
        console.print(Text(f"Initialised workspace {boot.workspace.id} ({boot.workspace.name})."))
        out.reveal(console, "Root key", boot.root_key.plaintext)
        console.print(
            Text(
                "Servers and scripts read it from KEYSTEAD_ROOT_KEY (or --root-key-file); "
                "local commands need no key."
            )
        )

    out.emit(result, json_out, render)


async def _initialise(
    settings: Settings, name: str
) -> tuple[Bootstrap | None, str | None, str | None]:
    """(bootstrap or None when already initialised, the first workspace's id when
    already initialised, where a master key was created or None)."""
    from keystead.service import Keystead

    ks = await Keystead.open(settings=settings, create_secret=True, create_master_key=True)
    created = ks.master_keys.keyring.url.removeprefix("file://") if ks.master_keys.created else None
    try:
        if not await ks.workspaces.is_initialised():
            try:
                return await ks.workspaces.init(name), None, created
            except AlreadyInitialised:
                pass  # another init won the race
        workspaces = await ks.workspaces.list()
        return None, workspaces[0].id if workspaces else None, created
    finally:
        await ks.close()


def serve(
    ctx: typer.Context,
    host: Annotated[
        str | None,
        typer.Option(help="Interface to listen on [default: KEYSTEAD_HOST or 127.0.0.1]."),
    ] = None,
    port: Annotated[
        int | None,
        typer.Option(min=1, max=65535, help="Port [default: KEYSTEAD_PORT or 8400]."),
    ] = None,
    workers: Annotated[
        int,
        typer.Option(
            min=1,
            max=64,
            help="Worker processes; more than one needs KEYSTEAD_LIMITS_URL=redis://... "
            "(limits and revocations shared by every worker).",
        ),
    ] = 1,
) -> None:
    """Run the HTTP API (uvicorn) on the local store."""
    settings = state_of(ctx).settings()
    level = settings.log_level.lower()
    if level not in LOG_LEVELS:
        raise UsageProblem(f"KEYSTEAD_LOG_LEVEL is one of {', '.join(LOG_LEVELS)}")
    require_shared_state(settings, workers)
    # a missing or wrong secret or master key: one clear line, not a traceback per worker
    from keystead.service import Keystead

    asyncio.run(Keystead.preflight(settings))
    if "usage_writer" not in settings.model_fields_set:
        # a server writes usage from a child process, off its serving core; the
        # app factory (in each worker) reads its settings from the environment
        os.environ["KEYSTEAD_USAGE_WRITER"] = "process"
    import uvicorn

    bound_host, bound_port = host or settings.host, port or settings.port
    typer.echo(banner(settings, bound_host, bound_port), err=True)
    uvicorn.run(
        APP_FACTORY,
        factory=True,
        host=bound_host,
        port=bound_port,
        workers=workers,
        log_config=log_config(level, json=settings.log_format == "json"),
        log_level=level,
        access_log=False,  # the app writes its own (KEYSTEAD_ACCESS_LOG, keystead.http.access_log)
        server_header=False,
        **connection_options(settings),
        # open invalidation streams (GET /v1/events/invalidations) would hold a
        # shutdown for up to their 30 s: end them after 5 s, clients reconnect
        timeout_graceful_shutdown=5,
    )


def banner(settings: Settings, host: str, port: int) -> str:
    """The startup line naming the dashboard: a JSON log line when logs are JSON."""
    message = f"Dashboard: {dashboard_url(settings, host, port)}"
    if settings.log_format != "json":
        return message
    from keystead.logs import JsonFormatter

    record = logging.LogRecord("keystead", logging.INFO, __file__, 0, message, None, None)
    return JsonFormatter().format(record)


def dashboard_url(settings: Settings, host: str, port: int) -> str:
    """Where a browser opens the dashboard: under the public URL when set, else
    on this host (a wildcard address shown as loopback)."""
    if settings.public_url:
        return settings.public_url.rstrip("/") + "/ui/"
    shown = {"0.0.0.0": "127.0.0.1", "::": "[::1]", "": "127.0.0.1"}.get(host, host)  # noqa: S104
    if ":" in shown and not shown.startswith("["):
        shown = f"[{shown}]"
    return f"http://{shown}:{port}/ui/"


class RedactQuery(logging.Filter):
    """uvicorn's access log lines (``keystead gateway --access-log``) show query
    parameter names, never their values, and no key-shaped text in the path."""

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if isinstance(args, tuple) and len(args) >= 3 and isinstance(args[2], str):
            path, sep, query = args[2].partition("?")
            path = keyformat.redact_keys(path)
            if sep:
                names = (part.partition("=")[0] for part in query.split("&") if part)
                path += "?" + "&".join(f"{name}=..." for name in names)
            record.args = (*args[:2], path, *args[3:])
        return True


def connection_options(settings: Settings) -> dict[str, Any]:
    """uvicorn options bounding slow and idle clients: the protocol of
    :mod:`keystead._server` with its head deadline and connection bound (through
    the environment, for every worker), and the keep-alive timeout."""
    from keystead._server import HEADER_TIMEOUT_ENV, MAX_CONNECTIONS_ENV, PROTOCOL

    os.environ[HEADER_TIMEOUT_ENV] = repr(settings.header_timeout_s)
    os.environ[MAX_CONNECTIONS_ENV] = str(settings.max_connections)
    return {"http": PROTOCOL, "timeout_keep_alive": settings.keepalive_timeout_s}


def log_config(level: str, *, json: bool = False) -> dict[str, Any]:
    """uvicorn's log config with the access-log redaction, and the app's access log
    (``keystead.access``, redacted as it is made) on stdout beside uvicorn's; with
    ``json``, the ``keystead``, ``uvicorn`` and both access loggers write JSON lines."""
    from uvicorn.config import LOGGING_CONFIG

    from keystead.http.access_log import LOGGER as ACCESS_LOGGER

    config = copy.deepcopy(LOGGING_CONFIG)
    if json:
        for name in ("default", "access"):
            config["formatters"][name] = {"()": "keystead.logs.JsonFormatter"}
    config.setdefault("filters", {})["redact_query"] = {"()": f"{__name__}.RedactQuery"}
    config["handlers"]["access"]["filters"] = ["redact_query"]
    config["formatters"]["keystead_access"] = {
        "()": "keystead.logs.JsonFormatter" if json else "keystead.logs.AccessFormatter"
    }
    config["handlers"]["keystead_access"] = {
        **config["handlers"]["access"],
        "formatter": "keystead_access",
        "filters": [],  # its lines are redacted when made: no second pass
    }
    numeric = "DEBUG" if level == "trace" else level.upper()
    config["loggers"]["keystead"] = {"handlers": ["default"], "level": numeric}
    config["loggers"][ACCESS_LOGGER] = {
        "handlers": ["keystead_access"],
        "level": numeric,
        "propagate": False,
    }
    return config
