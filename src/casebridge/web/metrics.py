"""Prometheus metrics at ``/metrics`` (prometheus-client).

Read from the database at scrape time (:class:`BridgeCollector`, a few aggregate
queries; the same figures whichever web process is scraped):

- ``casebridge_bridge_outbox_items{kind,state}``: unfinished items (queued, sending,
  failed, waiting);
- ``casebridge_bridge_outbox_oldest_age_seconds{kind,state}``: the oldest one's age;
- ``casebridge_bridge_delivery_latency_seconds{kind}``: a histogram, queued -> the books'
  acknowledgement. The worker that observes it is another process, perhaps on another
  machine, so it keeps the buckets in the database (``bridge.DeliveryLatency``) rather
  than in its memory (prometheus-client's multiprocess mode only joins processes sharing a
  directory on one machine);
- ``casebridge_bridge_reconciliation_differences{firm}``,
  ``..._reconciliation_failed{firm}`` and ``..._reconciliation_finished_timestamp_seconds
  {firm}``: each connected firm's last whole-firm reconciliation;
- ``casebridge_bridge_books_token_days_left{firm}`` (negative once lapsed) and
  ``casebridge_bridge_books_read_age_seconds{firm}``: the worker's last read of the books;
- ``casebridge_digest_deltas_pending{side}`` (counted up to :data:`DELTAS_COUNTED`) and
  ``casebridge_digest_compacted_timestamp_seconds{side}``: the reconciliation digests'
  deltas not yet folded in, and the last compaction that finished without an error (ADR
  0035; :class:`DigestCollector`): a compaction that stopped shows as a growing count and
  an old timestamp.

Observed in the web process (:class:`RequestMetricsMiddleware`):
``casebridge_http_request_duration_seconds{method,view,status}``. Per process: with
several gunicorn workers a scrape sees the one that answered, unless
``PROMETHEUS_MULTIPROC_DIR`` is set (prometheus-client's multiprocess mode, one machine),
which :func:`registry` then reads.

Who may scrape: a request bearing ``Authorization: Bearer <CASEBRIDGE_METRICS_TOKEN>``,
or one from an address in ``CASEBRIDGE_METRICS_ALLOW`` (addresses or networks, comma
separated; the socket's address, never X-Forwarded-For). Anyone else: 403. With neither
set: 404 (development, ``DEBUG``: loopback addresses only).
"""

from __future__ import annotations

import hmac
import ipaddress
import os
import time
from collections.abc import Callable, Iterable, Iterator

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.cache import never_cache
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Histogram,
    generate_latest,
    multiprocess,
)
from prometheus_client.core import GaugeMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.registry import Collector

from casebridge.books.models import FileDigestDelta
from casebridge.bridge import operations
from casebridge.bridge.models import DELIVERY_LATENCY_BUCKETS, CaseDigestDelta
from casebridge.core import clock
from casebridge.core.models import PeriodicLease

REQUEST_DURATION = Histogram(
    "casebridge_http_request_duration_seconds",
    "Time to answer a web request (per process; see casebridge.web.metrics)",
    ["method", "view", "status"],
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)


class BridgeCollector(Collector):
    """The bridge's figures, read from the database at each scrape."""

    #: (name, type) of every family collected; ``describe`` names them
    #: without a query (the registry asks when the collector is registered, at import).
    FAMILIES = (
        ("casebridge_bridge_outbox_items", "gauge"),
        ("casebridge_bridge_outbox_oldest_age_seconds", "gauge"),
        ("casebridge_bridge_delivery_latency_seconds", "histogram"),
        ("casebridge_bridge_reconciliation_differences", "gauge"),
        ("casebridge_bridge_reconciliation_failed", "gauge"),
        ("casebridge_bridge_reconciliation_finished_timestamp_seconds", "gauge"),
        ("casebridge_bridge_books_token_days_left", "gauge"),
        ("casebridge_bridge_books_read_age_seconds", "gauge"),
    )

    def describe(self) -> Iterator[Metric]:
        for name, kind in self.FAMILIES:
            yield Metric(name, "", kind)

    def collect(self) -> Iterator[Metric]:
        now = clock.now()
        items = GaugeMetricFamily(
            "casebridge_bridge_outbox_items",
            "Outbox items not yet delivered, by kind and state",
            labels=["kind", "state"],
        )
        oldest = GaugeMetricFamily(
            "casebridge_bridge_outbox_oldest_age_seconds",
            "Age of the oldest outbox item not yet delivered, by kind and state",
            labels=["kind", "state"],
        )
        for row in operations.outbox_backlog():
            items.add_metric([row.kind, row.state], row.items)
            oldest.add_metric(
                [row.kind, row.state], max(0.0, (now - row.oldest_created_at).total_seconds())
            )
        yield items
        yield oldest

        latency = HistogramMetricFamily(
            "casebridge_bridge_delivery_latency_seconds",
            "Outbox items from queued to acknowledged by the books (kept by the worker)",
            labels=["kind"],
        )
        for kind, buckets in sorted(operations.delivery_latency().items()):
            cumulative, total_ms, series = 0, 0, []
            for index, upper in [*enumerate(DELIVERY_LATENCY_BUCKETS), (None, None)]:
                key = len(DELIVERY_LATENCY_BUCKETS) if index is None else index
                count, ms = buckets.get(key, (0, 0))
                cumulative += count
                total_ms += ms
                series.append(("+Inf" if upper is None else f"{float(upper)}", cumulative))
            latency.add_metric([kind], series, total_ms / 1000)
        yield latency

        differences = GaugeMetricFamily(
            "casebridge_bridge_reconciliation_differences",
            "Differences found by the firm's last whole-firm reconciliation",
            labels=["firm"],
        )
        failed = GaugeMetricFamily(
            "casebridge_bridge_reconciliation_failed",
            "1 when the firm's last whole-firm reconciliation ended in an error",
            labels=["firm"],
        )
        finished = GaugeMetricFamily(
            "casebridge_bridge_reconciliation_finished_timestamp_seconds",
            "When the firm's last whole-firm reconciliation finished (Unix time)",
            labels=["firm"],
        )
        for run in operations.last_reconciliations():
            differences.add_metric([run.firm_code], run.differences)
            failed.add_metric([run.firm_code], 1 if run.failed else 0)
            finished.add_metric([run.firm_code], run.finished_at.timestamp())
        yield differences
        yield failed
        yield finished

        token = GaugeMetricFamily(
            "casebridge_bridge_books_token_days_left",
            "Days until the books token lapses (re-authenticate before 0)",
            labels=["firm"],
        )
        read_age = GaugeMetricFamily(
            "casebridge_bridge_books_read_age_seconds",
            "Age of the worker's last successful read of the books",
            labels=["firm"],
        )
        for conn in operations.connections():
            if conn.token_expires_at is not None:
                token.add_metric(
                    [conn.firm_code],
                    round((conn.token_expires_at - now).total_seconds() / 86400, 2),
                )
            if conn.books_read_at is not None:
                read_age.add_metric([conn.firm_code], (now - conn.books_read_at).total_seconds())
        yield token
        yield read_age


_bridge_collector = BridgeCollector()
REGISTRY.register(_bridge_collector)

#: Pending deltas are counted up to this many (a bounded read however far behind).
DELTAS_COUNTED = 1_000_000

#: Each side's delta table and the periodic job that folds it in (ADR 0035).
_DIGEST_SIDES = (
    ("books", FileDigestDelta, "casebridge.books.tasks.file_digests_compact_periodic"),
    ("cases", CaseDigestDelta, "casebridge.bridge.tasks.case_digests_compact_periodic"),
)


class DigestCollector(Collector):
    """The digests' compaction, read at each scrape: pending deltas per side (one bounded
    count) and when the compaction last finished cleanly (its periodic lease rows, kept a
    week). On SQLite the triggers update the kept rows and no delta is ever written."""

    FAMILIES = (
        ("casebridge_digest_deltas_pending", "gauge"),
        ("casebridge_digest_compacted_timestamp_seconds", "gauge"),
    )

    def describe(self) -> Iterator[Metric]:
        for name, kind in self.FAMILIES:
            yield Metric(name, "", kind)

    def collect(self) -> Iterator[Metric]:
        pending = GaugeMetricFamily(
            "casebridge_digest_deltas_pending",
            f"Digest deltas not yet folded into the kept rows (counted up to {DELTAS_COUNTED})",
            labels=["side"],
        )
        compacted = GaugeMetricFamily(
            "casebridge_digest_compacted_timestamp_seconds",
            "When the digests' compaction last finished without an error (Unix time)",
            labels=["side"],
        )
        for side, model, task in _DIGEST_SIDES:
            # a sliced count: SELECT COUNT(*) FROM (... LIMIT n)
            pending.add_metric([side], model._default_manager.all()[:DELTAS_COUNTED].count())
            last = (
                PeriodicLease.objects.filter(task=task, finished_at__isnull=False, error="")
                .order_by("-finished_at")
                .values_list("finished_at", flat=True)
                .first()
            )
            if last is not None:
                compacted.add_metric([side], last.timestamp())
        yield pending
        yield compacted


_digest_collector = DigestCollector()
REGISTRY.register(_digest_collector)


def registry() -> CollectorRegistry:
    """The default registry, or in multiprocess mode one joining every process's files
    with the database figures."""
    if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        return REGISTRY
    joined = CollectorRegistry()
    multiprocess.MultiProcessCollector(joined)  # type: ignore[no-untyped-call]
    joined.register(_bridge_collector)
    joined.register(_digest_collector)
    return joined


def _networks(entries: Iterable[str]) -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
    return [ipaddress.ip_network(e.strip(), strict=False) for e in entries if e.strip()]


def scrape_allowed(request: HttpRequest) -> int:
    """0 when the request may scrape, else the status to refuse it with (403, or 404 when
    nothing is configured)."""
    token: str = settings.METRICS_TOKEN
    allowed = _networks(settings.METRICS_ALLOW)
    try:
        address = ipaddress.ip_address(request.META.get("REMOTE_ADDR", ""))
    except ValueError:
        address = None
    if not token and not allowed:
        if settings.DEBUG and address is not None and address.is_loopback:
            return 0
        return 404
    if token:
        given = request.headers.get("Authorization", "")
        scheme, _, value = given.partition(" ")
        if scheme.lower() == "bearer" and hmac.compare_digest(
            value.strip().encode(), token.encode()
        ):
            return 0
    if address is not None and any(address in net for net in allowed):
        return 0
    return 403


@never_cache
def metrics_view(request: HttpRequest) -> HttpResponse:
    refusal = scrape_allowed(request)
    if refusal == 404:
        return JsonResponse({"error": {"code": "not_found", "message": "Not found."}}, status=404)
    if refusal:
        return JsonResponse(
            {
                "error": {
                    "code": "forbidden",
                    "message": "Metrics need the scrape token (Authorization: Bearer) or an "
                    "allowed address.",
                }
            },
            status=403,
        )
    return HttpResponse(generate_latest(registry()), content_type=CONTENT_TYPE_LATEST)


_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


class RequestMetricsMiddleware:
    """Observes each request's duration, labelled by its view (a route name, never the path,
    which would make a series per case)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        started = time.monotonic()
        response = self.get_response(request)
        match = getattr(request, "resolver_match", None)
        view = (match.view_name or match._func_path) if match is not None else "unmatched"
        method = request.method if request.method in _METHODS else "other"
        REQUEST_DURATION.labels(method, view, str(response.status_code)).observe(
            time.monotonic() - started
        )
        return response
