"""The books' reports. Balances come from the maintained columns (one row each); the
three-way reconciliation also recomputes from postings so drift would show, not hide.
The bulk reads at the end serve an integration's reconciliation: flat rows, one query a
page."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Literal, cast

from django.db.models import FilteredRelation, IntegerField, Q, QuerySet, Sum, Value
from django.db.models.functions import Left

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
    Invoice,
    Posting,
    TrustLedger,
    TrustReceipt,
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


# --- bulk reads for an integration (the bridge's reconciliation) -------------------------
#
# Flat rows straight from ``values_list`` (no model instances), keyset-paged by id, one
# query per page whatever its size.

#: (file id, file number, balance in cents: credit-normal, 0 without a ledger)
FileTrustBalanceRow = tuple[int, str, int]


def trust_balances_of_files(
    *, firm: Firm, bank_account_id: int, file_ids: Iterable[int]
) -> list[FileTrustBalanceRow]:
    """The trust balance in one bank account of each of ``file_ids`` that is a file of
    ``firm`` (others are left out), in file id order; 0 for a file without a ledger there.

    One query: the files left-joined to their ledger in that bank (at most one per file)."""
    rows = (
        File.objects.filter(firm=firm, pk__in=set(file_ids))
        .alias(
            ledger=FilteredRelation(
                "trust_ledgers", condition=Q(trust_ledgers__bank_account_id=bank_account_id)
            )
        )
        .order_by("pk")
        .values_list("pk", "number", "ledger__balance_cents")
    )
    return [(pk, number, balance or 0) for pk, number, balance in rows]


def trust_balances_page(
    *, firm: Firm, bank_account_id: int, after_file_id: int, limit: int
) -> list[FileTrustBalanceRow]:
    """Every file of ``firm`` with a trust ledger in the bank account (a zero balance
    included), in file id order, from the first file id above ``after_file_id``: one page
    of at most ``limit`` rows, one query."""
    return list(
        TrustLedger.objects.filter(
            firm=firm, bank_account_id=bank_account_id, file_id__gt=after_file_id
        )
        .order_by("file_id")
        .values_list("file_id", "file__number", "balance_cents")[:limit]
    )


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
) -> list[ExternalDocumentRow]:
    """The checks, trust receipts or invoices of ``firm`` whose ``external_ref`` starts
    with ``prefix`` (case-sensitive on every database), in id order from the first id above
    ``after_id``: one page of at most ``limit`` rows, one query.

    - a check: its amount, status, check number (None while queued), request date and
      void date;
    - a receipt: its amount, status, no number, received date and void date;
    - an invoice: its total, stage, invoice number, trust bank account, invoice date and
      the date its void was posted (None if it is not void, or was voided unposted).

    With ``file_id``, only that file's documents."""
    # SQLite's LIKE ignores case, so ``startswith`` would match "CASES-1" for "cases-":
    # compare the ref's first characters for equality instead.
    matching = Q(ref_head=prefix, pk__gt=after_id, firm=firm)
    if file_id is not None:
        matching &= Q(file_id=file_id)
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
