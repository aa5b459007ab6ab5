"""The statements API: upload (multipart), the statement with its lines, the import log and
the CSV column mapping. A refused file is a 422 naming where; only the refusal is kept."""

from __future__ import annotations

import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from casebridge.books.models import BankStatement, StatementImport, StatementLine
from casebridge.books.services import statements as service
from tests.books.api.conftest import BASE, Reply
from tests.books.statements.test_parsers import read


def upload(api, bank, name, *, data=None, fmt=None, key=None):
    form = {"file": SimpleUploadedFile(name, read(name) if data is None else data)}
    if fmt:
        form["format"] = fmt
    headers = {"Authorization": f"Bearer {api.token}"}
    if key:
        headers["Idempotency-Key"] = key
    response = api.client.post(
        f"{BASE}/bank-accounts/{bank.pk}/statements", data=form, headers=headers
    )
    assert response.status_code < 500, response.content
    return Reply(response.status_code, json.loads(response.content), dict(response.headers))


def rows():
    return (
        BankStatement.objects.count(),
        StatementLine.objects.count(),
        StatementImport.objects.count(),
    )


def test_upload_a_statement_then_read_it_with_its_lines(api, trust):
    reply = upload(api, trust, "ofx2_harbor_national.ofx")

    assert reply.status == 201
    assert {k: reply.body[k] for k in ("status", "format", "new", "known")} == {
        "status": "imported",
        "format": "ofx",
        "new": 3,
        "known": 0,
    }
    statement = api.get(f"/statements/{reply.body['statement_id']}").body
    assert statement["closing_balance"] == "16667.74"
    assert statement["opening_balance"] is None
    assert (statement["lines"]["count"], statement["lines"]["next"]) == (3, None)
    assert [(x["amount"], x["check_number"]) for x in statement["lines"]["items"]] == [
        ("25000.00", None),
        ("-8333.33", "2044"),
        ("1.07", None),
    ]
    listed = api.get(f"/bank-accounts/{trust.pk}/statements").body
    assert [s["id"] for s in listed["items"]] == [reply.body["statement_id"]]


def test_the_same_file_again_adds_nothing(api, trust):
    upload(api, trust, "ofx1_first_community.ofx")

    again = upload(api, trust, "ofx1_first_community.ofx", fmt="ofx")

    assert again.status == 201
    assert (again.body["new"], again.body["known"]) == (0, 3)
    assert rows() == (1, 3, 2)


def test_a_malformed_file_is_refused_with_where_and_nothing_but_the_refusal(api, trust):
    reply = upload(api, trust, "malformed_missing_amt.camt053.xml")

    assert reply.status == 422
    assert reply.error["code"] == "statement_refused"
    assert reply.error["field"] == "file"
    assert reply.error["message"] == "element Stmt[1]/Ntry[2]/Amt: the Amt element is missing"
    assert rows() == (0, 0, 1)
    log = api.get(f"/bank-accounts/{trust.pk}/statement-imports").body
    assert [(x["status"], x["where"]) for x in log["items"]] == [
        ("refused", "element Stmt[1]/Ntry[2]/Amt")
    ]
    assert log["items"][0]["id"] == reply.error["details"]["import_id"]


def test_a_repeated_upload_with_an_idempotency_key_is_replayed(api, trust):
    first = upload(api, trust, "trust_prior_day.bai", key="k-1")
    second = upload(api, trust, "trust_prior_day.bai", key="k-1")

    assert (first.status, second.status) == (201, 201)
    assert second.headers.get("Idempotent-Replayed") == "true"
    assert second.body == first.body
    assert rows() == (1, 3, 1)


def test_another_file_under_the_same_key_is_refused(api, trust):
    upload(api, trust, "trust_prior_day.bai", key="k-2")

    reply = upload(api, trust, "ofx1_first_community.ofx", key="k-2")

    assert reply.status == 409
    assert reply.error["code"] == "idempotency_key_reused"
    assert rows() == (1, 3, 1)


def test_an_unknown_format_is_refused_naming_it(api, trust):
    reply = upload(api, trust, "ofx1_first_community.ofx", fmt="pdf")

    assert reply.status == 422
    assert rows() == (0, 0, 0)


def test_a_file_over_the_limit_is_refused_413(api, trust, monkeypatch):
    monkeypatch.setattr(service, "MAX_FILE_BYTES", 100)

    reply = upload(api, trust, "ofx1_first_community.ofx")

    assert reply.status == 413
    assert reply.error["code"] == "file_too_large"
    assert rows() == (0, 0, 0)


def test_another_firms_bank_account_is_404(api, other_firm):
    from casebridge.books.models import BankAccount

    theirs = BankAccount.objects.filter(firm=other_firm).first()
    reply = upload(api, theirs, "ofx1_first_community.ofx")
    assert reply.status == 404
    assert rows() == (0, 0, 0)


def test_the_csv_mapping_is_chosen_once_and_used(api, client, operating):
    assert api.get(f"/bank-accounts/{operating.pk}/csv-mapping").body["chosen"] is False
    mapping = {
        "date_column": 1,
        "amount_column": None,
        "description_column": 2,
        "debit_column": 3,
        "credit_column": 4,
        "check_number_column": 5,
        "reference_column": 6,
    }
    response = client.put(
        f"{BASE}/bank-accounts/{operating.pk}/csv-mapping",
        data=json.dumps(mapping),
        content_type="application/json",
        headers={"Authorization": f"Bearer {api.token}"},
    )
    assert response.status_code == 200, response.content
    assert json.loads(response.content)["mapping"]["debit_column"] == 3

    reply = upload(api, operating, "operating_export.csv", fmt="csv")

    assert (reply.status, reply.body["new"]) == (201, 7)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"amount_column": None, "debit_column": 3}, "amount_column"),
        ({"date_format": "%Q"}, "date_format"),
    ],
)
def test_an_incomplete_csv_mapping_is_refused_naming_the_field(api, client, operating, body, field):
    response = client.put(
        f"{BASE}/bank-accounts/{operating.pk}/csv-mapping",
        data=json.dumps(body),
        content_type="application/json",
        headers={"Authorization": f"Bearer {api.token}"},
    )
    assert response.status_code == 422
    assert json.loads(response.content)["error"]["field"] == field
