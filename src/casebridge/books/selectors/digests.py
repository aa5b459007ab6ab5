"""Per-file digests of the documents an integration sent (issue 12), for its
reconciliation: per file, the count, the sum of cents and the hash
(:mod:`casebridge.core.digest`) of its checks, trust receipts and invoices whose
``external_ref`` starts with a prefix, with the file's trust balance in one bank account.
An integration compares these with what it expects and reads documents only for the
files that differ.

Each page is three queries: the page's upper file id, one grouped query over the three
document tables in that file id range (the hash computed by the database), and the
range's trust ledgers.
"""

from __future__ import annotations

from django.db import connection
from django.db.models import Q, Sum
from django.db.models.functions import Coalesce

from casebridge.books.models import Check, File, Firm, Invoice, TrustLedger, TrustReceipt
from casebridge.books.selectors.reports import report_day
from casebridge.core.digest import digest_aggregate, row_sql, select_sql

#: (file id or None for documents without a file, documents, cents, hash or "", trust
#: balance in cents)
DigestRow = tuple[int | None, int, int, str, int]


def _documents_sql(range_sql: str) -> str:
    q = connection.ops.quote_name
    head = "SUBSTR(external_ref, 1, %s) = %s"
    checks = row_sql(
        "C",
        "external_ref",
        "amount_cents",
        "status",
        "CASE WHEN status = 'printed' THEN CAST(check_number AS TEXT) ELSE '' END",
    )
    receipts = row_sql("R", "external_ref", "amount_cents", "status", "''")
    invoices = row_sql("I", "external_ref", "total_cents", "stage", "''")
    where = f"firm_id = %s AND {head} AND {range_sql}"
    parts = [
        select_sql(
            ["file_id", "amount_cents AS cents", f"{checks} AS r"], q(Check._meta.db_table), where
        ),
        select_sql(["file_id", "amount_cents", receipts], q(TrustReceipt._meta.db_table), where),
        select_sql(["file_id", "total_cents", invoices], q(Invoice._meta.db_table), where),
    ]
    return select_sql(
        ["d.file_id", "COUNT(*)", "SUM(d.cents)", digest_aggregate("d.r")],
        "(" + " UNION ALL ".join(parts) + ") d",
        group_by="d.file_id",
    )


def external_digests_page(
    *, firm: Firm, prefix: str, bank_account_id: int, after_file_id: int, limit: int
) -> tuple[list[DigestRow], int | None]:
    """The digests of ``firm``'s files from the first file id above ``after_file_id``: one
    page of at most ``limit`` files (those with a document under ``prefix`` or a trust
    ledger in the bank account; a file with neither is left out), in file id order, and the
    ``after_file_id`` of the next page (None on the last). The first page
    (``after_file_id`` 0) starts with the documents without a file (file id None), if any.
    Balances are as of today (maintained, else summed from the postings up to today)."""
    upper = (
        File.objects.filter(firm=firm, pk__gt=after_file_id)
        .order_by("pk")
        .values_list("pk", flat=True)[limit - 1 : limit]
        .first()
    )
    if upper is None:
        range_sql, bounds = "(file_id > %s OR (%s AND file_id IS NULL))", [after_file_id]
    else:
        range_sql = "((file_id > %s AND file_id <= %s) OR (%s AND file_id IS NULL))"
        bounds = [after_file_id, upper]
    bounds.append(after_file_id == 0)
    params: list[int | str | bool] = []
    for _ in range(3):
        params += [firm.pk, len(prefix), prefix, *bounds]
    with connection.cursor() as cursor:
        cursor.execute(_documents_sql(range_sql), params)
        documents = {
            file_id: (int(n), int(cents), str(digest)) for file_id, n, cents, digest in cursor
        }
    ledgers = TrustLedger.objects.filter(
        firm=firm, bank_account_id=bank_account_id, file_id__gt=after_file_id
    )
    if upper is not None:
        ledgers = ledgers.filter(file_id__lte=upper)
    day, maintained = report_day(firm=firm)
    balances: dict[int, int]
    if maintained:
        balances = dict(ledgers.values_list("file_id", "balance_cents"))
    else:
        up_to_day = Q(postings__entry__date__lte=day)
        balances = {
            file_id: c - d
            for file_id, c, d in ledgers.annotate(
                c=Coalesce(Sum("postings__credit_cents", filter=up_to_day), 0),
                d=Coalesce(Sum("postings__debit_cents", filter=up_to_day), 0),
            ).values_list("file_id", "c", "d")
        }
    rows: list[DigestRow] = []
    if None in documents:
        rows.append((None, *documents.pop(None), 0))
    for file_id in sorted(documents.keys() | balances.keys()):
        n, cents, digest = documents.get(file_id, (0, 0, ""))
        rows.append((file_id, n, cents, digest, balances.get(file_id, 0)))
    return rows, upper
