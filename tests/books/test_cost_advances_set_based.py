"""Cost advances by file, set-based (ADR 0053): one grouped query with window sums gives
what the per-posting walk gave (ADR 0042: recoveries pay the oldest advances first).

A messy workload on the Advanced client costs account: advances from operating on the
same day and across the aging buckets, voids dated before and after the report's day, a
recovery by a final invoice, a write-off, a manual advance without a file, a file
recovered beyond what it was advanced, and a manual advance reversed after the report's
day. Each day's report is held to exact figures and to :func:`walked`, the per-posting
FIFO walk the report used to run, kept here as the reference."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db.models import Q

from casebridge.books.models import AccountRole, ActivityCode, File, Firm, GLAccount, Posting
from casebridge.books.selectors import financial, reports
from casebridge.books.services import checks, files, invoices
from casebridge.books.services.journal import Line, journal_entry_post, journal_entry_reverse
from tests.books.ledger_helpers import books_open, deposit, operating_check

D = dt.date


def walked(firm: Firm, day: dt.date) -> list[tuple[object, ...]]:
    """The report as ADR 0042 computed it: advances streamed newest first per file, each
    taking what is still owed. (file number, advanced, recovered, unrecovered, oldest
    unrecovered, age, buckets)."""
    account = GLAccount.objects.get(firm=firm, role=AccountRole.ADVANCED_COSTS)
    counted = (
        Posting.objects.filter(account=account, entry__date__lte=day)
        .exclude(Q(entry__reverses__isnull=True) & Q(entry__reversed_by__date__lte=day))
        .exclude(Q(entry__reverses__isnull=False) & Q(entry__reverses__reverses__isnull=True))
    )
    totals: dict[int | None, list[int]] = {}
    for fid, debit, credit in counted.values_list("file_id", "debit_cents", "credit_cents"):
        sums = totals.setdefault(fid, [0, 0])
        sums[0] += debit
        sums[1] += credit
    left = {fid: d - c for fid, (d, c) in totals.items() if d - c > 0}
    aging: dict[int | None, tuple[dt.date, list[int]]] = {}
    for fid, date, cents in (
        counted.filter(debit_cents__gt=0)
        .order_by("file_id", "-entry__date", "-entry_id", "-pk")
        .values_list("file_id", "entry__date", "debit_cents")
    ):
        owed = left.get(fid, 0)
        if owed <= 0:
            continue
        part = min(owed, cents)
        left[fid] = owed - part
        age = (day - date).days
        bucket = 0 if age <= 30 else 1 if age <= 60 else 2 if age <= 90 else 3
        buckets = aging.get(fid, (date, [0, 0, 0, 0]))[1]
        buckets[bucket] += part
        aging[fid] = (date, buckets)
    numbers = dict(File.objects.filter(firm=firm).values_list("pk", "number"))
    rows = []
    for fid, (d, c) in totals.items():
        if d == c:
            continue
        oldest, buckets = aging.get(fid, (None, [0, 0, 0, 0]))
        rows.append(
            (numbers.get(fid, ""), d, c, d - c, oldest,
             (day - oldest).days if oldest else None, tuple(buckets))
        )  # fmt: skip
    return sorted(rows, key=lambda r: (r[0] == "", r[0]))


def rows(report: financial.CostAdvances) -> list[tuple[object, ...]]:
    return [
        (r.file_number, r.advanced_cents, r.recovered_cents, r.unrecovered_cents,
         r.oldest_unrecovered, r.age_days, r.buckets_cents)
        for r in report.rows
    ]  # fmt: skip


@pytest.fixture
def messy(firm, admin, attorney, operating, trust, client_file, today) -> dict[str, File]:
    books_open(firm, admin, on=D(2025, 1, 1))
    copying = ActivityCode.objects.get(firm=firm, code="E101")
    costs = GLAccount.objects.get(firm=firm, role=AccountRole.ADVANCED_COSTS)
    cash = GLAccount.objects.get(firm=firm, number="1000")
    write_off = GLAccount.objects.get(firm=firm, role=AccountRole.WRITE_OFF)

    def new_file(number: str, client: str) -> File:
        contact, _ = files.contact_find_or_create(firm=firm, actor=admin, name=client)
        return files.file_find_or_create(
            firm=firm, actor=admin, name=f"{client} matter", client=contact, number=number
        )[0]

    a, b, c, d = client_file, new_file("M-B", "Bo"), new_file("M-C", "Cy"), new_file("M-D", "Di")

    def advance(file: File | None, cents: int, on: dt.date):
        return operating_check(firm, admin, operating, file, cents, copying, on=on)

    def manual(on: dt.date, debit: Line, credit: Line, memo: str):
        return journal_entry_post(firm=firm, date=on, lines=[debit, credit], memo=memo, actor=admin)

    # file A: three advances, two of them the same day; recovered 250.00 by an invoice
    advance(a, 10_000, D(2026, 1, 5))
    advance(a, 20_000, D(2026, 2, 20))
    advance(a, 5_000, D(2026, 2, 20))
    deposit(firm, admin, trust, a, 1_000_000, on=D(2026, 3, 1))
    invoice = invoices.invoice_create(
        firm=firm, actor=admin, file_id=a.pk, pay_from_trust=True, invoice_date=D(2026, 3, 10),
        lines=[invoices.LineSpec(kind="cost", description="Copies", amount_cents=25_000,
                                 activity_code_id=copying.pk)],
    )  # fmt: skip
    invoices.invoice_finalise(firm=firm, actor=admin, invoice_id=invoice.pk, on=D(2026, 3, 10))
    # file B: one advance voided before March 31, one voided after it, one kept
    voided = advance(b, 7_000, D(2026, 1, 15))
    checks.check_void(firm=firm, actor=admin, check_id=voided.pk, void_date=D(2026, 2, 1))
    late_void = advance(b, 9_000, D(2026, 3, 20))
    checks.check_void(firm=firm, actor=admin, check_id=late_void.pk, void_date=D(2026, 4, 10))
    advance(b, 4_000, D(2025, 11, 1))
    # file C: 600.00 advanced, 100.00 written off, 800.00 "recovered" by a manual entry
    advance(c, 60_000, D(2025, 12, 1))
    manual(
        D(2026, 1, 31),
        Line(account=write_off, debit_cents=10_000),
        Line(account=costs, credit_cents=10_000, file=c),
        "Written off",
    )
    manual(
        D(2026, 3, 25),
        Line(account=cash, debit_cents=80_000),
        Line(account=costs, credit_cents=80_000, file=c),
        "Recovered from the insurer",
    )
    # file D: a manual advance, reversed on 20 April
    entry = manual(
        D(2026, 2, 2),
        Line(account=costs, debit_cents=3_000, file=d),
        Line(account=cash, credit_cents=3_000),
        "Expert deposit",
    )
    journal_entry_reverse(firm=firm, entry=entry, date=D(2026, 4, 20), actor=admin)
    # no file: a manual advance for the firm's own matter
    manual(D(2026, 3, 3), Line(account=costs, debit_cents=1_500),
           Line(account=cash, credit_cents=1_500), "Advance, no file")  # fmt: skip
    return {"a": a, "b": b, "c": c, "d": d}


def test_cost_advances_on_march_31_exactly(firm, messy):
    report = financial.cost_advances_by_file(firm=firm, as_of=D(2026, 3, 31))
    a = messy["a"].number
    assert rows(report) == [
        # 350.00 advanced, 250.00 recovered: the newest 100.00 of 20 February is left
        (a, 35_000, 25_000, 10_000, D(2026, 2, 20), 39, (0, 10_000, 0, 0)),
        # the January void is in neither column; the March advance voided in April counts
        ("M-B", 13_000, 0, 13_000, D(2025, 11, 1), 150, (9_000, 0, 0, 4_000)),
        # recovered beyond the advance: negative, nothing to age
        ("M-C", 60_000, 90_000, -30_000, None, None, (0, 0, 0, 0)),
        # reversed after the day: the advance still counts
        ("M-D", 3_000, 0, 3_000, D(2026, 2, 2), 57, (0, 3_000, 0, 0)),
        ("", 1_500, 0, 1_500, D(2026, 3, 3), 28, (1_500, 0, 0, 0)),
    ]
    assert report.unrecovered_cents == -2_500 == sum(r[3] for r in rows(report))
    assert report.unrecovered_cents == reports.account_balance_cents(
        firm=firm,
        account_id=GLAccount.objects.get(firm=firm, role=AccountRole.ADVANCED_COSTS).pk,
        as_of=D(2026, 3, 31),
    )


@pytest.mark.parametrize(
    "day",
    [D(2025, 11, 1), D(2025, 12, 31), D(2026, 1, 31), D(2026, 2, 1), D(2026, 2, 3),
     D(2026, 2, 20), D(2026, 3, 10), D(2026, 3, 29), D(2026, 3, 31), D(2026, 4, 10),
     D(2026, 4, 20), D(2026, 6, 30)],
)  # fmt: skip
def test_every_day_gives_what_the_per_posting_walk_gave(firm, messy, day):
    report = financial.cost_advances_by_file(firm=firm, as_of=day)
    assert rows(report) == walked(firm, day)
    assert report.buckets_cents == tuple(sum(r.buckets_cents[i] for r in report.rows)
                                         for i in range(4))  # fmt: skip


def test_only_the_files_asked_for(firm, messy):
    report = financial.cost_advances_by_file(
        firm=firm, as_of=D(2026, 3, 31), file_ids=[messy["b"].pk, messy["d"].pk]
    )
    assert [r.file_number for r in report.rows] == ["M-B", "M-D"]
    assert report.unrecovered_cents == 16_000


def test_a_firm_without_an_advanced_costs_account_has_no_rows(firm):
    GLAccount.objects.filter(firm=firm, role=AccountRole.ADVANCED_COSTS).update(role="")
    report = financial.cost_advances_by_file(firm=firm, as_of=D(2026, 3, 31))
    assert (report.rows, report.unrecovered_cents, report.account_number) == ([], 0, "")
