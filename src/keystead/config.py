"""One settings object, read from ``KEYSTEAD_*`` environment variables and ``.env``."""

from __future__ import annotations

import json
import os
import re
import secrets
import stat
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from keystead.core.hashing import MIN_SECRET_BYTES
from keystead.errors import ConfigurationError

DEFAULT_DATABASE_URL = "sqlite:///keystead.db"
DEFAULT_SECRET_FILE = "keystead.secret"  # noqa: S105 - a file name, not a secret
MASTER_KEY_FILE_NAME = "keystead-master-key.secret"
"""The default master key file, in the directory of the server secret file."""
# RFC 5424 §7.2.2: name@<private enterprise number>; the name printable ASCII but = ] " @
_SD_ID = re.compile(r'(?:(?![="\]@])[\x21-\x7e]){1,31}@[0-9]+(?:\.[0-9]+)*')


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="KEYSTEAD_", env_file=".env", extra="ignore", frozen=True
    )

    database_url: str = DEFAULT_DATABASE_URL
    secret: SecretStr | None = Field(
        default=None, description="server secret (hex, at least 32 bytes); or use secret_file"
    )
    secret_file: Path = Path(DEFAULT_SECRET_FILE)
    import_hmac_secret: SecretStr | None = Field(
        default=None,
        description="the HMAC key (as text) of imported keys' hmac-sha256 hashes: rows of "
        "that scheme are refused without it (docs/operations.md, 'Importing keys')",
    )
    secret_refresh_s: float = Field(
        default=5.0,
        gt=0,
        le=3600,
        description="how often each process re-reads the server secret's versions from the "
        "store (and at once when the invalidation channel tells of a change); a rotation "
        "waits twice this before its version hashes new keys",
    )
    secret_versions_max: int = Field(
        default=3,
        ge=2,
        le=8,
        description="server-secret versions in use at once, the newest included: a key "
        "lookup that misses under the newest tries at most this many minus one older ones",
    )
    master_key_url: str = Field(
        default="",
        description="where the master keys that wrap encrypted data live: file://PATH "
        "(a 0600 file 'keystead init' creates), env://NAME or pkcs11:... (an HSM token, "
        "docs/secrets.md); empty = "
        f"file://{MASTER_KEY_FILE_NAME} beside the server secret file",
    )
    public_url: str | None = Field(
        default=None,
        description="the URL clients reach this server at (https://keys.example.com): the "
        "base of token issuers and of the OAuth metadata; unset = http://host:port",
    )
    host: str = "127.0.0.1"
    port: int = Field(default=8400, ge=1, le=65535)
    cache_size: int = Field(default=100_000, ge=0)
    cache_ttl_s: float = Field(default=60.0, gt=0)
    negative_cache_ttl_s: float = Field(default=5.0, ge=0)
    secret_cache_s: float = Field(
        default=2.0,
        ge=0,
        le=60,
        description="seconds a secret's sealed latest version is kept after a read: the "
        "bound on another node's (or another process's) change going unseen where no "
        "invalidation channel tells of it; 0 keeps nothing",
    )
    max_body_bytes: int = Field(default=1_048_576, ge=1024)
    # slow and idle clients of `keystead serve` and `keystead gateway`
    header_timeout_s: float = Field(
        default=10.0,
        gt=0,
        le=3600,
        description="a connection whose request line and headers are not complete this "
        "long after it opened (or after its next request began) is closed",
    )
    keepalive_timeout_s: int = Field(
        default=5, ge=1, le=3600, description="an idle kept-alive connection is closed after this"
    )
    max_connections: int = Field(
        default=1000,
        ge=0,
        description="open connections per server process; requests beyond are answered "
        "503 (0 = no bound)",
    )
    limits_url: str = Field(
        default="memory://",
        description="memory:// (one node), redis://, rediss://, redis+cluster://",
    )
    invalidation_url: str = Field(
        default="",
        description="cross-node cache invalidation: postgresql://, redis://, or none; "
        "empty = the PostgreSQL database, else a redis:// limits_url, else none",
    )
    credits_sync_interval_s: float = Field(default=5.0, gt=0)
    failed_attempts_limit: int = Field(
        default=100, ge=0, description="failed verifications per client IP per window; 0 = off"
    )
    failed_attempts_window_s: float = Field(default=60.0, gt=0)
    shed_max_inflight: int = Field(
        default=0, ge=0, description="in-flight requests above which low tiers are shed; 0 = off"
    )
    shed_max_lag_ms: float = Field(
        default=0.0, ge=0, description="event-loop lag above which low tiers are shed; 0 = off"
    )
    # browser sessions of the dashboard and portal (docs/security.md, "Browser sessions")
    web_session_idle_s: float = Field(
        default=1800.0, gt=0, description="a dashboard or portal session unused this long ends"
    )
    web_session_max_s: float = Field(
        default=43200.0, gt=0, description="a dashboard session ends this long after sign-in"
    )
    portal_link_ttl_s: float = Field(
        default=600.0, gt=0, le=86400, description="a portal link is redeemable this long"
    )
    portal_session_max_s: float = Field(
        default=3600.0, gt=0, description="a portal session ends this long after its link"
    )
    scheduler_interval_s: float = Field(
        default=60.0, ge=0, description="rotation policies and expiry notices; 0 = off"
    )
    outbox_poll_interval_s: float = Field(default=1.0, gt=0)
    webhook_timeout_s: float = Field(default=10.0, gt=0)
    webhook_max_attempts: int = Field(default=8, ge=1, le=50)
    webhook_retry_base_s: float = Field(default=5.0, gt=0)
    webhook_retry_max_s: float = Field(default=3600.0, gt=0)
    limit_event_cooldown_s: float = Field(
        default=300.0, gt=0, description="at most one ratelimit/quota event per key per cooldown"
    )
    # usage records (docs/monitoring.md, "Usage records")
    usage_enabled: bool = True
    usage_buffer_size: int = Field(default=100_000, ge=1)
    usage_full_policy: Literal["drop", "block"] = Field(
        default="drop", description="a full usage buffer drops (and counts) or blocks"
    )
    usage_flush_interval_s: float = Field(default=1.0, gt=0)
    usage_batch_size: int = Field(
        default=5000,
        ge=1,
        description="records per transaction: each also merges its rollup rows, a cost "
        "per batch that larger batches spread thinner at saturation",
    )
    usage_writer: Literal["inline", "process"] = Field(
        default="inline",
        description="who writes usage batches: the serving process, or a writer process "
        "beside it (`keystead serve` picks process unless this is set)",
    )
    usage_raw_retention_days: float = Field(default=30.0, gt=0)
    usage_rollup_retention_days: float = Field(default=400.0, gt=0)
    metrics_enabled: bool = Field(
        default=True, description="serve GET /metrics (Prometheus text, no root key)"
    )
    log_level: str = "info"
    gc_tuning: bool = Field(
        default=True,
        description="once started, a server (or an embedded guard that opened its own "
        "service, or the usage writer process) raises the garbage collector's youngest "
        "threshold from 700 to 10,000 allocations, unless the process set its own thresholds",
    )
    log_format: Literal["text", "json"] = Field(
        default="text", description="json: one JSON object per log line, keys redacted"
    )
    access_log: Literal["default", "all", "off"] = Field(
        default="default",
        description="the HTTP access log: default = every request but the successful "
        "answers of the hot routes (verify, tokens, OAuth: each a usage record already) "
        "and of /healthz and /metrics; all = every request; off = none",
    )
    export_urls: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="export sinks, comma-separated or a JSON list: jsonl:///path, "
        "jsonl://stdout, syslog+udp://, syslog+tcp://, syslog+tls://, cef+udp://, cef+tcp://",
    )
    syslog_sd_id: str = Field(
        default="keystead@32473",
        description="SD-ID of the structured data syslog sinks send: name@<your private "
        "enterprise number>; 32473 is the number RFC 5612 reserves for documentation",
    )
    # leak reports from GitHub's secret scanning (docs/scanning.md)
    github_keys_url: str = Field(
        default="",
        description="where GitHub's secret scanning public keys are read: "
        "https://api.github.com/meta/public_keys/secret_scanning, another URL, or a file; "
        "empty = POST /v1/leaks/github is off (404)",
    )
    github_keys_refresh_s: float = Field(
        default=60.0,
        gt=0,
        description="at most one read of the public keys per this many seconds when a "
        "request names a key identifier not held (a new GitHub key, or an attacker's)",
    )
    github_leak_workspaces: Annotated[list[str], NoDecode] = Field(
        default_factory=lambda: ["*"],
        description="the workspaces whose keys GitHub's reports act on, comma-separated; "
        "* = every workspace (each key is handled in its own)",
    )
    # the CLI's remote mode
    url: str | None = None
    root_key: SecretStr | None = None

    @field_validator("export_urls", "github_leak_workspaces", mode="before")
    @classmethod
    def _split_urls(cls, value: Any) -> Any:
        """``KEYSTEAD_EXPORT_URLS`` as a JSON list or comma-separated URLs."""
        if not isinstance(value, str):
            return value
        text = value.strip()
        if text.startswith("["):
            return json.loads(text)
        return [url.strip() for url in text.split(",") if url.strip()]

    @field_validator("public_url")
    @classmethod
    def _check_public_url(cls, value: str | None) -> str | None:
        if value and not value.startswith(("https://", "http://")):
            raise ValueError("must be an http:// or https:// URL")
        return value or None

    @field_validator("syslog_sd_id")
    @classmethod
    def _check_sd_id(cls, value: str) -> str:
        if len(value) > 32 or not _SD_ID.fullmatch(value):
            raise ValueError("must be name@<private enterprise number>, at most 32 characters")
        return value

    def base_url(self) -> str:
        """``public_url`` without a trailing slash, else ``http://{host}:{port}``."""
        if self.public_url:
            return self.public_url.rstrip("/")
        return f"http://{self.host}:{self.port}"

    def master_key_location(self) -> str:
        """``master_key_url``, or its default: a file beside ``secret_file``."""
        if self.master_key_url:
            return self.master_key_url
        return f"file://{self.secret_file.parent / MASTER_KEY_FILE_NAME}"

    def load_secret(self, *, create: bool = False) -> bytes:
        """The server secret: from KEYSTEAD_SECRET, else from the secret file.

        With ``create`` a missing file is generated with mode 0600. A file that
        others can read is refused rather than silently used.
        """
        if self.secret is not None:
            return _decode_secret(self.secret.get_secret_value(), "KEYSTEAD_SECRET")
        path = self.secret_file
        if not path.exists():
            if not create:
                raise ConfigurationError(
                    f"no server secret: set KEYSTEAD_SECRET or run 'keystead init' to create {path}"
                )
            _write_secret_file(path)
        mode = path.stat().st_mode
        if mode & (stat.S_IRWXG | stat.S_IRWXO):
            raise ConfigurationError(f"{path} is readable by other users; run 'chmod 600 {path}'")
        return _decode_secret(path.read_text().strip(), str(path))


def _decode_secret(text: str, origin: str) -> bytes:
    try:
        raw = bytes.fromhex(text)
    except ValueError:
        raise ConfigurationError(f"{origin} must be hex-encoded") from None
    if len(raw) < MIN_SECRET_BYTES:
        raise ConfigurationError(f"{origin} must hold at least {MIN_SECRET_BYTES} bytes")
    return raw


def _write_secret_file(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(secrets.token_hex(32) + "\n")


__all__ = ["Settings"]
