"""The books against the bank (issue 11, ADR 0015): open items with their age, and the
monthly bank reconciliation, each as of a day.

As of a day D, a books item (a posting to the bank's GL account, dated on or before D) is
**outstanding** unless a :class:`ClearedItem` cleared it on or before D. An entry and its
reversal (a void) both outstanding cancel out and are left out. Outstanding money in is a
**deposit in transit**, outstanding money out an **outstanding check** (or transfer).

The reconciliation (domain.md 5), every figure as of the month's last day:

    statement ending balance
    + deposits in transit - outstanding checks
    - reconciling items (bank lines set aside: in the bank, not in the books)
    - items the bank cleared by D that the books date after D
    = adjusted bank balance, which must equal the bank's journal balance;
    and for a trust account: = the client ledgers' total (each listed, none negative)
    = the client trust liability account.

Any difference is listed with what causes it (lines not yet matched or set aside, a
missing statement balance), never netted away.
"""

from __future__ import annotations

import calendar
import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field

from django.db.models import Q, Sum

from casebridge.books.errors import ValidationFailed
from casebridge.books.models import (
    BankAccount,
    BankAccountKind,
    BankStatement,
    File,
    Firm,
    Posting,
    Reconciliation,
    ReconciliationStatus,
    StatementLine,
    StatementLineStatus,
)
from casebridge.core import clock, words
from casebridge.core.money import format_cents as f

#: Aging buckets of outstanding items, by days since the item's date (upper bounds).
AGING_BUCKETS = ((30, "0-30"), (60, "31-60"), (90, "61-90"), (180, "91-180"))
#: A check older than this is stale (UCC 4-404: a bank need not pay it after six months).
STALE_AFTER_DAYS = 180


def month_bounds(day: dt.date) -> tuple[dt.date, dt.date]:
    """The first and last day of ``day``'s month."""
    last = calendar.monthrange(day.year, day.month)[1]
    return day.replace(day=1), day.replace(day=last)


def parse_month(value: str, *, field: str = "month") -> dt.date:
    """'YYYY-MM' (or a date in the month) as the month's last day."""
    text = (value or "").strip()
    try:
        day = dt.date.fromisoformat(text + "-01" if len(text) == 7 else text)
    except ValueError:
        raise ValidationFailed(f"{field} must be a month as YYYY-MM", field=field) from None
    return month_bounds(day)[1]


def age_bucket(days: int) -> str:
    for bound, name in AGING_BUCKETS:
        if days <= bound:
            return name
    return "stale"


@dataclass(frozen=True)
class BankItem:
    """A books item of a bank account as it stood on a day."""

    posting_id: int
    entry_id: int
    date: dt.date
    amount_cents: int
    kind: str  # check, receipt or entry
    number: int | None
    description: str
    age_days: int
    #: the entry this item's entry reverses (a void), if any
    reverses_id: int | None = None

    @property
    def bucket(self) -> str:
        return age_bucket(self.age_days)

    @property
    def is_stale(self) -> bool:
        return self.kind == "check" and self.age_days > STALE_AFTER_DAYS

    def as_dict(self) -> dict[str, object]:
        return {
            "posting_id": self.posting_id,
            "entry_id": self.entry_id,
            "date": self.date.isoformat(),
            "amount_cents": self.amount_cents,
            "kind": self.kind,
            "number": self.number,
            "description": self.description,
            "age_days": self.age_days,
        }


@dataclass(frozen=True)
class BankLine:
    """A statement line the books do not carry (set aside or not yet resolved)."""

    line_id: int
    posted_on: dt.date
    amount_cents: int
    description: str
    status: str
    note: str

    def as_dict(self) -> dict[str, object]:
        return {
            "line_id": self.line_id,
            "posted_on": self.posted_on.isoformat(),
            "amount_cents": self.amount_cents,
            "description": self.description,
            "status": self.status,
            "note": self.note,
        }


@dataclass(frozen=True)
class LedgerBalance:
    file_id: int
    file_number: str
    file_name: str
    balance_cents: int

    def as_dict(self) -> dict[str, object]:
        return {
            "file_id": self.file_id,
            "file_number": self.file_number,
            "file_name": self.file_name,
            "balance_cents": self.balance_cents,
        }


def _item_rows(bank: BankAccount, postings: Q, day: dt.date) -> list[BankItem]:
    rows = (
        Posting.objects.filter(postings, account_id=bank.gl_account_id)
        .order_by("entry__date", "pk")
        .values_list(
            "pk",
            "entry_id",
            "entry__date",
            "debit_cents",
            "credit_cents",
            "entry__memo",
            "entry__reverses_id",
            "entry__check_issued__check_number",
            "entry__check_issued__payee",
            "entry__check_issued__pk",
            "entry__receipt__payer",
            "entry__receipt__pk",
        )
    )
    items = []
    for pk, entry_id, date, dr, cr, memo, rev, number, payee, check_pk, payer, receipt_pk in rows:
        if check_pk is not None:
            kind, description = "check", payee
        elif receipt_pk is not None:
            kind, description = "receipt", payer
        else:
            kind, description = "entry", memo
        items.append(
            BankItem(pk, entry_id, date, dr - cr, kind, number, description, (day - date).days, rev)
        )
    return items


def outstanding_items(
    *, firm: Firm, bank_account_id: int, as_of: dt.date | None = None
) -> list[BankItem]:
    """The items of the bank account outstanding on ``as_of`` (default today), oldest
    first: dated on or before it and not cleared by it, a void and its original left out."""
    bank = _bank(firm, bank_account_id)
    return _outstanding(bank, as_of or clock.today())


def items_by_posting(
    *, firm: Firm, bank_account_id: int, posting_ids: Iterable[int], as_of: dt.date | None = None
) -> dict[int, BankItem]:
    """The bank account's books items of ``posting_ids`` (cleared or not), by posting id,
    each aged as of ``as_of`` (default today): what the screens show of a line's matched
    items and of its proposed candidates. Ids of other accounts are left out."""
    bank = _bank(firm, bank_account_id)
    ids = sorted(set(posting_ids))
    if not ids:
        return {}
    rows = _item_rows(bank, Q(pk__in=ids), as_of or clock.today())
    return {item.posting_id: item for item in rows}


def _outstanding(bank: BankAccount, day: dt.date) -> list[BankItem]:
    # Not cleared by the day: no ClearedItem, or one dated after it. (A posting of this
    # account clears only as an item of this account: every clearing service takes the
    # account's own postings.) One LEFT JOIN on the unique posting column: half the time
    # of NOT IN over every item the account ever cleared.
    items = _item_rows(
        bank,
        Q(entry__date__lte=day) & (Q(cleared__isnull=True) | Q(cleared__cleared_on__gt=day)),
        day,
    )
    open_entries = {i.entry_id for i in items}
    void_pairs = {
        entry_id
        for i in items
        if i.reverses_id is not None and i.reverses_id in open_entries
        for entry_id in (i.entry_id, i.reverses_id)
    }
    return [i for i in items if i.entry_id not in void_pairs]


def _bank(firm: Firm, bank_account_id: int) -> BankAccount:
    bank = BankAccount.objects.filter(firm=firm, pk=bank_account_id).first()
    if bank is None:
        raise ValidationFailed("bank account not found in this firm", field="bank_account")
    return bank


@dataclass(frozen=True)
class Aging:
    bank_account: BankAccount
    as_of: dt.date
    checks: dict[str, list[BankItem]]
    deposits_in_transit: list[BankItem]

    @property
    def stale_checks(self) -> list[BankItem]:
        return self.checks.get("stale", [])


def outstanding_aging(*, firm: Firm, bank_account_id: int, as_of: dt.date | None = None) -> Aging:
    """Outstanding checks (and other money out) by age bucket (0-30, 31-60, 61-90, 91-180
    days, stale past 180) and the deposits in transit, as of ``as_of`` (default today)."""
    bank = _bank(firm, bank_account_id)
    day = as_of or clock.today()
    items = _outstanding(bank, day)
    checks: dict[str, list[BankItem]] = {name: [] for _, name in AGING_BUCKETS}
    checks["stale"] = []
    for item in items:
        if item.amount_cents < 0:
            checks[item.bucket].append(item)
    return Aging(bank, day, checks, [i for i in items if i.amount_cents > 0])


@dataclass(frozen=True)
class BankReconciliation:
    bank_account: BankAccount
    period_start: dt.date
    period_end: dt.date
    statement_id: int | None
    statement_balance_cents: int | None
    statement_opening_cents: int | None
    deposits_in_transit: list[BankItem]
    outstanding_checks: list[BankItem]
    reconciling_items: list[BankLine]
    unresolved_lines: list[BankLine]
    cleared_ahead: list[BankItem]
    journal_balance_cents: int
    client_ledgers: list[LedgerBalance] | None
    client_ledgers_total_cents: int | None
    trust_liability_balance_cents: int | None
    differences: list[str]
    notes: list[str] = field(default_factory=list)

    @property
    def deposits_in_transit_cents(self) -> int:
        return sum(i.amount_cents for i in self.deposits_in_transit)

    @property
    def outstanding_checks_cents(self) -> int:
        return -sum(i.amount_cents for i in self.outstanding_checks)

    @property
    def reconciling_items_cents(self) -> int:
        return sum(line.amount_cents for line in self.reconciling_items)

    @property
    def cleared_ahead_cents(self) -> int:
        return sum(i.amount_cents for i in self.cleared_ahead)

    @property
    def adjusted_bank_balance_cents(self) -> int:
        return (
            (self.statement_balance_cents or 0)
            + self.deposits_in_transit_cents
            - self.outstanding_checks_cents
            - self.reconciling_items_cents
            - self.cleared_ahead_cents
        )

    @property
    def difference_cents(self) -> int:
        return self.adjusted_bank_balance_cents - self.journal_balance_cents

    @property
    def is_reconciled(self) -> bool:
        return not self.differences

    def items_snapshot(self) -> dict[str, object]:
        """Every list, as plain data, for the saved record."""
        return {
            "deposits_in_transit": [i.as_dict() for i in self.deposits_in_transit],
            "outstanding_checks": [i.as_dict() for i in self.outstanding_checks],
            "reconciling_items": [line.as_dict() for line in self.reconciling_items],
            "unresolved_lines": [line.as_dict() for line in self.unresolved_lines],
            "cleared_ahead": [i.as_dict() for i in self.cleared_ahead],
            "client_ledgers": (
                [b.as_dict() for b in self.client_ledgers]
                if self.client_ledgers is not None
                else None
            ),
            "trust_liability_balance_cents": self.trust_liability_balance_cents,
            "statement_opening_cents": self.statement_opening_cents,
            "cleared_ahead_cents": self.cleared_ahead_cents,
            "differences": self.differences,
            "notes": self.notes,
        }


def _nets(account_ids: list[int], day: dt.date) -> dict[int, int]:
    """Each account's debits minus credits of its postings dated up to ``day``, summed
    from the postings (the reconciliation recomputes, never trusts the maintained
    balance), all in one grouped scan."""
    nets = dict.fromkeys(account_ids, 0)
    for account_id, debit, credit in (
        Posting.objects.filter(account_id__in=account_ids, entry__date__lte=day)
        .values("account_id")
        .annotate(d=Sum("debit_cents"), c=Sum("credit_cents"))
        .order_by()
        .values_list("account_id", "d", "c")
    ):
        nets[account_id] = int((debit or 0) - (credit or 0))
    return nets


def _ledger_balances(bank: BankAccount, day: dt.date) -> list[LedgerBalance]:
    """Each file's client ledger in ``bank`` on ``day`` (credits minus debits of its
    postings up to it), those not at zero, by file number: summed by file id alone (a
    hash aggregate in memory) and put beside the files read in their order, rather than
    grouped and sorted by number and name, which spilled to disk at 10,000 files."""
    sums = dict(
        Posting.objects.filter(trust_ledger__bank_account=bank, entry__date__lte=day)
        .values("trust_ledger__file_id")
        .annotate(balance=Sum("credit_cents") - Sum("debit_cents"))
        .order_by()
        .values_list("trust_ledger__file_id", "balance")
    )
    return [
        LedgerBalance(file_id, number, name, int(sums[file_id]))
        for file_id, number, name in File.objects.filter(trust_ledgers__bank_account=bank)
        .order_by("number", "pk")
        .values_list("pk", "number", "name")
        if sums.get(file_id)
    ]


def _lines(bank: BankAccount, day: dt.date, statuses: list[str]) -> list[BankLine]:
    return [
        BankLine(pk, posted_on, amount, description, status, note or "")
        for pk, posted_on, amount, description, status, note in StatementLine.objects.filter(
            bank_account=bank, posted_on__lte=day, status__in=statuses
        )
        .order_by("posted_on", "pk")
        .values_list("pk", "posted_on", "amount_cents", "description", "status", "note")
    ]


def bank_reconciliation(
    *,
    firm: Firm,
    bank_account_id: int,
    period_end: dt.date,
    statement_balance_cents: int | None = None,
) -> BankReconciliation:
    """The reconciliation of a bank account for the month ending ``period_end`` (see the
    module's formula). The statement balance is the closing balance of the latest
    statement of the account ending in that month, unless one is given."""
    bank = (
        BankAccount.objects.filter(firm=firm, pk=bank_account_id)
        .select_related("gl_account")
        .first()
    )
    if bank is None:
        raise ValidationFailed("bank account not found in this firm", field="bank_account")
    start, day = month_bounds(period_end)
    statement = (
        BankStatement.objects.filter(bank_account=bank, period_end__gte=start, period_end__lte=day)
        .order_by("-period_end", "-pk")
        .first()
    )
    balance = statement_balance_cents
    if balance is None and statement is not None:
        balance = statement.closing_balance_cents
    items = _outstanding(bank, day)
    cleared_ahead = _item_rows(
        bank,
        Q(cleared__cleared_on__lte=day, cleared__bank_account=bank, entry__date__gt=day),
        day,
    )
    reconciling = _lines(bank, day, [StatementLineStatus.RECONCILING])
    unresolved = _lines(bank, day, [StatementLineStatus.UNMATCHED, StatementLineStatus.PROPOSED])
    liability_id = bank.trust_liability_account_id
    nets = _nets([bank.gl_account_id] + ([liability_id] if liability_id is not None else []), day)
    journal = nets[bank.gl_account_id]

    ledgers: list[LedgerBalance] | None = None
    ledgers_total = liability = None
    if bank.kind == BankAccountKind.TRUST:
        ledgers = _ledger_balances(bank, day)
        ledgers_total = sum(b.balance_cents for b in ledgers)
        liability = -nets[liability_id] if liability_id is not None else 0

    rec = BankReconciliation(
        bank_account=bank,
        period_start=start,
        period_end=day,
        statement_id=statement.pk if statement else None,
        statement_balance_cents=balance,
        statement_opening_cents=statement.opening_balance_cents if statement else None,
        deposits_in_transit=[i for i in items if i.amount_cents > 0],
        outstanding_checks=[i for i in items if i.amount_cents < 0],
        reconciling_items=reconciling,
        unresolved_lines=unresolved,
        cleared_ahead=cleared_ahead,
        journal_balance_cents=journal,
        client_ledgers=ledgers,
        client_ledgers_total_cents=ledgers_total,
        trust_liability_balance_cents=liability,
        differences=[],
    )
    rec.differences.extend(_differences(rec))
    if (
        statement_balance_cents is not None
        and statement is not None
        and statement.closing_balance_cents is not None
        and statement_balance_cents != statement.closing_balance_cents
    ):
        rec.differences.insert(
            0,
            f"the ending balance entered, {f(statement_balance_cents)}, is not the imported "
            f"statement's closing balance, {f(statement.closing_balance_cents)}",
        )
    rec.notes.extend(_notes(rec, firm))
    return rec


def _differences(rec: BankReconciliation) -> list[str]:
    out = []
    if rec.statement_balance_cents is None:
        out.append(
            f"no statement balance for the month ending {rec.period_end.isoformat()}: import "
            "the statement or enter its ending balance"
        )
    elif rec.difference_cents:
        out.append(
            f"adjusted bank balance {f(rec.adjusted_bank_balance_cents)} differs from the "
            f"journal balance {f(rec.journal_balance_cents)} by {f(rec.difference_cents)}"
        )
    if rec.unresolved_lines:
        total = sum(line.amount_cents for line in rec.unresolved_lines)
        out.append(
            f"{words.plural(len(rec.unresolved_lines), 'statement line')} totalling {f(total)} "
            "neither "
            "matched nor set aside as reconciling items"
        )
    if rec.client_ledgers_total_cents is not None:
        if rec.reconciling_items:
            # in a client trust account a bank line the books lack is clients' money
            # missing (or unexplained): it is recorded to a client ledger, never set aside
            out.append(
                f"{words.plural(len(rec.reconciling_items), 'statement line')} totalling "
                f"{f(rec.reconciling_items_cents)} set aside on a client trust account: "
                "record each to a client ledger (or have the bank correct it) before the "
                "month can be signed"
            )
        if rec.client_ledgers_total_cents != rec.journal_balance_cents:
            out.append(
                f"client ledgers total {f(rec.client_ledgers_total_cents)} differs from the "
                f"trust journal {f(rec.journal_balance_cents)} by "
                f"{f(rec.client_ledgers_total_cents - rec.journal_balance_cents)}"
            )
        if rec.trust_liability_balance_cents != rec.journal_balance_cents:
            out.append(
                f"client trust liability {f(rec.trust_liability_balance_cents or 0)} differs "
                f"from the trust journal {f(rec.journal_balance_cents)}"
            )
        for ledger in rec.client_ledgers or []:
            if ledger.balance_cents < 0:
                out.append(
                    f"client ledger of file {ledger.file_number} is "
                    f"{f(ledger.balance_cents)} on {rec.period_end.isoformat()}"
                )
    return out


def _notes(rec: BankReconciliation, firm: Firm) -> list[str]:
    """What an auditor would ask about without it being a difference."""
    notes = []
    previous = (
        Reconciliation.objects.filter(
            firm=firm,
            bank_account=rec.bank_account,
            status=ReconciliationStatus.SIGNED,
            period_end__lt=rec.period_start,
        )
        .order_by("-period_end")
        .values_list("period_end", "statement_balance_cents")
        .first()
    )
    if (
        previous is not None
        and previous[1] is not None
        and rec.statement_opening_cents is not None
        and rec.statement_opening_cents != previous[1]
    ):
        notes.append(
            f"the statement opens at {f(rec.statement_opening_cents)}; the month signed to "
            f"{previous[0].isoformat()} ended at {f(previous[1])}"
        )
    stale = [i for i in rec.outstanding_checks if i.is_stale]
    if stale:
        notes.append(
            f"{words.plural(len(stale), 'outstanding check')} older than {STALE_AFTER_DAYS} days "
            f"totalling {f(-sum(i.amount_cents for i in stale))}"
        )
    return notes
