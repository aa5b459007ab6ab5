"""Invoices: fee and cost lines, numbering, the stages, and posting on finalise (to
accounts receivable, or paid from the client's trust in the same entry)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from casebridge.books.errors import Conflict, RecordsTimeOff, TrustOverdraw, ValidationFailed
from casebridge.books.models import (
    ActivityCode,
    BankAccount,
    GLAccount,
    Invoice,
    InvoiceStage,
    JournalEntry,
)
from casebridge.books.services import auth, files, invoices, setup
from casebridge.books.services.invoices import LineSpec
from tests.books.ledger_helpers import D, deposit, gl, refused, trust_balance


@pytest.fixture
def copying(firm) -> ActivityCode:
    return ActivityCode.objects.get(firm=firm, code="E101")


def fee(attorney, cents=300_000, **kw):
    return LineSpec(
        kind="fee",
        description="Demand letter",
        amount_cents=cents,
        timekeeper_id=attorney.pk,
        hours=Decimal("7.50"),
        **kw,
    )


def cost(code, cents=12_500):
    return LineSpec(
        kind="cost", description="Medical records copies", amount_cents=cents, activity_code_id=code
    )


def bill(firm, actor, file, lines, **kw):
    return invoices.invoice_create(
        firm=firm, actor=actor, file_id=file.pk, lines=lines, invoice_date=D, **kw
    )


def test_a_draft_invoice_with_its_lines(firm, admin, attorney, client_file, copying):
    invoice = bill(firm, admin, client_file, [fee(attorney), cost(copying.pk)])
    assert (invoice.number, invoice.stage, invoice.total_cents) == (1001, "draft", 312_500)
    assert invoice.entry is None
    assert list(
        invoice.lines.order_by("pk").values_list("kind", "amount_cents", "timekeeper", "hours")
    ) == [("fee", 300_000, attorney.pk, Decimal("7.50")), ("cost", 12_500, None, None)]


def test_a_fee_line_needs_a_timekeeper_who_records_time(firm, admin, client_file, copying):
    assert admin.records_time is False
    with refused(RecordsTimeOff, code="records_time_off") as info:
        bill(firm, admin, client_file, [cost(copying.pk), fee(admin)])
    assert info.value.message == (
        "line 2: admin@smith.test does not have Records Time turned on "
        "(Users → pencil → Accounting → Records Time)"
    )
    assert info.value.field == "lines"
    assert info.value.http_status == 422


def test_a_fee_line_needs_a_timekeeper_in_this_firm(firm, other_firm, admin, client_file):
    outsider = auth.user_create(
        firm=other_firm, email="j@jones.test", password="x" * 12, records_time=True
    )
    for line in (
        LineSpec(kind="fee", description="Call", amount_cents=100),
        fee(outsider),
    ):
        with refused(ValidationFailed, code="validation_error") as info:
            bill(firm, admin, client_file, [line])
        assert info.value.message == "line 1: a fee line needs a timekeeper in this firm"


def test_a_cost_line_needs_an_activity_code(firm, admin, attorney, client_file, other_firm):
    theirs = setup.activity_code_create(
        firm=other_firm,
        actor=None,
        code="COPY",
        name="Copies",
        gl_account_id=GLAccount.objects.get(firm=other_firm, number="1300").pk,
    )
    for code in (None, theirs.pk):
        with refused(ValidationFailed, code="validation_error") as info:
            bill(firm, admin, client_file, [fee(attorney), cost(code)])
        assert info.value.message == "line 2: a cost line needs an activity code in this firm"


@pytest.mark.parametrize(
    ("lines", "message"),
    [
        ([], "an invoice needs at least one line"),
        (
            [LineSpec(kind="cost", description="x", amount_cents=0, activity_code_id=1)],
            "line 1: amount must be greater than zero",
        ),
        (
            [LineSpec(kind="cost", description="  ", amount_cents=5, activity_code_id=1)],
            "line 1: a description is required",
        ),
        ([LineSpec(kind="time", description="x", amount_cents=5)], "line 1: kind must be"),
    ],
)
def test_an_invoice_is_validated(firm, admin, client_file, lines, message):
    with refused(ValidationFailed, code="validation_error") as info:
        bill(firm, admin, client_file, lines)
    assert info.value.message.startswith(message)


def test_numbers_are_sequential_per_firm(firm, other_firm, admin, attorney, client_file, copying):
    numbers = [bill(firm, admin, client_file, [cost(copying.pk)]).number for _ in range(3)]
    assert numbers == [1001, 1002, 1003]

    client, _ = files.contact_find_or_create(firm=other_firm, actor=None, name="Other client")
    their_file, _ = files.file_find_or_create(
        firm=other_firm, actor=None, name="Other matter", client=client, number="J-1"
    )
    keeper = auth.user_create(
        firm=other_firm, email="j@jones.test", password="x" * 12, records_time=True
    )
    theirs = bill(other_firm, None, their_file, [fee(keeper)])
    assert theirs.number == 1001
    assert bill(firm, admin, client_file, [cost(copying.pk)]).number == 1004


def test_without_the_release_stage_draft_review_final(firm, admin, attorney, client_file):
    invoice = bill(firm, admin, client_file, [fee(attorney)])
    stages = []
    for _ in range(2):
        invoice = invoices.invoice_advance(firm=firm, actor=admin, invoice_id=invoice.pk, on=D)
        stages.append(invoice.stage)
    assert stages == ["review", "final"]
    assert invoice.entry is not None
    assert invoice.finalised_on == D
    with refused(Conflict, code="conflict") as info:
        invoices.invoice_advance(firm=firm, actor=admin, invoice_id=invoice.pk, on=D)
    assert info.value.message == "an invoice in stage final cannot move on"


def test_with_the_release_stage_draft_review_release_final(firm, admin, attorney, client_file):
    setup.firm_features_update(firm=firm, actor=admin, release_invoice_stage_enabled=True)
    invoice = bill(firm, admin, client_file, [fee(attorney)])
    stages = []
    for _ in range(3):
        invoice = invoices.invoice_advance(firm=firm, actor=admin, invoice_id=invoice.pk, on=D)
        stages.append((invoice.stage, invoice.entry_id is not None))
    assert stages == [("review", False), ("release", False), ("final", True)]


def test_a_stale_screen_cannot_advance_an_invoice(firm, admin, attorney, client_file):
    invoice = bill(firm, admin, client_file, [fee(attorney)])
    invoices.invoice_advance(firm=firm, actor=admin, invoice_id=invoice.pk)
    with refused(Conflict, code="conflict") as info:
        invoices.invoice_advance(
            firm=firm, actor=admin, invoice_id=invoice.pk, expected_stage="draft"
        )
    assert info.value.message == "invoice 1001 is now in stage review, not draft"


def test_finalising_posts_to_accounts_receivable(firm, admin, attorney, client_file, copying):
    invoice = bill(firm, admin, client_file, [fee(attorney), cost(copying.pk), fee(attorney, 50)])
    invoice = invoices.invoice_finalise(firm=firm, actor=admin, invoice_id=invoice.pk, on=D)

    assert invoice.stage == InvoiceStage.FINAL
    assert invoice.entry.date == D
    assert invoice.entry.memo == f"Invoice 1001 for file {client_file.number}"
    assert sorted(
        invoice.entry.postings.values_list("account__number", "debit_cents", "credit_cents")
    ) == [("1200", 312_550, 0), ("1300", 0, 12_500), ("4000", 0, 300_050)]
    assert (gl(firm, "1200"), gl(firm, "4000"), gl(firm, "1300")) == (312_550, -300_050, -12_500)


def test_paying_from_trust_moves_fee_and_costs_in_one_entry(
    firm, admin, attorney, trust, operating, client_file, copying
):
    deposit(firm, admin, trust, client_file, 1_000_000)
    invoice = bill(firm, admin, client_file, [fee(attorney), cost(copying.pk)], pay_from_trust=True)
    assert (invoice.trust_bank_account, invoice.operating_bank_account) == (trust, operating)

    invoice = invoices.invoice_finalise(firm=firm, actor=admin, invoice_id=invoice.pk, on=D)

    assert invoice.entry.memo == f"Invoice 1001 for file {client_file.number} paid from trust"
    assert sorted(
        invoice.entry.postings.values_list("account__number", "debit_cents", "credit_cents")
    ) == [
        ("1000", 312_500, 0),
        ("1010", 0, 312_500),
        ("1300", 0, 12_500),
        ("2100", 312_500, 0),
        ("4000", 0, 300_000),
    ]
    assert trust_balance(client_file) == 1_000_000 - 312_500
    assert (gl(firm, "1010"), gl(firm, "2100")) == (687_500, -687_500)
    assert (gl(firm, "1000"), gl(firm, "4000"), gl(firm, "1200")) == (312_500, -300_000, 0)


def test_paying_from_trust_beyond_the_clients_balance_is_refused(
    firm, admin, attorney, trust, client_file, copying
):
    deposit(firm, admin, trust, client_file, 312_499)
    invoice = bill(firm, admin, client_file, [fee(attorney), cost(copying.pk)], pay_from_trust=True)
    with refused(TrustOverdraw, code="insufficient_trust_funds") as info:
        invoices.invoice_finalise(firm=firm, actor=admin, invoice_id=invoice.pk, on=D)
    assert info.value.details["available_cents"] == 312_499
    assert info.value.details["requested_cents"] == 312_500
    assert Invoice.objects.get(pk=invoice.pk).stage == "draft"

    invoices.invoice_advance(firm=firm, actor=admin, invoice_id=invoice.pk)
    with refused(TrustOverdraw, code="insufficient_trust_funds"):
        invoices.invoice_advance(firm=firm, actor=admin, invoice_id=invoice.pk, on=D)
    invoice.refresh_from_db()
    assert (invoice.stage, invoice.entry_id, invoice.finalised_on) == ("review", None, None)
    assert trust_balance(client_file) == 312_499


def test_voiding_a_final_invoice_reverses_it_and_restores_trust(
    firm, admin, attorney, trust, client_file, copying
):
    deposit(firm, admin, trust, client_file, 1_000_000)
    invoice = bill(firm, admin, client_file, [fee(attorney), cost(copying.pk)], pay_from_trust=True)
    invoices.invoice_finalise(firm=firm, actor=admin, invoice_id=invoice.pk, on=D)
    void_on = D + dt.timedelta(days=4)

    voided = invoices.invoice_void(
        firm=firm, actor=admin, invoice_id=invoice.pk, void_date=void_on, reason="wrong fee"
    )

    assert voided.stage == InvoiceStage.VOIDED
    assert voided.void_entry.date == void_on
    assert voided.void_entry.reverses_id == voided.entry_id
    assert voided.void_entry.memo == "Void of invoice 1001: wrong fee"
    assert trust_balance(client_file) == 1_000_000
    for number in ("1000", "1300", "4000", "1200"):
        assert gl(firm, number) == 0
    with refused(Conflict, code="conflict") as info:
        invoices.invoice_void(firm=firm, actor=admin, invoice_id=invoice.pk, void_date=void_on)
    assert info.value.message == "invoice 1001 is already void"
    with refused(Conflict, code="conflict", match="stage voided cannot move on"):
        invoices.invoice_advance(firm=firm, actor=admin, invoice_id=invoice.pk)


def test_voiding_a_draft_posts_nothing(firm, admin, attorney, client_file):
    invoice = bill(firm, admin, client_file, [fee(attorney)])
    voided = invoices.invoice_void(firm=firm, actor=admin, invoice_id=invoice.pk)
    assert (voided.stage, voided.entry_id, voided.void_entry_id) == ("voided", None, None)
    assert Invoice.objects.get(pk=invoice.pk).stage == "voided"
    assert not JournalEntry.objects.filter(firm=firm).exists()


def test_pay_from_trust_needs_a_trust_account(firm, admin, attorney, trust, client_file):
    BankAccount.objects.filter(pk=trust.pk).update(is_active=False)
    with refused(ValidationFailed, code="validation_error") as info:
        bill(firm, admin, client_file, [fee(attorney)], pay_from_trust=True)
    assert info.value.message == "no client trust bank account found in this firm"
    assert info.value.field == "trust_bank_account"
