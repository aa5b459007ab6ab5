"""The cases side's global search selector (ADR 0031): word prefixes, any case, scoped to
the firm, void costs left out, payees only for the Costs management permission, and the
SQLite index kept by its triggers."""

from __future__ import annotations

import pytest
from django.db import connection

from casebridge.cases.models import Case, Contact, Cost
from casebridge.cases.selectors.search import INDEXES, search_cases_side
from casebridge.cases.services import cases as case_services
from casebridge.cases.services import costs, firms
from casebridge.core import search
from tests.cases.conftest import PASSWORD, cost_code
from tests.cases.helpers import D


def found(user, query: str) -> dict[str, list[str]]:
    return {g.kind: [h.label for h in g.hits] for g in search_cases_side(user, query).groups}


@pytest.fixture
def mixed(cfirm, cadmin, cattorney, case):
    """The firm's case "Lopez v. Acme Trucking" (client Maria Lopez), a second case, a
    payee with a live cost and one with only a void cost; another firm's Lopez."""
    records = case_services.contact_create(
        firm=cfirm, actor=cadmin, name="Records Inc", email="bills@records.test"
    )
    munoz = case_services.contact_create(firm=cfirm, actor=cadmin, name="José Muñoz")
    second = case_services.case_create(
        firm=cfirm, actor=cadmin, name="Muñoz v. Lopez Freight", client_id=munoz.pk
    )
    code = cost_code(cfirm, "MEDREC").pk
    live = costs.cost_create(
        firm=cfirm,
        actor=cadmin,
        case_id=case.pk,
        payee_id=records.pk,
        amount_cents=30_001,
        cost_code_id=code,
        cost_date=D,
        invoice_reference="INV-7781",
        memo="Records of Valley Medical",
    )
    gone = costs.cost_create(
        firm=cfirm,
        actor=cadmin,
        case_id=second.pk,
        payee_id=munoz.pk,
        amount_cents=999,
        cost_code_id=code,
        cost_date=D,
        memo="Valley parking",
    )
    costs.cost_void(firm=cfirm, actor=cadmin, cost_id=gone.pk, reason="typo")
    other = firms.firm_create(code="other-pi", name="Other PI")
    boss = firms.user_create(
        firm=other, actor=None, email="boss@other.test", password=PASSWORD, is_firm_admin=True
    )
    lopez = case_services.contact_create(firm=other, actor=boss, name="Lopez Other")
    case_services.case_create(firm=other, actor=boss, name="Lopez v. Elsewhere", client_id=lopez.pk)
    return {"case": case, "second": second, "live": live, "gone": gone}


def test_a_prefix_of_any_word_in_any_case_finds_the_firms_records_only(mixed, cadmin):
    assert found(cadmin, "LOP") == {
        "cases": [
            f"{mixed['second'].number} Muñoz v. Lopez Freight",
            f"{mixed['case'].number} Lopez v. Acme Trucking",
        ],
        "contacts": ["Maria Lopez"],
        "payees": [],
        "costs": [],
    }


def test_every_word_must_begin_a_word(mixed, cadmin):
    assert found(cadmin, "lopez acm")["cases"] == [f"{mixed['case'].number} Lopez v. Acme Trucking"]
    assert found(cadmin, "opez")["cases"] == []  # not the middle of a word
    assert found(cadmin, "   ") == {}
    assert found(cadmin, "--") == {}


def test_costs_by_memo_invoice_or_payee_and_void_costs_are_left_out(mixed, cadmin):
    label = "$300.01 to Records Inc"
    assert found(cadmin, "valley")["costs"] == [label]  # the void "Valley parking" is not
    assert found(cadmin, "inv 778")["costs"] == [label]
    assert found(cadmin, "records")["costs"] == [label]
    assert found(cadmin, "records")["payees"] == ["Records Inc"]
    assert found(cadmin, "bills@records")["contacts"] == ["Records Inc"]
    # José Muñoz is the payee of a void cost only: a contact, not a payee.
    assert found(cadmin, "jose")["payees"] == []


def test_a_check_number_finds_its_cost(mixed, cfirm, cadmin):
    Cost.objects.filter(pk=mixed["live"].pk).update(payment_reference="100234")
    assert found(cadmin, "100234")["costs"] == ["$300.01 to Records Inc"]
    assert found(cadmin, "1002")["costs"] == ["$300.01 to Records Inc"]


def test_payees_need_the_costs_management_permission(mixed, paralegal):
    assert list(found(paralegal, "records")) == ["cases", "contacts", "costs"]


def test_links_open_the_case_the_contacts_cases_and_the_payees_costs(mixed, cadmin):
    groups = {g.kind: g.hits for g in search_cases_side(cadmin, "records").groups}
    assert groups["costs"][0].url == f"/cases/{mixed['case'].pk}/costs/"
    assert groups["contacts"][0].url == "/cases/?q=Records+Inc"
    assert groups["payees"][0].url == "/cases/costs-management/?status=open&payee=Records+Inc"
    case_hit = search_cases_side(cadmin, "acme").groups[0].hits[0]
    assert case_hit.url == f"/cases/{mixed['case'].pk}/"


def test_at_most_ten_of_a_kind_newest_case_first(cfirm, cadmin, client_contact):
    made = [
        case_services.case_create(
            firm=cfirm, actor=cadmin, name=f"Garcia v. Driver {n}", client_id=client_contact.pk
        )
        for n in range(12)
    ]
    hits = found(cadmin, "garcia")["cases"]
    assert hits == [f"{c.number} {c.name}" for c in reversed(made)][:10]


def test_accents_fold_on_both_databases(mixed, cadmin):
    """SQLite's FTS5 folds them; PostgreSQL's indexes hold the text through unaccent."""
    assert found(cadmin, "munoz")["contacts"] == ["José Muñoz"]
    assert found(cadmin, "Muñoz")["contacts"] == ["José Muñoz"]
    assert found(cadmin, "jose mu")["contacts"] == ["José Muñoz"]
    assert found(cadmin, "mu")["contacts"] == ["José Muñoz"]


def test_renames_and_deletions_reach_the_index(mixed, cfirm, cadmin):
    Case.objects.filter(pk=mixed["case"].pk).update(name="Lopez v. Zenith Haulage")
    assert found(cadmin, "acme")["cases"] == []
    assert found(cadmin, "zenith")["cases"] == [f"{mixed['case'].number} Lopez v. Zenith Haulage"]
    Contact.objects.filter(name="Maria Lopez").update(name="Maria Lopes")
    assert found(cadmin, "lopes")["contacts"] == ["Maria Lopes"]
    Cost.objects.filter(pk=mixed["gone"].pk).delete()
    assert found(cadmin, "parking")["costs"] == []


def test_the_indexes_exist(db):
    """The migration made every index (SQLite: the FTS5 table and its three triggers)."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SELECT indexname FROM pg_indexes WHERE indexname LIKE '%%_search'")
            names = {row[0] for row in cursor.fetchall()}
            assert {i.name for i in INDEXES} <= names
        else:
            cursor.execute("SELECT name FROM sqlite_master WHERE name LIKE '%_search%'")
            names = {row[0] for row in cursor.fetchall()}
            for index in INDEXES:
                assert {
                    index.name,
                    *(f"{index.name}_{e}" for e in ("insert", "delete", "update")),
                } <= names


def test_words_are_letters_and_digits():
    assert search.words("  Lopez-GARCÍA, 2024_07 ") == ["lopez", "garcía", "2024", "07"]
    assert search.words("J. Smith v 7") == ["smith"]  # single characters narrow nothing


def test_only_the_firms_newest_candidates_are_read(cfirm, cadmin, client_contact, monkeypatch):
    """Another firm's newer matches never crowd the firm's own out of the capped read."""
    monkeypatch.setattr(search, "SQLITE_CANDIDATES", 2)
    ours = [
        case_services.case_create(
            firm=cfirm, actor=cadmin, name=f"Garcia v. Road {n}", client_id=client_contact.pk
        )
        for n in range(3)
    ]
    other = firms.firm_create(code="other-pi", name="Other PI")
    boss = firms.user_create(
        firm=other, actor=None, email="boss@other.test", password=PASSWORD, is_firm_admin=True
    )
    theirs = case_services.contact_create(firm=other, actor=boss, name="Garcia Other")
    for n in range(3):
        case_services.case_create(
            firm=other, actor=boss, name=f"Garcia v. Elsewhere {n}", client_id=theirs.pk
        )
    assert found(cadmin, "garcia")["cases"] == [f"{c.number} {c.name}" for c in ours[:0:-1]]


def test_a_name_with_a_sharp_s_is_found_as_typed(cfirm, cadmin):
    """Words are lower-cased, not case-folded: casefold turned "Straße" into "strasse",
    which begins no word of the stored name on either database."""
    assert search.words("STRAßE Bau") == ["straße", "bau"]
    case_services.contact_create(firm=cfirm, actor=cadmin, name="Straße Bau GmbH")
    assert "Straße Bau GmbH" in found(cadmin, "straße").get("contacts", [])


def test_words_of_one_or_two_letters_find_on_both_databases(mixed, cadmin):
    """On PostgreSQL they are looked up in the word-starts index (too short for trigrams)."""
    number = mixed["case"].number
    assert found(cadmin, "ac")["cases"] == [f"{number} Lopez v. Acme Trucking"]
    assert found(cadmin, "v ac")["cases"] == [f"{number} Lopez v. Acme Trucking"]
    assert found(cadmin, "mu")["contacts"] == ["José Muñoz"]
    assert all(hits == [] for hits in found(cadmin, "zz").values())
    # every word must begin a word, short ones too
    assert all(hits == [] for hits in found(cadmin, "ac zz").values())


def test_a_dotted_capital_i_does_not_split_a_word(cfirm, cadmin):
    """ "İ".lower() is "i" and a combining dot, which is no letter: "İzmir" became "i" and
    "zmir", and "zmir" begins no word."""
    assert search.words("İzmir Klinik") == ["izmir", "klinik"]
    case_services.contact_create(firm=cfirm, actor=cadmin, name="İzmir Klinik")
    assert found(cadmin, "İzmir")["contacts"] == ["İzmir Klinik"]
    assert found(cadmin, "izm")["contacts"] == ["İzmir Klinik"]


@pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL's word-starts index")
def test_the_word_starts_of_a_text(db):
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT casebridge_word_starts(casebridge_unaccent(%s))",
            ["CB-2024-0017 Lopez v. O'Brien Éa"],
        )
        assert sorted(cursor.fetchone()[0]) == sorted(
            ["c", "cb", "2", "20", "0", "00", "l", "lo", "v", "o", "b", "br", "e", "ea"]
        )
        cursor.execute("SELECT indexname FROM pg_indexes WHERE indexname LIKE '%%_search_starts'")
        assert {row[0] for row in cursor.fetchall()} >= {i.starts_name for i in INDEXES}


def test_a_word_that_folds_to_more_than_letters_is_taken_literally(cfirm, cadmin):
    """PostgreSQL's unaccent makes "½" "1/2": a character a pattern must not read as its own."""
    case_services.contact_create(firm=cfirm, actor=cadmin, name="Half ½ Clinic")
    assert found(cadmin, "½ cli")["contacts"] == ["Half ½ Clinic"]
    assert all(hits == [] for hits in found(cadmin, "½x").values())


@pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL's unaccent")
def test_unaccent_in_a_schema_of_its_own(db):
    """A managed database may keep extensions in a schema of their own: the folding
    function names the schema the extension is in (the test's DDL rolls back with it)."""
    with connection.cursor() as cursor:
        cursor.execute("CREATE SCHEMA cb_extensions")
        cursor.execute("ALTER EXTENSION unaccent SET SCHEMA cb_extensions")
    with connection.schema_editor() as editor:
        search.fold_accents(editor, INDEXES)
    with connection.cursor() as cursor:
        cursor.execute("SELECT casebridge_unaccent('José Muñoz')")
        assert cursor.fetchone()[0] == "Jose Munoz"
