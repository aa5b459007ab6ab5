"""The bulk reads the bridge reconciles with: many files' trust balances in one trust bank
account (``GET /reports/trust-balances``) and every check, trust receipt or invoice it sent
(``GET /reports/external-documents``), keyset-paged, firm-scoped, one query a page."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from casebridge.books.api.reports import EXTERNAL_DOCUMENTS, TRUST_BALANCES
from casebridge.books.models import ActivityCode, BankAccount, BankAccountKind, File
from casebridge.books.services import checks, files, invoices
from casebridge.books.services.invoices import LineSpec
from casebridge.core.api.schemas import encode_cursor
from tests.books.api.conftest import ApiClient, issue_token
from tests.books.ledger_helpers import D, books_open, deposit, trust_check

BALANCES = "/reports/trust-balances"
DOCUMENTS = "/reports/external-documents"
BILLED = dt.date(2026, 3, 10)


@pytest.fixture
def api(client, admin) -> ApiClient:
    return ApiClient(client, issue_token("smith-pi", admin.email))


def open_file(firm, actor, n: int) -> File:
    client, _ = files.contact_find_or_create(firm=firm, actor=actor, name=f"Client {n}")
    file, _ = files.file_find_or_create(
        firm=firm, actor=actor, name=f"Client {n} v. Acme", client=client, number=f"B-{n}"
    )
    return file


@pytest.fixture
def their_trust(other_firm) -> BankAccount:
    return BankAccount.objects.get(firm=other_firm, kind=BankAccountKind.TRUST)


@pytest.fixture
def their_file(other_firm, their_trust) -> File:
    """Another firm's file with money in trust and a check sent from case management."""
    file = open_file(other_firm, None, 99)
    deposit(other_firm, None, their_trust, file, 70_000)
    checks.check_request_create(
        firm=other_firm,
        actor=None,
        bank_account_id=their_trust.pk,
        payee="Jones Client",
        amount_cents=1_000,
        file_id=file.pk,
        request_date=D,
        external_ref="cases-cost-1",
    )
    return file


def balance_item(file: File, balance: str) -> dict[str, object]:
    return {"file_id": file.pk, "file_number": file.number, "balance": balance}


# --- trust balances --------------------------------------------------------------------------


def test_every_file_with_a_ledger_shows_its_balance_after_receipts_and_checks(
    api, firm, admin, trust, client_file, their_file, today
):
    second = open_file(firm, admin, 2)
    no_ledger = open_file(firm, admin, 3)
    deposit(firm, admin, trust, client_file, 100_000)
    deposit(firm, admin, trust, client_file, 25_050)
    trust_check(firm, admin, trust, client_file, 40_025)
    deposit(firm, admin, trust, second, 50_000)
    trust_check(firm, admin, trust, second, 50_000)
    voided = trust_check(firm, admin, trust, client_file, 10_000)
    checks.check_void(firm=firm, actor=admin, check_id=voided.pk, void_date=D)

    reply = api.get(BALANCES, {"bank_account_id": trust.pk})

    assert reply.status == 200
    assert reply.body == {
        "bank_account_id": trust.pk,
        "as_of": today.isoformat(),
        "items": [balance_item(client_file, "850.25"), balance_item(second, "0.00")],
        "next": None,
    }
    assert no_ledger.pk not in [item["file_id"] for item in reply.body["items"]]


def test_asked_by_id_a_file_without_a_ledger_shows_zero_and_other_firms_files_are_left_out(
    api, firm, admin, trust, client_file, their_file, today
):
    no_ledger = open_file(firm, admin, 3)
    deposit(firm, admin, trust, client_file, 12_345)
    unknown = their_file.pk + 1000
    ids = f"{no_ledger.pk}, {their_file.pk},{client_file.pk},{unknown},{client_file.pk},"

    reply = api.get(BALANCES, {"bank_account_id": trust.pk, "file_ids": ids, "limit": 1})

    assert reply.status == 200
    assert reply.body == {
        "bank_account_id": trust.pk,
        "as_of": today.isoformat(),
        "items": [balance_item(client_file, "123.45"), balance_item(no_ledger, "0.00")],
        "next": None,
    }
    nothing = {
        "bank_account_id": trust.pk,
        "as_of": today.isoformat(),
        "items": [],
        "next": None,
    }
    for none_of_ours in (str(their_file.pk), "", ","):  # never "every file"
        reply = api.get(BALANCES, {"bank_account_id": trust.pk, "file_ids": none_of_ours})
        assert (reply.status, reply.body) == (200, nothing)


def test_balances_are_keyset_paged_by_file_id(api, firm, admin, trust, today):
    opened = [open_file(firm, admin, n) for n in range(1, 6)]
    for n, file in enumerate(opened, start=1):
        deposit(firm, admin, trust, file, n * 100)
    open_file(firm, admin, 6)  # no ledger: not listed

    pages = []
    query = {"bank_account_id": trust.pk, "limit": 2}
    while True:
        reply = api.get(BALANCES, query)
        assert reply.status == 200
        pages.append(reply.body)
        if reply.body["next"] is None:
            break
        query["cursor"] = reply.body["next"]

    expected = [balance_item(f, f"{n}.00") for n, f in enumerate(opened, start=1)]
    day = today.isoformat()
    assert pages == [
        {
            "bank_account_id": trust.pk,
            "as_of": day,
            "items": expected[0:2],
            "next": encode_cursor(TRUST_BALANCES, [opened[1].pk]),
        },
        {
            "bank_account_id": trust.pk,
            "as_of": day,
            "items": expected[2:4],
            "next": encode_cursor(TRUST_BALANCES, [opened[3].pk]),
        },
        {
            "bank_account_id": trust.pk,
            "as_of": day,
            "items": expected[4:5],
            "next": None,
        },
    ]
    # a full last page points past itself; the page after it is empty
    full = api.get(BALANCES, {"bank_account_id": trust.pk, "limit": 3, "cursor": pages[0]["next"]})
    assert full.body["next"] == encode_cursor(TRUST_BALANCES, [opened[4].pk])
    assert [item["file_id"] for item in full.body["items"]] == [f.pk for f in opened[2:]]
    after_last = api.get(BALANCES, {"bank_account_id": trust.pk, "cursor": full.body["next"]})
    assert after_last.body == {
        "bank_account_id": trust.pk,
        "as_of": day,
        "items": [],
        "next": None,
    }


def test_only_a_trust_bank_account_of_the_firm_is_accepted(
    api, operating, their_trust, client_file
):
    reply = api.get(BALANCES, {"bank_account_id": operating.pk})
    assert reply.status == 422
    assert reply.error["code"] == "validation_error"
    assert reply.error["field"] == "bank_account_id"
    assert "not a client trust bank account" in reply.error["message"]

    theirs = api.get(BALANCES, {"bank_account_id": their_trust.pk})
    assert theirs.status == 404
    assert (theirs.error["code"], theirs.error["field"]) == ("not_found", "bank_account_id")

    missing = api.get(BALANCES, {"file_ids": str(client_file.pk)})
    assert (missing.status, missing.error["field"]) == (422, "bank_account_id")


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"file_ids": ",".join(str(n) for n in range(1, 252))}, "file_ids"),
        ({"file_ids": "1,x"}, "file_ids"),
        ({"file_ids": "1,-2"}, "file_ids"),
        ({"file_ids": "0"}, "file_ids"),
        ({"file_ids": "1_000"}, "file_ids"),
        ({"file_ids": str(2**63)}, "file_ids"),
        ({"limit": 10_001}, "limit"),
        ({"limit": 0}, "limit"),
        ({"cursor": "-1"}, "cursor"),
        ({"cursor": "x" * 1001}, "cursor"),
        ({"cursor": encode_cursor(TRUST_BALANCES, [0])}, "cursor"),
        ({"cursor": encode_cursor(TRUST_BALANCES, ["3"])}, "cursor"),
        ({"cursor": encode_cursor(EXTERNAL_DOCUMENTS, [3])}, "cursor"),
    ],
)
def test_bad_paging_or_file_ids_are_refused_naming_the_field(api, trust, params, field):
    reply = api.get(BALANCES, {"bank_account_id": trust.pk, **params})
    assert reply.status == 422
    assert (reply.error["code"], reply.error["field"]) == ("validation_error", field)


def test_250_file_ids_and_the_largest_page_are_accepted(api, trust, client_file):
    ids = ",".join(str(client_file.pk + n) for n in range(250))
    reply = api.get(BALANCES, {"bank_account_id": trust.pk, "file_ids": ids})
    assert reply.status == 200
    assert reply.body["items"] == [balance_item(client_file, "0.00")]
    assert api.get(BALANCES, {"bank_account_id": trust.pk, "limit": 10_000}).status == 200


# --- external documents ----------------------------------------------------------------------


@pytest.fixture
def e101(firm) -> ActivityCode:
    return ActivityCode.objects.get(firm=firm, code="E101")


def request_check(firm, actor, bank, file, cents: int, ref: str | None, **kw):
    return checks.check_request_create(
        firm=firm,
        actor=actor,
        bank_account_id=bank.pk,
        payee="Records Inc",
        amount_cents=cents,
        file_id=file.pk if file else None,
        request_date=D,
        external_ref=ref,
        **kw,
    )


def check_item(check, amount: str, status: str, number: int | None, void_date: str | None):
    return {
        "id": check.pk,
        "external_ref": check.external_ref,
        "file_id": check.file_id,
        "bank_account_id": check.bank_account_id,
        "amount": amount,
        "status": status,
        "number": number,
        "date": "2026-03-02",
        "void_date": void_date,
    }


def test_checks_sent_under_a_prefix_with_their_status_number_and_void(
    api, firm, admin, trust, operating, client_file, e101, their_file
):
    deposit(firm, admin, trust, client_file, 100_000)
    queued = request_check(firm, admin, trust, client_file, 12_000, "cases-cost-1")
    printed = request_check(
        firm, admin, operating, client_file, 2_550, "cases-cost-2", activity_code_id=e101.pk
    )
    checks.check_print(firm=firm, actor=admin, check_id=printed.pk, check_number=5001)
    voided = request_check(firm, admin, trust, client_file, 30_000, "cases-cost-3")
    checks.check_print(firm=firm, actor=admin, check_id=voided.pk)
    checks.check_void(firm=firm, actor=admin, check_id=voided.pk, void_date=dt.date(2026, 3, 9))
    request_check(firm, admin, trust, client_file, 100, "other-1")
    request_check(firm, admin, trust, client_file, 100, "CASES-cost-4")
    request_check(firm, admin, trust, client_file, 100, None)

    reply = api.get(DOCUMENTS, {"kind": "check", "prefix": "cases-"})

    assert reply.status == 200
    assert reply.body == {
        "kind": "check",
        "items": [
            check_item(queued, "120.00", "queued", None, None),
            check_item(printed, "25.50", "printed", 5001, None),
            check_item(voided, "300.00", "voided", 1001, "2026-03-09"),
        ],
        "next": None,
    }
    assert [item["bank_account_id"] for item in reply.body["items"]] == [
        trust.pk,
        operating.pk,
        trust.pk,
    ]
    other = api.get(DOCUMENTS, {"kind": "check", "prefix": "other-"})
    assert [item["external_ref"] for item in other.body["items"]] == ["other-1"]
    exact = api.get(DOCUMENTS, {"kind": "check", "prefix": "cases-cost-2"})
    assert [item["id"] for item in exact.body["items"]] == [printed.pk]


def test_trust_receipts_sent_under_a_prefix(api, firm, admin, trust, client_file, their_file):
    books_open(firm, admin)  # the entries are posted out of date order
    kept = checks.trust_receipt_record(
        firm=firm,
        actor=admin,
        bank_account_id=trust.pk,
        file_id=client_file.pk,
        payer="Acme Insurance",
        amount_cents=250_000,
        received_on=dt.date(2026, 3, 3),
        external_ref="cases-deposit-1",
    )
    bounced = checks.trust_receipt_record(
        firm=firm,
        actor=admin,
        bank_account_id=trust.pk,
        file_id=client_file.pk,
        payer="Acme Insurance",
        amount_cents=1_999,
        received_on=dt.date(2026, 3, 4),
        external_ref="cases-deposit-2",
    )
    checks.trust_receipt_void(
        firm=firm, actor=admin, receipt_id=bounced.pk, void_date=dt.date(2026, 3, 6)
    )
    deposit(firm, admin, trust, client_file, 500)  # no external_ref

    reply = api.get(DOCUMENTS, {"kind": "receipt", "prefix": "cases-deposit-"})

    assert reply.status == 200
    common = {"file_id": client_file.pk, "bank_account_id": trust.pk, "number": None}
    assert reply.body == {
        "kind": "receipt",
        "items": [
            {
                "id": kept.pk,
                "external_ref": "cases-deposit-1",
                **common,
                "amount": "2500.00",
                "status": "posted",
                "date": "2026-03-03",
                "void_date": None,
            },
            {
                "id": bounced.pk,
                "external_ref": "cases-deposit-2",
                **common,
                "amount": "19.99",
                "status": "voided",
                "date": "2026-03-04",
                "void_date": "2026-03-06",
            },
        ],
        "next": None,
    }


def test_invoices_sent_under_a_prefix_with_their_stage_number_and_void(
    api, firm, admin, attorney, trust, client_file, e101
):
    deposit(firm, admin, trust, client_file, 100_000)

    def bill(ref: str, **kw):
        return invoices.invoice_create(
            firm=firm,
            actor=admin,
            file_id=client_file.pk,
            invoice_date=BILLED,
            external_ref=ref,
            lines=[
                LineSpec(
                    kind="fee",
                    description="Fee",
                    amount_cents=30_000,
                    timekeeper_id=attorney.pk,
                    hours=Decimal("1.5"),
                ),
                LineSpec(
                    kind="cost", description="Copies", amount_cents=5_025, activity_code_id=e101.pk
                ),
            ],
            **kw,
        )

    draft = bill("cases-fee-1")
    final = bill("cases-fee-2", pay_from_trust=True)
    invoices.invoice_finalise(firm=firm, actor=admin, invoice_id=final.pk, on=BILLED)
    voided = bill("cases-fee-3", pay_from_trust=True)
    invoices.invoice_finalise(firm=firm, actor=admin, invoice_id=voided.pk, on=BILLED)
    invoices.invoice_void(
        firm=firm, actor=admin, invoice_id=voided.pk, void_date=dt.date(2026, 3, 12)
    )
    unposted_void = bill("cases-fee-4")
    invoices.invoice_void(firm=firm, actor=admin, invoice_id=unposted_void.pk)
    bill("elsewhere-1")

    reply = api.get(DOCUMENTS, {"kind": "invoice", "prefix": "cases-fee-"})

    assert reply.status == 200

    def item(invoice, number, stage, bank_id, void_date):
        return {
            "id": invoice.pk,
            "external_ref": invoice.external_ref,
            "file_id": client_file.pk,
            "bank_account_id": bank_id,
            "amount": "350.25",
            "status": stage,
            "number": number,
            "date": "2026-03-10",
            "void_date": void_date,
        }

    assert reply.body == {
        "kind": "invoice",
        "items": [
            item(draft, 1001, "draft", None, None),
            item(final, 1002, "final", trust.pk, None),
            item(voided, 1003, "voided", trust.pk, "2026-03-12"),
            item(unposted_void, 1004, "voided", None, None),
        ],
        "next": None,
    }


def test_documents_are_keyset_paged_by_id(api, firm, admin, trust, client_file):
    deposit(firm, admin, trust, client_file, 100_000)
    sent = [
        request_check(firm, admin, trust, client_file, 100, f"cases-cost-{n}") for n in range(5)
    ]

    pages = []
    query = {"kind": "check", "prefix": "cases-", "limit": 2}
    while True:
        reply = api.get(DOCUMENTS, query)
        assert reply.status == 200
        pages.append(([item["id"] for item in reply.body["items"]], reply.body["next"]))
        if reply.body["next"] is None:
            break
        query["cursor"] = reply.body["next"]

    ids = [c.pk for c in sent]
    assert pages == [
        (ids[0:2], encode_cursor(EXTERNAL_DOCUMENTS, [ids[1]])),
        (ids[2:4], encode_cursor(EXTERNAL_DOCUMENTS, [ids[3]])),
        (ids[4:], None),
    ]


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"kind": "cheque", "prefix": "cases-"}, "kind"),
        ({"prefix": "cases-"}, "kind"),
        ({"kind": "check"}, "prefix"),
        ({"kind": "check", "prefix": ""}, "prefix"),
        ({"kind": "check", "prefix": "x" * 61}, "prefix"),
        ({"kind": "check", "prefix": "cases-", "limit": 10_001}, "limit"),
        ({"kind": "check", "prefix": "cases-", "cursor": "?"}, "cursor"),
        (
            {"kind": "check", "prefix": "cases-", "cursor": encode_cursor(TRUST_BALANCES, [3])},
            "cursor",
        ),
    ],
)
def test_bad_document_queries_are_refused_naming_the_field(api, params, field):
    reply = api.get(DOCUMENTS, params)
    assert reply.status == 422
    assert (reply.error["code"], reply.error["field"]) == ("validation_error", field)


# --- every caller of the firm, no other --------------------------------------------------------


def test_any_user_of_the_firm_may_read_and_a_caller_without_a_token_may_not(
    client, anonymous_client, firm, attorney, trust, client_file
):
    deposit(firm, attorney, trust, client_file, 1_000)
    as_attorney = ApiClient(client, issue_token("smith-pi", attorney.email))
    reply = as_attorney.get(BALANCES, {"bank_account_id": trust.pk})
    assert reply.body["items"] == [balance_item(client_file, "10.00")]
    assert as_attorney.get(DOCUMENTS, {"kind": "check", "prefix": "c"}).status == 200

    for path, params in ((BALANCES, {"bank_account_id": trust.pk}), (DOCUMENTS, {})):
        refused = anonymous_client.get(path, params)
        assert (refused.status, refused.error["code"]) == (401, "not_authenticated")


@pytest.fixture
def anonymous_client(client) -> ApiClient:
    return ApiClient(client)


# --- one query a page, whatever its size -------------------------------------------------------


def queries_of(api: ApiClient, path: str, params: dict[str, object]) -> tuple[int, int]:
    """(rows answered, queries run) for one request."""
    with CaptureQueriesContext(connection) as ctx:
        reply = api.get(path, params)
    assert reply.status == 200
    return len(reply.body["items"]), len(ctx.captured_queries)


#: Queries the API rate limit adds to a request on the database cache (issue 13).
RATE = 6


def test_the_number_of_queries_does_not_grow_with_the_rows(api, firm, admin, attorney, trust, e101):
    books_open(firm, admin)  # receipts dated today, then checks dated D

    def send(n: int, start: int) -> None:
        for i in range(start, start + n):
            file = open_file(firm, admin, i)
            checks.trust_receipt_record(
                firm=firm,
                actor=admin,
                bank_account_id=trust.pk,
                file_id=file.pk,
                payer="Acme Insurance",
                amount_cents=1_000,
                received_on=D,  # the check below is dated D: the money was there by then
                external_ref=f"cases-deposit-{i}",
            )
            request_check(firm, admin, trust, file, 100, f"cases-cost-{i}")
            invoices.invoice_create(
                firm=firm,
                actor=admin,
                file_id=file.pk,
                external_ref=f"cases-fee-{i}",
                lines=[
                    LineSpec(
                        kind="cost",
                        description="Copies",
                        amount_cents=100,
                        activity_code_id=e101.pk,
                    )
                ],
            )

    def reads() -> dict[str, tuple[int, int]]:
        """Each read's (rows answered, queries run)."""
        every_file = ",".join(str(pk) for pk in File.objects.values_list("pk", flat=True))
        answers = {}
        for name, path, params in (
            ("page", BALANCES, {"bank_account_id": trust.pk}),
            ("by id", BALANCES, {"bank_account_id": trust.pk, "file_ids": every_file}),
            ("checks", DOCUMENTS, {"kind": "check", "prefix": "cases-"}),
            ("receipts", DOCUMENTS, {"kind": "receipt", "prefix": "cases-"}),
            ("invoices", DOCUMENTS, {"kind": "invoice", "prefix": "cases-"}),
        ):
            with CaptureQueriesContext(connection) as ctx:
                reply = api.get(path, params)
            assert reply.status == 200
            answers[name] = (len(reply.body["items"]), len(ctx.captured_queries))
        return answers

    send(2, 100)
    api.get(BALANCES, {"bank_account_id": trust.pk})  # the token's first use is recorded
    # the token; the bank account; whether an entry is dated after today (balances only:
    # the maintained columns hold today's balances only if none is); the rows; and the
    # rate limit's count in the database cache (RATE: a get, then a set in a savepoint:
    # its cull count, select and update or insert; one command on Redis)
    assert reads() == {
        "page": (2, 4 + RATE),
        "by id": (2, 4 + RATE),
        "checks": (2, 2 + RATE),
        "receipts": (2, 2 + RATE),
        "invoices": (2, 2 + RATE),
    }
    send(20, 200)
    assert reads() == {
        "page": (22, 4 + RATE),
        "by id": (22, 4 + RATE),
        "checks": (22, 2 + RATE),
        "receipts": (22, 2 + RATE),
        "invoices": (22, 2 + RATE),
    }


# --- the schema --------------------------------------------------------------------------------


def test_both_reads_are_in_the_schema_with_typed_answers(anonymous_client):
    schema = anonymous_client.get("/openapi.json").body
    components = schema["components"]["schemas"]
    for path, out in ((BALANCES, "TrustBalancesOut"), (DOCUMENTS, "ExternalDocumentsOut")):
        get = schema["paths"]["/books/api/v1" + path]["get"]
        assert get["responses"]["200"]["content"]["application/json"]["schema"] == {
            "$ref": f"#/components/schemas/{out}"
        }
        assert get["security"] == [{"BearerToken": []}]
    params = {
        p["name"]: p["required"]
        for p in schema["paths"]["/books/api/v1" + BALANCES]["get"]["parameters"]
    }
    assert params == {
        "bank_account_id": True,
        "file_ids": False,
        "cursor": False,
        "limit": False,
        "as_of": False,
    }
    item = components["FileTrustBalanceOut"]["properties"]
    assert set(item) == {"file_id", "file_number", "balance"}
    assert item["balance"]["type"] == "string"
    document = components["ExternalDocumentOut"]["properties"]
    assert set(document) == {
        "id",
        "external_ref",
        "file_id",
        "bank_account_id",
        "amount",
        "status",
        "number",
        "date",
        "void_date",
    }
    assert document["amount"]["pattern"] == r"^-?\d+(\.\d{1,2})?$"
