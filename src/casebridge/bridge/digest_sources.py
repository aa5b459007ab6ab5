"""What the cases side's maintained case digests hold (ADR 0030): per firm and case, the
documents the books must hold under ``cases-`` for a whole-firm comparison to find nothing
to report about them. A subject whose documents could agree more than one way is put one
way (a void cost: its check voided); the other ways differ and are compared in detail.

- a cost sent: its check for the amount, printed with the cost's payment reference as its
  number when Paid, queued when Pending, voided when Void (none when Open);
- a deposit sent: its trust receipt for the amount, posted (voided if voided here);
- a payment sent (the payments the comparison reads): its trust check, printed with the
  payment's check number when Disbursed, queued when To Be Disbursed;
- a fee invoice: the invoice for its total at its stage (none when withdrawn before it had
  a ``cases-`` reference).

The triggers of migration ``bridge/0008_case_digests`` and the full recomputation that
checks them (:func:`casebridge.core.digest.drift`) are both made from :data:`CASE_DIGESTS`.
"""

from __future__ import annotations

from casebridge.bridge.models import (
    CaseDigest,
    CaseDigestDelta,
    CostLink,
    DepositLink,
    FeeInvoice,
    InvoiceStage,
    TrustItemLink,
)
from casebridge.bridge.services.settlement import CHECK_KINDS
from casebridge.cases.models import Cost, CostStatus, Deposit, TrustItem, TrustItemStatus
from casebridge.core.digest import Source, Table, Target, row_sql

#: What begins the books' external_ref of everything this side sends.
PREFIX = "cases-"


def _lit(value: str) -> str:
    """A choice value of this side's models as an SQL literal (never user input)."""
    assert value.replace("_", "").replace("-", "").isalpha(), value
    return f"'{value}'"


def _table(model: type, alias: str, *columns: str) -> Table:
    return Table(model._meta.db_table, alias, columns)  # type: ignore[attr-defined]


def _target() -> Target:
    paid, pending = _lit(CostStatus.PAID), _lit(CostStatus.PENDING)
    void = _lit(CostStatus.VOID)
    disbursed = _lit(TrustItemStatus.DISBURSED)
    to_be_disbursed = _lit(TrustItemStatus.TO_BE_DISBURSED)
    kinds = ", ".join(_lit(k) for k in CHECK_KINDS)
    cost = Source(
        tables=(
            _table(CostLink, "l", "firm_id", "cost_id", "external_ref"),
            _table(Cost, "c", "id", "case_id", "amount_cents", "status", "payment_reference"),
        ),
        keys=("l.firm_id", "c.case_id"),
        cents="c.amount_cents",
        row=row_sql(
            "C",
            "l.external_ref",
            "c.amount_cents",
            f"CASE c.status WHEN {paid} THEN 'printed' WHEN {pending} THEN 'queued' "
            "ELSE 'voided' END",
            f"CASE WHEN c.status = {paid} THEN c.payment_reference ELSE '' END",
        ),
        where=f"c.id = l.cost_id AND c.status IN ({paid}, {pending}, {void})",
    )
    deposit = Source(
        tables=(
            _table(DepositLink, "l", "firm_id", "deposit_id", "external_ref"),
            _table(Deposit, "d", "id", "firm_id", "case_id", "amount_cents", "voided_on"),
        ),
        keys=("l.firm_id", "d.case_id"),
        cents="d.amount_cents",
        row=row_sql(
            "R",
            "l.external_ref",
            "d.amount_cents",
            "CASE WHEN d.voided_on IS NULL THEN 'posted' ELSE 'voided' END",
            "''",
        ),
        where="d.id = l.deposit_id AND d.firm_id = l.firm_id",
    )
    payment = Source(
        tables=(
            _table(TrustItemLink, "l", "firm_id", "trust_item_id", "external_ref"),
            _table(
                TrustItem,
                "t",
                "id",
                "firm_id",
                "case_id",
                "kind",
                "paid_direct",
                "status",
                "amount_cents",
                "check_number",
            ),
        ),
        keys=("l.firm_id", "t.case_id"),
        cents="t.amount_cents",
        row=row_sql(
            "C",
            "l.external_ref",
            "t.amount_cents",
            f"CASE WHEN t.status = {disbursed} THEN 'printed' ELSE 'queued' END",
            f"CASE WHEN t.status = {disbursed} THEN t.check_number ELSE '' END",
        ),
        where=f"t.id = l.trust_item_id AND t.firm_id = l.firm_id AND t.kind IN ({kinds}) "
        f"AND NOT t.paid_direct AND t.status IN ({disbursed}, {to_be_disbursed})",
    )
    invoice = Source(
        tables=(
            _table(FeeInvoice, "f", "firm_id", "case_id", "external_ref", "total_cents", "stage"),
        ),
        keys=("f.firm_id", "f.case_id"),
        cents="f.total_cents",
        row=row_sql("I", "f.external_ref", "f.total_cents", "f.stage", "''"),
        where=f"NOT (f.stage = {_lit(InvoiceStage.VOIDED)} "
        f"AND SUBSTR(f.external_ref, 1, {len(PREFIX)}) <> {_lit(PREFIX)})",
    )
    return Target(
        table=CaseDigest._meta.db_table,
        keys=("firm_id", "case_id"),
        sources=(cost, deposit, payment, invoice),
        deltas=CaseDigestDelta._meta.db_table,
    )


#: The same SQL on both databases.
CASE_DIGESTS = _target()
