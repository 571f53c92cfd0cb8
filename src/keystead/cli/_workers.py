"""What several worker processes on one machine need to keep Keystead's promises,
checked by ``keystead serve`` and ``keystead gateway`` before they start anything.

Each worker is a process of its own, with its own memory: as far as limits and
caches go, N workers are N nodes. Two things then have to be shared:

- the limiter: ``memory://`` counts in each process, so a key limited to 10 a
  minute would be admitted 10 times by every worker (and likewise quotas,
  credits, concurrency slots and the failed-attempts allowance);
- an invalidation channel: a key revoked, disabled or changed through one worker
  is evicted from that worker's cache at once, but the others would go on
  answering from theirs for up to ``KEYSTEAD_CACHE_TTL_S``.

A Redis limiter gives both (the channel defaults to it), as does PostgreSQL for
the channel. One worker needs neither.
"""

from __future__ import annotations

from keystead.cli._runtime import UsageProblem
from keystead.config import Settings
from keystead.events.invalidation import resolve_url
from keystead.limits.base import per_process


def require_shared_state(settings: Settings, workers: int, *, section: bool = False) -> None:
    """Raise :class:`UsageProblem` (one line naming what to set) when ``workers``
    processes would break exact limits or prompt revocation under ``settings``.
    ``section``: the settings may also come from a configuration file's
    ``keystead:`` section (the gateway's), so the line names that too."""
    if workers <= 1:
        return
    also = " (or {} in the keystead: section)" if section else ""
    if per_process(settings.limits_url):
        raise UsageProblem(
            f"--workers {workers} needs a limiter the workers share: with "
            f"KEYSTEAD_LIMITS_URL={settings.limits_url} each worker counts alone (a limit "
            f"of 10 a minute would admit {10 * workers}); set "
            f"KEYSTEAD_LIMITS_URL=redis://HOST:6379/0{also.format('limits_url')}, "
            "or run one worker (--workers 1 needs nothing)"
        )
    channel = resolve_url(settings.invalidation_url, settings.database_url, settings.limits_url)
    if channel is None:
        raise UsageProblem(
            f"--workers {workers} needs an invalidation channel: without one a key revoked "
            "through one worker goes on verifying on the others for up to "
            f"KEYSTEAD_CACHE_TTL_S ({settings.cache_ttl_s:g} s); set "
            f"KEYSTEAD_INVALIDATION_URL=redis://HOST:6379/0{also.format('invalidation_url')}"
            " (or use a PostgreSQL database), or run one worker"
        )


__all__ = ["require_shared_state"]
