"""Journal entries through the API: one, a batch (all or nothing), reversals."""

from __future__ import annotations

import pytest

from casebridge.books.models import AccountRole, ActivityCode, GLAccount, JournalEntry, Posting
from casebridge.books.services import auth
from casebridge.core.models import AuditEvent
from tests.books.api.conftest import ApiClient, issue_token, row_counts


@pytest.fixture
def accts(firm) -> dict[str, int]:
    return {a.number: a.pk for a in GLAccount.objects.filter(firm=firm)}


def entry(accts, n: int, amount: str = "10.00", **change: object) -> dict[str, object]:
    return {
        "date": "2026-03-05",
        "memo": f"bank charge {n}",
        "posting_reference": "BANK",
        "source": "bridge",
        "idempotency_key": f"charge-{n}",
        "lines": [
            {"account_id": accts["5000"], "debit": amount},
            {"account_id": accts["1000"], "credit": amount},
        ],
        **change,
    }


def test_post_one_entry_then_its_repeat_returns_it(api, accts):
    reply = api.post("/journal-entries", entry(accts, 1, "12.34"))
    assert reply.status == 201
    posted = JournalEntry.objects.get()
    postings = list(posted.postings.order_by("pk"))
    assert reply.body == {
        "id": posted.pk,
        "date": "2026-03-05",
        "memo": "bank charge 1",
        "posting_reference": "BANK",
        "source": "bridge",
        "idempotency_key": "charge-1",
        "reverses_id": None,
        "created_at": reply.body["created_at"],
        "lines": [
            {
                "id": postings[0].pk,
                "account_id": accts["5000"],
                "account_number": "5000",
                "file_id": None,
                "debit": "12.34",
                "credit": "0.00",
                "memo": "",
            },
            {
                "id": postings[1].pk,
                "account_id": accts["1000"],
                "account_number": "1000",
                "file_id": None,
                "debit": "0.00",
                "credit": "12.34",
                "memo": "",
            },
        ],
    }
    assert api.get(f"/gl-accounts/{accts['5000']}/balance").body["balance"] == "12.34"
    assert api.get(f"/gl-accounts/{accts['1000']}/balance").body["balance"] == "-12.34"

    repeat = api.post("/journal-entries", entry(accts, 1, "12.34"))
    assert (repeat.status, repeat.body["id"]) == (200, posted.pk)
    assert JournalEntry.objects.count() == 1
    found = api.get("/journal-entries", {"source": "bridge", "idempotency_key": "charge-1"})
    assert [e["id"] for e in found.body["items"]] == [posted.pk]


def test_a_batch_posts_every_entry_and_one_audit_event(api, admin, accts):
    before_audit = AuditEvent.objects.count()
    batch = {"entries": [entry(accts, n, f"{n}.00") for n in range(1, 4)]}
    reply = api.post("/journal-entries/batch", batch)
    assert reply.status == 201
    ids = list(JournalEntry.objects.order_by("pk").values_list("pk", flat=True))
    assert reply.body == {
        "items": [
            {"id": ids[0], "idempotency_key": "charge-1", "created": True},
            {"id": ids[1], "idempotency_key": "charge-2", "created": True},
            {"id": ids[2], "idempotency_key": "charge-3", "created": True},
        ],
        "count": 3,
        "created": 3,
    }
    assert Posting.objects.count() == 6
    assert api.get(f"/gl-accounts/{accts['5000']}/balance").body["balance"] == "6.00"
    audit = AuditEvent.objects.filter(pk__gt=0).order_by("pk")[before_audit:]
    assert [(a.action, a.actor_id) for a in audit] == [("post_batch", admin.pk)]

    again = api.post("/journal-entries/batch", batch)
    assert again.status == 200
    assert [(i["id"], i["created"]) for i in again.body["items"]] == [(i, False) for i in ids]
    assert again.body["created"] == 0
    assert JournalEntry.objects.count() == 3


def test_one_unbalanced_entry_refuses_the_whole_batch(api, accts):
    bad = entry(accts, 2)
    bad["lines"] = [
        {"account_id": accts["5000"], "debit": "10.00"},
        {"account_id": accts["1000"], "credit": "9.00"},
    ]
    before = row_counts()
    reply = api.post("/journal-entries/batch", {"entries": [entry(accts, 1), bad, entry(accts, 3)]})
    assert reply.status == 422
    assert reply.error["code"] == "validation_error"
    assert reply.error["field"] == "entries[1]"
    assert reply.error["message"] == (
        "entries[1]: entry does not balance: debits 10.00, credits 9.00"
    )
    assert row_counts() == before


@pytest.mark.parametrize(
    ("lines", "field", "fragment"),
    [
        (
            [{"debit": "1.00", "credit": "1.00"}, {"credit": "0"}],
            "entries[1].lines[0]",
            "exactly one",
        ),
        ([{"debit": "1.00"}], "entries[1].lines", "at least 2 items"),
        ([{"debit": "1.001"}, {"credit": "1.001"}], "entries[1].lines[0].debit", "decimal places"),
        ([{"debit": "-1.00"}, {"credit": "-1.00"}], "entries[1].lines[0].debit", "negative"),
    ],
)
def test_a_malformed_entry_is_named_by_its_place(api, accts, lines, field, fragment):
    bad = entry(accts, 2)
    bad["lines"] = [{"account_id": accts["5000"], **ln} for ln in lines]
    before = row_counts()
    reply = api.post("/journal-entries/batch", {"entries": [entry(accts, 1), bad]})
    assert (reply.status, reply.error["field"]) == (422, field)
    assert fragment in reply.error["message"]
    assert row_counts() == before


def test_refusals_from_the_ledger_name_the_entry(api, firm, accts, client_file):
    trust_liability = GLAccount.objects.get(firm=firm, role=AccountRole.CLIENT_TRUST_LIABILITY)
    no_file = entry(accts, 3)
    no_file["lines"] = [
        {"account_id": accts["1010"], "debit": "5.00"},
        {"account_id": trust_liability.pk, "credit": "5.00"},
    ]
    before = row_counts()
    reply = api.post(
        "/journal-entries/batch", {"entries": [entry(accts, 1), entry(accts, 2), no_file]}
    )
    assert reply.status == 422
    assert reply.error["message"] == ("entry 3: line 2: a client trust posting must name a file")

    overdraw = entry(accts, 4)
    overdraw["lines"] = [
        {"account_id": trust_liability.pk, "debit": "5.00", "file_id": client_file.pk},
        {"account_id": accts["1010"], "credit": "5.00"},
    ]
    refused = api.post("/journal-entries/batch", {"entries": [entry(accts, 1), overdraw]})
    assert (refused.status, refused.error["code"]) == (409, "insufficient_trust_funds")
    assert refused.error["message"].startswith("entry 2: file ")
    assert refused.error["details"]["available"] == "0.00"
    assert row_counts() == before


def test_unknown_or_foreign_accounts_and_files_are_404_by_place(api, accts, other_firm, other_file):
    foreign = GLAccount.objects.get(firm=other_firm, number="5000").pk
    bad = entry(accts, 2)
    bad["lines"] = [
        {"account_id": accts["5000"], "debit": "1.00"},
        {"account_id": foreign, "credit": "1.00"},
    ]
    reply = api.post("/journal-entries/batch", {"entries": [entry(accts, 1), bad]})
    assert (reply.status, reply.error["code"], reply.error["field"]) == (
        404,
        "not_found",
        "entries[1].lines[1].account_id",
    )
    with_file = entry(accts, 3)
    with_file["lines"] = [
        {"account_id": accts["5000"], "debit": "1.00", "file_id": other_file.pk},
        {"account_id": accts["1000"], "credit": "1.00"},
    ]
    single = api.post("/journal-entries", with_file)
    assert (single.status, single.error["field"]) == (404, "lines[0].file_id")
    assert JournalEntry.objects.count() == 0


def test_a_key_twice_in_one_batch_is_refused(api, accts):
    reply = api.post("/journal-entries/batch", {"entries": [entry(accts, 1), entry(accts, 1)]})
    assert reply.status == 422
    assert reply.error["message"] == (
        "entries: entries[1] repeats the source and idempotency_key of entries[0]"
    )
    assert JournalEntry.objects.count() == 0


def test_reverse_an_entry_once(api, accts):
    posted = api.post("/journal-entries", entry(accts, 1, "7.50")).body
    reversal = api.post(
        f"/journal-entries/{posted['id']}/reverse", {"date": "2026-03-06", "memo": "wrong account"}
    )
    assert reversal.status == 201
    body = reversal.body
    assert (body["reverses_id"], body["date"], body["memo"]) == (
        posted["id"],
        "2026-03-06",
        "wrong account",
    )
    assert [(ln["account_number"], ln["debit"], ln["credit"]) for ln in body["lines"]] == [
        ("5000", "0.00", "7.50"),
        ("1000", "7.50", "0.00"),
    ]
    assert api.get(f"/gl-accounts/{accts['5000']}/balance").body["balance"] == "0.00"
    twice = api.post(f"/journal-entries/{posted['id']}/reverse", {"date": "2026-03-06"})
    assert (twice.status, twice.error["code"]) == (422, "validation_error")
    early = api.post(f"/journal-entries/{body['id']}/reverse", {"date": "2026-03-01"})
    assert early.status == 422


# --- administrators only -----------------------------------------------------------------


@pytest.fixture
def attorney_api(client, attorney):
    """An enrolled API user who is not a books administrator."""
    assert not attorney.is_admin
    return ApiClient(client, issue_token("smith-pi", attorney.email))


ADMIN_REQUIRED = {
    "code": "admin_required",
    "message": "Posting journal entries directly needs a books administrator.",
}


def test_posting_an_entry_needs_an_administrator(attorney_api, accts):
    before = row_counts()
    reply = attorney_api.post("/journal-entries", entry(accts, 1), key="not-admin-1")
    assert (reply.status, reply.error) == (403, ADMIN_REQUIRED)
    batch = attorney_api.post("/journal-entries/batch", {"entries": [entry(accts, 2)]})
    assert (batch.status, batch.error) == (403, ADMIN_REQUIRED)
    assert row_counts() == before
    assert not JournalEntry.objects.exists()
    assert attorney_api.get("/journal-entries").status == 200  # reading stays open


def test_reversing_an_entry_needs_an_administrator(api, attorney_api, accts):
    posted = api.post("/journal-entries", entry(accts, 1)).body
    before = row_counts()
    reply = attorney_api.post(f"/journal-entries/{posted['id']}/reverse", {"date": "2026-03-06"})
    assert (reply.status, reply.error) == (403, ADMIN_REQUIRED)
    unknown = attorney_api.post("/journal-entries/999999/reverse", {"date": "2026-03-06"})
    assert (unknown.status, unknown.error) == (403, ADMIN_REQUIRED)  # nothing is looked up
    assert row_counts() == before
    assert not JournalEntry.objects.filter(reverses_id=posted["id"]).exists()


def test_the_integration_user_flag_alone_does_not_allow_posting(
    attorney_api, admin, attorney, accts
):
    auth.user_update(user=attorney, actor=admin, is_integration_user=True)
    before = row_counts()
    reply = attorney_api.post("/journal-entries", entry(accts, 1))
    # the integration user's token may make only the bridge's requests (issue 13)
    assert (reply.status, reply.error["code"]) == (403, "integration_not_allowed")
    assert row_counts() == before


def test_a_non_administrator_may_still_request_checks(attorney_api, operating, client_file, firm):
    code = ActivityCode.objects.get(firm=firm, code="E101")
    reply = attorney_api.post(
        "/checks",
        {
            "bank_account_id": operating.pk,
            "payee": "Records Inc",
            "amount": "10.00",
            "file_id": client_file.pk,
            "activity_code_id": code.pk,
        },
    )
    assert reply.status == 201
    assert JournalEntry.objects.filter(source="check").count() == 1
