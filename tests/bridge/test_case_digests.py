"""Issue 12 (ADR 0030): the digests both sides keep by triggers (``bridge_casedigest`` per
case, ``books_filedigest`` per file) equal a full recomputation from the documents after
a realistic mixed workload through the services (costs sent, paid and voided, deposits
received and voided, payments disbursed and printed, a fee invoice finalised) and the
bulk and raw writes no service path makes (a document moved to another case or file, a
cost's and a payment's links deleted, a deposit voided in bulk), on both databases. Each
check is shown able to fail."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection

from casebridge.books.models import Check, File, FileDigest
from casebridge.books.selectors.digests import file_digests_drift
from casebridge.books.services import checks as books_checks
from casebridge.books.services.maintenance import file_digests_compact
from casebridge.bridge.models import CaseDigest, CostLink, TrustItemLink
from casebridge.bridge.services import outbox, reconciliation
from casebridge.bridge.services.delivery import outbox_deliver
from casebridge.cases.models import Cost, CostStatus, Deposit
from casebridge.cases.services import cases as case_services
from casebridge.cases.services import costs as cost_services
from casebridge.core.digest import MODULUS

from .conftest import add_cost
from .test_reconciliation_digests import _run, _settled_and_final


def _triggers(prefix: str) -> int:
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SELECT count(*) FROM pg_trigger WHERE tgname LIKE %s", [prefix + "%"])
        else:
            cursor.execute(
                "SELECT count(*) FROM sqlite_master WHERE type = 'trigger' AND name LIKE %s",
                [prefix + "%"],
            )
        return int(cursor.fetchone()[0])


def _compact() -> None:
    """The deltas folded into the kept rows (ADR 0035; on PostgreSQL the triggers write
    only deltas), so that the kept rows can be read (and tampered with) alone."""
    assert file_digests_compact() is not None
    assert reconciliation.case_digests_compact() is not None


def _drift(books, cases) -> tuple[list, list]:
    return (
        reconciliation.case_digests_drift(firm=cases.firm),
        file_digests_drift(firm=books.firm),
    )


def test_every_table_a_digest_reads_has_its_triggers(transactional_db):
    # insert, update, delete; and on PostgreSQL truncate (ADR 0032)
    events = 4 if connection.vendor == "postgresql" else 3
    # costs, cost links, deposits, deposit links, trust items, their links, fee invoices
    assert _triggers("bridge_casedigest_") == 7 * events
    # checks, trust receipts, invoices
    assert _triggers("books_filedigest_") == 3 * events


def test_maintained_digests_equal_a_full_recomputation_after_a_mixed_workload(books, cases):
    settled = _settled_and_final(books, cases)
    case = settled.case
    _compact()
    assert CaseDigest.objects.get(firm=cases.firm, case=case).documents == 7
    assert _drift(books, cases) == ([], [])

    other = case_services.case_create(
        firm=cases.firm,
        actor=cases.admin,
        name="Lopez v. Other",
        client_id=case.client_id,
        responsible_attorney_id=case.responsible_attorney_id,
        status="open",
    )
    # a cost sent (its check queued in the books), then voided here and the void carried
    cost = add_cost(cases, 4_200, case=other)
    outbox.costs_send(firm=cases.firm, actor=cases.admin, cost_ids=[cost.pk])
    outbox_deliver(firm_id=cases.firm.pk)
    _compact()
    assert CaseDigest.objects.get(firm=cases.firm, case=other).documents == 1
    cost_services.cost_void(firm=cases.firm, actor=cases.admin, cost_id=cost.pk)
    outbox_deliver(firm_id=cases.firm.pk)
    # a printed check voided in the books
    printed = Check.objects.filter(firm=books.firm, status="printed").order_by("pk").first()
    assert printed is not None
    books_checks.check_void(firm=books.firm, actor=books.admin, check_id=printed.pk)
    # bulk writes no service makes: a cost moved to another case, a check to another file
    # and out of any file, costs' amounts and references changed in one statement
    moved = Cost.objects.filter(case=case, books_link__isnull=False).order_by("pk").first()
    assert moved is not None
    Cost.objects.filter(pk=moved.pk).update(case=other)
    Cost.objects.filter(case=case, status=CostStatus.PAID).update(
        amount_cents=12_345, payment_reference="9999"
    )
    a_file = File.objects.filter(firm=books.firm).order_by("pk").first()
    assert a_file is not None
    new_file = File.objects.create(
        firm=books.firm,
        number="X-1",
        name="Moved",
        client_id=a_file.client_id,
        area_of_practice_id=a_file.area_of_practice_id,
        opened_on=a_file.opened_on,
    )
    checks = list(Check.objects.filter(firm=books.firm).order_by("pk").values_list("pk", flat=True))
    Check.objects.filter(pk=checks[0]).update(file=new_file)
    Check.objects.filter(pk=checks[1]).update(file=None)
    # a deposit voided by a bulk update; deletes: a cost's link, a payment's link
    Deposit.objects.filter(case=case).update(voided_on=dt.date(2026, 3, 9))
    CostLink.objects.filter(cost=moved).delete()
    item_link = TrustItemLink.objects.filter(trust_item__case=case).order_by("pk").first()
    assert item_link is not None
    TrustItemLink.objects.filter(pk=item_link.pk).delete()

    assert _drift(books, cases) == ([], [])
    _compact()
    assert _drift(books, cases) == ([], [])
    assert (
        FileDigest.objects.get(firm=books.firm, namespace="cases-", file_key=new_file.pk).documents
        == 1
    )
    assert FileDigest.objects.get(firm=books.firm, namespace="cases-", file_key=0).documents == 1
    # the run compares these digests: the changed cases differ and are read in detail
    run = _run(cases)
    assert run.error == ""
    assert run.differences > 0


def test_a_digest_that_drifted_is_found(books, cases):
    settled = _settled_and_final(books, cases)
    _compact()
    CaseDigest.objects.filter(case=settled.case).update(documents=6)
    digest = FileDigest.objects.filter(firm=books.firm, namespace="cases-", documents__gt=0)
    row = digest.order_by("file_key").first()
    assert row is not None
    FileDigest.objects.filter(pk=row.pk).update(hash=(row.hash + 1) % MODULUS)

    drifted = reconciliation.case_digests_drift(firm=cases.firm)
    assert [(key, m[0] if m else None, r[0] if r else None) for key, m, r in drifted] == [
        ((cases.firm.pk, settled.case.pk), 6, 7)
    ]
    assert [key for key, *_ in file_digests_drift(firm=books.firm)] == [
        (books.firm.pk, "cases-", row.file_key)
    ]


@pytest.mark.skipif(
    connection.vendor != "postgresql", reason="TRUNCATE triggers: PostgreSQL (ADR 0032)"
)
def test_a_truncated_source_table_leaves_every_digest_its_recomputation(books, cases):
    settled = _settled_and_final(books, cases)
    case = settled.case
    _compact()
    kept = CaseDigest.objects.get(firm=cases.firm, case=case)
    assert kept.documents == 7
    sent_costs = CostLink.objects.filter(cost__case=case).count()
    receipts = list(
        FileDigest.objects.filter(firm=books.firm, namespace="cases-", documents__gt=0)
        .order_by("file_key")
        .values_list("file_key", "documents")
    )
    assert sent_costs > 0
    assert receipts

    with connection.cursor() as cursor:  # no trigger sees a row TRUNCATE removes
        cursor.execute("TRUNCATE bridge_costlink")
        cursor.execute("SELECT count(*) FROM books_trustreceipt WHERE external_ref LIKE 'cases-%%'")
        (books_receipts,) = cursor.fetchone()
        cursor.execute("TRUNCATE books_trustreceipt")

    assert books_receipts > 0
    assert _drift(books, cases) == ([], [])
    _compact()
    assert _drift(books, cases) == ([], [])
    assert CaseDigest.objects.get(firm=cases.firm, case=case).documents == 7 - sent_costs
    assert (
        sum(
            FileDigest.objects.filter(firm=books.firm, namespace="cases-").values_list(
                "documents", flat=True
            )
        )
        == sum(n for _, n in receipts) - books_receipts
    )
