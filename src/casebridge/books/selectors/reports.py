"""The books' reports. Balances come from the maintained columns (one row each); the
three-way reconciliation also recomputes from postings so drift would show, not hide."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db.models import Q, Sum

from casebridge.books.errors import ValidationFailed
from casebridge.books.models import (
    DEBIT_NORMAL,
    BankAccount,
    BankAccountKind,
    Check,
    CheckStatus,
    File,
    Firm,
    GLAccount,
    Posting,
    TrustLedger,
)
from casebridge.core import clock
from casebridge.core.money import format_cents as f


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
    as_of: dt.date | None

    @property
    def is_balanced(self) -> bool:
        return self.total_debit_cents == self.total_credit_cents


def trial_balance(*, firm: Firm, as_of: dt.date | None = None) -> TrialBalance:
    """Every account's balance in a debit or credit column; the columns are always equal.

    Current balances read the maintained column (one row per account). An ``as_of`` date
    sums postings up to that date instead (one grouped query, indexed by account)."""
    accounts = list(GLAccount.objects.filter(firm=firm).order_by("number"))
    if as_of is None:
        balances = {a.pk: a.balance_cents for a in accounts}
    else:
        sums = (
            Posting.objects.filter(account__firm=firm, entry__date__lte=as_of)
            .values("account_id")
            .annotate(d=Sum("debit_cents"), c=Sum("credit_cents"))
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
        as_of=as_of,
    )


def account_balance_cents(*, firm: Firm, account_id: int) -> int:
    """Normal-sign balance of one account: a single indexed row read."""
    acct = GLAccount.objects.filter(firm=firm, pk=account_id).only("balance_cents", "type").first()
    if acct is None:
        raise ValidationFailed("account not found in this firm", field="account")
    return acct.balance_cents if acct.type in DEBIT_NORMAL else -acct.balance_cents


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


def client_trust_ledger(
    *, firm: Firm, file_id: int, bank_account_id: int | None = None
) -> list[ClientLedger]:
    """A file's client trust ledger(s), one per trust bank account, with running balance."""
    file = File.objects.filter(firm=firm, pk=file_id).select_related("client").first()
    if file is None:
        raise ValidationFailed("file not found in this firm", field="file")
    ledgers = TrustLedger.objects.filter(firm=firm, file=file).select_related("bank_account")
    if bank_account_id is not None:
        ledgers = ledgers.filter(bank_account_id=bank_account_id)
    result = []
    for tl in ledgers.order_by("bank_account__name"):
        running = 0
        lines = []
        for p in (
            Posting.objects.filter(trust_ledger=tl)
            .select_related("entry")
            .order_by("entry__date", "entry_id", "pk")
        ):
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
        result.append(ClientLedger(file, tl.bank_account, lines, tl.balance_cents))
    return result


@dataclass(frozen=True)
class JournalLine:
    entry_id: int
    date: dt.date
    memo: str
    file_number: str
    debit_cents: int
    credit_cents: int


def trust_account_journal(
    *,
    firm: Firm,
    bank_account_id: int,
    start: dt.date | None = None,
    end: dt.date | None = None,
    limit: int = 500,
    offset: int = 0,
) -> list[JournalLine]:
    """Every movement of a trust bank account, in date order (paged)."""
    bank = BankAccount.objects.filter(
        firm=firm, pk=bank_account_id, kind=BankAccountKind.TRUST
    ).first()
    if bank is None:
        raise ValidationFailed("trust bank account not found in this firm", field="bank_account")
    qs = Posting.objects.filter(account_id=bank.gl_account_id).select_related("entry", "file")
    if start:
        qs = qs.filter(entry__date__gte=start)
    if end:
        qs = qs.filter(entry__date__lte=end)
    return [
        JournalLine(
            p.entry_id,
            p.entry.date,
            p.entry.memo,
            p.file.number if p.file else "",
            p.debit_cents,
            p.credit_cents,
        )
        for p in qs.order_by("entry__date", "entry_id", "pk")[offset : offset + limit]
    ]


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
    differences: list[str]

    @property
    def is_reconciled(self) -> bool:
        return not self.differences


def three_way_reconciliation(
    *,
    firm: Firm,
    bank_account_id: int,
    statement_balance_cents: int,
    deposits_in_transit_cents: int,
    outstanding_checks_cents: int | None = None,
    as_of: dt.date | None = None,
) -> ThreeWayReconciliation:
    """Adjusted bank balance = trust journal balance = sum of client ledgers (domain.md 5).

    Outstanding checks default to the printed and queued checks of this account that the
    books know have not cleared (the books do not import bank statements yet, so every
    unvoided check counts as outstanding unless the accountant enters the figure)."""
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
    written = Check.objects.filter(bank_account=bank)
    if as_of:  # as they stood then: written by that day and not yet voided
        written = written.filter(request_date__lte=as_of).exclude(voided_on__lte=as_of)
    else:
        written = written.exclude(status=CheckStatus.VOIDED)
    outstanding = (
        [
            OutstandingCheck(c.pk, c.check_number, c.payee, c.amount_cents)
            for c in written.order_by("pk")
        ]
        if outstanding_checks_cents is None
        else []
    )
    if outstanding_checks_cents is None:
        outstanding_checks_cents = sum(c.amount_cents for c in outstanding)
    if outstanding_checks_cents < 0:
        raise ValidationFailed("outstanding checks cannot be negative", field="outstanding_checks")
    date_filter = Q(entry__date__lte=as_of) if as_of else Q()
    sums = Posting.objects.filter(date_filter, account_id=bank.gl_account_id).aggregate(
        d=Sum("debit_cents"), c=Sum("credit_cents")
    )
    journal = (sums["d"] or 0) - (sums["c"] or 0)
    ledgers_total = (
        TrustLedger.objects.filter(bank_account=bank).aggregate(s=Sum("balance_cents"))["s"] or 0
    )
    recomputed = Posting.objects.filter(date_filter, trust_ledger__bank_account=bank).aggregate(
        d=Sum("debit_cents"), c=Sum("credit_cents")
    )
    recomputed_total = (recomputed["c"] or 0) - (recomputed["d"] or 0)
    adjusted = statement_balance_cents + deposits_in_transit_cents - outstanding_checks_cents
    differences = []
    if adjusted != journal:
        differences.append(
            f"adjusted bank balance {f(adjusted)} differs from the trust journal {f(journal)} "
            f"by {f(adjusted - journal)}"
        )
    if as_of is None and ledgers_total != journal:
        differences.append(
            f"client ledgers total {f(ledgers_total)} differs from the trust journal {f(journal)} "
            f"by {f(ledgers_total - journal)}"
        )
    if recomputed_total != journal:
        differences.append(
            f"client ledger postings total {f(recomputed_total)} differs from the trust journal "
            f"{f(journal)} by {f(recomputed_total - journal)}"
        )
    if as_of is None and recomputed_total != ledgers_total:
        differences.append(
            f"maintained client balances {f(ledgers_total)} drifted from their postings "
            f"{f(recomputed_total)}"
        )
    return ThreeWayReconciliation(
        bank_account=bank,
        as_of=as_of or clock.today(),
        statement_balance_cents=statement_balance_cents,
        deposits_in_transit_cents=deposits_in_transit_cents,
        outstanding_checks_cents=outstanding_checks_cents,
        outstanding_checks=outstanding,
        adjusted_bank_balance_cents=adjusted,
        trust_journal_balance_cents=journal,
        client_ledgers_total_cents=ledgers_total,
        client_ledgers_recomputed_cents=recomputed_total,
        differences=differences,
    )
