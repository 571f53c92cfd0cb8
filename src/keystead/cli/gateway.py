"""``keystead gateway``: the reverse proxy that checks API keys (docs/gateway.md)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer

from keystead.cli import _output as out
from keystead.cli._runtime import UsageProblem, command, state_of
from keystead.cli._workers import require_shared_state
from keystead.cli.serve import LOG_LEVELS, connection_options, log_config

APP_FACTORY = "keystead.gateway.app:create_from_env"


def register(app: typer.Typer) -> None:
    command(app, "gateway")(gateway)


def gateway(
    ctx: typer.Context,
    config: Annotated[
        Path,
        typer.Option("--config", "-c", help="The gateway configuration (YAML).", dir_okay=False),
    ],
    host: Annotated[
        str | None, typer.Option(help="Interface to listen on (default: listen.host).")
    ] = None,
    port: Annotated[
        int | None,
        typer.Option(min=1, max=65535, help="Port (default: listen.port, else 8080)."),
    ] = None,
    workers: Annotated[
        int,
        typer.Option(
            min=1,
            max=64,
            help="Worker processes; more than one needs a Redis limiter (limits_url) "
            "shared by every worker.",
        ),
    ] = 1,
    check: Annotated[
        bool, typer.Option("--check", help="Check the configuration, then exit.")
    ] = False,
    access_log: Annotated[
        bool, typer.Option("--access-log", help="Log every request (costs throughput).")
    ] = False,
) -> None:
    """Run the gateway: a reverse proxy in front of HTTP upstreams that checks API
    keys, limits and records usage, on the local store. The configuration file is
    reloaded when it changes."""
    state_of(ctx).require_local("keystead gateway")
    from keystead.gateway import load_config
    from keystead.gateway.app import CONFIG_ENV

    loaded = load_config(config)
    settings = loaded.settings()
    require_shared_state(settings, workers, section=True)
    if check:
        routes = len(loaded.routes)
        out.note(f"{config}: valid, {routes} route{'s' if routes != 1 else ''}")
        return
    level = settings.log_level.lower()
    if level not in LOG_LEVELS:
        raise UsageProblem(f"KEYSTEAD_LOG_LEVEL is one of {', '.join(LOG_LEVELS)}")
    settings.load_secret(create=False)  # a missing secret: one clear line, not a traceback
    os.environ[CONFIG_ENV] = str(config.resolve())
    if "usage_writer" not in settings.model_fields_set:
        os.environ["KEYSTEAD_USAGE_WRITER"] = "process"  # usage is written off the serving core
    import uvicorn

    uvicorn.run(
        APP_FACTORY,
        factory=True,
        host=host or loaded.listen.host,
        port=port or loaded.listen.port,
        workers=workers,
        log_config=log_config(level, json=settings.log_format == "json"),
        log_level=level,
        access_log=access_log,
        server_header=False,  # the upstream's Server and Date pass through
        date_header=False,
        proxy_headers=False,  # listen.trusted_proxies decides whose X-Forwarded-For counts
        ws="none",
        **connection_options(settings),
    )


__all__ = ["register"]
