"""Statement lines matched to the books' items: checks by number and amount, deposits by
amount and date (a deposit slip of several receipts to one line), transfers by reference;
anything ambiguous proposed, never applied; by hand, split, unmatched, audited."""

from __future__ import annotations

import datetime as dt
import re

import pytest

from casebridge.books.errors import Conflict, ValidationFailed
from casebridge.books.models import (
    AccountRole,
    ClearedItem,
    GLAccount,
    Posting,
    StatementLine,
)
from casebridge.books.services import checks, journal, matching
from casebridge.core.models import AuditEvent
from tests.books.bank.statement_files import Row, import_statement
from tests.books.ledger_helpers import deposit, trust_check
from tests.conftest import account

pytestmark = pytest.mark.django_db

MAR = dt.date(2026, 3, 1)
END = dt.date(2026, 3, 31)


def d(day: int) -> dt.date:
    return dt.date(2026, 3, day)


def bank_posting(doc, bank) -> Posting:
    """The posting a check or receipt made to its bank account's GL account."""
    return Posting.objects.get(entry_id=doc.entry_id, account_id=bank.gl_account_id)


def printed(firm, actor, bank, file, cents, on):
    check = trust_check(firm, actor, bank, file, cents, on=on)
    return checks.check_print(firm=firm, actor=actor, check_id=check.pk, printed_on=on)


def cleared(line) -> list[tuple[int, dt.date, str]]:
    return sorted(
        ClearedItem.objects.filter(line=line).values_list("posting_id", "cleared_on", "how")
    )


def test_auto_match_clears_the_check_by_number_and_the_deposit_by_amount_and_date(
    firm, admin, opened, trust, client_file
):
    receipt = deposit(firm, admin, trust, client_file, 10_000_000, on=d(2))
    check = printed(firm, admin, trust, client_file, 250_000, d(5))
    assert check.check_number == 1001
    _, (dep, chq, fee) = import_statement(
        firm,
        admin,
        trust,
        [
            Row(d(3), 10_000_000, ref="ACME-CLM-4471"),
            Row(d(10), -250_000, check="1001"),
            Row(d(31), -1250, text="MONTHLY SERVICE FEE"),
        ],
        start=MAR,
        end=END,
    )

    result = matching.statement_auto_match(firm=firm, actor=admin, bank_account_id=trust.pk)

    assert (result.lines_matched, result.items_cleared, result.lines_proposed) == (2, 2, 0)
    assert result.lines_left == 1
    assert cleared(dep) == [(bank_posting(receipt, trust).pk, d(3), "auto")]
    assert cleared(chq) == [(bank_posting(check, trust).pk, d(10), "auto")]
    statuses = dict(StatementLine.objects.values_list("pk", "status"))
    assert statuses == {dep.pk: "matched", chq.pk: "matched", fee.pk: "unmatched"}
    assert matching.cleared_dates([check.entry_id, receipt.entry_id]) == {
        check.entry_id: d(10),
        receipt.entry_id: d(3),
    }
    event = AuditEvent.objects.get(action="statement_auto_matched")
    assert event.after == {
        "matched": 2,
        "cleared": 2,
        "proposed": 0,
        "left": 1,
        "skipped_closed": 0,
    }

    # a second run finds nothing new and clears nothing twice
    again = matching.statement_auto_match(firm=firm, actor=admin, bank_account_id=trust.pk)
    assert (again.lines_considered, again.lines_matched) == (1, 0)
    assert ClearedItem.objects.count() == 2


def test_two_candidates_are_proposed_never_applied(firm, admin, opened, trust, client_file):
    first = deposit(firm, admin, trust, client_file, 50_000, on=d(2))
    second = deposit(firm, admin, trust, client_file, 50_000, on=d(3))
    _, (line,) = import_statement(firm, admin, trust, [Row(d(4), 50_000)], start=MAR, end=END)

    result = matching.statement_auto_match(firm=firm, actor=admin, bank_account_id=trust.pk)

    assert (result.lines_matched, result.lines_proposed) == (0, 1)
    line.refresh_from_db()
    assert line.status == "proposed"
    assert line.proposals == [[bank_posting(first, trust).pk], [bank_posting(second, trust).pk]]
    assert ClearedItem.objects.count() == 0


def test_one_item_wanted_by_two_lines_is_proposed_to_both(firm, admin, opened, trust, client_file):
    receipt = deposit(firm, admin, trust, client_file, 70_000, on=d(2))
    _, lines = import_statement(
        firm, admin, trust, [Row(d(3), 70_000), Row(d(4), 70_000)], start=MAR, end=END
    )

    matching.statement_auto_match(firm=firm, actor=admin, bank_account_id=trust.pk)

    item = bank_posting(receipt, trust).pk
    assert [(ln.status, ln.proposals) for ln in StatementLine.objects.order_by("posted_on")] == [
        ("proposed", [[item]]),
        ("proposed", [[item]]),
    ]
    assert ClearedItem.objects.count() == 0
    assert [ln.pk for ln in lines] == list(
        StatementLine.objects.order_by("posted_on").values_list("pk", flat=True)
    )


def test_a_check_of_another_amount_is_not_cleared_and_a_voided_check_is_only_proposed(
    firm, admin, opened, trust, client_file
):
    deposit(firm, admin, trust, client_file, 1_000_000, on=d(2))
    printed(firm, admin, trust, client_file, 40_000, d(5))  # 1001
    voided = printed(firm, admin, trust, client_file, 30_000, d(5))  # 1002
    checks.check_void(firm=firm, actor=admin, check_id=voided.pk, void_date=d(6))
    _, (wrong, paid_void) = import_statement(
        firm,
        admin,
        trust,
        [Row(d(9), -40_001, check="1001"), Row(d(9), -30_000, check="1002")],
        start=MAR,
        end=END,
        opening=1_000_000,
    )

    matching.statement_auto_match(firm=firm, actor=admin, bank_account_id=trust.pk)

    wrong.refresh_from_db()
    paid_void.refresh_from_db()
    assert (wrong.status, wrong.proposals) == ("unmatched", None)
    assert (paid_void.status, paid_void.proposals) == (
        "proposed",
        [[bank_posting(voided, trust).pk]],
    )
    assert ClearedItem.objects.count() == 0


def test_a_deposit_slip_of_two_receipts_matches_one_line(firm, admin, opened, trust, client_file):
    a = deposit(firm, admin, trust, client_file, 30_000, on=d(2), payer="Acme Insurance")
    b = deposit(firm, admin, trust, client_file, 20_000, on=d(2), payer="Maria Lopez")
    _, (line,) = import_statement(firm, admin, trust, [Row(d(3), 50_000)], start=MAR, end=END)

    result = matching.statement_auto_match(firm=firm, actor=admin, bank_account_id=trust.pk)

    assert (result.lines_matched, result.items_cleared) == (1, 2)
    assert cleared(line) == sorted(
        [(bank_posting(a, trust).pk, d(3), "auto"), (bank_posting(b, trust).pk, d(3), "auto")]
    )


def _operating_entry(firm, admin, cents, on, reference=""):
    bank = GLAccount.objects.get(firm=firm, role=AccountRole.OPERATING_BANK)
    equity = GLAccount.objects.filter(firm=firm, type="equity").order_by("number").first()
    return journal.journal_entry_post(
        firm=firm,
        date=on,
        lines=[journal.Line(bank, debit_cents=cents), journal.Line(equity, credit_cents=cents)],
        memo="Capital in",
        posting_reference=reference,
        actor=admin,
    )


def test_a_transfer_matches_by_its_reference_where_the_amount_alone_is_ambiguous(
    firm, admin, opened, operating
):
    wire = _operating_entry(firm, admin, 100_000, d(5), reference="WIRE-77")
    _operating_entry(firm, admin, 100_000, d(5))
    _, (line,) = import_statement(
        firm, admin, operating, [Row(d(6), 100_000, ref="WIRE-77")], start=MAR, end=END
    )

    matching.statement_auto_match(firm=firm, actor=admin, bank_account_id=operating.pk)

    item = Posting.objects.get(entry=wire, account_id=operating.gl_account_id)
    assert cleared(line) == [(item.pk, d(6), "auto")]


def test_split_match_by_hand_then_unmatch_both_audited(firm, admin, opened, trust, client_file):
    a = deposit(firm, admin, trust, client_file, 12_345, on=d(2))
    b = deposit(firm, admin, trust, client_file, 65_432, on=d(20))
    _, (line,) = import_statement(firm, admin, trust, [Row(d(21), 77_777)], start=MAR, end=END)
    items = [bank_posting(a, trust).pk, bank_posting(b, trust).pk]

    made = matching.line_match(firm=firm, actor=admin, line_id=line.pk, posting_ids=items)

    assert sorted((c.posting_id, c.amount_cents, c.how) for c in made) == sorted(
        [(items[0], 12_345, "manual"), (items[1], 65_432, "manual")]
    )
    line.refresh_from_db()
    assert line.status == "matched"
    event = AuditEvent.objects.get(action="statement_line_matched")
    assert event.after == {"status": "matched", "postings": items}

    matching.line_unmatch(firm=firm, actor=admin, line_id=line.pk, reason="wrong deposit")

    line.refresh_from_db()
    assert (line.status, line.note) == ("unmatched", "wrong deposit")
    assert ClearedItem.objects.count() == 0
    event = AuditEvent.objects.get(action="statement_line_unmatched")
    assert event.before == {"status": "matched", "postings": sorted(items), "note": None}


def test_a_match_that_does_not_add_up_is_refused_naming_the_difference(
    firm, admin, opened, trust, client_file
):
    a = deposit(firm, admin, trust, client_file, 12_345, on=d(2))
    _, (line,) = import_statement(firm, admin, trust, [Row(d(3), 12_346)], start=MAR, end=END)
    audit = AuditEvent.objects.count()

    with pytest.raises(
        ValidationFailed, match=r"add up to \$123\.45; .* \$123\.46 \(a difference of \$0\.01\)"
    ):
        matching.line_match(
            firm=firm, actor=admin, line_id=line.pk, posting_ids=[bank_posting(a, trust).pk]
        )

    assert ClearedItem.objects.count() == 0
    assert AuditEvent.objects.count() == audit
    line.refresh_from_db()
    assert line.status == "unmatched"


def test_an_item_clears_once(firm, admin, opened, trust, client_file):
    a = deposit(firm, admin, trust, client_file, 10_000, on=d(2))
    _, (one, two) = import_statement(
        firm, admin, trust, [Row(d(3), 10_000), Row(d(4), 10_000)], start=MAR, end=END
    )
    item = bank_posting(a, trust).pk
    matching.line_match(firm=firm, actor=admin, line_id=one.pk, posting_ids=[item])

    with pytest.raises(Conflict, match=f"item {item} is already cleared"):
        matching.line_match(firm=firm, actor=admin, line_id=two.pk, posting_ids=[item])

    assert list(ClearedItem.objects.values_list("line_id", flat=True)) == [one.pk]


def test_an_item_of_another_bank_account_is_refused(
    firm, admin, opened, trust, operating, client_file
):
    entry = _operating_entry(firm, admin, 10_000, d(2))
    _, (line,) = import_statement(firm, admin, trust, [Row(d(3), 10_000)], start=MAR, end=END)
    item = Posting.objects.get(entry=entry, account_id=operating.gl_account_id).pk

    with pytest.raises(
        ValidationFailed, match=re.escape(f"item {item} is not an item of {trust.name}")
    ):
        matching.line_match(firm=firm, actor=admin, line_id=line.pk, posting_ids=[item])
    assert ClearedItem.objects.count() == 0


def test_a_bank_fee_on_operating_is_recorded_to_an_expense_and_cleared(
    firm, admin, opened, operating
):
    _operating_entry(firm, admin, 500_000, d(1))
    expense = GLAccount.objects.filter(firm=firm, type="expense").order_by("number").first()
    assert expense is not None
    _, (fee,) = import_statement(
        firm, admin, operating, [Row(d(31), -1_250, text="SERVICE FEE")], start=MAR, end=END
    )
    before = expense.balance_cents

    item = matching.line_record(firm=firm, actor=admin, line_id=fee.pk, account_id=expense.pk)

    expense.refresh_from_db()
    assert expense.balance_cents - before == 1_250
    assert (item.how, item.amount_cents, item.cleared_on) == ("recorded", -1_250, d(31))
    assert item.entry.date == d(31)
    assert item.entry.memo == "SERVICE FEE"
    fee.refresh_from_db()
    assert fee.status == "matched"


def test_trust_interest_cannot_be_recorded_as_the_firms_and_goes_to_a_client_ledger(
    firm, admin, opened, trust, client_file
):
    income = account(firm, AccountRole.FEE_INCOME)
    _, (interest,) = import_statement(
        firm, admin, trust, [Row(d(31), 321, text="INTEREST")], start=MAR, end=END
    )

    with pytest.raises(ValidationFailed, match="belongs to the bar foundation"):
        matching.line_record(firm=firm, actor=admin, line_id=interest.pk, account_id=income.pk)
    assert ClearedItem.objects.count() == 0
    income.refresh_from_db()
    assert income.balance_cents == 0

    item = matching.line_record(
        firm=firm, actor=admin, line_id=interest.pk, file_id=client_file.pk, memo="IOLTA interest"
    )
    assert item.amount_cents == 321
    assert client_file.trust_ledgers.get().balance_cents == 321


def test_setting_a_line_aside_needs_a_note(firm, admin, opened, trust):
    _, (line,) = import_statement(firm, admin, trust, [Row(d(31), -1_250)], start=MAR, end=END)

    with pytest.raises(ValidationFailed, match="say why"):
        matching.line_set_aside(firm=firm, actor=admin, line_id=line.pk, note="  ")
    line.refresh_from_db()
    assert (line.status, line.note) == ("unmatched", None)

    matching.line_set_aside(
        firm=firm, actor=admin, line_id=line.pk, note="Bank fee charged in error; refund asked"
    )
    line.refresh_from_db()
    assert (line.status, line.note) == ("reconciling", "Bank fee charged in error; refund asked")


def test_another_firms_line_is_not_found(firm, admin, opened, other_firm, trust):
    _, (line,) = import_statement(firm, admin, trust, [Row(d(31), -1_250)], start=MAR, end=END)
    with pytest.raises(ValidationFailed, match="statement line not found in this firm"):
        matching.line_set_aside(firm=other_firm, actor=None, line_id=line.pk, note="x")


def test_a_cleared_check_shows_its_date_and_cannot_be_voided_or_reprinted(
    firm, admin, opened, trust, client_file, api
):
    receipt = deposit(firm, admin, trust, client_file, 10_000, on=d(2))
    check = printed(firm, admin, trust, client_file, 4_000, d(5))
    import_statement(
        firm, admin, trust, [Row(d(3), 10_000), Row(d(9), -4_000, check="1001")], start=MAR, end=END
    )
    matching.statement_auto_match(firm=firm, actor=admin, bank_account_id=trust.pk)

    assert api.get(f"/checks/{check.pk}").body["cleared_on"] == "2026-03-09"
    assert api.get(f"/trust-receipts/{receipt.pk}").body["cleared_on"] == "2026-03-03"
    listed = api.get("/checks", {"bank_account_id": trust.pk}).body["items"]
    assert [(c["check_number"], c["cleared_on"]) for c in listed] == [(1001, "2026-03-09")]

    with pytest.raises(Conflict, match="check 1001 cleared the bank on 2026-03-09"):
        checks.check_void(firm=firm, actor=admin, check_id=check.pk, void_date=d(10))
    with pytest.raises(Conflict, match="cannot be reprinted"):
        checks.check_reprint(firm=firm, actor=admin, check_id=check.pk, reason="jammed")
    check.refresh_from_db()
    assert (check.status, check.check_number) == ("printed", 1001)


def test_a_check_number_in_other_digits_is_no_check_number(firm, admin, opened, trust, client_file):
    """``str.isdigit`` takes a superscript two and Arabic-Indic digits, ``int`` refuses
    the first: a bank's odd text must not break auto-match."""
    assert matching._digits("1²") is None
    assert matching._digits("\u0661\u0662") is None
    assert matching._digits("001001") == 1001
    deposit(firm, admin, trust, client_file, 10_000, on=d(2))
    import_statement(firm, admin, trust, [Row(d(9), -4_000, check="1²")], start=MAR, end=END)
    result = matching.statement_auto_match(firm=firm, actor=admin, bank_account_id=trust.pk)
    assert (result.lines_considered, result.lines_matched) == (1, 0)


@pytest.mark.django_db(transaction=True)
def test_a_void_outside_any_request_transaction_takes_its_own(
    firm, admin, opened, trust, client_file
):
    """The service opens its transaction: on PostgreSQL select_for_update outside one
    raises (a screen calling it would have answered 500)."""
    deposit(firm, admin, trust, client_file, 10_000, on=d(2))
    check = printed(firm, admin, trust, client_file, 4_000, d(5))
    voided = checks.check_void(firm=firm, actor=admin, check_id=check.pk, void_date=d(6))
    assert voided.status == "voided"
