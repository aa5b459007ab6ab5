"""Activation (the seed's two pop-ups), against the books on a real port. Pop-up 1 queues
the sign-in; the worker (played by ``work``) signs in (ADR 0008)."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from django.conf import settings
from django.db import IntegrityError, transaction

from casebridge.books.models import ActivityCode, IntegrationToken
from casebridge.bridge.crypto import decrypt_token
from casebridge.bridge.models import BooksJob, Connection, ConnectionStatus, JobKind, RunState
from casebridge.bridge.services import connection as conn_services
from casebridge.bridge.services import jobs
from casebridge.cases.errors import PermissionDenied
from casebridge.core import clock

from .conftest import INTEGRATION_EMAIL, PASSWORD, activate, books_firm_seeded, pop_up_1, work


def _activate(books, cases, **overrides) -> BooksJob:
    """Pop-up 1 queues the sign-in; the worker runs it."""
    args = dict(
        firm=cases.firm,
        actor=cases.admin,
        books_url=books.url,
        books_firm_code="lopez-pi",
        username=INTEGRATION_EMAIL,
        password=PASSWORD,
    )
    args.update(overrides)
    job = conn_services.connection_activate(**args)
    work(cases.firm.pk)
    job.refresh_from_db()
    return job


def test_both_pop_ups_connect_and_keep_the_token_encrypted(books, cases):
    conn = activate(books, cases)
    assert conn.status == ConnectionStatus.CONNECTED
    assert conn.operating_account_name == books.operating.name
    assert conn.trust_account_name == books.trust.name
    assert (conn.cost_posting_code_id, conn.cost_posting_code_label) == (
        ActivityCode.objects.get(firm=books.firm, code="E124").pk,
        "E124 Other -> GL 1300 Advanced Client Costs",
    )
    token = decrypt_token(conn.token_ciphertext)
    assert token not in conn.token_ciphertext
    assert PASSWORD not in str(Connection.objects.values().get(pk=conn.pk))
    assert (
        IntegrationToken.objects.filter(user=books.integration, revoked_at__isnull=True).count()
        == 1
    )
    # the sign-in the worker ran: answered, and the password it carried is gone
    [job] = BooksJob.objects.filter(kind=JobKind.SIGN_IN)
    assert (job.state, job.secret_ciphertext, job.error_code) == (RunState.DONE, "", "")
    assert PASSWORD not in str(BooksJob.objects.values().get(pk=job.pk))


def test_the_password_waits_for_the_worker_only_encrypted_and_is_erased_when_taken(books, cases):
    job = conn_services.connection_activate(
        firm=cases.firm,
        actor=cases.admin,
        books_url=books.url,
        books_firm_code="lopez-pi",
        username=INTEGRATION_EMAIL,
        password=PASSWORD,
    )
    stored = BooksJob.objects.values().get(pk=job.pk)
    assert stored["state"] == RunState.QUEUED
    assert PASSWORD not in str(stored)
    assert json.loads(decrypt_token(stored["secret_ciphertext"])) == {
        "password": PASSWORD,
        "security_answer": "",
    }
    assert not Connection.objects.exists()  # nothing signed in yet
    work(cases.firm.pk)
    assert BooksJob.objects.get(pk=job.pk).secret_ciphertext == ""


def test_the_database_refuses_a_password_on_a_sign_in_the_worker_has_taken(books, cases):
    job = conn_services.connection_activate(
        firm=cases.firm,
        actor=cases.admin,
        books_url=books.url,
        books_firm_code="lopez-pi",
        username=INTEGRATION_EMAIL,
        password=PASSWORD,
    )
    with pytest.raises(IntegrityError), transaction.atomic():
        BooksJob.objects.filter(pk=job.pk).update(state=RunState.RUNNING)


def test_a_sign_in_the_worker_never_took_is_dropped_with_its_password(books, cases, monkeypatch):
    job = conn_services.connection_activate(
        firm=cases.firm,
        actor=cases.admin,
        books_url=books.url,
        books_firm_code="lopez-pi",
        username=INTEGRATION_EMAIL,
        password=PASSWORD,
    )
    later = job.requested_at + dt.timedelta(seconds=settings.BRIDGE_SIGN_IN_EXPIRY_SECONDS + 1)
    monkeypatch.setattr(clock, "now", lambda: later)
    jobs.sweep()
    job.refresh_from_db()
    assert (job.state, job.secret_ciphertext, job.error_code, job.error_field) == (
        RunState.FAILED,
        "",
        "expired",
        "password",
    )
    assert not Connection.objects.exists()


def test_a_second_sign_in_drops_the_first_still_waiting(books, cases):
    first = conn_services.connection_activate(
        firm=cases.firm,
        actor=cases.admin,
        books_url=books.url,
        books_firm_code="lopez-pi",
        username=INTEGRATION_EMAIL,
        password="a typo",
    )
    second = _activate(books, cases)
    first.refresh_from_db()
    assert (first.state, first.secret_ciphertext, first.error_code) == (
        RunState.FAILED,
        "",
        "superseded",
    )
    assert second.state == RunState.DONE
    assert Connection.objects.get(firm=cases.firm).status == ConnectionStatus.NEEDS_DEFAULTS


@pytest.mark.parametrize(
    ("overrides", "code", "field", "words"),
    [
        (
            {"password": "wrong"},
            "invalid_credentials",
            "password",
            "the firm ID, the username (the integration user's email) or the password is not",
        ),
        (
            {"username": "nobody@lopez.test"},
            "invalid_credentials",
            "password",
            "refused the sign-in of nobody@lopez.test in firm lopez-pi",
        ),
        (
            {"books_url": "http://127.0.0.1:9/books/api/v1"},
            "books_unreachable",
            "books_url",
            "did not answer as a Casebridge books API",
        ),
    ],
)
def test_a_wrong_sign_in_says_exactly_what_is_wrong_and_writes_nothing(
    books, cases, overrides, code, field, words
):
    job = _activate(books, cases, **overrides)
    assert (job.state, job.error_code, job.error_field) == (RunState.FAILED, code, field)
    assert words in job.error_message
    assert "session" not in job.error_message.lower()
    assert job.secret_ciphertext == ""
    assert not Connection.objects.exists()


def test_an_unenrolled_integration_user_is_told_to_set_a_security_question(
    transactional_db, live_server, cases
):
    books_firm_seeded(enrolled=False)
    job = conn_services.connection_activate(
        firm=cases.firm,
        actor=cases.admin,
        books_url=f"{live_server.url}/books/api/v1",
        books_firm_code="lopez-pi",
        username=INTEGRATION_EMAIL,
        password=PASSWORD,
    )
    work(cases.firm.pk)
    job.refresh_from_db()
    assert (job.state, job.error_code) == (RunState.FAILED, "security_question_not_enrolled")
    assert job.error_message == (
        "integration@lopez.test has not set a security question yet. Log into the books as this "
        "user and set a security question first, then save again."
    )
    assert not Connection.objects.exists()


def test_only_an_administrator_or_settings_holder_may_activate(books, cases):
    with pytest.raises(PermissionDenied):
        _activate(books, cases, actor=cases.paralegal)
    assert not Connection.objects.exists()
    assert not BooksJob.objects.exists()


def test_readiness_reports_the_refusal_when_the_user_is_no_longer_the_integration_user(
    books, cases
):
    from casebridge.books.models import User as BooksUser
    from casebridge.bridge.services.readiness import readiness_run

    conn = activate(books, cases)
    assert [c for c in readiness_run(conn=conn).checks if c.warning] == []
    BooksUser.objects.filter(pk=books.integration.pk).update(is_integration_user=False)
    # a person now, who must have a second factor: the books refuse the token it got
    # without one (issue 13), and the readiness run says what to do
    assert readiness_run(conn=conn).error == (
        "The books refused a readiness question: integration@lopez.test must set up "
        "two-factor sign-in first: sign in on the books' screens and follow the steps"
    )


def test_a_person_with_two_factor_sign_in_is_refused_naming_the_integration_user_flag(books, cases):
    """Only the books' designated integration user signs in without a TOTP code; the
    refusal says how to designate it."""
    job = pop_up_1(cases, books_url=books.url, username="books.admin@lopez.test")
    assert (job.state, job.error_code, job.error_field) == (
        RunState.FAILED,
        "totp_not_enrolled",
        "username",
    )
    assert job.error_message == (
        "The books ask books.admin@lopez.test for a two-factor code: it is not marked as the "
        "integration user there. In the books, Users → edit this user → turn on "
        "Integration user (it then signs in with its security question), then save again."
    )
    assert not Connection.objects.exists()
    assert not IntegrationToken.objects.exists()
