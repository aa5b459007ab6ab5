"""Contacts and files: find-or-create by external_ref, trust balances, the client ledger."""

from __future__ import annotations

import datetime as dt

from casebridge.books.models import AreaOfPractice, Contact, File
from casebridge.books.services import checks, setup
from casebridge.core import clock
from tests.books.api.conftest import row_counts


def test_a_contact_is_created_once_per_external_ref(api):
    body = {
        "name": "Maria Lopez",
        "external_ref": "client-9",
        "email": "maria@example.test",
        "phone": "555-0100",
        "address": "1 Main St",
    }
    created = api.post("/contacts", body)
    assert created.status == 201
    contact = Contact.objects.get(external_ref="client-9")
    assert created.body == {
        "id": contact.pk,
        "name": "Maria Lopez",
        "email": "maria@example.test",
        "phone": "555-0100",
        "address": "1 Main St",
        "external_ref": "client-9",
    }
    found = api.post("/contacts", {**body, "name": "Maria L."})
    assert (found.status, found.body) == (200, created.body)  # found, unchanged
    assert Contact.objects.filter(external_ref="client-9").count() == 1
    listed = api.get("/contacts", {"external_ref": "client-9"})
    assert listed.body == {"items": [created.body], "next": None}
    assert api.get(f"/contacts/{contact.pk}").body == created.body


def test_bad_contact_inputs(api):
    assert api.post("/contacts", {"name": ""}).error["field"] == "name"
    assert api.post("/contacts", {"name": "X", "email": "not-an-email"}).error["field"] == "email"


def test_a_file_is_opened_once_per_external_ref(
    api, firm, admin, attorney, monkeypatch, client_file
):
    monkeypatch.setattr(clock, "today", lambda: dt.date(2026, 4, 1))
    area = setup.area_of_practice_create(
        firm=firm, actor=admin, name="PI", description="Personal Injury"
    )
    client = client_file.client
    body = {
        "name": "Lopez v. Beta Freight",
        "client_id": client.pk,
        "external_ref": "case-2",
        "area_of_practice_id": area.pk,
        "responsible_attorney_id": attorney.pk,
    }
    created = api.post("/files", body)
    assert created.status == 201
    file = File.objects.get(external_ref="case-2")
    assert created.body == {
        "id": file.pk,
        "number": "2026-00002",
        "name": "Lopez v. Beta Freight",
        "client": {"id": client.pk, "name": "Maria Lopez", "external_ref": "case-client-1"},
        "area_of_practice": {"id": area.pk, "name": "PI"},
        "responsible_attorney": {
            "id": attorney.pk,
            "email": "Sam.Smith@smith.test",
            "initials": "SS",
        },
        "external_ref": "case-2",
        "opened_on": "2026-04-01",
        "is_closed": False,
        "trust_balances": [
            {
                "bank_account_id": file.firm.bank_accounts.get(kind="trust").pk,
                "bank_account_name": "Client Trust (IOLTA)",
                "balance": "0.00",
            }
        ],
    }
    again = api.post("/files", body)
    assert (again.status, again.body) == (200, created.body)
    assert api.get("/files", {"external_ref": "case-2"}).body == {
        "items": [created.body],
        "next": None,
    }


def test_a_file_names_its_client_and_optional_references_by_id(api, client_file):
    client = client_file.client.pk
    before = row_counts()
    for change, field in [
        ({"client_id": 777_777}, "client_id"),
        ({"area_of_practice_id": 777_777}, "area_of_practice_id"),
        ({"responsible_attorney_id": 777_777}, "responsible_attorney_id"),
    ]:
        reply = api.post("/files", {"name": "New matter", "client_id": client, **change})
        assert (reply.status, reply.error["code"], reply.error["field"]) == (
            404,
            "not_found",
            field,
        )
    missing = api.post("/files", {"name": "New matter"})
    assert (missing.status, missing.error["field"]) == (422, "client_id")
    assert row_counts() == before
    assert AreaOfPractice.objects.count() == 0


def test_the_client_trust_ledger_runs_a_balance(api, firm, admin, trust, funded_file, today):
    checks.check_request_create(
        firm=firm,
        actor=admin,
        bank_account_id=trust.pk,
        payee="Medicare",
        amount_cents=40_000,
        file_id=funded_file.pk,
        request_date=dt.date(2026, 3, 4),
        posting_reference="LIEN",
    )
    reply = api.get(f"/files/{funded_file.pk}/trust-ledger")
    assert reply.status == 200
    body = reply.body
    for line in body["ledgers"][0]["lines"]:
        del line["posting_id"], line["entry_id"]
    assert body == {
        "file_id": funded_file.pk,
        "file_number": funded_file.number,
        "client_name": "Maria Lopez",
        "as_of": today.isoformat(),
        "ledgers": [
            {
                "bank_account_id": trust.pk,
                "bank_account_name": "Client Trust (IOLTA)",
                "balance": "600.00",
                "lines": [
                    {
                        "date": "2026-03-02",
                        "memo": "Trust deposit from Acme Insurance (check 88123)",
                        "reference": "",
                        "deposit": "1000.00",
                        "disbursement": "0.00",
                        "balance": "1000.00",
                        "reverses_entry_id": None,
                    },
                    {
                        "date": "2026-03-04",
                        "memo": "Check to Medicare",
                        "reference": "LIEN",
                        "deposit": "0.00",
                        "disbursement": "400.00",
                        "balance": "600.00",
                        "reverses_entry_id": None,
                    },
                ],
            }
        ],
    }
    listed = api.get("/files")
    assert (len(listed.body["items"]), listed.body["next"]) == (1, None)
    assert listed.body["items"][0]["trust_balances"][0]["balance"] == "600.00"
