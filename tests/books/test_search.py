"""The books' global search selector (ADR 0031): files, contacts, checks (by number,
payee or memo; a voided one still found, with its status) and invoices (by number), word
prefixes in any case, the firm's only."""

from __future__ import annotations

import pytest
from django.db import connection

from casebridge.books.models import ActivityCode, Check, Invoice
from casebridge.books.selectors.search import INDEXES, search_books
from casebridge.books.services import checks, files
from casebridge.core import clock
from tests.books.ledger_helpers import D, operating_check


def found(firm, query: str) -> dict[str, list[str]]:
    return {g.kind: [h.label for h in g.hits] for g in search_books(firm, query).groups}


@pytest.fixture
def mixed(firm, other_firm, admin, operating, client_file):
    code = ActivityCode.objects.get(firm=firm, code="E112")
    court = operating_check(
        firm, admin, operating, client_file, 43_500, code, payee="Superior Court"
    )
    checks.check_print(firm=firm, actor=admin, check_id=court.pk, check_number=10_421, printed_on=D)
    spoiled = operating_check(firm, admin, operating, None, 2_999, code, payee="Lopez Couriers")
    checks.check_void(firm=firm, actor=admin, check_id=spoiled.pk, void_date=D, reason="wrong")
    Invoice.objects.create(
        firm=firm,
        number=2041,
        file=client_file,
        invoice_date=D,
        description="Settlement fee",
        total_cents=3_333_300,
        created_at=clock.now(),
    )
    client, _ = files.contact_find_or_create(firm=other_firm, actor=None, name="Lopez Elsewhere")
    files.file_find_or_create(
        firm=other_firm, actor=None, name="Lopez v. Other", client=client, opened_on=D
    )
    return {"court": court, "spoiled": spoiled}


def test_a_prefix_in_any_case_finds_the_firms_files_contacts_and_checks(mixed, firm, client_file):
    assert found(firm, "LOP") == {
        "files": [f"{client_file.number} Lopez v. Acme Trucking"],
        "contacts": ["Maria Lopez"],
        "checks": ["Unnumbered · $29.99 to Lopez Couriers"],
        "invoices": [],
    }


def test_a_check_by_its_number_or_a_prefix_of_it(mixed, firm):
    assert found(firm, "10421")["checks"] == ["No. 10421 · $435.00 to Superior Court"]
    assert found(firm, "1042")["checks"] == ["No. 10421 · $435.00 to Superior Court"]
    hit = search_books(firm, "superior").groups[2].hits[0]
    assert hit.detail.startswith("Printed · ")


def test_a_voided_check_is_found_with_its_status(mixed, firm):
    hit = search_books(firm, "couriers").groups[2].hits[0]
    assert hit.detail.startswith("Voided · ")
    assert hit.url == "/books/checks/?status=voided"


def test_an_invoice_by_number_or_description(mixed, firm):
    invoice = Invoice.objects.get(firm=firm, number=2041)
    assert found(firm, "2041")["invoices"] == ["Invoice 2041 · $33,333.00"]
    assert found(firm, "settlement fee")["invoices"] == ["Invoice 2041 · $33,333.00"]
    assert search_books(firm, "2041").groups[3].hits[0].url == f"/books/invoices/{invoice.pk}/"


def test_another_firm_finds_only_its_own(mixed, other_firm):
    assert found(other_firm, "lopez") == {
        "files": [f"{other_firm.files.get().number} Lopez v. Other"],
        "contacts": ["Lopez Elsewhere"],
        "checks": [],
        "invoices": [],
    }


def test_no_words_no_groups(firm):
    assert found(firm, " -- ") == {}


def test_a_reprinted_number_reaches_the_index(mixed, firm):
    Check.objects.filter(pk=mixed["court"].pk).update(check_number=20_001)
    assert found(firm, "10421")["checks"] == []
    assert found(firm, "20001")["checks"] == ["No. 20001 · $435.00 to Superior Court"]


def test_the_indexes_exist(db):
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SELECT indexname FROM pg_indexes WHERE indexname LIKE '%%_search'")
        else:
            cursor.execute("SELECT name FROM sqlite_master WHERE name LIKE '%_search%'")
        names = {row[0] for row in cursor.fetchall()}
    for index in INDEXES:
        assert index.name in names
        if connection.vendor == "sqlite":
            assert {f"{index.name}_{e}" for e in ("insert", "delete", "update")} <= names
