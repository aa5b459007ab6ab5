"""The monthly three-way reconciliation, saved and signed, and the closed periods it makes:
statement ending balance + deposits in transit - outstanding checks - reconciling items =
the trust journal = the client ledgers (each listed); signing closes the month."""

from __future__ import annotations

import datetime as dt

import pytest

from casebridge.books.errors import AdminRequired, Conflict, PeriodClosed, PermissionDenied
from casebridge.books.models import AccountRole, BankAccount, GLAccount, Reconciliation
from casebridge.books.selectors.bank import bank_reconciliation, outstanding_aging
from casebridge.books.services import checks, journal, matching, periods, reconciliations
from casebridge.core.models import AuditEvent
from tests.books.bank.statement_files import Row, import_statement
from tests.books.ledger_helpers import deposit, refused, snapshot, trust_check

pytestmark = pytest.mark.django_db

MAR = dt.date(2026, 3, 1)
END = dt.date(2026, 3, 31)


def d(day: int, month: int = 3) -> dt.date:
    return dt.date(2026, month, day)


def printed(firm, actor, bank, file, cents, on, payee="Fresno Medical Group"):
    check = trust_check(firm, actor, bank, file, cents, on=on, payee=payee)
    return checks.check_print(firm=firm, actor=actor, check_id=check.pk, printed_on=on)


@pytest.fixture
def march(firm, admin, opened, trust, client_file):
    """A trust account's March: a $100,000 settlement deposited, a $2,500 check to the
    doctor cleared, a $1,000 check to the client still outstanding, and a $400 receipt of
    March 31 in transit."""
    deposit(firm, admin, trust, client_file, 10_000_000, on=d(2))
    printed(firm, admin, trust, client_file, 250_000, d(5))
    printed(firm, admin, trust, client_file, 100_000, d(20), payee="Maria Lopez")
    deposit(firm, admin, trust, client_file, 40_000, on=d(31), payer="Maria Lopez")
    _, lines = import_statement(
        firm,
        admin,
        trust,
        [
            Row(d(3), 10_000_000),
            Row(d(10), -250_000, check="1001"),
        ],
        start=MAR,
        end=END,
    )
    result = matching.statement_auto_match(firm=firm, actor=admin, bank_account_id=trust.pk)
    assert result.lines_matched == 2
    return lines


def test_the_month_reconciles_three_ways_with_every_item_listed(firm, trust, client_file, march):
    rec = bank_reconciliation(firm=firm, bank_account_id=trust.pk, period_end=END)

    assert rec.statement_balance_cents == 10_000_000 - 250_000
    assert [(i.kind, i.number, i.description, i.amount_cents) for i in rec.outstanding_checks] == [
        ("check", 1002, "Maria Lopez", -100_000)
    ]
    assert [(i.kind, i.description, i.amount_cents) for i in rec.deposits_in_transit] == [
        ("receipt", "Maria Lopez", 40_000)
    ]
    assert rec.reconciling_items == []
    assert rec.deposits_in_transit_cents == 40_000
    assert rec.outstanding_checks_cents == 100_000
    assert rec.adjusted_bank_balance_cents == 9_750_000 + 40_000 - 100_000
    assert rec.journal_balance_cents == 10_000_000 - 250_000 - 100_000 + 40_000
    assert rec.adjusted_bank_balance_cents == rec.journal_balance_cents == 9_690_000
    assert rec.client_ledgers_total_cents == 9_690_000
    assert rec.trust_liability_balance_cents == 9_690_000
    assert [(b.file_number, b.balance_cents) for b in rec.client_ledgers or []] == [
        (client_file.number, 9_690_000)
    ]
    assert rec.differences == []
    assert rec.is_reconciled


def test_an_unresolved_line_is_a_difference_named_with_its_total(
    firm, admin, opened, trust, client_file
):
    deposit(firm, admin, trust, client_file, 10_000, on=d(2))
    import_statement(
        firm, admin, trust, [Row(d(3), 10_000), Row(d(31), -1_250)], start=MAR, end=END
    )
    matching.statement_auto_match(firm=firm, actor=admin, bank_account_id=trust.pk)

    rec = bank_reconciliation(firm=firm, bank_account_id=trust.pk, period_end=END)

    assert rec.differences == [
        "adjusted bank balance $87.50 differs from the journal balance $100.00 by -$12.50",
        "1 statement line totalling -$12.50 neither matched nor set aside as reconciling items",
    ]


def test_a_void_and_its_check_are_not_outstanding(firm, admin, opened, trust, client_file):
    deposit(firm, admin, trust, client_file, 10_000, on=d(2))
    check = printed(firm, admin, trust, client_file, 4_000, d(5))
    checks.check_void(firm=firm, actor=admin, check_id=check.pk, void_date=d(6))

    aging = outstanding_aging(firm=firm, bank_account_id=trust.pk, as_of=END)

    assert [i.amount_cents for i in aging.deposits_in_transit] == [10_000]
    assert all(items == [] for items in aging.checks.values())


def test_outstanding_checks_age_into_buckets_and_go_stale(firm, admin, opened, trust, client_file):
    deposit(firm, admin, trust, client_file, 100_000, on=d(2, 1))
    for day, cents in ((d(2, 1), 100), (d(15, 5), 200), (d(20, 7), 300), (d(1, 8), 400)):
        printed(firm, admin, trust, client_file, cents, day)

    aging = outstanding_aging(firm=firm, bank_account_id=trust.pk, as_of=d(30, 8))

    assert {k: [i.amount_cents for i in v] for k, v in aging.checks.items()} == {
        "0-30": [-400],
        "31-60": [-300],
        "61-90": [],
        "91-180": [-200],
        "stale": [-100],
    }
    assert [i.age_days for i in aging.stale_checks] == [240]  # 2 January to 30 August


def test_prepare_then_an_attorney_signs_and_the_month_closes(
    firm, admin, signer, trust, client_file, march
):
    saved = reconciliations.reconciliation_prepare(
        firm=firm, actor=admin, bank_account_id=trust.pk, month=END
    )
    assert (saved.status, saved.difference_cents, saved.journal_balance_cents) == (
        "prepared",
        0,
        9_690_000,
    )
    assert saved.items["client_ledgers"] == [
        {
            "file_id": client_file.pk,
            "file_number": client_file.number,
            "file_name": client_file.name,
            "balance_cents": 9_690_000,
        }
    ]

    with pytest.raises(PermissionDenied, match="only an attorney may sign"):
        reconciliations.reconciliation_sign(firm=firm, actor=admin, reconciliation_id=saved.pk)

    signed = reconciliations.reconciliation_sign(
        firm=firm, actor=signer, reconciliation_id=saved.pk
    )

    assert (signed.status, signed.signed_by_id) == ("signed", signer.pk)
    assert BankAccount.objects.get(pk=trust.pk).closed_through == END
    assert AuditEvent.objects.filter(action="reconciliation_signed").count() == 1

    # a back-dated deposit into the closed month is refused and writes nothing
    with refused(PeriodClosed, code="period_closed", match="closed through 2026-03-31"):
        deposit(firm, admin, trust, client_file, 5_000, on=d(15))
    # dated in the open month it posts; so does operating money in March (not closed)
    deposit(firm, admin, trust, client_file, 5_000, on=d(1, 4))

    # a signed month cannot be prepared again
    with pytest.raises(Conflict, match="already reconciled and signed for March 2026"):
        reconciliations.reconciliation_prepare(
            firm=firm, actor=admin, bank_account_id=trust.pk, month=END
        )


def test_a_month_that_does_not_reconcile_cannot_be_signed(
    firm, admin, signer, opened, trust, client_file
):
    deposit(firm, admin, trust, client_file, 10_000, on=d(2))
    import_statement(firm, admin, trust, [Row(d(31), -1_250)], start=MAR, end=END)
    saved = reconciliations.reconciliation_prepare(
        firm=firm, actor=admin, bank_account_id=trust.pk, month=END
    )
    assert saved.difference_cents != 0

    with pytest.raises(Conflict, match="the month does not reconcile"):
        reconciliations.reconciliation_sign(firm=firm, actor=signer, reconciliation_id=saved.pk)
    saved.refresh_from_db()
    assert saved.status == "prepared"
    assert BankAccount.objects.get(pk=trust.pk).closed_through is None


def test_signing_refuses_a_month_the_books_changed_since_it_was_prepared(
    firm, admin, signer, trust, client_file, march
):
    saved = reconciliations.reconciliation_prepare(
        firm=firm, actor=admin, bank_account_id=trust.pk, month=END
    )
    printed(firm, admin, trust, client_file, 5_000, d(30))

    with pytest.raises(Conflict, match="the books changed since"):
        reconciliations.reconciliation_sign(firm=firm, actor=signer, reconciliation_id=saved.pk)
    assert BankAccount.objects.get(pk=trust.pk).closed_through is None


def test_reopening_is_an_administrators_with_a_reason_and_supersedes_the_signature(
    firm, admin, signer, trust, client_file, march
):
    saved = reconciliations.reconciliation_prepare(
        firm=firm, actor=admin, bank_account_id=trust.pk, month=END
    )
    reconciliations.reconciliation_sign(firm=firm, actor=signer, reconciliation_id=saved.pk)

    with pytest.raises(AdminRequired):
        reconciliations.reconciliation_reopen(
            firm=firm, actor=signer, bank_account_id=trust.pk, month=END, reason="x"
        )
    reconciliations.reconciliation_reopen(
        firm=firm,
        actor=admin,
        bank_account_id=trust.pk,
        month=END,
        reason="Deposit of March 15 was left out",
    )

    saved.refresh_from_db()
    assert (saved.status, saved.superseded_reason) == (
        "superseded",
        "Deposit of March 15 was left out",
    )
    assert BankAccount.objects.get(pk=trust.pk).closed_through is None
    deposit(firm, admin, trust, client_file, 5_000, on=d(15))
    event = AuditEvent.objects.get(action="reconciliation_reopened")
    assert event.after == {
        "closed_through": None,
        "superseded": [saved.pk],
        "reason": "Deposit of March 15 was left out",
    }
    # the month can be prepared and signed again; the superseded record stays
    again = reconciliations.reconciliation_prepare(
        firm=firm,
        actor=admin,
        bank_account_id=trust.pk,
        month=END,
        statement_balance_cents=9_750_000,
    )
    assert Reconciliation.objects.filter(bank_account=trust).count() == 2
    assert again.pk != saved.pk


def test_a_void_dated_in_a_closed_month_is_refused_and_in_an_open_one_posts(
    firm, admin, signer, trust, client_file, march
):
    saved = reconciliations.reconciliation_prepare(
        firm=firm, actor=admin, bank_account_id=trust.pk, month=END
    )
    reconciliations.reconciliation_sign(firm=firm, actor=signer, reconciliation_id=saved.pk)
    outstanding = checks.Check.objects.get(check_number=1002)

    with refused(PeriodClosed, code="period_closed"):
        checks.check_void(firm=firm, actor=admin, check_id=outstanding.pk, void_date=d(25))
    voided = checks.check_void(firm=firm, actor=admin, check_id=outstanding.pk, void_date=d(2, 4))
    assert voided.status == "voided"


def test_the_firm_wide_close_refuses_any_entry_dated_in_it(firm, admin, attorney, opened):
    bank = GLAccount.objects.get(firm=firm, role=AccountRole.OPERATING_BANK)
    equity = GLAccount.objects.filter(firm=firm, type="equity").order_by("number").first()
    assert equity is not None
    lines = [journal.Line(bank, debit_cents=100), journal.Line(equity, credit_cents=100)]

    with pytest.raises(AdminRequired):
        periods.firm_period_close(firm=firm, actor=attorney, through=d(28, 2))
    periods.firm_period_close(firm=firm, actor=admin, through=d(28, 2))

    before = snapshot()
    with pytest.raises(PeriodClosed, match="the books are closed through 2026-02-28"):
        journal.journal_entry_post(firm=firm, date=d(15, 2), lines=lines, actor=admin)
    assert snapshot() == before
    journal.journal_entry_post(firm=firm, date=d(1), lines=lines, actor=admin)

    periods.firm_period_reopen(firm=firm, actor=admin, through=None, reason="Late invoice")
    journal.journal_entry_post(firm=firm, date=d(15, 2), lines=lines, actor=admin)
    assert list(
        AuditEvent.objects.filter(action__in=["period_closed", "period_reopened"])
        .order_by("pk")
        .values_list("action", flat=True)
    ) == ["period_closed", "period_reopened"]


def test_the_three_way_report_no_longer_counts_a_cleared_check_as_outstanding(
    firm, admin, opened, trust, client_file
):
    from casebridge.books.selectors.reports import three_way_reconciliation

    deposit(firm, admin, trust, client_file, 10_000, on=d(2))
    paid = printed(firm, admin, trust, client_file, 4_000, d(5))
    printed(firm, admin, trust, client_file, 1_000, d(6), payee="Maria Lopez")
    import_statement(
        firm, admin, trust, [Row(d(3), 10_000), Row(d(9), -4_000, check="1001")], start=MAR, end=END
    )
    matching.statement_auto_match(firm=firm, actor=admin, bank_account_id=trust.pk)

    before_clearing = three_way_reconciliation(
        firm=firm,
        bank_account_id=trust.pk,
        statement_balance_cents=10_000,
        deposits_in_transit_cents=0,
        as_of=d(8),
    )
    at_month_end = three_way_reconciliation(
        firm=firm,
        bank_account_id=trust.pk,
        statement_balance_cents=6_000,
        deposits_in_transit_cents=0,
        as_of=END,
    )

    assert [c.payee for c in before_clearing.outstanding_checks] == [
        "Fresno Medical Group",
        "Maria Lopez",
    ]
    assert before_clearing.outstanding_checks[0].check_id == paid.pk
    assert before_clearing.outstanding_checks_cents == 5_000
    assert [c.payee for c in at_month_end.outstanding_checks] == ["Maria Lopez"]
    assert at_month_end.outstanding_checks_cents == 1_000
    assert at_month_end.is_reconciled


def test_the_database_refuses_a_posting_in_a_closed_month_even_past_the_service(
    firm, admin, opened, trust, client_file, monkeypatch
):
    from django.db import DatabaseError, IntegrityError, transaction

    deposit(firm, admin, trust, client_file, 10_000, on=d(2))
    BankAccount.objects.filter(pk=trust.pk).update(closed_through=END)
    monkeypatch.setattr(journal, "check_open", lambda *args, **kwargs: None)
    before = snapshot()

    with (
        pytest.raises((IntegrityError, DatabaseError), match="closed period"),
        transaction.atomic(),
    ):
        deposit(firm, admin, trust, client_file, 5_000, on=d(15))

    assert snapshot() == before
    deposit(firm, admin, trust, client_file, 5_000, on=d(1, 4))  # the open month posts


def test_the_nightly_check_names_a_signed_month_its_postings_no_longer_agree_with(
    firm, admin, signer, trust, client_file, march
):
    from casebridge.books.services.maintenance import ledger_integrity_check

    saved = reconciliations.reconciliation_prepare(
        firm=firm, actor=admin, bank_account_id=trust.pk, month=END
    )
    reconciliations.reconciliation_sign(firm=firm, actor=signer, reconciliation_id=saved.pk)
    assert ledger_integrity_check(firm=firm).problems == []

    # an entry that slipped into the month as it was signed (the close read before it)
    BankAccount.objects.filter(pk=trust.pk).update(closed_through=None)
    deposit(firm, admin, trust, client_file, 5_000, on=d(15))
    BankAccount.objects.filter(pk=trust.pk).update(closed_through=END)

    assert ledger_integrity_check(firm=firm).problems == [
        "Client Trust (IOLTA): the reconciliation signed for March 2026 has a journal balance "
        "of $96,900.00; its postings now give $96,950.00"
    ]


def test_on_a_trust_account_a_line_set_aside_is_a_difference_that_stops_signing(
    firm, admin, signer, opened, trust, client_file
):
    """The bank took $500 the books do not know of: set aside with a note, it would hide
    that the bank holds less than the client ledgers say."""
    deposit(firm, admin, trust, client_file, 10_000_000, on=d(2))
    _, (_, withdrawal) = import_statement(
        firm, admin, trust, [Row(d(3), 10_000_000), Row(d(20), -50_000)], start=MAR, end=END
    )
    matching.statement_auto_match(firm=firm, actor=admin, bank_account_id=trust.pk)
    matching.line_set_aside(firm=firm, actor=admin, line_id=withdrawal.pk, note="ask the bank")

    rec = bank_reconciliation(firm=firm, bank_account_id=trust.pk, period_end=END)

    assert rec.differences == [
        "1 statement line totalling -$500.00 set aside on a client trust account: record "
        "each to a client ledger (or have the bank correct it) before the month can be signed"
    ]
    saved = reconciliations.reconciliation_prepare(
        firm=firm, actor=admin, bank_account_id=trust.pk, month=END
    )
    with pytest.raises(Conflict, match="set aside on a client trust account"):
        reconciliations.reconciliation_sign(firm=firm, actor=signer, reconciliation_id=saved.pk)
    assert BankAccount.objects.get(pk=trust.pk).closed_through is None


def test_a_trust_bank_fee_recorded_to_a_client_ledger_reconciles_and_signs(
    firm, admin, signer, opened, trust, client_file
):
    deposit(firm, admin, trust, client_file, 10_000_000, on=d(2))
    _, (_, fee) = import_statement(
        firm,
        admin,
        trust,
        [Row(d(3), 10_000_000), Row(d(31), -1_250, text="RETURNED ITEM FEE")],
        start=MAR,
        end=END,
    )
    matching.statement_auto_match(firm=firm, actor=admin, bank_account_id=trust.pk)
    matching.line_record(firm=firm, actor=admin, line_id=fee.pk, file_id=client_file.pk)

    rec = bank_reconciliation(firm=firm, bank_account_id=trust.pk, period_end=END)

    assert (rec.journal_balance_cents, rec.client_ledgers_total_cents) == (9_998_750, 9_998_750)
    assert rec.differences == []
    saved = reconciliations.reconciliation_prepare(
        firm=firm, actor=admin, bank_account_id=trust.pk, month=END
    )
    assert (
        reconciliations.reconciliation_sign(
            firm=firm, actor=signer, reconciliation_id=saved.pk
        ).status
        == "signed"
    )


def test_a_month_with_no_statement_balance_cannot_be_signed(
    firm, admin, signer, opened, trust, client_file
):
    deposit(firm, admin, trust, client_file, 10_000, on=d(2))
    printed(firm, admin, trust, client_file, 4_000, d(5))
    saved = reconciliations.reconciliation_prepare(
        firm=firm, actor=admin, bank_account_id=trust.pk, month=END
    )
    assert saved.statement_balance_cents is None

    with pytest.raises(Conflict, match="no statement balance"):
        reconciliations.reconciliation_sign(firm=firm, actor=signer, reconciliation_id=saved.pk)
    assert BankAccount.objects.get(pk=trust.pk).closed_through is None


def test_a_typed_balance_that_is_not_the_statements_is_a_difference(
    firm, admin, opened, trust, client_file
):
    deposit(firm, admin, trust, client_file, 10_000_000, on=d(2))
    import_statement(
        firm, admin, trust, [Row(d(3), 5_000_000)], start=MAR, end=END, closing=5_000_000
    )

    rec = bank_reconciliation(
        firm=firm, bank_account_id=trust.pk, period_end=END, statement_balance_cents=10_000_000
    )

    assert rec.differences[0] == (
        "the ending balance entered, $100,000.00, is not the imported statement's closing "
        "balance, $50,000.00"
    )
    assert not rec.is_reconciled


def test_unmatching_a_recorded_line_reverses_its_entry(firm, admin, opened, trust, client_file):
    deposit(firm, admin, trust, client_file, 10_000, on=d(2))
    _, (fee,) = import_statement(firm, admin, trust, [Row(d(31), -1_250)], start=MAR, end=END)
    item = matching.line_record(firm=firm, actor=admin, line_id=fee.pk, file_id=client_file.pk)
    assert client_file.trust_ledgers.get().balance_cents == 8_750

    matching.line_unmatch(firm=firm, actor=admin, line_id=fee.pk, reason="wrong file")

    assert client_file.trust_ledgers.get().balance_cents == 10_000
    assert item.entry.reversed_by.date == d(31)
    # recorded again, it posts once more: the client is charged once in all
    matching.line_record(firm=firm, actor=admin, line_id=fee.pk, file_id=client_file.pk)
    assert client_file.trust_ledgers.get().balance_cents == 8_750
    rec = bank_reconciliation(firm=firm, bank_account_id=trust.pk, period_end=END)
    assert [i.amount_cents for i in rec.outstanding_checks] == []
