"""1099 totals per TIN (ADR 0055): two contacts with the same TIN (a provider entered twice)
are one recipient on the yearly report and in the filing CSV, their payments added up
before the threshold applies, the contacts listed; an SSN and an EIN of the same digits,
or two TINs that only end alike, stay apart."""

from __future__ import annotations

import csv
import datetime as dt
import io

import pytest

from casebridge.books.selectors.tax1099 import PayeeContact, payee_report
from casebridge.books.services import checks, setup
from casebridge.books.services import tax1099 as service
from casebridge.books.services.tax1099 import tax1099_csv
from tests.books.test_tax1099 import _check, payee

THRESHOLD_2026 = 200_000  # 1099-NEC box 1, payments after 2025


@pytest.fixture
def funded(firm, admin, operating, trust, client_file):
    setup.firm_opening_date_set(firm=firm, actor=admin, opening_date=dt.date(2025, 1, 1))
    checks.trust_receipt_record(
        firm=firm,
        actor=admin,
        bank_account_id=trust.pk,
        file_id=client_file.pk,
        payer="Acme Insurance",
        amount_cents=5_000_000,
        received_on=dt.date(2025, 12, 1),
    )
    return client_file


@pytest.fixture
def twice(firm, admin):
    """Hale Investigations entered twice: first without an address, then with one."""
    first = payee(
        firm, admin, "Hale Investigations", tin_type="EIN", tin="12-3456789", address=False
    )
    second = payee(firm, admin, "Hale Investigations LLC", tin_type="EIN", tin="12 3456789")
    return first, second


def _pay(firm, admin, bank, file, who, cents, on):
    check = _check(firm, admin, bank, file, who.contact.name, cents, on, on)
    service.payment_tax_report_set(
        firm=firm, actor=admin, check_id=check.pk, contact_id=who.contact_id
    )
    return check


def _csv_rows(firm, admin):
    text = tax1099_csv(firm=firm, actor=admin, year=2026, form="1099-NEC")
    return list(csv.reader(io.StringIO(text)))[1:]


@pytest.mark.parametrize(
    ("first_cents", "second_cents", "reportable"),
    [
        (120_000, 100_000, True),  # each below 2,000.00, together 2,200.00
        (90_000, 100_000, False),  # each below, together 1,900.00: still below
        (250_000, 10_000, True),  # one above alone; together 2,600.00
        (199_999, 1, True),  # one cent short alone; together exactly the threshold
    ],
)
def test_two_contacts_with_one_tin_are_one_recipient_summed_against_the_threshold(
    firm, admin, operating, trust, funded, twice, first_cents, second_cents, reportable
):
    first, second = twice
    _pay(firm, admin, operating, funded, first, first_cents, dt.date(2026, 2, 3))
    _pay(firm, admin, trust, funded, second, second_cents, dt.date(2026, 8, 14))

    report = payee_report(firm=firm, year=2026)
    [line] = report.lines
    assert [(b.box, b.total_cents, b.payments, b.reportable) for b in line.boxes] == [
        ("NEC-1", first_cents + second_cents, 2, reportable)
    ]
    assert line.boxes[0].threshold_cents == THRESHOLD_2026
    # filed under the first contact with a complete address: the second
    assert (line.contact_id, line.name, line.tin_masked, line.address_complete) == (
        second.contact_id,
        "Hale Investigations LLC",
        "•••••6789",
        True,
    )
    assert line.contacts == (
        PayeeContact(first.contact_id, "Hale Investigations"),
        PayeeContact(second.contact_id, "Hale Investigations LLC"),
    )
    assert line.warnings == [
        "2 contacts share this TIN and are one recipient: Hale Investigations, "
        "Hale Investigations LLC"
    ]
    assert [x.name for x in report.reportable] == (
        ["Hale Investigations LLC"] if reportable else []
    )

    total = f"{(first_cents + second_cents) // 100}.{(first_cents + second_cents) % 100:02d}"
    assert _csv_rows(firm, admin) == (
        [
            [
                "2026",
                "1099-NEC",
                f"cb-{second.contact_id}",
                "Hale Investigations LLC",
                "EIN",
                "12-3456789",
                "12 Main St",
                "Suite 4",
                "Fresno",
                "CA",
                "93721",
                total,
            ]
        ]
        if reportable
        else []
    )


def test_separately_each_contact_is_judged_alone(firm, admin, operating, funded):
    """Without a shared TIN the same amounts are two recipients, each below."""
    one = payee(firm, admin, "Hale Investigations", tin_type="EIN", tin="12-3456789")
    other = payee(firm, admin, "Hale Research", tin_type="EIN", tin="95-0006789")
    _pay(firm, admin, operating, funded, one, 120_000, dt.date(2026, 2, 3))
    _pay(firm, admin, operating, funded, other, 100_000, dt.date(2026, 2, 4))
    report = payee_report(firm=firm, year=2026)
    assert [
        (line.name, [(b.total_cents, b.reportable) for b in line.boxes], len(line.contacts))
        for line in report.lines
    ] == [
        ("Hale Investigations", [(120_000, False)], 1),
        ("Hale Research", [(100_000, False)], 1),
    ]
    assert [line.tin_masked for line in report.lines] == ["•••••6789", "•••••6789"]
    assert _csv_rows(firm, admin) == []


def test_an_ssn_and_an_ein_of_the_same_digits_are_two_recipients(firm, admin, operating, funded):
    person = payee(firm, admin, "Dr. Hale", tin_type="SSN", tin="123-45-6789")
    company = payee(firm, admin, "Hale Investigations", tin_type="EIN", tin="12-3456789")
    _pay(firm, admin, operating, funded, person, 120_000, dt.date(2026, 2, 3))
    _pay(firm, admin, operating, funded, company, 100_000, dt.date(2026, 2, 4))
    report = payee_report(firm=firm, year=2026)
    assert [(line.name, line.tin_type, line.boxes[0].total_cents) for line in report.lines] == [
        ("Dr. Hale", "SSN", 120_000),
        ("Hale Investigations", "EIN", 100_000),
    ]
    assert report.reportable == []


def test_contacts_without_a_tin_are_never_merged(firm, admin, operating, funded):
    one = payee(firm, admin, "Cole & Partners", box="NEC-1")
    other = payee(firm, admin, "Cole and Partners", box="NEC-1")
    _pay(firm, admin, operating, funded, one, 150_000, dt.date(2026, 2, 3))
    _pay(firm, admin, operating, funded, other, 150_000, dt.date(2026, 2, 4))
    report = payee_report(firm=firm, year=2026)
    assert [(line.name, line.boxes[0].reportable) for line in report.lines] == [
        ("Cole & Partners", False),
        ("Cole and Partners", False),
    ]
