"""A client's trust is never below zero on any date (ADR 0011).

A disbursement dated D may not take more than the file's trust balance as of D, nor more
than any later running balance: the money a later deposit brings was not there on D, and
the money a later disbursement already took is spoken for. Voiding a deposit is held to
the same rule from the void's date on. Refusals name what was available on D and write
nothing.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter, defaultdict
from dataclasses import replace
from functools import partial

import pytest
from django.db import connection, transaction
from django.db.models import Sum
from django.test.utils import CaptureQueriesContext
from hypothesis import example, given, settings
from hypothesis import strategies as st

from casebridge.books.errors import TrustOverdraw
from casebridge.books.models import AccountRole, Check, Posting, TrustLedger, TrustReceipt
from casebridge.books.selectors.reports import client_trust_ledger, trial_balance
from casebridge.books.services import checks, files
from casebridge.books.services.checks import CheckRequest
from casebridge.books.services.journal import EntrySpec, Line, journal_entries_post_batch
from casebridge.books.services.maintenance import ledger_integrity_check
from tests.books.ledger_helpers import (
    assert_books_consistent,
    books_open,
    deposit,
    refused,
    trust_balance,
    trust_check,
)
from tests.books.test_concurrency import at_the_same_moment
from tests.conftest import account


def day(n: int) -> dt.date:
    """Day n of March 2026."""
    return dt.date(2026, 3, n)


def running_balances(firm, file) -> list[tuple[dt.date, int]]:
    """(date, running balance) of every line of the file's client trust ledger report."""
    [ledger] = client_trust_ledger(firm=firm, file_id=file.pk)
    return [(line.date, line.balance_cents) for line in ledger.lines]


def end_of_day_balances(file) -> dict[dt.date, int]:
    """The file's trust at the end of every day something was posted, from the postings."""
    by_day = (
        Posting.objects.filter(trust_ledger__file=file)
        .values("entry__date")
        .annotate(c=Sum("credit_cents"), d=Sum("debit_cents"))
        .order_by("entry__date")
    )
    running, out = 0, {}
    for row in by_day:
        running += row["c"] - row["d"]
        out[row["entry__date"]] = running
    return out


def never_below_zero(file) -> bool:
    return all(balance >= 0 for balance in end_of_day_balances(file).values())


@pytest.fixture(autouse=True)
def opened(firm, admin) -> None:
    """The books open on Jan 1 (ADR 0007): the checks dated before a deposit reach the
    trust rule, not the date window."""
    books_open(firm, admin)


@pytest.fixture
def second_file(firm, admin, client_file):
    file, _ = files.file_find_or_create(
        firm=firm, actor=admin, name="Lopez v. Acme (2)", client=client_file.client
    )
    return file


def trust_move(firm, file, cents: int, on: dt.date, *, into: bool) -> EntrySpec:
    """A hand-made entry moving ``cents`` into (or out of) ``file``'s trust on ``on``."""
    bank = account(firm, AccountRole.TRUST_BANK)
    liability = account(firm, AccountRole.CLIENT_TRUST_LIABILITY)
    if into:
        lines = [
            Line(account=bank, debit_cents=cents, file=file),
            Line(account=liability, credit_cents=cents, file=file),
        ]
    else:
        lines = [
            Line(account=liability, debit_cents=cents, file=file),
            Line(account=bank, credit_cents=cents, file=file),
        ]
    return EntrySpec(date=on, lines=lines, memo="deposit" if into else "disbursement")


# --- a check dated before the money arrived --------------------------------------------------


def test_a_check_dated_before_the_only_deposit_is_refused(firm, admin, trust, client_file):
    deposit(firm, admin, trust, client_file, 50_000, on=day(10))

    with refused(TrustOverdraw, code="insufficient_trust_funds") as info:
        trust_check(firm, admin, trust, client_file, 20_000, on=day(1))

    assert info.value.details == {
        "available_cents": 0,
        "requested_cents": 20_000,
        "file_id": client_file.pk,
        "date": "2026-03-01",
    }
    assert info.value.message == (
        f"file {client_file.number} has $0.00 available in trust on 2026-03-01 "
        "(it has $500.00 available from 2026-03-10); $200.00 was requested"
    )
    assert running_balances(firm, client_file) == [(day(10), 50_000)]
    trust_bank = account(firm, AccountRole.TRUST_BANK)
    assert [
        r for r in trial_balance(firm=firm, as_of=day(1)).rows if r.account_id == trust_bank.pk
    ] == []


def test_a_check_dated_between_two_deposits_may_spend_only_the_first(
    firm, admin, trust, client_file
):
    deposit(firm, admin, trust, client_file, 30_000, on=day(1))
    deposit(firm, admin, trust, client_file, 70_000, on=day(10))

    # today's balance is $1,000.00, but on the 5th only the first $300.00 was there
    with refused(TrustOverdraw, code="insufficient_trust_funds") as info:
        trust_check(firm, admin, trust, client_file, 50_000, on=day(5))
    assert info.value.details["available_cents"] == 30_000
    assert info.value.message == (
        f"file {client_file.number} has $300.00 available in trust on 2026-03-05 "
        "(it has $1,000.00 available from 2026-03-10); $500.00 was requested"
    )

    trust_check(firm, admin, trust, client_file, 30_000, on=day(5))  # all of it: fine
    assert running_balances(firm, client_file) == [
        (day(1), 30_000),
        (day(5), 0),
        (day(10), 70_000),
    ]
    assert_books_consistent(firm)


def test_a_check_that_fits_its_date_but_not_a_later_one_is_refused(firm, admin, trust, client_file):
    deposit(firm, admin, trust, client_file, 100_000, on=day(1))
    trust_check(firm, admin, trust, client_file, 70_000, on=day(20), payee="Valley Medical")
    deposit(firm, admin, trust, client_file, 50_000, on=day(25))
    assert trust_balance(client_file) == 80_000

    # $1,000.00 on the 5th, and $800.00 today; but the 20th's lien check leaves $300.00
    with refused(TrustOverdraw, code="insufficient_trust_funds") as info:
        trust_check(firm, admin, trust, client_file, 40_000, on=day(5))
    assert info.value.details == {
        "available_cents": 30_000,
        "requested_cents": 40_000,
        "file_id": client_file.pk,
        "date": "2026-03-05",
        "limited_on": "2026-03-20",
    }
    assert info.value.message == (
        f"file {client_file.number} has $300.00 available in trust on 2026-03-05 "
        "(its balance falls to $300.00 on 2026-03-20); $400.00 was requested"
    )

    trust_check(firm, admin, trust, client_file, 30_000, on=day(5))
    assert end_of_day_balances(client_file) == {
        day(1): 100_000,
        day(5): 70_000,
        day(20): 0,
        day(25): 50_000,
    }
    assert_books_consistent(firm)


def test_a_check_that_fits_every_date_is_accepted(firm, admin, trust, client_file):
    deposit(firm, admin, trust, client_file, 50_000, on=day(1))
    trust_check(firm, admin, trust, client_file, 20_000, on=day(20))

    check = trust_check(firm, admin, trust, client_file, 30_000, on=day(5))

    assert check.request_date == day(5)
    assert running_balances(firm, client_file) == [
        (day(1), 50_000),
        (day(5), 20_000),
        (day(20), 0),
    ]
    assert never_below_zero(client_file)
    assert_books_consistent(firm)


# --- voids -----------------------------------------------------------------------------------


def test_voiding_a_deposit_already_paid_out_is_refused(firm, admin, trust, client_file):
    receipt = deposit(firm, admin, trust, client_file, 50_000, on=day(1))
    trust_check(firm, admin, trust, client_file, 30_000, on=day(5))

    for void_date in (None, day(3), day(5), day(6)):  # today, before and after the check
        with refused(TrustOverdraw, code="insufficient_trust_funds"):
            checks.trust_receipt_void(
                firm=firm, actor=admin, receipt_id=receipt.pk, void_date=void_date
            )
    assert end_of_day_balances(client_file) == {day(1): 50_000, day(5): 20_000}


def test_voiding_a_deposit_is_refused_if_any_balance_from_the_voids_date_on_goes_below_zero(
    firm, admin, trust, client_file
):
    receipt = deposit(firm, admin, trust, client_file, 50_000, on=day(1))
    trust_check(firm, admin, trust, client_file, 30_000, on=day(5))
    deposit(firm, admin, trust, client_file, 100_000, on=day(8), payer="Second Insurer")

    # today's $1,200.00 would cover it, but on the 6th (and 7th) the file held $200.00
    with refused(TrustOverdraw, code="insufficient_trust_funds") as info:
        checks.trust_receipt_void(firm=firm, actor=admin, receipt_id=receipt.pk, void_date=day(6))
    assert info.value.details["available_cents"] == 20_000
    assert info.value.message == (
        f"file {client_file.number} has $200.00 available in trust on 2026-03-06 "
        "(it has $1,200.00 available from 2026-03-08); $500.00 was requested"
    )

    # voided on a date the later deposit covers, every running balance stays >= 0: the
    # reversal is dated on the void date, and the days before it are as they were
    checks.trust_receipt_void(firm=firm, actor=admin, receipt_id=receipt.pk, void_date=day(9))
    assert end_of_day_balances(client_file) == {
        day(1): 50_000,
        day(5): 20_000,
        day(8): 120_000,
        day(9): 70_000,
    }
    assert_books_consistent(firm)


def test_voiding_a_check_only_puts_money_back(firm, admin, trust, client_file):
    deposit(firm, admin, trust, client_file, 50_000, on=day(1))
    check = trust_check(firm, admin, trust, client_file, 50_000, on=day(5))

    checks.check_void(firm=firm, actor=admin, check_id=check.pk, void_date=day(5))

    assert end_of_day_balances(client_file) == {day(1): 50_000, day(5): 50_000}
    assert Check.objects.get(pk=check.pk).status == "voided"


# --- batches ---------------------------------------------------------------------------------


def test_a_batch_may_not_withdraw_before_its_own_deposit(firm, client_file):
    with refused(TrustOverdraw, code="insufficient_trust_funds") as info:
        journal_entries_post_batch(
            firm=firm,
            entries=[
                trust_move(firm, client_file, 10_000, day(3), into=True),
                trust_move(firm, client_file, 4_000, day(2), into=False),
            ],
        )
    assert info.value.message == (
        f"entry 2: file {client_file.number} has $0.00 available in trust on 2026-03-02 "
        "(it has $100.00 available from 2026-03-03); $40.00 was requested"
    )
    assert info.value.details["available_cents"] == 0

    # the same two entries dated the other way round are fine
    journal_entries_post_batch(
        firm=firm,
        entries=[
            trust_move(firm, client_file, 10_000, day(2), into=True),
            trust_move(firm, client_file, 4_000, day(3), into=False),
        ],
    )
    assert end_of_day_balances(client_file) == {day(2): 10_000, day(3): 6_000}


def test_a_batch_of_checks_names_the_check_that_was_not_covered_on_its_date(
    firm, admin, trust, client_file
):
    deposit(firm, admin, trust, client_file, 100_000, on=day(10))
    lien = CheckRequest(
        bank_account_id=trust.pk,
        payee="Valley Medical",
        amount_cents=10_000,
        file_id=client_file.pk,
        request_date=day(12),
    )
    early = replace(lien, payee="Lopez", amount_cents=5_000, request_date=day(5))

    with refused(TrustOverdraw, code="insufficient_trust_funds") as info:
        checks.check_requests_find_or_create(firm=firm, actor=admin, requests=[lien, early])

    assert info.value.details == {
        "available_cents": 0,
        "requested_cents": 5_000,
        "file_id": client_file.pk,
        "date": "2026-03-05",
        "index": 1,
    }
    assert info.value.message == (
        f"file {client_file.number} has $0.00 available in trust on 2026-03-05 "
        "(it has $900.00 available from 2026-03-10); $50.00 was requested"
    )


def test_every_file_of_a_batch_is_held_to_every_date_with_its_own_figures(
    firm, admin, trust, client_file, second_file
):
    deposit(firm, admin, trust, client_file, 10_000, on=day(1))
    deposit(firm, admin, trust, second_file, 10_000, on=day(1))
    trust_check(firm, admin, trust, second_file, 10_000, on=day(9))
    deposit(firm, admin, trust, second_file, 10_000, on=day(20))

    # the second file has $100.00 today and will have $150.00 with the batch's deposit,
    # but the 9th's check leaves $50.00 of it on the 9th for a check dated the 5th
    with refused(TrustOverdraw, code="insufficient_trust_funds") as info:
        journal_entries_post_batch(
            firm=firm,
            entries=[
                trust_move(firm, client_file, 5_000, day(4), into=False),  # fine
                trust_move(firm, second_file, 5_000, day(6), into=True),
                trust_move(firm, second_file, 8_000, day(5), into=False),
            ],
        )
    assert info.value.details == {
        "available_cents": 5_000,
        "requested_cents": 8_000,
        "file_id": second_file.pk,
        "date": "2026-03-05",
        "limited_on": "2026-03-09",
    }
    assert info.value.message == (
        f"entry 3: file {second_file.number} has $50.00 available in trust on 2026-03-05 "
        "(its balance falls to $50.00 on 2026-03-09); $80.00 was requested"
    )

    journal_entries_post_batch(
        firm=firm,
        entries=[
            trust_move(firm, client_file, 5_000, day(4), into=False),
            trust_move(firm, second_file, 5_000, day(6), into=True),
            trust_move(firm, second_file, 5_000, day(5), into=False),
        ],
    )
    assert end_of_day_balances(client_file) == {day(1): 10_000, day(4): 5_000}
    assert end_of_day_balances(second_file) == {
        day(1): 10_000,
        day(5): 5_000,
        day(6): 10_000,
        day(9): 0,
        day(20): 10_000,
    }
    assert_books_consistent(firm)


# --- the cost: one grouped query, and none when nothing is dated after the withdrawal -------


def grouped_posting_reads(queries) -> list[str]:
    return [
        q["sql"] for q in queries if 'FROM "books_posting"' in q["sql"] and "GROUP BY" in q["sql"]
    ]


def test_a_withdrawal_with_nothing_dated_after_it_reads_no_postings(
    firm, admin, trust, client_file, second_file
):
    deposit(firm, admin, trust, client_file, 10_000, on=day(1))
    deposit(firm, admin, trust, second_file, 10_000, on=day(3))

    with CaptureQueriesContext(connection) as ctx:
        journal_entries_post_batch(
            firm=firm,
            entries=[
                trust_move(firm, client_file, 1_000, day(3), into=False),
                trust_move(firm, second_file, 1_000, day(3), into=False),
                trust_move(firm, second_file, 1_000, day(4), into=False),
            ],
        )
    posting_reads = [
        q["sql"]
        for q in ctx.captured_queries
        if q["sql"].lstrip().upper().startswith("SELECT") and '"books_posting"' in q["sql"]
    ]
    assert posting_reads == []  # postings are written, never read


def test_withdrawals_dated_before_other_postings_read_them_in_one_query(
    firm, admin, trust, client_file, second_file
):
    for file in (client_file, second_file):
        deposit(firm, admin, trust, file, 10_000, on=day(1))
        deposit(firm, admin, trust, file, 10_000, on=day(20))

    with CaptureQueriesContext(connection) as ctx:
        journal_entries_post_batch(
            firm=firm,
            entries=[
                trust_move(firm, client_file, 1_000, day(3), into=False),
                trust_move(firm, second_file, 1_000, day(5), into=False),
                trust_move(firm, second_file, 1_000, day(2), into=False),
            ],
        )
    assert len(grouped_posting_reads(ctx.captured_queries)) == 1
    assert end_of_day_balances(second_file) == {
        day(1): 10_000,
        day(2): 9_000,
        day(5): 8_000,
        day(20): 18_000,
    }


def test_the_integrity_check_reports_a_ledgers_latest_date_that_drifted(
    firm, admin, trust, client_file
):
    deposit(firm, admin, trust, client_file, 10_000, on=day(10))
    assert ledger_integrity_check(firm=firm).ok

    TrustLedger.objects.filter(file=client_file).update(latest_posting_date=day(9))

    assert ledger_integrity_check(firm=firm).problems == [
        f"trust ledger of file {client_file.number} latest posting date 2026-03-09 "
        "!= postings 2026-03-10"
    ]


# --- any sequence the service accepts leaves every date at or above zero --------------------

OPERATION = st.tuples(
    st.sampled_from(["deposit"] * 3 + ["check"] * 3 + ["void receipt", "void check"]),
    st.integers(min_value=0, max_value=1),  # which file
    st.integers(min_value=1, max_value=10),  # day of March
    st.integers(min_value=1, max_value=60_000),  # cents (or, for a void, which one)
)


def model_available(model: dict[dt.date, int], on: dt.date) -> int:
    """What a withdrawal dated ``on`` may take: the lowest running balance from ``on`` on."""
    dates = sorted(set(model) | {on})
    running, lowest = 0, None
    for d in dates:
        running += model.get(d, 0)
        if d >= on:
            lowest = running if lowest is None else min(lowest, running)
    assert lowest is not None
    return lowest


def test_whatever_the_service_accepts_no_date_is_ever_below_zero(
    firm, admin, trust, client_file, second_file
):
    seen: Counter[str] = Counter()

    @settings(max_examples=40)
    @given(operations=st.lists(OPERATION, min_size=4, max_size=25))
    @example(  # one of each, whatever the random ones draw
        operations=[
            ("deposit", 0, 5, 40_000),
            ("check", 0, 2, 4_000),  # before the deposit: refused, on a date
            ("check", 0, 6, 4_000),
            ("void check", 0, 7, 0),
            ("void receipt", 0, 8, 0),
            ("check", 1, 3, 4),  # nothing in the second file: refused, the balance
        ]
    )
    def sequences(operations) -> None:
        sid = transaction.savepoint()  # each example starts from the fixtures' books
        try:
            play(operations, firm, admin, trust, [client_file, second_file], seen)
        finally:
            transaction.savepoint_rollback(sid)

    sequences()
    # the examples took every path: refusals because of a date, and voids
    assert {
        "refused: a date",
        "refused: the balance",
        "accepted: check",
        "accepted: void receipt",
        "accepted: void check",
    } <= set(seen), seen


def play(operations, firm, admin, trust, the_files, seen: Counter[str]) -> None:
    """Deposits, checks and voids on any dates; each accepted exactly when a model of the
    files' dated balances says it fits, and refused (writing nothing) with the model's
    figure otherwise. Then every day of every file is at or above zero."""
    model: dict[int, dict[dt.date, int]] = {f.pk: defaultdict(int) for f in the_files}
    receipts: list[TrustReceipt] = []
    issued: list[Check] = []
    for kind, which, n, cents in operations:
        on = day(n)
        if kind == "deposit":
            receipts.append(deposit(firm, admin, trust, the_files[which], cents, on=on))
            model[the_files[which].pk][on] += cents
            continue
        doc: TrustReceipt | Check | None = None
        if kind == "check":  # smaller than deposits, so that many fit
            file, taken = the_files[which], cents // 4 + 1
            act = partial(trust_check, firm, admin, trust, file, taken, on=on)
        else:
            pool: list = receipts if kind == "void receipt" else issued
            live = [d for d in pool if d.status != "voided"]
            if not live:
                continue
            doc = live[cents % len(live)]
            file = doc.file
            if isinstance(doc, TrustReceipt):  # a void dated on or after the document
                on, taken = max(doc.received_on, on), doc.amount_cents
                act = partial(
                    checks.trust_receipt_void,
                    firm=firm,
                    actor=admin,
                    receipt_id=doc.pk,
                    void_date=on,
                )
            else:
                on, taken = max(doc.request_date, on), -doc.amount_cents
                act = partial(
                    checks.check_void, firm=firm, actor=admin, check_id=doc.pk, void_date=on
                )
        available = model_available(model[file.pk], on)
        if taken > available:
            with refused(TrustOverdraw, code="insufficient_trust_funds") as info:
                act()
            assert info.value.details["available_cents"] == available
            seen["refused: a date" if "date" in info.value.details else "refused: the balance"] += 1
            if kind != "check":
                seen[f"refused: {kind}"] += 1
            continue
        done = act()
        seen[f"accepted: {kind}"] += 1
        model[file.pk][on] -= taken
        if doc is None:
            issued.append(done)
        else:
            doc.status = done.status
    for file in the_files:
        balances = end_of_day_balances(file)
        assert all(balance >= 0 for balance in balances.values()), balances
        assert balances == {
            d: sum(change for when, change in model[file.pk].items() if when <= d) for d in balances
        }
    assert_books_consistent(firm)


# --- two back-dated checks at the same moment (PostgreSQL: real row locks) ------------------


@pytest.mark.postgres_only
@pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="needs PostgreSQL: SQLite serialises every writer, so there is no race to test",
)
@pytest.mark.django_db(transaction=True)
def test_two_back_dated_checks_beyond_their_dates_balance_one_wins(firm, admin, trust, client_file):
    deposit(firm, admin, trust, client_file, 50_000, on=day(1))
    deposit(firm, admin, trust, client_file, 100_000, on=day(10))

    def pay_300_on_the_5th():
        return trust_check(firm, admin, trust, client_file, 30_000, on=day(5))

    # each alone fits the 5th's $500.00, and both fit today's $1,500.00; together not the 5th
    outcomes = at_the_same_moment(pay_300_on_the_5th, pay_300_on_the_5th)

    assert sorted(kind for kind, _ in outcomes) == ["error", "ok"], outcomes
    [error] = [value for kind, value in outcomes if kind == "error"]
    assert isinstance(error, TrustOverdraw)
    assert error.details["available_cents"] == 20_000  # it saw the winner's check
    assert Check.objects.count() == 1
    assert end_of_day_balances(client_file) == {day(1): 50_000, day(5): 20_000, day(10): 120_000}
    assert_books_consistent(firm)
