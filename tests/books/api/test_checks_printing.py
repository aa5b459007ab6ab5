"""Printing checks through the API: a batch numbered in one go, the PDF, a reprint."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import pytest

from casebridge.books.models import (
    ActivityCode,
    BankAccount,
    Check,
    SpoiledCheckNumber,
)
from casebridge.books.services import checks
from casebridge.core.models import AuditEvent
from tests.books.api.conftest import BASE, ApiClient, issue_token, row_counts
from tests.books.ledger_helpers import books_open, operating_check


@pytest.fixture
def queued(firm, admin, operating, client_file) -> list[Check]:
    books_open(firm, admin)
    court = ActivityCode.objects.get(firm=firm, code="E112")
    return [
        operating_check(firm, admin, operating, client_file, cents, court, payee=payee)
        for payee, cents in (("Superior Court", 43_500), ("Records Inc", 12_345), ("FedEx", 99))
    ]


def counts() -> dict[str, Any]:
    return {
        **row_counts(),
        "spoiled": SpoiledCheckNumber.objects.count(),
        "states": sorted(Check.objects.values_list("pk", "status", "check_number", "printed_on")),
        "next": sorted(BankAccount.objects.values_list("pk", "next_check_number")),
    }


def get_pdf(client, token: str, **params: str):
    return client.get(f"{BASE}/checks/pdf", params, headers={"Authorization": f"Bearer {token}"})


def test_a_batch_is_numbered_and_its_pdf_follows(api, client, token, operating, queued):
    a, b, c = queued
    reply = api.post(
        "/checks/print-batch",
        {
            "ids": [b.pk, a.pk, c.pk],
            "bank_account_id": operating.pk,
            "printed_on": "2026-03-05",
            "layout": "three_per_page",
        },
        key="batch-1",
    )
    assert reply.status == 200, reply.body
    body = reply.body
    assert body["numbers"] == [1001, 1002, 1003]
    assert [(i["id"], i["check_number"], i["status"]) for i in body["items"]] == [
        (b.pk, 1001, "printed"),
        (a.pk, 1002, "printed"),
        (c.pk, 1003, "printed"),
    ]
    assert (body["bank_account_id"], body["printed_on"], body["micr_line"]) == (
        operating.pk,
        "2026-03-05",
        False,
    )
    assert body["pdf_url"] == f"{BASE}/checks/pdf?ids={b.pk},{a.pk},{c.pk}&layout=three_per_page"

    # the same request again replays the answer and numbers nothing more
    before = counts()
    again = api.post(
        "/checks/print-batch",
        {
            "ids": [b.pk, a.pk, c.pk],
            "bank_account_id": operating.pk,
            "printed_on": "2026-03-05",
            "layout": "three_per_page",
        },
        key="batch-1",
    )
    assert (again.status, again.body) == (200, body)
    assert counts() == before

    response = client.get(body["pdf_url"], headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"] == 'attachment; filename="checks-1001-1003.pdf"'
    assert "no-store" in response["Cache-Control"]
    assert len(re.findall(rb"/Type\s*/Page\b(?!s)", response.content)) == 1  # three on a page
    on_top = get_pdf(client, token, ids=f"{a.pk},{b.pk}", layout="check_on_top")
    assert len(re.findall(rb"/Type\s*/Page\b(?!s)", on_top.content)) == 2
    assert on_top["Content-Disposition"] == 'attachment; filename="checks-1002-1001.pdf"'


def test_the_micr_line_is_reported_once_the_bank_account_has_its_numbers(api, operating, queued):
    BankAccount.objects.filter(pk=operating.pk).update(
        routing_number="021000021", account_number="123456789"
    )
    reply = api.post(
        "/checks/print-batch", {"ids": [queued[0].pk], "bank_account_id": operating.pk}
    )
    assert reply.body["micr_line"] is True
    assert reply.body["pdf_url"].endswith("&layout=check_on_top")


def test_a_bad_batch_is_refused_naming_the_check_and_writes_nothing(
    api, firm, admin, operating, trust, queued, other_firm
):
    a, b, c = queued
    checks.check_print(firm=firm, actor=admin, check_id=c.pk)
    theirs = BankAccount.objects.get(firm=other_firm, kind="operating")
    before = counts()
    cases = [
        ({"ids": [a.pk, 999_999]}, 404, "not_found", "ids[1]", "ids[1]: check 999999 not found"),
        ({"ids": [a.pk, c.pk]}, 409, "conflict", "ids[1]", f"ids[1]: check {c.pk} is printed"),
        (
            {"ids": [a.pk, b.pk, a.pk]},
            422,
            "validation_error",
            "ids[2]",
            f"ids[2]: check {a.pk} is named twice (at 0 and 2)",
        ),
        (
            {"ids": [a.pk], "bank_account_id": trust.pk},
            422,
            "validation_error",
            "ids[0]",
            f"ids[0]: check {a.pk} is drawn on Operating, not Client Trust (IOLTA)",
        ),
        (
            {"ids": [a.pk], "printed_on": "2026-03-01"},
            422,
            "validation_error",
            "printed_on",
            f"printed_on 2026-03-01 is before check {a.pk}'s date 2026-03-02",
        ),
        (
            {"ids": [a.pk], "bank_account_id": theirs.pk},
            404,
            "not_found",
            "bank_account_id",
            f"bank_account_id: bank account {theirs.pk} not found",
        ),
        ({"ids": []}, 422, "validation_error", "ids", "ids: List should have at least 1 item"),
        (
            {"ids": [a.pk], "layout": "four_per_page"},
            422,
            "validation_error",
            "layout",
            "layout: Input should be",
        ),
    ]
    for change, status, code, field, message in cases:
        body = {"ids": [a.pk], "bank_account_id": operating.pk} | change
        reply = api.post("/checks/print-batch", body)
        assert reply.status == status, (change, reply.body)
        assert (reply.error["code"], reply.error["field"]) == (code, field), reply.body
        assert reply.error["message"].startswith(message), reply.error["message"]
    assert counts() == before


def test_the_pdf_takes_only_the_firms_printed_checks(client, token, firm, admin, queued):
    a, b, _ = queued
    checks.check_print(firm=firm, actor=admin, check_id=a.pk)
    checks.check_void(firm=firm, actor=admin, check_id=b.pk)
    cases = [
        ({"ids": f"{a.pk},{b.pk}"}, 409, "conflict", f"ids: check {b.pk} is voided"),
        ({"ids": f"{a.pk},999999"}, 404, "not_found", "ids: check 999999 not found"),
        ({"ids": "1,x"}, 422, "validation_error", "ids must be comma-separated numbers"),
        ({"ids": ""}, 422, "validation_error", "ids: name at least one printed check"),
        ({"ids": str(a.pk), "layout": "sideways"}, 422, "validation_error", "layout: Input"),
        ({}, 422, "validation_error", "ids: Field required"),
    ]
    for params, status, code, message in cases:
        response = get_pdf(client, token, **params)
        assert response.status_code == status, (params, response.content)
        error = response.json()["error"]
        assert error["code"] == code
        assert error["message"].startswith(message), error["message"]
    assert get_pdf(client, "not-a-token", ids=str(a.pk)).status_code == 401


def test_another_firms_token_sees_no_check(client, other_user, other_firm, firm, admin, queued):
    """The same 404 as for no check at all."""
    their_token = issue_token(other_firm.code, other_user.email)
    checks.check_print(firm=firm, actor=admin, check_id=queued[0].pk)
    response = get_pdf(client, their_token, ids=str(queued[0].pk))
    assert response.status_code == 404
    assert response.json()["error"]["message"] == f"ids: check {queued[0].pk} not found"
    them = ApiClient(client, their_token)
    reply = them.post(f"/checks/{queued[0].pk}/reprint", {"reason": "Jammed"})
    assert reply.status == 404


def test_a_reprint_gives_the_next_number_and_keeps_the_spoiled_one(
    api, firm, admin, operating, queued
):
    a, b, _ = queued
    checks.checks_print_batch(
        firm=firm,
        actor=admin,
        check_ids=[a.pk, b.pk],
        bank_account_id=operating.pk,
        printed_on=dt.date(2026, 3, 5),
    )
    before = row_counts()
    reply = api.post(
        f"/checks/{a.pk}/reprint",
        {"reason": "Jammed in the printer", "printed_on": "2026-03-06"},
        key="reprint-1",
    )
    assert reply.status == 200, reply.body
    assert (
        reply.body["id"],
        reply.body["check_number"],
        reply.body["spoiled_number"],
        reply.body["printed_on"],
        reply.body["status"],
    ) == (a.pk, 1003, 1001, "2026-03-06", "printed")
    after = row_counts()
    assert after["JournalEntry"] == before["JournalEntry"]
    assert after["Posting"] == before["Posting"]
    assert after["AuditEvent"] == before["AuditEvent"] + 1
    assert AuditEvent.objects.filter(action="reprint", entity_id=str(a.pk)).exists()
    # replayed, not reprinted again
    again = api.post(
        f"/checks/{a.pk}/reprint",
        {"reason": "Jammed in the printer", "printed_on": "2026-03-06"},
        key="reprint-1",
    )
    assert (again.status, again.body) == (200, reply.body)
    assert SpoiledCheckNumber.objects.count() == 1


def test_a_reprint_is_refused_naming_the_problem(api, firm, admin, queued):
    a, b, _ = queued
    checks.check_print(firm=firm, actor=admin, check_id=b.pk)
    before = counts()
    cases = [
        (a.pk, {"reason": "Jammed"}, 409, "conflict", None),
        (b.pk, {"reason": ""}, 422, "validation_error", "reason"),
        (b.pk, {}, 422, "validation_error", "reason"),
        (b.pk, {"reason": "x", "printed_on": "2026-03-01"}, 422, "validation_error", "printed_on"),
        (999_999, {"reason": "Jammed"}, 404, "not_found", None),
    ]
    for pk, body, status, code, field in cases:
        reply = api.post(f"/checks/{pk}/reprint", body)
        assert reply.status == status, (pk, body, reply.body)
        assert (reply.error["code"], reply.error.get("field")) == (code, field), reply.body
    assert counts() == before
