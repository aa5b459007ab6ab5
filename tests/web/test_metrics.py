"""/metrics: who may scrape, and the figures read from the database at scrape time."""

from __future__ import annotations

import datetime as dt

import pytest
from prometheus_client import REGISTRY
from prometheus_client.utils import floatToGoString

from casebridge.bridge.models import OutboxState, ReconciliationRun
from casebridge.bridge.services.delivery import _observe_latency
from casebridge.cases.services import firms
from casebridge.core import clock

from .conftest import T0, connection, outbox_item

TOKEN = "s3cret-scrape-token"


@pytest.fixture
def scrape(client, settings):
    settings.METRICS_TOKEN = TOKEN
    settings.METRICS_ALLOW = []

    def get() -> str:
        response = client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
        assert response.status_code == 200
        assert response["Content-Type"].startswith("text/plain; version=")
        return response.content.decode()

    return get


@pytest.fixture
def at_t0(monkeypatch):
    monkeypatch.setattr(clock, "now", lambda: T0)


def _lines(text: str, prefix: str) -> list[str]:
    return [line for line in text.splitlines() if line.startswith(prefix)]


def test_metrics_are_not_there_when_nothing_is_configured(client, db, settings):
    settings.METRICS_TOKEN, settings.METRICS_ALLOW, settings.DEBUG = "", [], False
    response = client.get("/metrics")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


def test_in_development_loopback_may_scrape_without_a_token(client, db, settings):
    settings.METRICS_TOKEN, settings.METRICS_ALLOW, settings.DEBUG = "", [], True
    assert client.get("/metrics").status_code == 200
    assert client.get("/metrics", REMOTE_ADDR="192.0.2.7").status_code == 404


@pytest.mark.parametrize(
    "authorization", [None, "Bearer wrong", f"Basic {TOKEN}", f"Bearer {TOKEN}x", "Bearer"]
)
def test_a_wrong_or_missing_token_is_refused(client, db, settings, authorization):
    settings.METRICS_TOKEN, settings.METRICS_ALLOW = TOKEN, []
    headers = {"Authorization": authorization} if authorization else {}
    response = client.get("/metrics", headers=headers)
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "forbidden"
    assert TOKEN not in response.content.decode()


def test_the_token_opens_the_metrics(client, db, settings):
    settings.METRICS_TOKEN, settings.METRICS_ALLOW = TOKEN, []
    response = client.get("/metrics", headers={"Authorization": f"bearer {TOKEN}"})
    assert response.status_code == 200


@pytest.mark.parametrize(
    ("allow", "address", "status"),
    [
        (["127.0.0.1"], "127.0.0.1", 200),
        (["10.0.0.0/8"], "10.1.2.3", 200),
        (["10.0.0.0/8"], "192.0.2.7", 403),
        (["::1"], "::1", 200),
        (["10.0.0.0/8"], "not-an-address", 403),
    ],
)
def test_allowed_addresses_may_scrape_without_a_token(client, db, settings, allow, address, status):
    settings.METRICS_TOKEN, settings.METRICS_ALLOW = "", allow
    # X-Forwarded-For is never believed
    response = client.get("/metrics", REMOTE_ADDR=address, HTTP_X_FORWARDED_FOR="10.0.0.1")
    assert response.status_code == status


def test_outbox_backlog_per_kind_and_state_with_the_oldest_age(scrape, case, at_t0):
    outbox_item(case, created_at=T0 - dt.timedelta(minutes=5))
    outbox_item(case, created_at=T0 - dt.timedelta(minutes=2))
    outbox_item(case, state=OutboxState.FAILED, created_at=T0 - dt.timedelta(hours=1))
    outbox_item(case, kind="cost_void", created_at=T0 - dt.timedelta(seconds=30))
    outbox_item(case, state=OutboxState.SENT)  # delivered: not counted
    text = scrape()
    assert _lines(text, "casebridge_bridge_outbox_items{") == [
        'casebridge_bridge_outbox_items{kind="cost_send",state="failed"} 1.0',
        'casebridge_bridge_outbox_items{kind="cost_send",state="queued"} 2.0',
        'casebridge_bridge_outbox_items{kind="cost_void",state="queued"} 1.0',
    ]
    assert _lines(text, "casebridge_bridge_outbox_oldest_age_seconds{") == [
        'casebridge_bridge_outbox_oldest_age_seconds{kind="cost_send",state="failed"} 3600.0',
        'casebridge_bridge_outbox_oldest_age_seconds{kind="cost_send",state="queued"} 300.0',
        'casebridge_bridge_outbox_oldest_age_seconds{kind="cost_void",state="queued"} 30.0',
    ]


def test_an_empty_outbox_gives_no_series(scrape, db):
    text = scrape()
    assert _lines(text, "casebridge_bridge_outbox_items{") == []
    assert "# TYPE casebridge_bridge_outbox_items gauge" in text


def test_delivery_latency_is_a_cumulative_histogram_from_the_workers_counts(scrape, db):
    _observe_latency(
        "cost_send",
        [dt.timedelta(seconds=3), dt.timedelta(seconds=100), dt.timedelta(days=2)],
    )
    _observe_latency("cost_send", [dt.timedelta(seconds=4.5)])
    _observe_latency("deposit_receipt", [dt.timedelta(seconds=0.25)])
    text = scrape()
    assert _lines(text, 'casebridge_bridge_delivery_latency_seconds_bucket{kind="cost_send"') == [
        f'casebridge_bridge_delivery_latency_seconds_bucket{{kind="cost_send",le="{le}"}} {n}'
        for le, n in [
            ("1.0", "0.0"),
            ("5.0", "2.0"),
            ("15.0", "2.0"),
            ("60.0", "2.0"),
            ("300.0", "3.0"),
            ("900.0", "3.0"),
            ("3600.0", "3.0"),
            ("14400.0", "3.0"),
            ("86400.0", "3.0"),
            ("+Inf", "4.0"),
        ]
    ]
    assert _lines(text, "casebridge_bridge_delivery_latency_seconds_count{") == [
        'casebridge_bridge_delivery_latency_seconds_count{kind="cost_send"} 4.0',
        'casebridge_bridge_delivery_latency_seconds_count{kind="deposit_receipt"} 1.0',
    ]
    assert _lines(text, "casebridge_bridge_delivery_latency_seconds_sum{") == [
        'casebridge_bridge_delivery_latency_seconds_sum{kind="cost_send"} 172907.5',
        'casebridge_bridge_delivery_latency_seconds_sum{kind="deposit_receipt"} 0.25',
    ]


def test_last_reconciliation_and_token_days_per_firm(scrape, cases_firm, at_t0):
    connection(
        cases_firm,
        token_expires_at=T0 + dt.timedelta(days=5, hours=12),
        readiness_checked_at=T0 - dt.timedelta(seconds=90),
    )
    other = firms.firm_create(code="jones", name="Jones")
    connection(other, token_expires_at=T0 - dt.timedelta(days=1))

    def run(firm, finished, differences, error="", case=None):
        return ReconciliationRun.objects.create(
            firm=firm,
            trigger="scheduled",
            state="done" if not error else "failed",
            started_at=finished - dt.timedelta(minutes=1),
            finished_at=finished,
            differences=differences,
            error=error,
            case=case,
        )

    run(cases_firm, T0 - dt.timedelta(days=1), 4)
    run(cases_firm, T0 - dt.timedelta(hours=2), 2)  # the last one
    run(other, T0 - dt.timedelta(hours=3), 0, error="the books could not be reached")
    ReconciliationRun.objects.create(  # still running: not a result
        firm=other, trigger="manual", state="running", started_at=T0
    )
    text = scrape()
    assert _lines(text, "casebridge_bridge_reconciliation_differences{") == [
        'casebridge_bridge_reconciliation_differences{firm="jones"} 0.0',
        'casebridge_bridge_reconciliation_differences{firm="lopez-pi"} 2.0',
    ]
    assert _lines(text, "casebridge_bridge_reconciliation_failed{") == [
        'casebridge_bridge_reconciliation_failed{firm="jones"} 1.0',
        'casebridge_bridge_reconciliation_failed{firm="lopez-pi"} 0.0',
    ]
    assert _lines(text, "casebridge_bridge_reconciliation_finished_timestamp_seconds{") == [
        'casebridge_bridge_reconciliation_finished_timestamp_seconds{firm="jones"} '
        + floatToGoString((T0 - dt.timedelta(hours=3)).timestamp()),
        'casebridge_bridge_reconciliation_finished_timestamp_seconds{firm="lopez-pi"} '
        + floatToGoString((T0 - dt.timedelta(hours=2)).timestamp()),
    ]
    assert _lines(text, "casebridge_bridge_books_token_days_left{") == [
        'casebridge_bridge_books_token_days_left{firm="jones"} -1.0',
        'casebridge_bridge_books_token_days_left{firm="lopez-pi"} 5.5',
    ]
    assert _lines(text, "casebridge_bridge_books_read_age_seconds{") == [
        'casebridge_bridge_books_read_age_seconds{firm="lopez-pi"} 90.0',
    ]


def test_each_request_is_observed_by_view_method_and_status(scrape, client, db):
    labels = {"method": "GET", "view": "unmatched", "status": "404"}
    name = "casebridge_http_request_duration_seconds_count"
    before = REGISTRY.get_sample_value(name, labels) or 0.0
    client.get("/no-such-page/")
    client.get("/no-such-page/", REQUEST_METHOD="BREW")
    assert REGISTRY.get_sample_value(name, labels) == before + 1
    assert REGISTRY.get_sample_value(name, {**labels, "method": "other"}) is not None
    assert (
        'casebridge_http_request_duration_seconds_bucket{le="0.01",method="GET",status="404"'
        in (scrape())
    )


def test_digest_compaction_shows_its_pending_deltas_and_last_clean_run(scrape, case, at_t0):
    """A compaction that stopped shows: deltas pile up and its timestamp grows old."""
    from casebridge.bridge.models import CaseDigestDelta
    from casebridge.core.models import PeriodicLease

    CaseDigestDelta.objects.filter(firm=case.firm).delete()  # SQLite writes none; PG some
    CaseDigestDelta.objects.bulk_create(
        CaseDigestDelta(firm=case.firm, case=case, documents=1, cents=100, hash=7) for _ in range(3)
    )
    task = "casebridge.bridge.tasks.case_digests_compact_periodic"
    for minutes, error in ((10, ""), (5, "OperationalError: deadlock"), (15, "")):
        at = T0 - dt.timedelta(minutes=minutes)
        PeriodicLease.objects.create(
            task=task,
            period=at,
            worker="w",
            token=f"t{minutes}",
            started_at=at,
            finished_at=at,
            error=error,
        )
    text = scrape()
    assert _lines(text, 'casebridge_digest_deltas_pending{side="cases"}') == [
        'casebridge_digest_deltas_pending{side="cases"} 3.0'
    ]
    # the newest run failed: the last clean one is 10 minutes ago
    assert _lines(text, "casebridge_digest_compacted_timestamp_seconds{") == [
        'casebridge_digest_compacted_timestamp_seconds{side="cases"} '
        + floatToGoString((T0 - dt.timedelta(minutes=10)).timestamp())
    ]
