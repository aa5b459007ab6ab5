"""Housekeeping run by the background worker (books/tasks.py): the nightly ledger
integrity check and the purge of rows kept only for a while."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from django.db import connection, transaction
from django.db.models import Max, Sum

from casebridge.books.digest_sources import file_digests
from casebridge.books.models import (
    BankAccount,
    Firm,
    GLAccount,
    IdempotencyRecord,
    LoginAttempt,
    Posting,
    Reconciliation,
    ReconciliationStatus,
    TrustLedger,
)
from casebridge.books.selectors.digests import file_digests_drift
from casebridge.core import clock, words
from casebridge.core.audit import audit_record
from casebridge.core.digest import compact, hash_text, rebuild
from casebridge.core.money import format_cents

LOGIN_ATTEMPT_RETENTION = dt.timedelta(days=90)
IDEMPOTENCY_RETENTION = dt.timedelta(days=180)


@dataclass
class IntegrityReport:
    firm_id: int
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def _digest(value: tuple[int, int, int] | None) -> str:
    n, cents, h = value or (0, 0, 0)
    return f"{n} documents, {format_cents(cents)}, hash {hash_text(h)}"


@transaction.atomic
def file_digests_compact() -> int | None:
    """Fold every firm's file digest deltas into the kept rows (ADR 0035; the periodic
    task runs it): how many deltas were folded, None when another compaction or a rebuild
    runs (it folds them)."""
    return compact(file_digests(connection.vendor))


@transaction.atomic
def file_digests_rebuild(*, firm: Firm) -> int:
    """The firm's file digests recomputed from their documents in one transaction (the
    repair of a drift the integrity check reported; ``manage.py digests_rebuild``), the
    drift found recorded in the audit log: how many (namespace, file) groups were
    corrected."""
    drifted = file_digests_drift(firm=firm)
    corrected = rebuild(file_digests(connection.vendor), firm.pk)
    audit_record(
        system="books",
        firm_id=firm.pk,
        action="digests_rebuild",
        entity_type="file_digests",
        actor_label="system",
        summary=f"File digests rebuilt: {words.plural(corrected, 'file digest')} corrected",
        after={
            "corrected": [
                {"namespace": key[1], "file_key": key[2], "kept": kept, "recomputed": recomputed}
                for key, kept, recomputed in drifted[:100]
            ]
        },
    )
    return corrected


def ledger_integrity_check(*, firm: Firm) -> IntegrityReport:
    """Recompute every maintained balance (and each trust ledger's latest posting date)
    from its postings and report any drift, plus any trust ledger below zero, and any
    bank account whose latest signed reconciliation no longer agrees with its postings (an
    entry dated in the closed month, committed while it was being signed). Writes one
    audit event with the outcome."""
    report = IntegrityReport(firm_id=firm.pk)
    sums = {
        row["account_id"]: (row["d"] or 0) - (row["c"] or 0)
        for row in Posting.objects.filter(account__firm=firm)
        .values("account_id")
        .annotate(d=Sum("debit_cents"), c=Sum("credit_cents"))
    }
    for acct in GLAccount.objects.filter(firm=firm):
        if acct.balance_cents != sums.get(acct.pk, 0):
            report.problems.append(
                f"GL {acct.number} maintained balance {format_cents(acct.balance_cents)} "
                f"!= postings {format_cents(sums.get(acct.pk, 0))}"
            )
    if sum(sums.values()) != 0:
        report.problems.append(f"trial balance is off by {format_cents(sum(sums.values()))}")
    ledger_rows = list(
        Posting.objects.filter(account__firm=firm, trust_ledger__isnull=False)
        .values("trust_ledger_id")
        .annotate(d=Sum("debit_cents"), c=Sum("credit_cents"), latest=Max("entry__date"))
    )
    ledger_sums = {row["trust_ledger_id"]: (row["c"] or 0) - (row["d"] or 0) for row in ledger_rows}
    ledger_latest = {row["trust_ledger_id"]: row["latest"] for row in ledger_rows}
    for tl in TrustLedger.objects.filter(firm=firm).select_related("file"):
        if tl.balance_cents != ledger_sums.get(tl.pk, 0):
            report.problems.append(
                f"trust ledger of file {tl.file.number} maintained "
                f"{format_cents(tl.balance_cents)} != postings "
                f"{format_cents(ledger_sums.get(tl.pk, 0))}"
            )
        # the posting path trusts it to say no posting is dated later (ADR 0011)
        if tl.latest_posting_date != ledger_latest.get(tl.pk):
            report.problems.append(
                f"trust ledger of file {tl.file.number} latest posting date "
                f"{tl.latest_posting_date} != postings {ledger_latest.get(tl.pk)}"
            )
        if tl.balance_cents < 0:
            report.problems.append(f"trust ledger of file {tl.file.number} is negative")
    # the reconciliation's digests, kept by triggers (ADR 0030)
    for (_, namespace, file_key), kept, documents in file_digests_drift(firm=firm):
        where = f"file id {file_key}" if file_key else "no file"
        report.problems.append(
            f"the digest of {namespace} documents of {where} is kept as {_digest(kept)}; "
            f"its documents give {_digest(documents)}"
        )
    for bank in BankAccount.objects.filter(firm=firm, closed_through__isnull=False):
        signed = (
            Reconciliation.objects.filter(bank_account=bank, status=ReconciliationStatus.SIGNED)
            .order_by("-period_end")
            .first()
        )
        if signed is None:
            continue
        sums = Posting.objects.filter(
            account_id=bank.gl_account_id, entry__date__lte=signed.period_end
        ).aggregate(d=Sum("debit_cents"), c=Sum("credit_cents"))
        now_balance = (sums["d"] or 0) - (sums["c"] or 0)
        if now_balance != signed.journal_balance_cents:
            report.problems.append(
                f"{bank.name}: the reconciliation signed for {signed.period_end:%B %Y} has a "
                f"journal balance of {format_cents(signed.journal_balance_cents)}; its "
                f"postings now give {format_cents(now_balance)}"
            )
    audit_record(
        system="books",
        firm_id=firm.pk,
        action="integrity_check",
        entity_type="ledger",
        actor_label="system",
        summary="Ledger integrity: " + ("OK" if report.ok else "PROBLEMS FOUND"),
        after={"ok": report.ok, "problems": report.problems},
    )
    return report


@transaction.atomic
def retention_purge(*, now: dt.datetime | None = None) -> tuple[int, int]:
    """Delete login attempts and idempotency records past their retention period."""
    now = now or clock.now()
    attempts, _ = LoginAttempt.objects.filter(at__lt=now - LOGIN_ATTEMPT_RETENTION).delete()
    records, _ = IdempotencyRecord.objects.filter(
        created_at__lt=now - IDEMPOTENCY_RETENTION
    ).delete()
    return attempts, records
