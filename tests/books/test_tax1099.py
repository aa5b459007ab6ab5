"""1099 payees (issue 15, ADR 0045): TINs validated and encrypted at rest, checks reported
in a form/box, the yearly report's totals against the thresholds, and the filing CSV."""

from __future__ import annotations

import csv
import datetime as dt
import io

import pytest
from cryptography.fernet import Fernet
from django.core.management import call_command
from django.db import connection

from casebridge.books import crypto
from casebridge.books.errors import AdminRequired, RoleRequired, ValidationFailed
from casebridge.books.models import (
    ActivityCode,
    Contact,
    PaymentTaxReport,
    Role,
    TaxPayee,
    TaxThreshold,
    User,
)
from casebridge.books.selectors.tax1099 import payee_report, thresholds_for, tin_display
from casebridge.books.services import auth, checks, setup
from casebridge.books.services import tax1099 as service
from casebridge.books.services.tax1099 import tax1099_csv
from casebridge.core.models import AuditEvent
from tests.conftest import PASSWORD


@pytest.fixture
def staff(firm) -> User:
    user = auth.user_create(firm=firm, email="stan@smith.test", password=PASSWORD, role=Role.STAFF)
    return auth.security_question_enroll(user=user, question="First pet?", answer="Rex")


@pytest.fixture
def accountant(firm) -> User:
    user = auth.user_create(firm=firm, email="acc@smith.test", password=PASSWORD)
    return auth.security_question_enroll(user=user, question="First pet?", answer="Rex")


ADDRESS = {
    "address_line1": "12 Main St",
    "address_line2": "Suite 4",
    "city": "Fresno",
    "state": "ca",
    "zip_code": "93721",
}


def payee(firm, actor, name, *, tin_type="", tin=None, box="NEC-1", address=True):
    return service.tax_payee_create(
        firm=firm,
        actor=actor,
        name=name,
        tin_type=tin_type,
        tin=tin,
        default_box=box,
        **(ADDRESS if address else {}),
    )


# --- TINs ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("tin_type", "typed", "digits"),
    [
        ("SSN", "123-45-6789", "123456789"),
        ("SSN", "123 45 6789", "123456789"),
        ("SSN", "123456789", "123456789"),
        ("SSN", "912-70-5678", "912705678"),  # an ITIN goes in the W-9's SSN box
        ("SSN", "999-99-1234", "999991234"),
        ("EIN", "12-3456789", "123456789"),
        ("EIN", "95 1234567", "951234567"),
    ],
)
def test_a_tin_is_nine_digits_in_the_shape_of_its_type(tin_type, typed, digits):
    assert service.tin_normalise(tin_type, typed) == digits


@pytest.mark.parametrize(
    ("tin_type", "typed", "message"),
    [
        ("SSN", "12-3456789", "an SSN is nine digits, 3-2-4 as on the W-9"),
        ("SSN", "123-45-678", "an SSN is nine digits, 3-2-4 as on the W-9"),
        ("SSN", "000-12-3456", "that is not a valid SSN or ITIN (area, group or serial)"),
        ("SSN", "666-12-3456", "that is not a valid SSN or ITIN (area, group or serial)"),
        ("SSN", "912-34-5678", "that is not a valid SSN or ITIN (area, group or serial)"),
        ("SSN", "912-93-5678", "that is not a valid SSN or ITIN (area, group or serial)"),
        ("SSN", "123-00-4567", "that is not a valid SSN or ITIN (area, group or serial)"),
        ("SSN", "123-45-0000", "that is not a valid SSN or ITIN (area, group or serial)"),
        ("SSN", "١٢٣-٤٥-٦٧٨٩", "an SSN is nine digits, 3-2-4 as on the W-9"),
        ("EIN", "123-45-6789", "an EIN is nine digits, 2-7 as on the W-9"),
        ("EIN", "07-1234567", "an EIN never starts with 07: check the number"),
        ("EIN", "12-345678a", "an EIN is nine digits, 2-7 as on the W-9"),
    ],
)
def test_a_malformed_tin_is_refused_naming_the_field(tin_type, typed, message):
    with pytest.raises(ValidationFailed) as refused:
        service.tin_normalise(tin_type, typed)
    assert (refused.value.field, refused.value.message) == ("tin", message)


def test_a_tin_without_a_type_is_refused_on_the_type():
    with pytest.raises(ValidationFailed) as refused:
        service.tin_normalise("", "123-45-6789")
    assert refused.value.field == "tin_type"


def test_the_tin_is_encrypted_at_rest_and_audited_only_masked(firm, admin):
    saved = payee(firm, admin, "Dr. Rivera", tin_type="SSN", tin="123-45-6789")
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT tin_ciphertext, tin_last4 FROM books_taxpayee WHERE id = %s", [saved.pk]
        )
        ciphertext, last4 = cursor.fetchone()
    assert "123456789" not in ciphertext
    assert "6789" not in ciphertext
    assert last4 == "6789"
    assert crypto.decrypt(ciphertext) == "123456789"
    assert tin_display(saved) == "•••••6789"
    event = AuditEvent.objects.get(entity_type="tax_payee", entity_id=str(saved.contact_id))
    assert event.summary == (
        "1099 payee Dr. Rivera: 1099-NEC box 1: nonemployee compensation, TIN •••••6789"
    )
    assert event.after["tin"] == "•••••6789"
    everything = " ".join(f"{e.summary} {e.before} {e.after}" for e in AuditEvent.objects.all())
    assert "123456789" not in everything
    assert "123-45-6789" not in everything


def test_saving_without_a_tin_keeps_the_stored_one_and_blank_removes_it(firm, admin):
    saved = payee(firm, admin, "Dr. Rivera", tin_type="EIN", tin="12-3456789")
    kept = service.tax_payee_save(
        firm=firm,
        actor=admin,
        contact_id=saved.contact_id,
        tin_type="EIN",
        tin=None,
        default_box="MISC-6",
        **ADDRESS,
    )
    assert (kept.tin_last4, kept.default_box, kept.state) == ("6789", "MISC-6", "CA")
    assert crypto.decrypt(kept.tin_ciphertext) == "123456789"
    with pytest.raises(ValidationFailed) as refused:
        service.tax_payee_save(
            firm=firm, actor=admin, contact_id=saved.contact_id, tin_type="SSN", tin=None
        )
    assert refused.value.field == "tin"
    removed = service.tax_payee_save(
        firm=firm, actor=admin, contact_id=saved.contact_id, tin_type="", tin=""
    )
    assert (removed.tin_type, removed.tin_ciphertext, removed.tin_last4) == ("", "", "")


def test_rotate_keys_re_encrypts_the_tins(firm, admin, settings):
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    settings.BOOKS_DATA_KEYS = [old]
    saved = payee(firm, admin, "Dr. Rivera", tin_type="SSN", tin="123-45-6789")
    before = saved.tin_ciphertext
    settings.BOOKS_DATA_KEYS = [new, old]
    out = io.StringIO()
    call_command("rotate_keys", stdout=out)
    assert "Re-encrypted 1 encrypted books value(s) with the first data key; 0 already" in (
        out.getvalue()
    )
    saved.refresh_from_db()
    assert saved.tin_ciphertext != before
    settings.BOOKS_DATA_KEYS = [new]  # the old key dropped
    assert crypto.decrypt(saved.tin_ciphertext) == "123456789"


def test_staff_may_not_mark_a_payee_and_nothing_is_written(firm, staff):
    contacts, events = Contact.objects.count(), AuditEvent.objects.count()
    with pytest.raises(RoleRequired):
        payee(firm, staff, "Dr. Rivera", tin_type="SSN", tin="123-45-6789")
    assert (Contact.objects.count(), AuditEvent.objects.count()) == (contacts, events)
    assert not TaxPayee.objects.exists()


def test_the_whole_tin_is_revealed_to_an_administrator_only_and_audited(firm, admin, accountant):
    saved = payee(firm, admin, "Dr. Rivera", tin_type="SSN", tin="123-45-6789")
    with pytest.raises(AdminRequired):
        service.tin_reveal(firm=firm, actor=accountant, contact_id=saved.contact_id)
    assert not AuditEvent.objects.filter(action="reveal").exists()
    assert service.tin_reveal(firm=firm, actor=admin, contact_id=saved.contact_id) == "123456789"
    event = AuditEvent.objects.get(action="reveal")
    assert event.summary == "TIN •••••6789 of Dr. Rivera revealed"


# --- Payments and the report -----------------------------------------------------------


def test_the_seeded_thresholds_are_600_through_2025_and_2000_after(db):
    assert thresholds_for(2025) == (
        2025,
        {"NEC-1": 60000, "MISC-1": 60000, "MISC-3": 60000, "MISC-6": 60000, "MISC-10": 60000},
    )
    assert thresholds_for(2026) == (
        2026,
        {"NEC-1": 200000, "MISC-1": 200000, "MISC-3": 200000, "MISC-6": 200000, "MISC-10": 60000},
    )
    assert thresholds_for(2027)[0] == 2026  # no 2027 figures yet: 2026's, said so
    assert thresholds_for(2020)[0] == 2025  # before any: the earliest set
    assert "verify with your tax adviser" in TaxThreshold.objects.get(year=2026, box="NEC-1").source


def test_a_threshold_row_missing_falls_back_to_the_built_in_figure(db):
    TaxThreshold.objects.filter(year=2026, box="MISC-6").delete()
    assert thresholds_for(2026)[1]["MISC-6"] == 200000
    TaxThreshold.objects.all().delete()
    assert thresholds_for(2026) == (
        2026,
        {"NEC-1": 200000, "MISC-1": 200000, "MISC-3": 200000, "MISC-6": 200000, "MISC-10": 60000},
    )


def _check(firm, admin, bank, file, payee_name, cents, requested, printed=None):
    made = checks.check_request_create(
        firm=firm,
        actor=admin,
        bank_account_id=bank.pk,
        payee=payee_name,
        amount_cents=cents,
        file_id=file.pk,
        request_date=requested,
        activity_code_id=(
            ActivityCode.objects.get(firm=firm, code="E101").pk
            if bank.kind == "operating"
            else None
        ),
    )
    if printed is not None:
        checks.check_print(firm=firm, actor=admin, check_id=made.pk, printed_on=printed)
    return made


@pytest.fixture
def year_of_payments(firm, admin, operating, trust, client_file):
    """2026's payments, with what must not count beside them."""
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
    rivera = payee(firm, admin, "Dr. Rivera", tin_type="SSN", tin="123-45-6789", box="MISC-6")
    hale = payee(firm, admin, "Hale Investigations", tin_type="EIN", tin="12-3456789")
    cole = payee(firm, admin, "Cole & Partners", box="MISC-10", address=False)  # no TIN
    small = payee(firm, admin, "Quick Copy", tin_type="EIN", tin="95-1234567")
    paid = [
        # Dr. Rivera, medical: 1,500.00 operating + 700.00 trust = 2,200.00 in 2026
        (rivera, None, operating, 150_000, dt.date(2026, 2, 1), dt.date(2026, 2, 3)),
        (rivera, None, trust, 70_000, dt.date(2026, 5, 1), dt.date(2026, 5, 2)),
        # ... and a voided one, a 2025 one (printed 2025-12-30) and a queued one
        (rivera, None, operating, 99_900, dt.date(2026, 6, 1), dt.date(2026, 6, 1)),
        (rivera, None, operating, 88_800, dt.date(2025, 12, 29), dt.date(2025, 12, 30)),
        (rivera, None, operating, 77_700, dt.date(2026, 7, 1), None),
        # Dr. Rivera also testified as an expert: NEC 500.00 (below 2,000.00)
        (rivera, "NEC-1", operating, 50_000, dt.date(2026, 3, 1), dt.date(2026, 3, 1)),
        # Hale: exactly the threshold, from trust
        (hale, None, trust, 200_000, dt.date(2026, 4, 1), dt.date(2026, 4, 1)),
        # Cole & Partners: attorney's proceeds 2,500.00, no TIN
        (cole, None, trust, 250_000, dt.date(2026, 9, 1), dt.date(2026, 9, 2)),
        # Quick Copy: one cent under
        (small, None, operating, 199_999, dt.date(2026, 10, 1), dt.date(2026, 10, 1)),
    ]
    made = []
    for who, box, bank, cents, requested, printed in paid:
        check = _check(firm, admin, bank, client_file, who.contact.name, cents, requested, printed)
        service.payment_tax_report_set(
            firm=firm, actor=admin, check_id=check.pk, contact_id=who.contact_id, box=box
        )
        made.append(check)
    checks.check_void(firm=firm, actor=admin, check_id=made[2].pk, void_date=dt.date(2026, 6, 5))
    return {"rivera": rivera, "hale": hale, "cole": cole, "small": small, "checks": made}


def _totals(report):
    return {
        line.name: [(b.box, b.total_cents, b.payments, b.reportable) for b in line.boxes]
        for line in report.lines
    }


def test_the_report_totals_each_payee_and_box_of_the_year_exactly(firm, year_of_payments):
    report = payee_report(firm=firm, year=2026)
    assert _totals(report) == {
        "Cole & Partners": [("MISC-10", 250_000, 1, True)],
        "Dr. Rivera": [("NEC-1", 50_000, 1, False), ("MISC-6", 220_000, 2, True)],
        "Hale Investigations": [("NEC-1", 200_000, 1, True)],
        "Quick Copy": [("NEC-1", 199_999, 1, False)],
    }
    assert [line.name for line in report.reportable] == [
        "Cole & Partners",
        "Dr. Rivera",
        "Hale Investigations",
    ]
    assert report.missing_tins == 1
    cole = report.lines[0]
    assert cole.warnings == [
        "No TIN: ask for a W-9 before filing",
        "No complete mailing address",
    ]
    assert [line.tin_masked for line in report.lines] == ["", "•••••6789", "•••••6789", "•••••4567"]


def test_the_prior_year_counts_its_own_check_against_600(firm, year_of_payments):
    report = payee_report(firm=firm, year=2025)
    assert _totals(report) == {"Dr. Rivera": [("MISC-6", 88_800, 1, True)]}


def test_a_payee_un_marked_later_keeps_its_reported_payments_flagged(firm, admin, year_of_payments):
    """Un-marking a payee in January must not drop a year already paid from its filing:
    each payment reported on a 1099 still counts, and the line says why."""
    hale = year_of_payments["hale"]
    service.tax_payee_save(
        firm=firm,
        actor=admin,
        contact_id=hale.contact_id,
        is_1099=False,
        tin_type="EIN",
        tin=None,
        **ADDRESS,
    )
    report = payee_report(firm=firm, year=2026)
    assert _totals(report)["Hale Investigations"] == [("NEC-1", 200_000, 1, True)]
    line = next(line for line in report.lines if line.name == "Hale Investigations")
    assert line.warnings == [
        "No longer marked 1099-eligible: the payments reported on a 1099 still count "
        "(change a check's 1099 to leave it out)"
    ]


def test_a_voided_check_cannot_be_reported_and_staff_cannot_report(
    firm, admin, staff, year_of_payments
):
    voided = year_of_payments["checks"][2]
    queued = year_of_payments["checks"][4]
    before = list(PaymentTaxReport.objects.values_list("payment_id", "contact_id", "box"))
    events = AuditEvent.objects.count()
    with pytest.raises(ValidationFailed) as refused:
        service.payment_tax_report_set(
            firm=firm,
            actor=admin,
            check_id=voided.pk,
            contact_id=year_of_payments["hale"].contact_id,
        )
    assert refused.value.message == "a voided check is not reported on a 1099"
    with pytest.raises(RoleRequired):
        service.payment_tax_report_set(firm=firm, actor=staff, check_id=queued.pk, contact_id=None)
    with pytest.raises(ValidationFailed) as refused:
        service.payment_tax_report_set(
            firm=firm,
            actor=admin,
            check_id=queued.pk,
            contact_id=queued.firm.contacts.get(name="Maria Lopez").pk,
        )
    assert refused.value.field == "contact_id"
    assert list(PaymentTaxReport.objects.values_list("payment_id", "contact_id", "box")) == before
    assert AuditEvent.objects.count() == events


def test_taking_a_check_off_the_1099s_is_audited(firm, admin, year_of_payments):
    hale_check = year_of_payments["checks"][6]
    service.payment_tax_report_set(firm=firm, actor=admin, check_id=hale_check.pk, contact_id=None)
    assert not PaymentTaxReport.objects.filter(payment=hale_check).exists()
    event = AuditEvent.objects.filter(entity_type="payment_tax_report").latest("pk")
    assert (event.action, event.summary) == (
        "delete",
        "Check to Hale Investigations no longer reported on a 1099",
    )
    assert "Hale Investigations" not in _totals(payee_report(firm=firm, year=2026))


# --- The CSV ---------------------------------------------------------------------------


def _rows(text):
    return list(csv.reader(io.StringIO(text)))


def test_the_nec_csv_lists_the_reportable_recipients_field_by_field(firm, admin, year_of_payments):
    rows = _rows(tax1099_csv(firm=firm, actor=admin, year=2026, form="1099-NEC"))
    assert rows == [
        [
            "Tax Year",
            "Form",
            "Account Number",
            "Recipient Name",
            "Recipient TIN Type",
            "Recipient TIN",
            "Address Line 1",
            "Address Line 2",
            "City",
            "State",
            "ZIP",
            "Box 1 Nonemployee Compensation",
        ],
        [
            "2026",
            "1099-NEC",
            f"cb-{year_of_payments['hale'].contact_id}",
            "Hale Investigations",
            "EIN",
            "12-3456789",
            "12 Main St",
            "Suite 4",
            "Fresno",
            "CA",
            "93721",
            "2000.00",
        ],
    ]


def test_the_misc_csv_fills_only_the_reportable_boxes(firm, admin, year_of_payments):
    rows = _rows(tax1099_csv(firm=firm, actor=admin, year=2026, form="1099-MISC"))
    assert rows[0][11:] == [
        "Box 1 Rents",
        "Box 3 Other Income",
        "Box 6 Medical and Health Care Payments",
        "Box 10 Gross Proceeds Paid to an Attorney",
    ]
    cole, rivera = year_of_payments["cole"].contact_id, year_of_payments["rivera"].contact_id
    assert rows[1:] == [
        [
            "2026",
            "1099-MISC",
            f"cb-{cole}",
            "Cole & Partners",
            "",
            "",
            "",
            "",
            "",
            "",
            "",
            "",
            "",
            "",
            "2500.00",
        ],
        [
            "2026",
            "1099-MISC",
            f"cb-{rivera}",
            "Dr. Rivera",
            "SSN",
            "123-45-6789",
            "12 Main St",
            "Suite 4",
            "Fresno",
            "CA",
            "93721",
            "",
            "",
            "2200.00",
            "",
        ],
    ]
    event = AuditEvent.objects.get(entity_type="tax1099_csv")
    assert event.summary == "1099-MISC CSV for 2026 exported with full TINs: 2 recipient(s)"
    assert "123-45-6789" not in f"{event.summary} {event.after}"


def test_a_name_that_starts_like_a_formula_is_neutralised(firm, admin, year_of_payments):
    Contact.objects.filter(pk=year_of_payments["hale"].contact_id).update(name="=HYPERLINK(1)")
    rows = _rows(tax1099_csv(firm=firm, actor=admin, year=2026, form="1099-NEC"))
    assert rows[1][3] == "'=HYPERLINK(1)"


def test_only_an_administrator_exports_the_csv_and_a_refusal_records_nothing(
    firm, accountant, year_of_payments
):
    events = AuditEvent.objects.count()
    with pytest.raises(AdminRequired):
        tax1099_csv(firm=firm, actor=accountant, year=2026, form="1099-NEC")
    assert AuditEvent.objects.count() == events
