"""The books' reports, each as of a day: every figure comes from the postings dated on or
before it (and the documents as they stood then). Without a date a report is as of today,
so an entry dated later is left out (domain.md 5).

The maintained balance columns (``GLAccount.balance_cents``, ``TrustLedger.balance_cents``)
sum every posting, a later-dated one too, so a report reads them (one row each) only when
the firm has no entry dated after its day (:func:`report_day`, one EXISTS); otherwise it
sums the postings up to the day. The three-way reconciliation always recomputes from
postings too, so drift would show, not hide. The bulk reads at the end serve an
integration's reconciliation: flat rows, one query a page."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any, Literal, cast

from django.core import signing
from django.db.models import Count, FilteredRelation, IntegerField, Q, QuerySet, Sum, Value
from django.db.models.functions import Coalesce, Left

from casebridge.books.errors import ValidationFailed
from casebridge.books.models import (
    DEBIT_NORMAL,
    BankAccount,
    BankAccountKind,
    Check,
    File,
    Firm,
    GLAccount,
    Invoice,
    JournalEntry,
    Posting,
    TrustLedger,
    TrustReceipt,
)
from casebridge.core import clock
from casebridge.core.money import format_cents as f


def report_day(*, firm: Firm, as_of: dt.date | None = None) -> tuple[dt.date, bool]:
    """The day a report is for (``as_of``, else today) and whether the maintained balance
    columns hold the balances of that day: they sum every posting, so only when no entry
    of the firm is dated after it (one EXISTS on the (firm, date) index)."""
    day = as_of or clock.today()
    return day, not JournalEntry.objects.filter(firm=firm, date__gt=day).exists()


def _net(postings: QuerySet[Posting]) -> int:
    """Debits minus credits of ``postings``: one aggregate."""
    sums = postings.aggregate(d=Sum("debit_cents"), c=Sum("credit_cents"))
    return int((sums["d"] or 0) - (sums["c"] or 0))


def gl_balances(
    *, firm: Firm, accounts: Iterable[GLAccount], as_of: dt.date | None = None
) -> dict[int, int]:
    """Each of ``accounts``' balance (debits minus credits) as of ``as_of`` (default
    today), by account id: the loaded maintained column when it holds that day, else one
    grouped sum of the postings up to it."""
    accounts = list(accounts)
    day, maintained = report_day(firm=firm, as_of=as_of)
    if maintained:
        return {a.pk: a.balance_cents for a in accounts}
    balances = dict.fromkeys((a.pk for a in accounts), 0)
    sums = (
        Posting.objects.filter(
            account__firm=firm, account_id__in=balances.keys(), entry__date__lte=day
        )
        .values("account_id")
        .annotate(d=Sum("debit_cents"), c=Sum("credit_cents"))
        .order_by()
    )
    for row in sums:
        balances[row["account_id"]] = (row["d"] or 0) - (row["c"] or 0)
    return balances


@dataclass(frozen=True)
class TrialBalanceRow:
    account_id: int
    number: str
    name: str
    type: str
    debit_cents: int
    credit_cents: int


@dataclass(frozen=True)
class TrialBalance:
    rows: list[TrialBalanceRow]
    total_debit_cents: int
    total_credit_cents: int
    as_of: dt.date

    @property
    def is_balanced(self) -> bool:
        return self.total_debit_cents == self.total_credit_cents


def trial_balance(*, firm: Firm, as_of: dt.date | None = None) -> TrialBalance:
    """Every account's balance as of ``as_of`` (default today) in a debit or credit
    column; the columns are always equal.

    The maintained columns when they hold that day (one row per account), else the
    postings summed up to it (one grouped query, indexed by account)."""
    day, maintained = report_day(firm=firm, as_of=as_of)
    accounts = list(GLAccount.objects.filter(firm=firm).order_by("number"))
    if maintained:
        balances = {a.pk: a.balance_cents for a in accounts}
    else:
        sums = (
            Posting.objects.filter(account__firm=firm, entry__date__lte=day)
            .values("account_id")
            .annotate(d=Sum("debit_cents"), c=Sum("credit_cents"))
            .order_by()
        )
        balances = {row["account_id"]: (row["d"] or 0) - (row["c"] or 0) for row in sums}
    rows = []
    for a in accounts:
        bal = balances.get(a.pk, 0)
        if bal == 0:
            continue
        rows.append(TrialBalanceRow(a.pk, a.number, a.name, a.type, max(bal, 0), max(-bal, 0)))
    return TrialBalance(
        rows=rows,
        total_debit_cents=sum(r.debit_cents for r in rows),
        total_credit_cents=sum(r.credit_cents for r in rows),
        as_of=day,
    )


def account_balance_cents(*, firm: Firm, account_id: int, as_of: dt.date | None = None) -> int:
    """Normal-sign balance of one account as of ``as_of`` (default today): a single
    indexed row read when the maintained column holds that day."""
    acct = GLAccount.objects.filter(firm=firm, pk=account_id).only("balance_cents", "type").first()
    if acct is None:
        raise ValidationFailed("account not found in this firm", field="account")
    balance = gl_balances(firm=firm, accounts=[acct], as_of=as_of)[acct.pk]
    return balance if acct.type in DEBIT_NORMAL else -balance


def client_trust_total_cents(*, firm: Firm, as_of: dt.date | None = None) -> int:
    """What the firm holds for its clients in all its trust accounts as of ``as_of``
    (default today): the sum of the client ledgers."""
    day, maintained = report_day(firm=firm, as_of=as_of)
    if maintained:
        total = TrustLedger.objects.filter(firm=firm).aggregate(s=Sum("balance_cents"))["s"]
        return int(total or 0)
    return -_net(Posting.objects.filter(trust_ledger__firm=firm, entry__date__lte=day))


@dataclass(frozen=True)
class LedgerLine:
    posting_id: int
    entry_id: int
    date: dt.date
    memo: str
    reference: str
    deposit_cents: int
    disbursement_cents: int
    balance_cents: int
    reverses_id: int | None


@dataclass(frozen=True)
class ClientLedger:
    file: File
    bank_account: BankAccount
    lines: list[LedgerLine]
    balance_cents: int
    as_of: dt.date
    #: postings of this ledger dated after ``as_of``: not in ``lines`` nor the balance
    later_entries: int = 0


def client_trust_ledger(
    *,
    firm: Firm,
    file_id: int,
    bank_account_id: int | None = None,
    as_of: dt.date | None = None,
) -> list[ClientLedger]:
    """A file's client trust ledger(s) as of ``as_of`` (default today), one per trust bank
    account, with running balance: the postings dated on or before that day, and how many
    came later. A ledger whose first posting came later is not there yet."""
    day = as_of or clock.today()
    file = File.objects.filter(firm=firm, pk=file_id).select_related("client").first()
    if file is None:
        raise ValidationFailed("file not found in this firm", field="file")
    ledgers = TrustLedger.objects.filter(firm=firm, file=file).select_related("bank_account")
    if bank_account_id is not None:
        ledgers = ledgers.filter(bank_account_id=bank_account_id)
    result = []
    for tl in ledgers.order_by("bank_account__name"):
        running = later = 0
        lines = []
        for p in (
            Posting.objects.filter(trust_ledger=tl)
            .select_related("entry")
            .order_by("entry__date", "entry_id", "pk")
        ):
            if p.entry.date > day:
                later += 1
                continue
            running += p.credit_cents - p.debit_cents
            lines.append(
                LedgerLine(
                    p.pk,
                    p.entry_id,
                    p.entry.date,
                    p.entry.memo,
                    p.entry.posting_reference,
                    p.credit_cents,
                    p.debit_cents,
                    running,
                    p.entry.reverses_id,
                )
            )
        if lines or not later:
            result.append(ClientLedger(file, tl.bank_account, lines, running, day, later))
    return result


@dataclass(frozen=True)
class JournalLine:
    entry_id: int
    date: dt.date
    memo: str
    file_number: str
    debit_cents: int
    credit_cents: int
    posting_id: int = 0
    #: the trust bank account's balance after this movement (the opening balance of the
    #: period plus every movement up to it)
    balance_cents: int = 0


#: Movements a trust journal page holds by default (the API), and at most.
TRUST_JOURNAL_PAGE_DEFAULT = 500
TRUST_JOURNAL_PAGE_MAX = 1000
_TRUST_JOURNAL_SALT = "casebridge.books.trust-journal"


@dataclass(frozen=True)
class TrustJournalFigures:
    """A trust bank account's figures for a period: the same on every page of it."""

    bank_account: BankAccount
    start: dt.date | None
    end: dt.date
    #: the account's balance before ``start`` (0 without a start)
    opening_cents: int
    deposits_cents: int
    disbursements_cents: int
    #: movements in the period
    count: int
    #: the largest id of the firm's postings when the figures were read: the pages and
    #: the export of these figures count only postings up to it (one consistent read)
    mark: int = 0

    @property
    def closing_cents(self) -> int:
        return self.opening_cents + self.deposits_cents - self.disbursements_cents


@dataclass(frozen=True)
class TrustJournalPage:
    figures: TrustJournalFigures
    lines: list[JournalLine]
    #: the next page's cursor (None on the last page)
    next_cursor: str | None


@dataclass(frozen=True)
class _JournalResume:
    """Where a trust journal page resumes: after the movement (date, entry, posting) whose
    running balance is ``running_cents``, with the period's figures."""

    date: dt.date
    entry_id: int
    posting_id: int
    running_cents: int
    opening_cents: int
    deposits_cents: int
    disbursements_cents: int
    count: int
    mark: int


def posting_mark(firm: Firm) -> int:
    """The largest id of ``firm``'s postings now (0 before any): a report read in pages or
    streamed counts only postings up to it, so an entry posted meanwhile cannot make its
    lines disagree with its totals. The firm's own, so a cursor carrying it says nothing
    of another firm's books."""
    return (
        Posting.objects.filter(entry__firm_id=firm.pk)
        .order_by("-pk")
        .values_list("pk", flat=True)
        .first()
        or 0
    )


def _journal_scope(
    firm: Firm, bank: BankAccount, start: dt.date | None, end: dt.date
) -> list[object]:
    return [firm.pk, bank.pk, start.isoformat() if start else None, end.isoformat()]


def _trust_journal_cursor(
    firm: Firm, bank: BankAccount, start: dt.date | None, end: dt.date, at: _JournalResume
) -> str:
    return signing.Signer(salt=_TRUST_JOURNAL_SALT).sign_object(
        [
            *_journal_scope(firm, bank, start, end),
            at.date.isoformat(),
            at.entry_id,
            at.posting_id,
            at.running_cents,
            at.opening_cents,
            at.deposits_cents,
            at.disbursements_cents,
            at.count,
            at.mark,
        ]
    )


def _read_trust_journal_cursor(
    cursor: str, firm: Firm, bank: BankAccount, start: dt.date | None, end: dt.date
) -> _JournalResume:
    bad = ValidationFailed(
        "cursor: not a cursor of this trust journal and period; pass a page's `next` "
        "unchanged, or leave cursor out for the first page",
        field="cursor",
    )
    try:
        data = signing.Signer(salt=_TRUST_JOURNAL_SALT).unsign_object(cursor)
    except (signing.BadSignature, ValueError, TypeError, UnicodeError):
        raise bad from None
    if not isinstance(data, list) or len(data) != 13:
        raise bad
    if data[:4] != _journal_scope(firm, bank, start, end):
        raise bad
    day, *numbers = data[4:]
    try:
        return _JournalResume(dt.date.fromisoformat(day), *(int(n) for n in numbers))
    except (TypeError, ValueError):
        raise bad from None


def _trust_bank(firm: Firm, bank_account_id: int) -> BankAccount:
    bank = BankAccount.objects.filter(
        firm=firm, pk=bank_account_id, kind=BankAccountKind.TRUST
    ).first()
    if bank is None:
        raise ValidationFailed("trust bank account not found in this firm", field="bank_account")
    return bank


def _journal_movements(
    bank: BankAccount, start: dt.date | None, end: dt.date, mark: int
) -> QuerySet[Posting]:
    """The account's postings of the period, up to the ``mark`` id. The entry's firm too:
    PostgreSQL then walks the (firm, date) entry index in date order and looks each
    posting up by (account, entry), stopping at a page's end."""
    movements = Posting.objects.filter(
        account_id=bank.gl_account_id,
        entry__firm_id=bank.firm_id,
        entry__date__lte=end,
        pk__lte=mark,
    )
    return movements.filter(entry__date__gte=start) if start else movements


def trust_journal_figures(
    *,
    firm: Firm,
    bank_account_id: int,
    start: dt.date | None = None,
    end: dt.date | None = None,
) -> TrustJournalFigures:
    """A trust bank account's opening balance (before ``start``), deposits, disbursements
    and movements from ``start`` to ``end`` (default today): one aggregate, over the
    postings up to :func:`posting_mark` (kept in the figures for their pages and export)."""
    bank = _trust_bank(firm, bank_account_id)
    end = end or clock.today()
    mark = posting_mark(firm)
    up_to_end = Posting.objects.filter(
        account_id=bank.gl_account_id, entry__firm=firm, entry__date__lte=end, pk__lte=mark
    )
    if start:
        before, within = Q(entry__date__lt=start), Q(entry__date__gte=start)
        sums = up_to_end.aggregate(
            od=Sum("debit_cents", filter=before),
            oc=Sum("credit_cents", filter=before),
            d=Sum("debit_cents", filter=within),
            c=Sum("credit_cents", filter=within),
            n=Count("pk", filter=within),
        )
    else:
        sums = up_to_end.aggregate(d=Sum("debit_cents"), c=Sum("credit_cents"), n=Count("pk"))
    return TrustJournalFigures(
        bank,
        start,
        end,
        int((sums.get("od") or 0) - (sums.get("oc") or 0)),
        int(sums["d"] or 0),
        int(sums["c"] or 0),
        int(sums["n"]),
        mark,
    )


_JOURNAL_COLUMNS = (
    "pk", "entry_id", "entry__date", "entry__memo", "file__number", "debit_cents", "credit_cents",
)  # fmt: skip


def trust_account_journal(
    *,
    firm: Firm,
    bank_account_id: int,
    start: dt.date | None = None,
    end: dt.date | None = None,
    cursor: str | None = None,
    limit: int = TRUST_JOURNAL_PAGE_DEFAULT,
) -> TrustJournalPage:
    """One page of every movement of a trust bank account from ``start`` to ``end``
    (default today: an entry dated later is left out), in (date, entry, posting) order,
    each with the account's running balance, and the period's figures
    (:func:`trust_journal_figures`).

    Keyset-paged as the ledger detail (ADR 0053): a page reads at most ``limit``
    movements after the cursor's (date, entry, posting), never skipping rows by OFFSET,
    so a page costs the same at any depth. The figures are summed for the first page; the
    cursor carries them and the running balance, signed, so a later page only reads its
    rows. A cursor of another firm, account or period, or tampered with, is refused
    naming ``cursor`` (a screen shows the first page instead)."""
    bank = _trust_bank(firm, bank_account_id)
    if not 1 <= limit <= TRUST_JOURNAL_PAGE_MAX:
        raise ValidationFailed(f"limit must be from 1 to {TRUST_JOURNAL_PAGE_MAX}", field="limit")
    end = end or clock.today()
    if cursor:
        at = _read_trust_journal_cursor(cursor, firm, bank, start, end)
        figures = TrustJournalFigures(
            bank, start, end, at.opening_cents, at.deposits_cents, at.disbursements_cents,
            at.count, at.mark,
        )  # fmt: skip
        movements = _journal_movements(bank, start, end, figures.mark)
        running = at.running_cents
        movements = movements.filter(
            Q(entry__date__gte=at.date),
            Q(entry__date__gt=at.date)
            | Q(entry_id__gt=at.entry_id)
            | Q(entry_id=at.entry_id, pk__gt=at.posting_id),
        )
    else:
        figures = trust_journal_figures(firm=firm, bank_account_id=bank.pk, start=start, end=end)
        movements = _journal_movements(bank, start, end, figures.mark)
        running = figures.opening_cents
    rows = list(
        movements.order_by("entry__date", "entry_id", "pk").values_list(*_JOURNAL_COLUMNS)[
            : limit + 1
        ]
    )
    lines = []
    for pk, entry_id, day, memo, file_number, debit, credit in rows[:limit]:
        running += debit - credit
        lines.append(
            JournalLine(entry_id, day, memo, file_number or "", debit, credit, pk, running)
        )
    next_cursor = None
    if len(rows) > limit:
        last = lines[-1]
        next_cursor = _trust_journal_cursor(
            firm,
            bank,
            start,
            end,
            _JournalResume(
                last.date, last.entry_id, last.posting_id, running, figures.opening_cents,
                figures.deposits_cents, figures.disbursements_cents, figures.count, figures.mark,
            ),
        )  # fmt: skip
    return TrustJournalPage(figures, lines, next_cursor)


def trust_account_journal_rows(
    *, figures: TrustJournalFigures, chunk_size: int = 2000
) -> Iterator[JournalLine]:
    """Every movement of ``figures``' account and period with its running balance, for
    the exports: streamed from one ordered query (a server-side cursor on PostgreSQL), so
    a long journal is read in constant memory."""
    running = figures.opening_cents
    movements = _journal_movements(figures.bank_account, figures.start, figures.end, figures.mark)
    for pk, entry_id, day, memo, file_number, debit, credit in (
        movements.order_by("entry__date", "entry_id", "pk")
        .values_list(*_JOURNAL_COLUMNS)
        .iterator(chunk_size=chunk_size)
    ):
        running += debit - credit
        yield JournalLine(entry_id, day, memo, file_number or "", debit, credit, pk, running)


@dataclass(frozen=True)
class OutstandingCheck:
    check_id: int
    check_number: int | None
    payee: str
    amount_cents: int


@dataclass(frozen=True)
class ThreeWayReconciliation:
    bank_account: BankAccount
    as_of: dt.date
    statement_balance_cents: int
    deposits_in_transit_cents: int
    outstanding_checks_cents: int
    outstanding_checks: list[OutstandingCheck]
    adjusted_bank_balance_cents: int
    trust_journal_balance_cents: int
    client_ledgers_total_cents: int
    client_ledgers_recomputed_cents: int
    trust_liability_balance_cents: int
    differences: list[str]

    @property
    def is_reconciled(self) -> bool:
        return not self.differences


#: Most client ledgers below zero a reconciliation names one by one (the rest are counted).
MAX_NEGATIVE_LEDGERS_NAMED = 20


def three_way_reconciliation(
    *,
    firm: Firm,
    bank_account_id: int,
    statement_balance_cents: int,
    deposits_in_transit_cents: int,
    outstanding_checks_cents: int | None = None,
    as_of: dt.date | None = None,
) -> ThreeWayReconciliation:
    """Adjusted bank balance = trust journal balance = sum of client ledgers (domain.md 5),
    every figure as of ``as_of`` (the statement date; default today): only postings dated
    on or before it, and the checks as they stood then.

    Outstanding checks default to the checks of this account written by that day, not
    voided by it and not cleared by the bank by it (a statement line matched to the check,
    dated on or before the day: ``selectors.bank``); the saved monthly reconciliation with
    deposits in transit and reconciling items is ``selectors.bank.bank_reconciliation``.

    Compared, all as of that day: the trust bank's GL balance, the client ledgers' total
    (the maintained balances, less what was posted to them after the day), the same
    recomputed from the ledgers' postings, and the client trust liability account. A
    client ledger below zero on the day is a difference too."""
    bank = (
        BankAccount.objects.filter(firm=firm, pk=bank_account_id, kind=BankAccountKind.TRUST)
        .select_related("gl_account", "trust_liability_account")
        .first()
    )
    if bank is None:
        raise ValidationFailed("trust bank account not found in this firm", field="bank_account")
    if deposits_in_transit_cents < 0:
        raise ValidationFailed(
            "deposits in transit cannot be negative", field="deposits_in_transit"
        )
    if outstanding_checks_cents is not None and outstanding_checks_cents < 0:
        raise ValidationFailed("outstanding checks cannot be negative", field="outstanding_checks")
    day, maintained = report_day(firm=firm, as_of=as_of)
    outstanding = []
    if outstanding_checks_cents is None:
        # as they stood that day: written by then and not yet voided
        written = (
            Check.objects.filter(bank_account=bank, request_date__lte=day)
            .exclude(voided_on__lte=day)
            .exclude(entry__cleared__cleared_on__lte=day)
        )
        outstanding = [
            OutstandingCheck(c.pk, c.check_number, c.payee, c.amount_cents)
            for c in written.order_by("pk")
        ]
        outstanding_checks_cents = sum(c.amount_cents for c in outstanding)

    by_day = Posting.objects.filter(entry__date__lte=day)
    journal = _net(by_day.filter(account_id=bank.gl_account_id))
    liability = -_net(by_day.filter(account_id=bank.trust_liability_account_id))
    clients = by_day.filter(trust_ledger__bank_account=bank)
    recomputed_total = -_net(clients)
    ledgers_total = int(
        TrustLedger.objects.filter(bank_account=bank).aggregate(s=Sum("balance_cents"))["s"] or 0
    )
    if not maintained:  # the maintained balances also hold what was posted after the day
        ledgers_total += _net(
            Posting.objects.filter(trust_ledger__bank_account=bank, entry__date__gt=day)
        )
    below_zero = list(
        clients.values("trust_ledger_id", "trust_ledger__file__number")
        .annotate(balance=Sum("credit_cents") - Sum("debit_cents"))
        .filter(balance__lt=0)
        .order_by("trust_ledger__file__number", "trust_ledger_id")
        .values_list("trust_ledger__file__number", "balance")
    )

    adjusted = statement_balance_cents + deposits_in_transit_cents - outstanding_checks_cents
    differences = []
    if adjusted != journal:
        differences.append(
            f"adjusted bank balance {f(adjusted)} differs from the trust journal {f(journal)} "
            f"by {f(adjusted - journal)}"
        )
    if ledgers_total != journal:
        differences.append(
            f"client ledgers total {f(ledgers_total)} differs from the trust journal {f(journal)} "
            f"by {f(ledgers_total - journal)}"
        )
    if recomputed_total != journal:
        differences.append(
            f"client ledger postings total {f(recomputed_total)} differs from the trust journal "
            f"{f(journal)} by {f(recomputed_total - journal)}"
        )
    if liability != journal:
        differences.append(
            f"client trust liability {f(liability)} differs from the trust journal "
            f"{f(journal)} by {f(liability - journal)}"
        )
    if recomputed_total != ledgers_total:
        differences.append(
            f"maintained client balances {f(ledgers_total)} drifted from their postings "
            f"{f(recomputed_total)}"
        )
    for number, balance in below_zero[:MAX_NEGATIVE_LEDGERS_NAMED]:
        differences.append(f"client ledger of file {number} is {f(balance)} on {day.isoformat()}")
    if len(below_zero) > MAX_NEGATIVE_LEDGERS_NAMED:
        differences.append(
            f"and {len(below_zero) - MAX_NEGATIVE_LEDGERS_NAMED} more client ledgers below zero "
            f"on {day.isoformat()}"
        )
    return ThreeWayReconciliation(
        bank_account=bank,
        as_of=day,
        statement_balance_cents=statement_balance_cents,
        deposits_in_transit_cents=deposits_in_transit_cents,
        outstanding_checks_cents=outstanding_checks_cents,
        outstanding_checks=outstanding,
        adjusted_bank_balance_cents=adjusted,
        trust_journal_balance_cents=journal,
        client_ledgers_total_cents=ledgers_total,
        client_ledgers_recomputed_cents=recomputed_total,
        trust_liability_balance_cents=liability,
        differences=differences,
    )


# --- bulk reads for an integration (the bridge's reconciliation) -------------------------
#
# Flat rows straight from ``values_list`` (no model instances), keyset-paged by id, one
# query per page whatever its size.

#: (file id, file number, balance in cents: credit-normal, 0 without a ledger)
FileTrustBalanceRow = tuple[int, str, int]


def trust_balances_of_files(
    *,
    firm: Firm,
    bank_account_id: int,
    file_ids: Iterable[int],
    as_of: dt.date | None = None,
) -> list[FileTrustBalanceRow]:
    """The trust balance in one bank account, as of ``as_of`` (default today), of each of
    ``file_ids`` that is a file of ``firm`` (others are left out), in file id order; 0 for a
    file without a ledger there.

    One query (after :func:`report_day`'s EXISTS): the files left-joined to their ledger in
    that bank (at most one per file), or to its postings up to the day."""
    day, maintained = report_day(firm=firm, as_of=as_of)
    files = File.objects.filter(firm=firm, pk__in=set(file_ids)).order_by("pk")
    if maintained:
        rows = files.alias(
            ledger=FilteredRelation(
                "trust_ledgers", condition=Q(trust_ledgers__bank_account_id=bank_account_id)
            )
        ).values_list("pk", "number", "ledger__balance_cents")
        return [(pk, number, balance or 0) for pk, number, balance in rows]
    held = Q(
        postings__trust_ledger__bank_account_id=bank_account_id, postings__entry__date__lte=day
    )
    summed = files.annotate(
        c=Coalesce(Sum("postings__credit_cents", filter=held), 0),
        d=Coalesce(Sum("postings__debit_cents", filter=held), 0),
    ).values_list("pk", "number", "c", "d")
    return [(pk, number, c - d) for pk, number, c, d in summed]


def trust_balances_page(
    *,
    firm: Firm,
    bank_account_id: int,
    after_file_id: int,
    limit: int,
    as_of: dt.date | None = None,
) -> list[FileTrustBalanceRow]:
    """Every file of ``firm`` with a trust ledger in the bank account (a zero balance
    included), in file id order, from the first file id above ``after_file_id``: one page
    of at most ``limit`` rows, each with its balance as of ``as_of`` (default today); one
    query after :func:`report_day`'s EXISTS."""
    day, maintained = report_day(firm=firm, as_of=as_of)
    ledgers = TrustLedger.objects.filter(
        firm=firm, bank_account_id=bank_account_id, file_id__gt=after_file_id
    ).order_by("file_id")
    if maintained:
        return list(ledgers.values_list("file_id", "file__number", "balance_cents")[:limit])
    up_to_day = Q(postings__entry__date__lte=day)
    summed = ledgers.annotate(
        c=Coalesce(Sum("postings__credit_cents", filter=up_to_day), 0),
        d=Coalesce(Sum("postings__debit_cents", filter=up_to_day), 0),
    ).values_list("file_id", "file__number", "c", "d")[:limit]
    return [(file_id, number, c - d) for file_id, number, c, d in summed]


def file_trust_balances(
    *, firm: Firm, file_ids: Iterable[int], as_of: dt.date | None = None
) -> dict[tuple[int, int], int]:
    """The trust balance of each of ``file_ids`` in each trust bank account where it has a
    ledger, by (file id, bank account id), as of ``as_of`` (default today): one query after
    :func:`report_day`'s EXISTS."""
    day, maintained = report_day(firm=firm, as_of=as_of)
    ledgers = TrustLedger.objects.filter(firm=firm, file_id__in=set(file_ids))
    if maintained:
        return {
            (file_id, bank_id): balance
            for file_id, bank_id, balance in ledgers.values_list(
                "file_id", "bank_account_id", "balance_cents"
            )
        }
    up_to_day = Q(postings__entry__date__lte=day)
    summed = ledgers.annotate(
        c=Coalesce(Sum("postings__credit_cents", filter=up_to_day), 0),
        d=Coalesce(Sum("postings__debit_cents", filter=up_to_day), 0),
    ).values_list("file_id", "bank_account_id", "c", "d")
    return {(file_id, bank_id): c - d for file_id, bank_id, c, d in summed}


DocumentKind = Literal["check", "receipt", "invoice"]

#: (id, external_ref, file id, bank account id, amount in cents, status, number, date,
#: void date)
ExternalDocumentRow = tuple[
    int, str, int | None, int | None, int, str, int | None, dt.date, dt.date | None
]


def external_documents_page(
    *,
    firm: Firm,
    kind: DocumentKind,
    prefix: str,
    after_id: int,
    limit: int,
    file_id: int | None = None,
    file_ids: Iterable[int] | None = None,
    no_file: bool = False,
) -> list[ExternalDocumentRow]:
    """The checks, trust receipts or invoices of ``firm`` whose ``external_ref`` starts
    with ``prefix`` (case-sensitive on every database), in id order from the first id above
    ``after_id``: one page of at most ``limit`` rows, one query.

    - a check: its amount, status, check number (None while queued), request date and
      void date;
    - a receipt: its amount, status, no number, received date and void date;
    - an invoice: its total, stage, invoice number, trust bank account, invoice date and
      the date its void was posted (None if it is not void, or was voided unposted).

    With ``file_id``, only that file's documents; with ``file_ids`` and/or ``no_file``,
    only the documents of those files and/or those without a file."""
    # SQLite's LIKE ignores case, so ``startswith`` would match "CASES-1" for "cases-":
    # compare the ref's first characters for equality instead.
    matching = Q(ref_head=prefix, pk__gt=after_id, firm=firm)
    if file_id is not None:
        matching &= Q(file_id=file_id)
    if file_ids is not None or no_file:
        within = Q(file_id__in=list(file_ids or ()))
        if no_file:
            within |= Q(file_id__isnull=True)
        matching &= within
    ref_head = Left("external_ref", len(prefix))
    qs: QuerySet[Any, tuple[Any, ...]]
    if kind == "check":
        qs = (
            Check.objects.alias(ref_head=ref_head)
            .filter(matching)
            .values_list(
                "pk",
                "external_ref",
                "file_id",
                "bank_account_id",
                "amount_cents",
                "status",
                "check_number",
                "request_date",
                "voided_on",
            )
        )
    elif kind == "receipt":
        qs = (
            TrustReceipt.objects.alias(ref_head=ref_head)
            .filter(matching)
            .annotate(no_number=Value(None, output_field=IntegerField()))
            .values_list(
                "pk",
                "external_ref",
                "file_id",
                "bank_account_id",
                "amount_cents",
                "status",
                "no_number",
                "received_on",
                "voided_on",
            )
        )
    else:
        qs = (
            Invoice.objects.alias(ref_head=ref_head)
            .filter(matching)
            .values_list(
                "pk",
                "external_ref",
                "file_id",
                "trust_bank_account_id",
                "total_cents",
                "stage",
                "number",
                "invoice_date",
                "void_entry__date",
            )
        )
    # The stubs type external_ref as nullable; the prefix comparison leaves out null refs.
    return cast(list[ExternalDocumentRow], list(qs.order_by("pk")[:limit]))
