"""What the books' maintained file digests hold (ADR 0030): per firm, reference namespace
and file, every check, trust receipt and invoice whose ``external_ref`` has a namespace
(text up to and including its first ``-``). The triggers of migration
``books/0014_file_digests`` and the full recomputation that checks them
(:func:`casebridge.core.digest.drift`) are both made from :func:`file_digests`."""

from __future__ import annotations

from casebridge.books.models import Check, FileDigest, FileDigestDelta, Invoice, TrustReceipt
from casebridge.core.digest import Source, Table, Target, row_sql


def _source(model: type, kind: str, cents: str, status: str, number: str, vendor: str) -> Source:
    position = "STRPOS" if vendor == "postgresql" else "INSTR"
    columns = ["firm_id", "file_id", "external_ref", cents, status]
    if kind == "C":
        columns.append("check_number")
    return Source(
        tables=(Table(model._meta.db_table, "x", tuple(columns)),),  # type: ignore[attr-defined]
        keys=(
            "x.firm_id",
            f"SUBSTR(x.external_ref, 1, {position}(x.external_ref, '-'))",
            "COALESCE(x.file_id, 0)",
        ),
        cents=f"x.{cents}",
        row=row_sql(kind, "x.external_ref", f"x.{cents}", f"x.{status}", number),
        where=f"x.external_ref IS NOT NULL AND {position}(x.external_ref, '-') > 0",
    )


def file_digests(vendor: str) -> Target:
    """The books' digests on the database ``vendor`` (``postgresql`` or ``sqlite``)."""
    printed = "CASE WHEN x.status = 'printed' THEN CAST(x.check_number AS TEXT) ELSE '' END"
    return Target(
        table=FileDigest._meta.db_table,
        keys=("firm_id", "namespace", "file_key"),
        sources=(
            _source(Check, "C", "amount_cents", "status", printed, vendor),
            _source(TrustReceipt, "R", "amount_cents", "status", "''", vendor),
            _source(Invoice, "I", "total_cents", "stage", "''", vendor),
        ),
        deltas=FileDigestDelta._meta.db_table,
    )
