"""The digests' deltas (ADR 0035): a digest is its kept row plus the deltas not yet folded
into it. On PostgreSQL the triggers write only deltas; a compaction folds them into the
kept rows, and the reads give the same digests before and after. ``manage.py
digests_rebuild`` makes one firm's digests their recomputation again (the repair of a
drift). On both databases: SQLite's triggers keep the kept rows themselves, so here the
deltas are also made by hand, each kept row split into two deltas, the hashes wrapping
past 2**60."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from casebridge.books.models import FileDigest, FileDigestDelta
from casebridge.books.selectors.digests import external_digests_page, file_digests_drift
from casebridge.books.services.maintenance import file_digests_compact
from casebridge.books.tasks import file_digests_compact_periodic
from casebridge.bridge.models import CaseDigest, CaseDigestDelta, Connection
from casebridge.bridge.services import reconciliation
from casebridge.bridge.tasks import case_digests_compact_periodic
from casebridge.core.digest import MODULUS
from casebridge.core.models import AuditEvent

from .test_reconciliation_digests import _settled_and_final


def _split(kept_model, delta_model, keys: tuple[str, ...]) -> int:
    """Every kept digest moved into two deltas (the kept row left as zeros): what the
    reads and the compaction must add back, the second delta's hash wrapping past 2**60."""
    moved = 0
    for row in kept_model.objects.filter(documents__gt=0):
        key = {k: getattr(row, k) for k in keys}
        part = MODULUS - 1
        delta_model.objects.create(**key, documents=1, cents=7, hash=part)
        delta_model.objects.create(
            **key,
            documents=row.documents - 1,
            cents=row.cents - 7,
            hash=(row.hash - part) % MODULUS,
        )
        kept_model.objects.filter(pk=row.pk).update(documents=0, cents=0, hash=0)
        moved += 1
    return moved


def _reads(books, cases) -> tuple[list, dict]:
    """What each side's reconciliation reads: the books' digest page, this side's digests."""
    conn = Connection.objects.get(firm=cases.firm)
    page, _ = external_digests_page(
        firm=books.firm,
        prefix="cases-",
        bank_account_id=conn.trust_account_id,
        after_file_id=0,
        limit=1_000,
    )
    return page, reconciliation.expected_digests(cases.firm)


def _compact_both() -> None:
    assert file_digests_compact() is not None
    assert reconciliation.case_digests_compact() is not None


def test_reads_give_the_same_digests_before_and_after_compaction(books, cases):
    _settled_and_final(books, cases)
    _compact_both()
    before = _reads(books, cases)
    assert before[1]  # documents on both sides
    assert [row for row in before[0] if row[1]]

    assert _split(FileDigest, FileDigestDelta, ("firm_id", "namespace", "file_key")) > 0
    assert _split(CaseDigest, CaseDigestDelta, ("firm_id", "case_id")) > 0
    assert _reads(books, cases) == before
    assert file_digests_drift(firm=books.firm) == []
    assert reconciliation.case_digests_drift(firm=cases.firm) == []

    _compact_both()
    assert (FileDigestDelta.objects.count(), CaseDigestDelta.objects.count()) == (0, 0)
    assert _reads(books, cases) == before
    assert file_digests_drift(firm=books.firm) == []
    assert reconciliation.case_digests_drift(firm=cases.firm) == []


def test_the_periodic_compaction_folds_every_delta(books, cases):
    _settled_and_final(books, cases)
    _split(FileDigest, FileDigestDelta, ("firm_id", "namespace", "file_key"))
    _split(CaseDigest, CaseDigestDelta, ("firm_id", "case_id"))
    assert FileDigestDelta.objects.exists()
    assert CaseDigestDelta.objects.exists()

    file_digests_compact_periodic.call_local()
    case_digests_compact_periodic.call_local()

    assert (FileDigestDelta.objects.count(), CaseDigestDelta.objects.count()) == (0, 0)
    assert file_digests_drift(firm=books.firm) == []
    assert reconciliation.case_digests_drift(firm=cases.firm) == []


def test_digests_rebuild_repairs_a_corrupted_kept_row_on_each_side(books, cases):
    settled = _settled_and_final(books, cases)
    _compact_both()
    kept = CaseDigest.objects.get(firm=cases.firm, case=settled.case)
    CaseDigest.objects.filter(pk=kept.pk).update(documents=kept.documents + 1, cents=1)
    CaseDigestDelta.objects.create(
        firm_id=cases.firm.pk, case_id=settled.case.pk + 1_000, documents=2, cents=5, hash=9
    )
    row = FileDigest.objects.filter(firm=books.firm, documents__gt=0).order_by("file_key")[0]
    FileDigest.objects.filter(pk=row.pk).update(hash=(row.hash + 1) % MODULUS)
    assert len(reconciliation.case_digests_drift(firm=cases.firm)) == 2
    assert len(file_digests_drift(firm=books.firm)) == 1

    out = StringIO()
    call_command("digests_rebuild", "--side", "cases", "--firm", cases.firm.code, stdout=out)
    assert out.getvalue() == f"{cases.firm.code}: 2 case digests corrected\n"
    assert reconciliation.case_digests_drift(firm=cases.firm) == []
    assert CaseDigestDelta.objects.count() == 0
    assert CaseDigest.objects.get(pk=kept.pk).documents == kept.documents
    assert len(file_digests_drift(firm=books.firm)) == 1  # the books' side untouched

    out = StringIO()
    call_command("digests_rebuild", "--side", "books", "--firm", books.firm.code, stdout=out)
    assert out.getvalue() == f"{books.firm.code}: 1 file digest corrected\n"
    assert file_digests_drift(firm=books.firm) == []
    assert FileDigest.objects.get(pk=row.pk).hash == row.hash

    events = AuditEvent.objects.filter(action="digests_rebuild").order_by("pk")
    assert [(e.system, e.firm_id, e.entity_type, e.summary) for e in events] == [
        ("bridge", cases.firm.pk, "case_digests", "Case digests rebuilt: 2 cases corrected"),
        ("books", books.firm.pk, "file_digests", "File digests rebuilt: 1 file digest corrected"),
    ]


def test_a_clean_firm_rebuilt_corrects_nothing(books, cases):
    _settled_and_final(books, cases)
    out = StringIO()
    call_command("digests_rebuild", "--side", "cases", "--firm", cases.firm.code, stdout=out)
    assert out.getvalue() == f"{cases.firm.code}: 0 case digests corrected\n"
    assert reconciliation.case_digests_drift(firm=cases.firm) == []


@pytest.mark.parametrize("side", ["books", "cases"])
def test_digests_rebuild_of_an_unknown_firm_writes_nothing(cases, side):
    with pytest.raises(CommandError, match="no firm 'nobody'"):
        call_command("digests_rebuild", "--side", side, "--firm", "nobody")
    assert not AuditEvent.objects.filter(action="digests_rebuild").exists()
