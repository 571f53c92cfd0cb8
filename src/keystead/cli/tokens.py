"""``keystead tokens``: short-lived tokens (docs/tokens.md).

``issue`` exchanges an API key for a signed JWT. The key is read from ``--key-file``,
``KEYSTEAD_API_KEY`` or stdin, never from an argument (it would land in shell history
and the process list); the token alone goes to stdout, so
``TOKEN=$(keystead tokens issue < key.txt)`` works. ``introspect`` reads the token
the same way. The rest administers an API: its signing keys, its token policy, and
revoking one token by its ``jti``.
"""

from __future__ import annotations

import os
import sys
import time
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console

from keystead.cli import _output as out
from keystead.cli._connect import Json, open_client
from keystead.cli._inputs import json_object, timestamp
from keystead.cli._output import Column
from keystead.cli._runtime import JsonOption, UsageProblem, command, state_of
from keystead.client import Client, SigningKey

API_KEY_ENV = "KEYSTEAD_API_KEY"
LEEWAY_S = 5  # keystead.core.tokens.LEEWAY_S: a token is accepted this long past exp

app = typer.Typer(help="Short-lived tokens: issue, introspect, revoke; signing keys, policy.")
keys_app = typer.Typer(help="An API's token signing keys.")
policy_app = typer.Typer(help="An API's token policy: TTLs, audiences, claims.")
app.add_typer(keys_app, name="keys")
app.add_typer(policy_app, name="policy")

ISSUED_FIELDS: list[Column] = [
    ("JTI", "jti"),
    ("Signed by", "kid"),
    ("Expires", "expires_at"),
    ("Expires in (s)", "expires_in"),
    ("Permissions", "permissions"),
]
CLAIM_FIELDS: list[Column] = [
    ("Active", "active"),
    ("Subject (key)", "sub"),
    ("API", "api_id"),
    ("Audience", "aud"),
    ("Issuer", "iss"),
    ("JTI", "jti"),
    ("Owner", "owner_id"),
    ("Scope", "scope"),
    ("Expires (epoch)", "exp"),
    ("Issued (epoch)", "iat"),
]
KEY_COLUMNS: list[Column] = [
    ("Kid", "kid"),
    ("Algorithm", "algorithm"),
    ("Signing", "signing"),
    ("Created", "created_at"),
    ("Retired", "retired_at"),
    ("Published until", "publish_until"),
]
POLICY_FIELDS: list[Column] = [
    ("Enabled", "enabled"),
    ("Algorithm", "algorithm"),
    ("Default TTL (s)", "default_ttl_s"),
    ("Min TTL (s)", "min_ttl_s"),
    ("Max TTL (s)", "max_ttl_s"),
    ("Audiences", "audiences"),
    ("Include meta", "include_meta"),
    ("Allowed claims", "allowed_claims"),
    ("Rotate every (s)", "rotate_every_s"),
]
ApiArgument = Annotated[str, typer.Argument(help="The API's id (api_...).")]


def read_secret(file: Path | None, env: str | None, what: str) -> str:
    """A credential from ``file``, else the environment variable ``env``, else stdin."""
    if file is not None:
        try:
            text = file.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise UsageProblem(f"cannot read {file}: {type(exc).__name__}") from None
    elif env is not None and os.environ.get(env, "").strip():
        text = os.environ[env]
    elif sys.stdin is not None and not sys.stdin.isatty():
        text = sys.stdin.readline()
    else:
        where = f", {env}" if env else ""
        raise UsageProblem(f"give the {what} on stdin{where} or with a file option")
    value = text.strip()
    if not value:
        raise UsageProblem(f"no {what} given")
    return value


@command(app, "issue")
def issue(
    ctx: typer.Context,
    key_file: Annotated[
        Path | None,
        typer.Option(help=f"File holding the API key (else {API_KEY_ENV}, else stdin)."),
    ] = None,
    ttl: Annotated[
        int | None, typer.Option("--ttl", min=1, help="Seconds (default: the API's policy).")
    ] = None,
    audience: Annotated[str | None, typer.Option(help="The token's aud.")] = None,
    permission: Annotated[
        list[str] | None,
        typer.Option("--permission", help="A permission to keep (repeatable; default all)."),
    ] = None,
    claims: Annotated[
        str | None, typer.Option(help="Extra claims: a JSON object the policy allows.")
    ] = None,
    json_out: JsonOption = False,
) -> None:
    """Exchange an API key for a short-lived token; the token alone is printed."""
    key = read_secret(key_file, API_KEY_ENV, "API key")
    extra = None if claims is None else json_object(claims, "--claims", allow_file=True)
    with open_client(state_of(ctx)) as client:
        issued = client.exchange_token(
            key, ttl_s=ttl, audience=audience, permissions=permission, claims=extra
        )

    def render(console: Console) -> None:
        console.print(issued.token, markup=False, soft_wrap=True)
        out.stderr().print(out.record(issued.raw, ISSUED_FIELDS, title="Token"))

    out.emit(issued.raw, json_out, render)


@command(app, "introspect")
def introspect(
    ctx: typer.Context,
    token_file: Annotated[
        Path | None, typer.Option(help="File holding the token (default: stdin).")
    ] = None,
    json_out: JsonOption = False,
) -> None:
    """What the server knows of a token (RFC 7662): its claims when active.

    Exit code 1 when it is not active (unknown, expired, revoked)."""
    token = read_secret(token_file, None, "token")
    with open_client(state_of(ctx)) as client:
        answer = client.introspect_token(token)
    out.emit(answer, json_out, lambda c: c.print(out.record(answer, CLAIM_FIELDS, title="Token")))
    if answer.get("active") is not True:
        raise typer.Exit(1)


@command(app, "revoke")
def revoke(
    ctx: typer.Context,
    api: ApiArgument,
    jti: Annotated[str, typer.Argument(help="The token's jti (tok_...).")],
    expires_at: Annotated[
        str | None,
        typer.Option(
            help="The token's exp (ISO 8601 or epoch seconds); default: the longest a token "
            "of the API can live from now."
        ),
    ] = None,
    json_out: JsonOption = False,
) -> None:
    """Revoke one token: refused everywhere from now (other nodes within a second)."""
    with open_client(state_of(ctx)) as client:
        until = _expiry(expires_at) if expires_at is not None else _longest(client, api)
        client.revoke_jti(api, jti, until)
    answer = {"revoked": True, "api_id": api, "jti": jti, "expires_at": until}
    out.emit(answer, json_out, lambda c: c.print(f"Revoked token {jti}.", markup=False))


def _expiry(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        return datetime.fromisoformat(timestamp(text, "--expires-at")).timestamp()


def _longest(client: Client, api_id: str) -> float:
    """Now plus the API's max TTL and the leeway: every token alive now is dead then."""
    policy = client.get_token_policy(api_id)
    return time.time() + int(policy["max_ttl_s"]) + LEEWAY_S


def _key_rows(keys: list[SigningKey]) -> list[Json]:
    return [key.raw for key in keys]


@command(keys_app, "list")
def keys_list(ctx: typer.Context, api: ApiArgument, json_out: JsonOption = False) -> None:
    """The API's signing keys: the one that signs, and the retired ones still published."""
    with open_client(state_of(ctx)) as client:
        rows = _key_rows(client.signing_keys(api))
    answer = {"items": rows}
    out.emit(answer, json_out, out.show_list(rows, KEY_COLUMNS, title="Signing keys", empty="none"))


@command(keys_app, "rotate")
def keys_rotate(
    ctx: typer.Context,
    api: ApiArgument,
    algorithm: Annotated[
        str | None, typer.Option(help="EdDSA, ES256, RS256 or HS256 (default: the policy's).")
    ] = None,
    json_out: JsonOption = False,
) -> None:
    """A new signing key signs from now; the old one stays published until the last
    token it signed has expired."""
    with open_client(state_of(ctx)) as client:
        key = client.rotate_signing_key(api, algorithm=algorithm)
    out.emit(key.raw, json_out, lambda c: c.print(out.table([key.raw], KEY_COLUMNS, title="New")))


def _show_policy(policy: Json, json_out: bool) -> None:
    out.emit(
        policy, json_out, lambda c: c.print(out.record(policy, POLICY_FIELDS, title="Token policy"))
    )


@command(policy_app, "show")
def policy_show(ctx: typer.Context, api: ApiArgument, json_out: JsonOption = False) -> None:
    """The API's token policy (the defaults where none was set)."""
    with open_client(state_of(ctx)) as client:
        policy = client.get_token_policy(api)
    _show_policy(policy, json_out)


@command(policy_app, "set")
def policy_set(
    ctx: typer.Context,
    api: ApiArgument,
    ttl: Annotated[int | None, typer.Option("--ttl", min=1, help="Default TTL (s).")] = None,
    min_ttl: Annotated[int | None, typer.Option(min=1, help="Shortest TTL asked (s).")] = None,
    max_ttl: Annotated[int | None, typer.Option(min=1, help="Longest TTL asked (s).")] = None,
    audience: Annotated[
        list[str] | None,
        typer.Option("--audience", help="An audience allowed besides the API id (repeatable)."),
    ] = None,
    clear_audiences: Annotated[
        bool, typer.Option("--clear-audiences", help="Allow the API id only.")
    ] = False,
    include_meta: Annotated[
        bool | None, typer.Option("--include-meta/--no-include-meta", help="Put meta in.")
    ] = None,
    allowed_claim: Annotated[
        list[str] | None,
        typer.Option("--allowed-claim", help="An extra claim requests may set (repeatable)."),
    ] = None,
    algorithm: Annotated[
        str | None, typer.Option(help="Of new signing keys: EdDSA, ES256, RS256, HS256.")
    ] = None,
    enabled: Annotated[
        bool | None, typer.Option("--enabled/--disabled", help="Whether tokens are issued.")
    ] = None,
    rotate_every: Annotated[
        int | None, typer.Option(help="Rotate the signing key every N seconds (1 h or more).")
    ] = None,
    json_out: JsonOption = False,
) -> None:
    """Change the API's token policy: the options given, the rest kept."""
    if audience and clear_audiences:
        raise UsageProblem("give --audience or --clear-audiences, not both")
    given: dict[str, Any] = {
        "default_ttl_s": ttl,
        "min_ttl_s": min_ttl,
        "max_ttl_s": max_ttl,
        "audiences": [] if clear_audiences else audience,
        "include_meta": include_meta,
        "allowed_claims": allowed_claim,
        "algorithm": algorithm,
        "enabled": enabled,
        "rotate_every_s": rotate_every,
    }
    changes = {name: value for name, value in given.items() if value is not None}
    if not changes:
        raise UsageProblem("nothing to change: give at least one option (see --help)")
    with open_client(state_of(ctx)) as client:
        current = client.get_token_policy(api)
        policy = client.set_token_policy(api, {**current, **changes})
    _show_policy(policy, json_out)
