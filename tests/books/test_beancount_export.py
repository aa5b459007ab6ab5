"""The books exported as Beancount and checked by Beancount itself (issue 15).

A quarter of a PI firm's life is posted through the books' own services: settlement money
into three files' trust, cost advances from operating, a trust check printed then voided,
a deposit voided, a manual entry and its reversal, an invoice paid from trust (the fee and
the costs moved to operating), the client's trust check. The export is loaded by
``beancount.loader``: no error, so every ``open`` is valid and every monthly ``balance``
assertion (the books' own balances) holds; and Beancount's own balances at each month end
equal the books' trial balance and client ledgers to the cent."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from beancount import loader
from beancount.core import data

from casebridge.books.exports.beancount import beancount_export
from casebridge.books.models import (
    AccountRole,
    ActivityCode,
    File,
    JournalEntry,
    Role,
)
from casebridge.books.selectors import reports
from casebridge.books.services import auth, checks, files, invoices
from casebridge.books.services.journal import Line, journal_entry_post, journal_entry_reverse
from casebridge.core.errors import DomainError
from tests.books.ledger_helpers import books_open, deposit, operating_check, trust_check
from tests.conftest import PASSWORD, account

pytestmark = pytest.mark.django_db


def JAN(day: int) -> dt.date:
    return dt.date(2026, 1, day)


def FEB(day: int) -> dt.date:
    return dt.date(2026, 2, day)


def MAR(day: int) -> dt.date:
    return dt.date(2026, 3, day)


MONTH_ENDS = [dt.date(2026, 1, 31), dt.date(2026, 2, 28), dt.date(2026, 3, 31)]


def _file(firm, admin, client_name: str, name: str, number: str) -> File:
    client, _ = files.contact_find_or_create(firm=firm, actor=admin, name=client_name)
    file, _ = files.file_find_or_create(
        firm=firm, actor=admin, name=name, client=client, number=number, opened_on=JAN(2)
    )
    return file


@pytest.fixture
def quarter(firm, admin, attorney, operating, trust, client_file):
    """January to March 2026, through the services."""
    books_open(firm, admin)
    baker = _file(firm, admin, "Tom Baker", "Baker v. City Bus", "2026-B")
    pena = _file(firm, admin, "José Peña", "Peña v. Ñandú Logistics", "2026/ñ 7")
    records = ActivityCode.objects.get(firm=firm, code="E101")
    experts = ActivityCode.objects.get(firm=firm, code="E119")

    # January: costs advanced, settlement money in
    operating_check(firm, admin, operating, client_file, 45_000, records, on=JAN(6))
    operating_check(
        firm, admin, operating, baker, 250_000, experts, on=JAN(9), payee='Dr. "Bones" Inc'
    )
    checks.trust_receipt_record(
        firm=firm,
        actor=admin,
        bank_account_id=trust.pk,
        file_id=client_file.pk,
        payer="Acme Insurance",
        amount_cents=25_000_000,
        received_on=JAN(20),
        external_ref="cases-deposit-1",
    )
    deposit(firm, admin, trust, baker, 1_500_000, on=JAN(27), payer="City Bus Mutual")
    deposit(firm, admin, trust, pena, 300_000, on=JAN(31), payer="Ñandú Re")

    # February: a trust check printed and voided, a bounced deposit, a manual entry reversed
    lien = trust_check(firm, admin, trust, baker, 400_000, on=FEB(3), payee="Valley Medical")
    checks.check_print(firm=firm, actor=admin, check_id=lien.pk, printed_on=FEB(3))
    checks.check_void(firm=firm, actor=admin, check_id=lien.pk, void_date=FEB(10), reason="lost")
    trust_check(firm, admin, trust, baker, 400_000, on=FEB(11), payee="Valley Medical")
    bounced = deposit(firm, admin, trust, pena, 50_000, on=FEB(12), payer="Peña family")
    checks.trust_receipt_void(firm=firm, actor=admin, receipt_id=bounced.pk, void_date=FEB(16))
    fee = journal_entry_post(
        firm=firm,
        actor=admin,
        date=FEB(27),
        memo='Bank fee "February" \\ wire',
        lines=[
            Line(account(firm, AccountRole.WRITE_OFF), debit_cents=3_500),
            Line(account(firm, AccountRole.OPERATING_BANK), credit_cents=3_500),
        ],
    )
    journal_entry_reverse(firm=firm, actor=admin, entry=fee, date=MAR(2), memo="posted twice")

    # March: the Lopez settlement: fee and costs from trust, the client paid
    invoice = invoices.invoice_create(
        firm=firm,
        actor=admin,
        file_id=client_file.pk,
        pay_from_trust=True,
        invoice_date=MAR(5),
        external_ref="cases-fee-1",
        lines=[
            invoices.LineSpec(
                kind="fee",
                description="Contingency fee 33.33%",
                amount_cents=8_332_500,
                timekeeper_id=attorney.pk,
            ),
            invoices.LineSpec(
                kind="cost",
                description="Medical records",
                amount_cents=45_000,
                activity_code_id=records.pk,
            ),
        ],
    )
    invoices.invoice_finalise(firm=firm, actor=admin, invoice_id=invoice.pk, on=MAR(5))
    trust_check(firm, admin, trust, client_file, 4_500_000, on=MAR(9), payee="Blue Shield")
    trust_check(firm, admin, trust, client_file, 25_000_000 - 8_377_500 - 4_500_000, on=MAR(12))
    return {"baker": baker, "pena": pena, "fee": fee}


def export(firm, actor, **kw) -> str:
    return "".join(beancount_export(firm=firm, actor=actor, **kw))


def load(text: str):
    entries, errors, options = loader.load_string(text)
    assert errors == [], "\n".join(str(e) for e in errors[:10])
    return entries, options


def beancount_balance(entries, account_name: str, as_of: dt.date) -> Decimal:
    """The account's balance (its sub-accounts included) after ``as_of``, as Beancount
    computes it from the loaded transactions."""
    total = Decimal(0)
    for entry in entries:
        if isinstance(entry, data.Transaction) and entry.date <= as_of:
            for posting in entry.postings:
                if posting.account == account_name or posting.account.startswith(
                    account_name + ":"
                ):
                    assert posting.units.currency == "USD"
                    total += posting.units.number
    return total


def names_of(entries) -> dict[str, data.Open]:
    return {e.account: e for e in entries if isinstance(e, data.Open)}


def test_beancount_checks_the_whole_ledger_and_agrees_with_the_trial_balance(
    firm, admin, quarter, client_file
):
    text = export(firm, admin)
    entries, options = load(text)
    assert options["title"] == firm.name
    assert options["operating_currency"] == ["USD"]

    opened = names_of(entries)
    assert sorted(opened) == sorted(
        [
            "Assets:1000-Operating-Bank",
            "Assets:1010-Client-Trust-Bank-IOLTA",
            "Assets:1300-Advanced-Client-Costs",
            "Expenses:5100-Unrecovered-Costs-Written-Off",
            "Income:4000-Attorney-Fee-Income",
            "Liabilities:2100-Client-Trust-Liability",
            "Liabilities:2100-Client-Trust-Liability:F-2026-B",
            f"Liabilities:2100-Client-Trust-Liability:F-{client_file.number}",
            "Liabilities:2100-Client-Trust-Liability:F-2026-n-7",
        ]
    )
    assert {o.date for o in opened.values()} == {JAN(6)}
    # the client's name is in no account
    assert not any("Lopez" in n or "Baker" in n or "Pena" in n for n in opened)

    # one transaction per journal entry, the reversed one and its reversal included
    txns = [e for e in entries if isinstance(e, data.Transaction)]
    assert sorted(int(t.meta["entry"]) for t in txns) == sorted(
        JournalEntry.objects.filter(firm=firm).values_list("pk", flat=True)
    )

    # balance assertions on the first of each month, the last month's closing included,
    # every one held (no error above)
    balances = [e for e in entries if isinstance(e, data.Balance)]
    assert sorted({b.date for b in balances}) == [
        dt.date(2026, 2, 1),
        dt.date(2026, 3, 1),
        dt.date(2026, 4, 1),
    ]
    for day in {b.date for b in balances}:
        assert sorted(b.account for b in balances if b.date == day) == sorted(opened)

    # Beancount's balances at each month end are the books' trial balance, exactly
    for month_end in MONTH_ENDS:
        tb = reports.trial_balance(firm=firm, as_of=month_end)
        by_number = {r.number: r.debit_cents - r.credit_cents for r in tb.rows}
        for name in opened:
            if name.count(":") != 1:
                continue
            number = name.split(":")[1].split("-")[0]
            books = Decimal(by_number.get(number, 0)).scaleb(-2)
            assert beancount_balance(entries, name, month_end) == books, (name, month_end)
        for file in (client_file, quarter["baker"], quarter["pena"]):
            [ledger] = reports.client_trust_ledger(firm=firm, file_id=file.pk, as_of=month_end)
            sub = next(n for n in opened if n.endswith(f":F-{file.number}".replace("/ñ ", "-n-")))
            assert beancount_balance(entries, sub, month_end) == -Decimal(
                ledger.balance_cents
            ).scaleb(-2), (sub, month_end)

    # the figures themselves, at the end of March
    end = MONTH_ENDS[-1]
    assert beancount_balance(entries, "Income:4000-Attorney-Fee-Income", end) == Decimal(
        "-83325.00"
    )
    assert beancount_balance(entries, "Liabilities:2100-Client-Trust-Liability", end) == Decimal(
        "-14000.00"  # Baker 15,000 - 4,000; Peña 3,000
    )
    assert beancount_balance(entries, "Expenses:5100-Unrecovered-Costs-Written-Off", end) == 0


def test_each_transaction_links_back_to_its_entry_file_and_reference(
    firm, admin, quarter, client_file
):
    entries, _ = load(export(firm, admin))
    txns = {int(t.meta["entry"]): t for t in entries if isinstance(t, data.Transaction)}

    receipt = next(t for t in txns.values() if t.meta.get("external_ref") == "cases-deposit-1")
    assert receipt.payee == "Acme Insurance"
    assert receipt.meta["file"] == client_file.number
    assert receipt.date == JAN(20)
    assert {(p.account, p.units.number) for p in receipt.postings} == {
        ("Assets:1010-Client-Trust-Bank-IOLTA", Decimal("250000.00")),
        (f"Liabilities:2100-Client-Trust-Liability:F-{client_file.number}", Decimal("-250000.00")),
    }

    fee = quarter["fee"]
    posted, reversal = txns[fee.pk], txns[fee.reversed_by.pk]
    assert posted.narration == 'Bank fee "February" \\ wire'  # escaped, read back as typed
    assert posted.meta["reversed_by"] == str(fee.reversed_by.pk)
    assert reversal.meta["reverses"] == str(fee.pk)
    assert [(p.account, p.units.number) for p in reversal.postings] == [
        ("Expenses:5100-Unrecovered-Costs-Written-Off", Decimal("-35.00")),
        ("Assets:1000-Operating-Bank", Decimal("35.00")),
    ]

    voided = [t for t in txns.values() if t.payee == "Valley Medical"]
    assert len(voided) == 3  # issued, its void, and the check issued again
    assert {t.meta["file"] for t in voided} == {"2026-B"}

    [invoice] = [t for t in txns.values() if t.meta.get("external_ref") == "cases-fee-1"]
    assert sum(p.units.number for p in invoice.postings) == 0
    assert invoice.meta["source"] == "invoice"
    payee_with_quotes = next(t for t in txns.values() if t.payee == 'Dr. "Bones" Inc')
    assert payee_with_quotes.meta["file"] == "2026-B"


def test_a_date_range_opens_with_the_balances_of_the_day_before(firm, admin, quarter, client_file):
    text = export(firm, admin, start=FEB(1), end=FEB(28))
    entries, _ = load(text)
    txns = [e for e in entries if isinstance(e, data.Transaction)]
    opening = txns[0]
    assert (opening.narration, opening.date) == ("Opening balances", FEB(1))
    assert {t.date for t in txns[1:]} <= {FEB(d) for d in range(1, 29)}
    in_february = JournalEntry.objects.filter(firm=firm, date__range=(FEB(1), FEB(28)))
    assert sorted(int(t.meta["entry"]) for t in txns[1:]) == sorted(
        in_february.values_list("pk", flat=True)
    )
    # the opening transaction carries January's closing trial balance
    tb = reports.trial_balance(firm=firm, as_of=JAN(31))
    opened = names_of(entries)
    for row in tb.rows:
        name = next(n for n in opened if n.count(":") == 1 and f":{row.number}-" in n)
        assert beancount_balance(entries, name, FEB(1)) == Decimal(
            row.debit_cents - row.credit_cents
        ).scaleb(-2)
    # and the one assertion, on March 1, is February's closing balance, held
    balances = [e for e in entries if isinstance(e, data.Balance)]
    assert {b.date for b in balances} == {MAR(1)}
    tb_feb = {
        r.number: r.debit_cents - r.credit_cents
        for r in reports.trial_balance(firm=firm, as_of=FEB(28)).rows
    }
    operating = next(b for b in balances if b.account == "Assets:1000-Operating-Bank")
    assert operating.amount.number == Decimal(tb_feb["1000"]).scaleb(-2)


def test_a_range_ending_mid_month_asserts_its_last_day(firm, admin, quarter):
    entries, _ = load(export(firm, admin, end=MAR(5)))
    balances = [e for e in entries if isinstance(e, data.Balance)]
    assert sorted({b.date for b in balances}) == [FEB(1), MAR(1), MAR(6)]
    txns = [e for e in entries if isinstance(e, data.Transaction)]
    assert max(t.date for t in txns) == MAR(5)


def test_a_range_after_the_last_entry_holds_the_closing_balances(firm, admin, quarter):
    entries, _ = load(export(firm, admin, start=dt.date(2026, 6, 10)))
    [opening] = [e for e in entries if isinstance(e, data.Transaction)]
    assert opening.narration == "Opening balances"
    balances = [e for e in entries if isinstance(e, data.Balance)]
    assert {b.date for b in balances} == {dt.date(2026, 6, 11)}
    fees = next(b for b in balances if b.account == "Income:4000-Attorney-Fee-Income")
    assert fees.amount.number == Decimal("-83325.00")


def test_an_empty_ledger_exports_only_its_options(firm, admin):
    text = export(firm, admin)
    entries, options = load(text)
    assert entries == []
    assert options["title"] == firm.name


def test_staff_may_not_export_and_an_end_before_the_start_is_refused(firm, admin, quarter):
    staff = auth.user_create(firm=firm, email="stan@smith.test", password=PASSWORD, role=Role.STAFF)
    with pytest.raises(DomainError) as info:
        beancount_export(firm=firm, actor=staff)
    assert info.value.code == "role_required"
    with pytest.raises(DomainError) as info:
        beancount_export(firm=firm, actor=admin, start=MAR(1), end=FEB(1))
    assert (info.value.code, info.value.field) == ("validation_error", "to")


def test_the_export_names_accounts_by_number_and_files_never_by_client(firm, admin, quarter):
    text = export(firm, admin)
    for client in ("Maria Lopez", "Tom Baker", "José Peña"):
        for line in text.splitlines():
            if " open " in line or " balance " in line:
                assert client not in line
