"""The books' reports: trial balance, client trust ledgers, the trust account journal and
the three-way reconciliation."""

from __future__ import annotations

import datetime as dt

import pytest

from casebridge.books.errors import ValidationFailed
from casebridge.books.models import ActivityCode, GLAccount, TrustLedger
from casebridge.books.selectors import reports
from casebridge.books.services import checks, files
from tests.books.ledger_helpers import books_open, deposit, operating_check, trust_check

MAR = {day: dt.date(2026, 3, day) for day in range(1, 32)}


@pytest.fixture
def court_fees(firm) -> ActivityCode:
    return ActivityCode.objects.get(firm=firm, code="E112")


@pytest.fixture
def second_file(firm, admin):
    client, _ = files.contact_find_or_create(firm=firm, actor=admin, name="Tom Baker")
    file, _ = files.file_find_or_create(
        firm=firm, actor=admin, name="Baker v. City Bus", client=client, number="2026-B"
    )
    return file


# --- trial balance -------------------------------------------------------------------------


def test_the_trial_balance_lists_every_account_with_a_balance(
    firm, admin, trust, operating, client_file, court_fees, today
):
    empty = reports.trial_balance(firm=firm)
    assert (empty.rows, empty.total_debit_cents, empty.total_credit_cents) == ([], 0, 0)

    deposit(firm, admin, trust, client_file, 100_000, on=MAR[1])
    operating_check(firm, admin, operating, client_file, 20_000, court_fees, on=MAR[2])
    tb = reports.trial_balance(firm=firm)

    assert [(r.number, r.type, r.debit_cents, r.credit_cents) for r in tb.rows] == [
        ("1000", "asset", 0, 20_000),
        ("1010", "asset", 100_000, 0),
        ("1300", "asset", 20_000, 0),
        ("2100", "liability", 0, 100_000),
    ]
    assert tb.total_debit_cents == tb.total_credit_cents == 120_000
    assert tb.is_balanced
    assert tb.as_of == today


def test_the_trial_balance_as_of_a_date_sums_postings_up_to_it(
    firm, admin, trust, operating, client_file, court_fees
):
    deposit(firm, admin, trust, client_file, 100_000, on=MAR[1])
    check = trust_check(firm, admin, trust, client_file, 30_000, on=MAR[10])
    checks.check_void(firm=firm, actor=admin, check_id=check.pk, void_date=MAR[20])

    def columns(as_of):
        tb = reports.trial_balance(firm=firm, as_of=as_of)
        assert tb.as_of == as_of
        assert tb.is_balanced
        return {r.number: (r.debit_cents, r.credit_cents) for r in tb.rows}

    assert columns(dt.date(2026, 2, 28)) == {}
    assert columns(MAR[5]) == {"1010": (100_000, 0), "2100": (0, 100_000)}
    assert columns(MAR[10]) == {"1010": (70_000, 0), "2100": (0, 70_000)}
    assert columns(MAR[20]) == {"1010": (100_000, 0), "2100": (0, 100_000)}


def test_the_trial_balance_is_per_firm(firm, other_firm, admin, trust, client_file):
    deposit(firm, admin, trust, client_file, 100_000)
    assert reports.trial_balance(firm=other_firm).rows == []


def test_account_balance_is_in_the_accounts_natural_sign(firm, admin, trust, client_file):
    deposit(firm, admin, trust, client_file, 100_000)
    liability = GLAccount.objects.get(firm=firm, number="2100")
    bank = GLAccount.objects.get(firm=firm, number="1010")
    assert reports.account_balance_cents(firm=firm, account_id=liability.pk) == 100_000
    assert reports.account_balance_cents(firm=firm, account_id=bank.pk) == 100_000
    assert (liability.balance_cents, liability.normal_balance_cents) == (-100_000, 100_000)


# --- client trust ledger -------------------------------------------------------------------


def test_the_client_ledger_shows_a_running_balance_in_date_order(
    firm, admin, trust, client_file, second_file
):
    books_open(firm, admin)  # the entries are posted out of date order
    deposit(firm, admin, trust, client_file, 20_000, on=MAR[3], payer="Second payment")
    deposit(firm, admin, trust, client_file, 100_000, on=MAR[1])
    check = trust_check(firm, admin, trust, client_file, 30_000, on=MAR[2], payee="Valley Med")
    checks.check_void(firm=firm, actor=admin, check_id=check.pk, void_date=MAR[4])
    trust_check(firm, admin, trust, client_file, 5_000, on=MAR[5])
    deposit(firm, admin, trust, second_file, 999, on=MAR[1])  # another client's: not shown

    [ledger] = reports.client_trust_ledger(firm=firm, file_id=client_file.pk)

    assert ledger.file == client_file
    assert ledger.bank_account == trust
    assert [
        (ln.date, ln.deposit_cents, ln.disbursement_cents, ln.balance_cents) for ln in ledger.lines
    ] == [
        (MAR[1], 100_000, 0, 100_000),
        (MAR[2], 0, 30_000, 70_000),
        (MAR[3], 20_000, 0, 90_000),
        (MAR[4], 30_000, 0, 120_000),
        (MAR[5], 0, 5_000, 115_000),
    ]
    assert ledger.balance_cents == 115_000
    assert ledger.lines[3].reverses_id == check.entry_id
    assert ledger.lines[1].memo == "Check to Valley Med"
    assert [ln.reverses_id for ln in ledger.lines].count(None) == 4


def test_a_file_without_trust_money_has_no_ledger(firm, client_file, other_firm):
    assert reports.client_trust_ledger(firm=firm, file_id=client_file.pk) == []
    with pytest.raises(ValidationFailed, match="file not found in this firm"):
        reports.client_trust_ledger(firm=other_firm, file_id=client_file.pk)


# --- trust account journal -----------------------------------------------------------------


def test_the_trust_account_journal_lists_movements_by_date_then_entry(
    firm, admin, trust, client_file, second_file
):
    books_open(firm, admin)  # the entries are posted out of date order
    later = deposit(firm, admin, trust, second_file, 5_000, on=MAR[9])
    first = deposit(firm, admin, trust, client_file, 100_000, on=MAR[1])
    check = trust_check(firm, admin, trust, client_file, 25_000, on=MAR[9])
    same_day = deposit(firm, admin, trust, client_file, 1_000, on=MAR[9])

    journal = reports.trust_account_journal(firm=firm, bank_account_id=trust.pk)

    assert [
        (j.entry_id, j.date, j.file_number, j.debit_cents, j.credit_cents, j.balance_cents)
        for j in journal.lines
    ] == [
        (first.entry_id, MAR[1], client_file.number, 100_000, 0, 100_000),
        (later.entry_id, MAR[9], "2026-B", 5_000, 0, 105_000),
        (check.entry_id, MAR[9], client_file.number, 0, 25_000, 80_000),
        (same_day.entry_id, MAR[9], client_file.number, 1_000, 0, 81_000),
    ]
    assert journal.next_cursor is None
    # from MAR[2], two a page: the opening balance (MAR[1]'s deposit) runs on through the
    # cursor into the second page
    page = reports.trust_account_journal(firm=firm, bank_account_id=trust.pk, start=MAR[2], limit=2)
    assert [(j.entry_id, j.balance_cents) for j in page.lines] == [
        (later.entry_id, 105_000),
        (check.entry_id, 80_000),
    ]
    assert page.next_cursor is not None
    rest = reports.trust_account_journal(
        firm=firm, bank_account_id=trust.pk, start=MAR[2], limit=2, cursor=page.next_cursor
    )
    assert [(j.entry_id, j.balance_cents) for j in rest.lines] == [(same_day.entry_id, 81_000)]
    assert rest.next_cursor is None
    assert rest.figures == page.figures
    assert (
        page.figures.opening_cents,
        page.figures.deposits_cents,
        page.figures.disbursements_cents,
        page.figures.closing_cents,
        page.figures.count,
    ) == (100_000, 6_000, 25_000, 81_000, 3)
    assert [
        j.entry_id
        for j in reports.trust_account_journal(
            firm=firm, bank_account_id=trust.pk, end=MAR[8]
        ).lines
    ] == [first.entry_id]


def test_the_trust_journals_pages_are_one_read_while_entries_are_posted(
    firm, admin, trust, client_file
):
    # review: the figures travelled in the cursor but later pages read the books as they
    # were then: a deposit posted between pages ran the balance past the closing shown
    for day in (1, 2, 3, 4):
        deposit(firm, admin, trust, client_file, 1_000, on=MAR[day])
    page = reports.trust_account_journal(firm=firm, bank_account_id=trust.pk, limit=2)
    assert page.next_cursor is not None
    late = deposit(firm, admin, trust, client_file, 7_000, on=MAR[20])
    backdated = deposit(firm, admin, trust, client_file, 500, on=MAR[1])
    rest = reports.trust_account_journal(
        firm=firm, bank_account_id=trust.pk, limit=2, cursor=page.next_cursor
    )
    lines = page.lines + rest.lines
    assert rest.next_cursor is None
    assert [j.balance_cents for j in lines] == [1_000, 2_000, 3_000, 4_000]
    assert (rest.figures.count, rest.figures.closing_cents) == (4, 4_000)
    assert {late.entry_id, backdated.entry_id}.isdisjoint(j.entry_id for j in lines)
    # a fresh read sees them, and its export streams the same rows as its pages
    fresh = reports.trust_journal_figures(firm=firm, bank_account_id=trust.pk)
    assert (fresh.count, fresh.closing_cents) == (6, 11_500)
    streamed = list(reports.trust_account_journal_rows(figures=fresh))
    assert [j.balance_cents for j in streamed][-1] == fresh.closing_cents == 11_500


def test_the_trust_account_journal_is_for_trust_accounts_only(firm, operating, other_firm, trust):
    for bank_id, who in ((operating.pk, firm), (trust.pk, other_firm)):
        with pytest.raises(ValidationFailed) as info:
            reports.trust_account_journal(firm=who, bank_account_id=bank_id)
        assert info.value.message == "trust bank account not found in this firm"


# --- three-way reconciliation --------------------------------------------------------------


@pytest.fixture
def month(firm, admin, trust, client_file, second_file):
    """1,000.00 + 500.00 (in transit) deposited, a 300.00 check out, a 100.00 check voided."""
    deposit(firm, admin, trust, client_file, 100_000, on=MAR[2])
    deposit(firm, admin, trust, second_file, 50_000, on=MAR[30])
    out = trust_check(firm, admin, trust, client_file, 30_000, on=MAR[10], payee="Valley Med")
    checks.check_print(firm=firm, actor=admin, check_id=out.pk, printed_on=MAR[10])
    voided = trust_check(firm, admin, trust, client_file, 10_000, on=MAR[12])
    checks.check_void(firm=firm, actor=admin, check_id=voided.pk, void_date=MAR[13])
    return out


def test_a_reconciled_trust_account(firm, trust, month):
    # journal 1,200.00 = statement 1,000.00 + deposits in transit 500.00 - checks out 300.00
    rec = reports.three_way_reconciliation(
        firm=firm,
        bank_account_id=trust.pk,
        statement_balance_cents=100_000,
        deposits_in_transit_cents=50_000,
    )
    assert rec.is_reconciled
    assert rec.differences == []
    assert [
        (c.check_id, c.check_number, c.payee, c.amount_cents) for c in rec.outstanding_checks
    ] == [(month.pk, 1001, "Valley Med", 30_000)]
    assert (
        rec.outstanding_checks_cents,
        rec.adjusted_bank_balance_cents,
        rec.trust_journal_balance_cents,
        rec.client_ledgers_total_cents,
        rec.client_ledgers_recomputed_cents,
    ) == (30_000, 120_000, 120_000, 120_000, 120_000)


def test_a_bank_short_by_a_cent_is_reported(firm, trust, month):
    rec = reports.three_way_reconciliation(
        firm=firm,
        bank_account_id=trust.pk,
        statement_balance_cents=99_999,
        deposits_in_transit_cents=50_000,
    )
    assert not rec.is_reconciled
    assert rec.differences == [
        "adjusted bank balance $1,199.99 differs from the trust journal $1,200.00 by -$0.01"
    ]
    assert rec.adjusted_bank_balance_cents == 119_999


def test_outstanding_checks_entered_by_hand_replace_the_books_list(firm, trust, month):
    rec = reports.three_way_reconciliation(
        firm=firm,
        bank_account_id=trust.pk,
        statement_balance_cents=130_000,
        deposits_in_transit_cents=50_000,
        outstanding_checks_cents=0,  # the bank says the 300.00 check has not been written yet
    )
    assert rec.outstanding_checks == []
    assert rec.differences == [
        "adjusted bank balance $1,800.00 differs from the trust journal $1,200.00 by $600.00"
    ]


def test_client_balances_that_drift_from_their_postings_are_reported(
    firm, trust, client_file, month
):
    # a maintained balance moved without postings (which the services never do)
    TrustLedger.objects.filter(file=client_file).update(balance_cents=69_000)
    rec = reports.three_way_reconciliation(
        firm=firm,
        bank_account_id=trust.pk,
        statement_balance_cents=100_000,
        deposits_in_transit_cents=50_000,
    )
    assert rec.client_ledgers_total_cents == 119_000
    assert rec.differences == [
        "client ledgers total $1,190.00 differs from the trust journal $1,200.00 by -$10.00",
        "maintained client balances $1,190.00 drifted from their postings $1,200.00",
    ]


def test_a_reconciliation_as_of_a_month_end_sees_the_checks_as_they_were_then(
    firm, admin, trust, client_file, month
):
    # April's check is neither in March's journal nor outstanding at March 31 ...
    trust_check(firm, admin, trust, client_file, 7_000, on=dt.date(2026, 4, 2))
    # ... and March's check voided in April was still outstanding at March 31
    checks.check_void(firm=firm, actor=admin, check_id=month.pk, void_date=dt.date(2026, 4, 5))
    rec = reports.three_way_reconciliation(
        firm=firm,
        bank_account_id=trust.pk,
        statement_balance_cents=100_000,
        deposits_in_transit_cents=50_000,
        as_of=MAR[31],
    )
    assert rec.trust_journal_balance_cents == 120_000
    assert [c.check_id for c in rec.outstanding_checks] == [month.pk]
    assert rec.differences == []


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"deposits_in_transit_cents": -1}, "deposits in transit cannot be negative"),
        ({"outstanding_checks_cents": -1}, "outstanding checks cannot be negative"),
    ],
)
def test_reconciliation_figures_cannot_be_negative(firm, trust, changes, message):
    args = {
        "firm": firm,
        "bank_account_id": trust.pk,
        "statement_balance_cents": 0,
        "deposits_in_transit_cents": 0,
    } | changes
    with pytest.raises(ValidationFailed) as info:
        reports.three_way_reconciliation(**args)
    assert info.value.message == message
