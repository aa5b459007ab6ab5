"""Per-file digests of the documents an integration sent (issue 12), for its
reconciliation: per file, the count, the sum of cents and the hash
(:mod:`casebridge.core.digest`) of its checks, trust receipts and invoices whose
``external_ref`` is in a namespace (``cases-``), with the file's trust balance in one bank
account. An integration compares these with what it expects and reads documents only for
the files that differ.

The digests are maintained (``books_filedigest``, kept by triggers: ADR 0030, plus the
deltas not yet folded into it: ADR 0035), so a page is three small reads: the page's upper
file id, the range's digests (kept rows and deltas summed), and the range's trust
ledgers. :func:`file_digests_drift` compares them with a full recomputation.
"""

from __future__ import annotations

from django.db import connection
from django.db.models import Q, Sum
from django.db.models.functions import Coalesce

from casebridge.books.digest_sources import file_digests
from casebridge.books.models import File, Firm, TrustLedger
from casebridge.books.selectors.reports import report_day
from casebridge.core.digest import Drift, current, drift, hash_text

#: (file id or None for documents without a file, documents, cents, hash or "", trust
#: balance in cents)
DigestRow = tuple[int | None, int, int, str, int]


def file_digests_drift(*, firm: Firm) -> Drift:
    """Every (firm, namespace, file key) of ``firm`` whose maintained digest differs from
    its documents (empty when the triggers kept them exact)."""
    return drift(file_digests(connection.vendor), firm.pk)


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
    # the documents without a file (key 0) come with the first page
    lower = after_file_id + 1 if after_file_id else 0
    where = "firm_id = %s AND namespace = %s AND file_key >= %s"
    params: list[int | str] = [firm.pk, prefix, lower]
    if upper is not None:
        where, params = f"{where} AND file_key <= %s", [*params, upper]
    documents: dict[int, tuple[int, int, str]] = {
        int(file_key): (int(n), int(cents), hash_text(int(h)))
        for _, _, file_key, n, cents, h in current(file_digests(connection.vendor), where, params)
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
    if 0 in documents:
        rows.append((None, *documents.pop(0), 0))
    for file_id in sorted(documents.keys() | balances.keys()):
        n, cents, digest = documents.get(file_id, (0, 0, ""))
        rows.append((file_id, n, cents, digest, balances.get(file_id, 0)))
    return rows, upper
