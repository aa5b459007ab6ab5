"""The monthly re-authentication: a warning from 7 days before, then everything waits until
an administrator re-enters the password, then it all goes once."""

from __future__ import annotations

import datetime as dt

import pytest
from django.test import RequestFactory

from casebridge.books.errors import SignInRefused, TooManyAttempts
from casebridge.books.models import Check, IntegrationToken
from casebridge.books.services import auth as books_auth
from casebridge.bridge.integration import BooksIntegration
from casebridge.bridge.models import Connection, OutboxItem, OutboxState, RunState
from casebridge.bridge.services import connection as conn_services
from casebridge.bridge.services import outbox
from casebridge.bridge.services.delivery import outbox_deliver
from casebridge.cases.services import firms
from casebridge.core import clock

from .conftest import INTEGRATION_EMAIL, add_cost, pop_up_1, reauthenticate


def _age_token(days_left: float) -> None:
    """As if the 30 days had run down to ``days_left`` on both sides."""
    expires = clock.now() + dt.timedelta(days=days_left)
    Connection.objects.update(token_expires_at=expires)
    IntegrationToken.objects.filter(revoked_at__isnull=True).update(expires_at=expires)


def _banners(cases, user=None):
    request = RequestFactory().get("/cases/")
    return BooksIntegration().banners(request, user or cases.admin)


def test_no_banner_while_the_token_has_more_than_seven_days(books, cases, connected):
    assert _banners(cases) == []


def test_a_warning_from_seven_days_before_only_for_administrators(books, cases, connected):
    _age_token(6.5)
    [banner] = _banners(cases)
    assert banner.level == "warning"
    assert banner.message == ("Books integration: the monthly re-authentication is due in 6 days.")
    assert banner.link_label == "Re-authenticate now"
    assert _banners(cases, cases.paralegal) == []


def test_after_the_lapse_sends_wait_and_go_once_after_reauthentication(books, cases, connected):
    costs = [add_cost(cases, 1_000), add_cost(cases, 2_000)]
    outbox.costs_send(firm=cases.firm, actor=cases.admin, cost_ids=[c.pk for c in costs])
    _age_token(-0.01)
    conn = Connection.objects.get()
    assert conn_services.connection_view(conn).label == "Re-authentication required"
    [banner] = _banners(cases)
    assert banner.level == "error"

    report = outbox_deliver(firm_id=cases.firm.pk)
    assert report.waiting == 2
    assert list(OutboxItem.objects.values_list("state", flat=True)) == [OutboxState.WAITING] * 2
    assert not Check.objects.exists()

    # a cost sent while lapsed waits as well (nothing is refused, nothing lost)
    late = add_cost(cases, 3_000)
    outbox.costs_send(firm=cases.firm, actor=cases.admin, cost_ids=[late.pk])
    outbox_deliver(firm_id=cases.firm.pk)
    assert OutboxItem.objects.filter(state=OutboxState.WAITING).count() == 3

    assert reauthenticate(cases).state == RunState.DONE
    assert OutboxItem.objects.filter(state=OutboxState.QUEUED).count() == 3
    outbox_deliver(firm_id=cases.firm.pk)
    outbox_deliver(firm_id=cases.firm.pk)
    assert sorted(Check.objects.values_list("amount_cents", flat=True)) == [1_000, 2_000, 3_000]
    assert OutboxItem.objects.filter(state=OutboxState.SENT).count() == 3
    assert conn_services.connection_view(Connection.objects.get()).label == "Connected"


def test_deactivate_keeps_the_queue_and_activating_again_resumes(books, cases, connected):
    cost = add_cost(cases, 1_000)
    outbox.costs_send(firm=cases.firm, actor=cases.admin, cost_ids=[cost.pk])
    conn_services.connection_deactivate(firm=cases.firm, actor=cases.admin)
    outbox_deliver(firm_id=cases.firm.pk)
    assert not Check.objects.exists()
    assert OutboxItem.objects.get().state == OutboxState.QUEUED
    assert pop_up_1(cases, books_url=books.url).state == RunState.DONE
    conn = Connection.objects.get(firm=cases.firm)
    assert conn.status == "connected"  # the defaults were kept
    outbox_deliver(firm_id=cases.firm.pk)
    assert Check.objects.get().amount_cents == 1_000


def test_the_nightly_sync_hour_is_chosen_with_the_defaults_and_picks_the_firms(
    books, cases, connected, monkeypatch
):
    from casebridge.bridge import tasks
    from casebridge.bridge.models import SyncRun

    conn_services.connection_defaults_save(
        firm=cases.firm,
        actor=cases.admin,
        operating_account_id=books.operating.pk,
        trust_account_id=books.trust.pk,
        invoice_release="review",
        check_sync_hour=23,
    )
    assert Connection.objects.get().check_sync_hour == 23
    ran: list[int] = []
    monkeypatch.setattr(tasks, "check_status_sync_task", ran.append)
    firms.firm_time_zone_set(firm=cases.firm, actor=cases.admin, time_zone="UTC")
    at_23 = dt.datetime(2026, 11, 26, 23, 5, tzinfo=dt.UTC)
    monkeypatch.setattr(tasks.clock, "now", lambda: at_23)
    tasks.check_status_sync_hourly.call_local()
    assert ran == [cases.firm.pk]
    monkeypatch.setattr(tasks.clock, "now", lambda: at_23.replace(hour=2))
    ran.clear()
    tasks.check_status_sync_hourly.call_local()
    assert ran == []
    assert not SyncRun.objects.exists()


# --- the books' sign-in throttle (ADR 0017) ---------------------------------------------------


def _stranger_guess(address: str = "203.0.113.66") -> None:
    """Someone elsewhere tries a password for the integration user."""
    books_auth.integration_session_create(
        firm_code="lopez-pi", email=INTEGRATION_EMAIL, password="guess", ip_address=address
    )


def test_a_stranger_hammering_the_integration_user_does_not_stop_the_reauthentication(
    books, cases, connected, stopped_clock
):
    stopped_clock()
    for _ in range(5):
        with pytest.raises(SignInRefused):
            _stranger_guess()
    # the books hold every other address back...
    for address in ("203.0.113.66", "198.51.100.1"):
        with pytest.raises(TooManyAttempts):
            _stranger_guess(address)
    # ...but not the bridge's, which signed in from there at activation
    _age_token(-0.01)
    job = reauthenticate(cases)
    assert (job.state, job.error_code) == (RunState.DONE, "")
    assert Connection.objects.get().token_expires_at > clock.now()


def test_backing_off_books_tell_the_administrator_when_to_try_again(books, cases, stopped_clock):
    stopped_clock()
    for _ in range(5):
        job = pop_up_1(cases, books_url=books.url, password="a typo")
        assert job.error_code == "invalid_credentials"
    job = pop_up_1(cases, books_url=books.url)
    assert (job.state, job.error_code, job.error_field) == (
        RunState.FAILED,
        "too_many_attempts",
        "password",
    )
    assert job.error_message == (
        f"The books are holding back sign-ins for {INTEGRATION_EMAIL} after too many failed "
        "attempts: try again in 30 seconds. Check the firm ID, username and password meanwhile."
    )
    assert job.secret_ciphertext == ""
    assert not Connection.objects.exists()
