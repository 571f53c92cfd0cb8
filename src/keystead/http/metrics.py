"""``GET /metrics``: Prometheus text exposition of one node.

Needs no root key, like ``/healthz``: it reports counts and timings only, never
a key, an id or a workspace name. Set ``KEYSTEAD_METRICS_ENABLED=false`` to
serve 404 instead (e.g. when the port is public and metrics should not be).
"""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily
from prometheus_client.registry import Collector
from starlette.requests import Request
from starlette.responses import Response

from keystead.errors import NotFound, StoreUnavailable
from keystead.service import Keystead

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


class KeysteadCollector(Collector):
    """Reads the service's counters at scrape time."""

    def __init__(self, ks: Keystead) -> None:
        self._ks = ks

    def collect(self) -> Iterator[CounterMetricFamily | GaugeMetricFamily | HistogramMetricFamily]:
        ks = self._ks
        outcomes = CounterMetricFamily(
            "keystead_verifications", "Verifications by outcome code.", labels=["outcome"]
        )
        for code, count in ks.metrics.outcomes.items():
            outcomes.add_metric([code.value], count)
        yield outcomes
        latency = ks.metrics.verify_http
        histogram = HistogramMetricFamily(
            "keystead_verify_http_seconds",
            "Time to answer POST /v1/keys/verify, from request to response.",
        )
        histogram.add_metric([], latency.cumulative(), sum_value=latency.sum_s)
        yield histogram
        recorder = ks.usage.recorder
        yield GaugeMetricFamily(
            "keystead_usage_buffer_records",
            "Usage records waiting to be written.",
            value=recorder.pending,
        )
        yield CounterMetricFamily(
            "keystead_usage_records_dropped",
            "Usage records dropped because the buffer was full.",
            value=recorder.dropped,
        )
        yield CounterMetricFamily(
            "keystead_usage_records_written",
            "Usage records written to the store.",
            value=recorder.written,
        )
        yield CounterMetricFamily(
            "keystead_usage_batches_failed",
            "Usage batches not written because the store (or the writer process) was "
            "unreachable; each is retried.",
            value=recorder.failed_batches,
        )
        yield CounterMetricFamily(
            "keystead_usage_records_refused",
            "Usage records dropped because the store refused their content.",
            value=recorder.refused,
        )
        yield CounterMetricFamily(
            "keystead_usage_writer_restarts",
            "Usage writer processes started again after one exited.",
            value=getattr(recorder.writer, "restarts", 0),
        )
        yield CounterMetricFamily(
            "keystead_export_records_dropped",
            "Records not exported because the export queue was full.",
            value=ks.exports.dropped,
        )
        yield CounterMetricFamily(
            "keystead_limiter_errors",
            "Verifications the limiter could not decide (failed open or closed).",
            value=ks.limiter_errors,
        )
        leaks = CounterMetricFamily(
            "keystead_leak_reports",
            "Reported leaked tokens by source (github, scanner, api, other) and outcome.",
            labels=["source", "outcome"],
        )
        for (source, outcome), count in sorted(ks.leaks.counts.items()):
            leaks.add_metric([source, outcome], count)
        yield leaks
        yield CounterMetricFamily(
            "keystead_store_errors",
            "Times the database could not be reached.",
            value=getattr(ks.store, "unavailable_errors", 0),
        )


async def metrics(request: Request) -> Response:
    ks = getattr(request.app.state, "keystead", None)
    if ks is None:
        raise StoreUnavailable("the service is not running", safe=True)
    if not ks.settings.metrics_enabled:
        raise NotFound("metrics are turned off on this node")
    registry = CollectorRegistry(auto_describe=False)
    registry.register(KeysteadCollector(ks))
    return Response(generate_latest(registry), media_type=CONTENT_TYPE)


__all__ = ["CONTENT_TYPE", "KeysteadCollector", "metrics"]
