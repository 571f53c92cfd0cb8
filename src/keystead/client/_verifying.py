"""``verify``, the verify cache and usage reports: what both clients share.

``verify(..., record=True)`` (the default) lets the server record the
verification as usage. An answer from the cache never reaches the server, so
the client reports it itself, in the background (``queue_usage``): usage stays
whole. ``record=False`` is for a middleware or gateway that reports every
request it answers, once, with its status, time and bytes (``queue_usage`` or
``record_usage``): the server is asked not to record the verification.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from collections.abc import Mapping, Sequence
from typing import Any

from keystead.client._cache import VerifyCache
from keystead.client._call import Call, endpoint, post, read_nothing
from keystead.client._errors import ApiError
from keystead.client._invalidation import Invalidation
from keystead.client._usage import UsageQueue, UsageReport, batch_body
from keystead.client._verify import VerifyRequest, VerifyResult, read_verify

log = logging.getLogger("keystead.client")

VERIFY_PATH = "/v1/keys/verify"
REPORTS_PATH = "/v1/usage/records"


class Verifying:
    """One client's verify cache, its invalidation state and its usage queue."""

    def __init__(self, cache: VerifyCache | None, reports: UsageQueue, *, invalidation: bool):
        self.cache = cache
        self.reports = reports
        self.invalidation = None if cache is None or not invalidation else Invalidation(cache)
        self.record_supported = True
        """False once the server said it does not know ``record`` (an older server)."""

    def usable(self) -> bool:
        """Whether the cache may answer (with invalidation: while the stream is up)."""
        return self.cache is not None and (self.invalidation is None or self.invalidation.ready)

    def call(self, request: VerifyRequest) -> Call[VerifyResult]:
        body = request.body(with_record=self.record_supported)
        cache = self.cache
        if cache is None or request.ratelimits is not None:
            plain = Call("POST", VERIFY_PATH, read_verify, json=body)
        else:
            fingerprint = cache.fingerprint(request)
            generation = cache.generation  # read before the request goes out

            def lookup() -> VerifyResult | None:
                hit = cache.get(fingerprint) if self.usable() else None
                if hit is not None and request.record:
                    self.reports.put(_report_of(hit, request))
                return hit

            def keep(result: VerifyResult) -> VerifyResult:
                cache.put(fingerprint, result, generation)
                return result

            plain = Call("POST", VERIFY_PATH, read_verify, json=body, lookup=lookup, keep=keep)
        if request.record or not self.record_supported:
            return plain
        return dataclasses.replace(
            plain, instead=lambda error: self._without_record(plain, request, error)
        )

    def _without_record(
        self, call: Call[VerifyResult], request: VerifyRequest, error: ApiError
    ) -> Call[VerifyResult] | None:
        """A server that does not know ``record``: verify without it (it then
        records the verification itself), and say so once."""
        if error.status != 422 or not _names_field(error.body, "record"):
            return None
        self.record_supported = False
        log.warning(
            "this server does not take record=false on verify: it records every "
            "verification itself, so requests reported with record_usage count twice"
        )
        return dataclasses.replace(call, json=request.body(with_record=False), instead=None)


def _names_field(problem: Mapping[str, Any] | None, name: str) -> bool:
    errors = None if problem is None else problem.get("errors")
    if not isinstance(errors, list):
        return False
    return any(isinstance(e, dict) and e.get("loc") == ["body", name] for e in errors)


def _report_of(result: VerifyResult, request: VerifyRequest) -> UsageReport:
    return UsageReport(
        key_id=result.key_id,
        code=result.code,
        at=time.time(),
        ip=request.ip,
        user_agent=request.user_agent,
        method=request.method,
        path=request.path,
    )


class VerifyApi:
    """``verify`` (cached when the client has a cache) and usage reports."""

    _verifying: Verifying

    @endpoint(("POST", VERIFY_PATH))
    def verify(
        self,
        key: str,
        *,
        ip: str | None = None,
        referrer: str | None = None,
        user_agent: str | None = None,
        method: str | None = None,
        path: str | None = None,
        permissions: str | None = None,
        ratelimits: Sequence[Mapping[str, Any]] | None = None,
        cost: int | None = None,
        record: bool = True,
    ) -> Call[VerifyResult]:
        """Verify ``key`` for a request (its client ``ip``, ``referrer``,
        ``user_agent``, ``method``, ``path``) and a ``permissions`` query. An
        invalid key is an answer (``valid`` False and its ``code``), not an error.

        ``cost`` units are spent on every limit of the key; ``ratelimits`` adds
        rate limits for this call only (such a call is never answered from the
        cache). ``record=False``: the caller reports the request itself, with
        ``queue_usage`` or ``record_usage``, once it has answered it.
        """
        request = VerifyRequest(
            key=key,
            ip=ip,
            referrer=referrer,
            user_agent=user_agent,
            method=method,
            path=path,
            permissions=permissions,
            ratelimits=ratelimits,
            cost=cost,
            record=record,
        )
        return self._verifying.call(request)

    @endpoint(("POST", REPORTS_PATH))
    def record_usage(self, records: Sequence[UsageReport]) -> Call[None]:
        """Report requests answered by the caller (at most 1000, one request to
        the server): recorded as usage with their status, time and bytes."""
        return post(REPORTS_PATH, read_nothing, batch_body(records))

    def queue_usage(self, report: UsageReport) -> None:
        """Report one request in the background: never blocks, never raises.
        Reports go out in batches, every second or sooner when many wait."""
        self._verifying.reports.put(report)

    @property
    def verify_cache(self) -> VerifyCache | None:
        return self._verifying.cache

    @property
    def invalidation_ready(self) -> bool:
        """The invalidation stream is up and caught up (the cache may answer)."""
        invalidation = self._verifying.invalidation
        return invalidation is not None and invalidation.ready

    @property
    def usage_pending(self) -> int:
        """Queued reports not sent yet."""
        return len(self._verifying.reports)

    @property
    def usage_dropped(self) -> int:
        """Queued reports given up on (queue full, or refused by the server)."""
        return self._verifying.reports.dropped


__all__ = ["REPORTS_PATH", "VERIFY_PATH", "VerifyApi", "Verifying"]
