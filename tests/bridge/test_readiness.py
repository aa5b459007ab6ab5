"""The readiness check against realistic data: attorneys with open and closed cases, codes
posting to the wrong kind of account (issue 10, items 1 and 2)."""

from __future__ import annotations

from casebridge.books.models import User as BooksUser
from casebridge.bridge.services.readiness import readiness_run
from casebridge.cases.services import cases as case_services

from .conftest import activate


def _check(conn, key):
    [check] = [c for c in readiness_run(conn=conn).checks if c.key == key]
    return check


def test_an_attorney_with_a_closed_case_among_open_ones_is_still_checked(books, cases):
    """Sam has one closed case and one open one; Records Time is off for him in the books
    and his books email differs: both checks fail and name him."""
    closed = case_services.case_create(
        firm=cases.firm,
        actor=cases.admin,
        name="Lopez v. Old Matter",
        client_id=cases.case.client_id,
        responsible_attorney_id=cases.attorney.pk,
        status="closed",
    )
    assert closed.status == "closed"
    conn = activate(books, cases)
    BooksUser.objects.filter(pk=books.attorney.pk).update(records_time=False)
    records = _check(conn, "records_time")
    assert (records.ok, records.detail) == (
        False,
        "Records Time is off for: Sam Smith (sam.smith@lopez.test)",
    )
    BooksUser.objects.filter(pk=books.attorney.pk).update(email="samuel.smith@lopez.test")
    emails = _check(conn, "attorney_emails")
    assert (emails.ok, emails.detail) == (
        False,
        "No books user for: Sam Smith (sam.smith@lopez.test)",
    )


def test_an_attorney_with_only_closed_cases_is_not_asked_for(books, cases):
    case_services.case_update(case=cases.case, actor=cases.admin, status="closed")
    conn = activate(books, cases)
    BooksUser.objects.filter(pk=books.attorney.pk).update(records_time=False)
    assert _check(conn, "records_time").ok is True
    assert _check(conn, "attorney_emails").detail == "All attorneys found."
