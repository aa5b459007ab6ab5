"""Issue 12: ``GET /reports/external-digests``, per file the count, cents and hash of the
documents under a prefix with the file's trust balance, in compact arrays; and
``GET /reports/external-documents`` for a list of files (the details of those that
differ). The hash the triggers keep (PostgreSQL's MD5, SQLite's registered row hash)
equals :func:`casebridge.core.digest.digest_of` of the rows built here."""

from __future__ import annotations

import datetime as dt

import pytest

from casebridge.books.models import (
    ActivityCode,
    BankAccount,
    BankAccountKind,
    Check,
    FileDigest,
    TrustReceipt,
)
from casebridge.books.selectors.digests import file_digests_drift
from casebridge.books.services import checks
from casebridge.books.services.maintenance import file_digests_compact, ledger_integrity_check
from casebridge.core.digest import digest_of, digest_row
from tests.books.api.conftest import ApiClient, issue_token
from tests.books.ledger_helpers import D, deposit

from .test_api_bulk_reads import open_file, request_check

DIGESTS = "/reports/external-digests"
DOCUMENTS = "/reports/external-documents"
COLUMNS = ["file_id", "documents", "cents", "digest", "trust_cents"]


@pytest.fixture
def api(client, admin) -> ApiClient:
    return ApiClient(client, issue_token("smith-pi", admin.email))


@pytest.fixture
def e101(firm) -> ActivityCode:
    return ActivityCode.objects.get(firm=firm, code="E101")


@pytest.fixture
def sent(firm, admin, trust, operating, client_file, e101, other_firm):
    """In the client's file: a receipt and three checks sent under cases- (queued, printed,
    printed then voided), a deposit and a check under no or another prefix; a check under
    cases- without a file; a second file with a ledger but nothing sent; a third with
    neither; another firm's file with a check under cases-."""
    receipt = checks.trust_receipt_record(
        firm=firm,
        actor=admin,
        bank_account_id=trust.pk,
        file_id=client_file.pk,
        payer="Acme Insurance",
        amount_cents=250_000,
        received_on=D,
        external_ref="cases-deposit-1",
    )
    deposit(firm, admin, trust, client_file, 500)  # no external_ref
    queued = request_check(firm, admin, trust, client_file, 12_000, "cases-trust-item-1")
    printed = request_check(
        firm, admin, operating, client_file, 2_550, "cases-cost-2", activity_code_id=e101.pk
    )
    checks.check_print(firm=firm, actor=admin, check_id=printed.pk, check_number=5001)
    voided = request_check(firm, admin, trust, client_file, 30_000, "cases-trust-item-3")
    checks.check_print(firm=firm, actor=admin, check_id=voided.pk, check_number=5002)
    checks.check_void(firm=firm, actor=admin, check_id=voided.pk, void_date=dt.date(2026, 3, 9))
    request_check(firm, admin, trust, client_file, 100, "other-1")
    loose = request_check(
        firm, admin, operating, None, 700, "cases-cost-9", activity_code_id=e101.pk
    )
    ledger_only = open_file(firm, admin, 2)
    deposit(firm, admin, trust, ledger_only, 4_200)
    nothing = open_file(firm, admin, 3)
    theirs = open_file(other_firm, None, 99)
    their_trust = BankAccount.objects.get(firm=other_firm, kind=BankAccountKind.TRUST)
    deposit(other_firm, None, their_trust, theirs, 70_000)
    request_check(other_firm, None, their_trust, theirs, 1_000, "cases-cost-1")
    return {
        "receipt": receipt,
        "queued": queued,
        "printed": printed,
        "voided": voided,
        "loose": loose,
        "ledger_only": ledger_only,
        "nothing": nothing,
    }


def test_each_file_has_its_documents_digest_and_trust_balance(api, trust, client_file, sent, today):
    reply = api.get(DIGESTS, {"bank_account_id": trust.pk, "prefix": "cases-"})

    assert reply.status == 200
    rows = [
        digest_row("R", "cases-deposit-1", 250_000, "posted"),
        digest_row("C", "cases-trust-item-1", 12_000, "queued"),
        digest_row("C", "cases-cost-2", 2_550, "printed", "5001"),
        digest_row("C", "cases-trust-item-3", 30_000, "voided"),
    ]
    assert rows[2] == "C:12:cases-cost-2:2550:printed:4:5001"
    assert reply.body == {
        "bank_account_id": trust.pk,
        "as_of": today.isoformat(),
        "columns": COLUMNS,
        "items": [
            [None, 1, 700, digest_of([digest_row("C", "cases-cost-9", 700, "queued")]), 0],
            [
                client_file.pk,
                4,
                294_550,
                digest_of(rows),
                250_000 + 500 - 12_000 - 100,  # the voided check came back
            ],
            [sent["ledger_only"].pk, 0, 0, "", 4_200],
        ],
        "next": None,
    }
    # the order of the rows does not matter to the hash
    assert digest_of(reversed(rows)) == digest_of(rows)
    # the digests are kept per namespace (the text up to the first "-"): nothing narrower
    narrower = api.get(DIGESTS, {"bank_account_id": trust.pk, "prefix": "cases-cost-"})
    assert (narrower.status, narrower.body["error"]["field"]) == (422, "prefix")


def test_digests_are_keyset_paged_by_file_id(api, trust, client_file, sent):
    pages: list[list[int | None]] = []
    query = {"bank_account_id": trust.pk, "prefix": "cases-", "limit": 1}
    while True:
        reply = api.get(DIGESTS, query)
        assert reply.status == 200
        pages.append([row[0] for row in reply.body["items"]])
        if reply.body["next"] is None:
            break
        query["cursor"] = reply.body["next"]
    # the documents without a file come with the first page; a file with nothing is left
    # out but still ends its page
    assert pages == [[None, client_file.pk], [sent["ledger_only"].pk], [], []]


def test_only_a_trust_bank_account_of_the_firm_is_accepted(api, operating, other_firm):
    reply = api.get(DIGESTS, {"bank_account_id": operating.pk, "prefix": "cases-"})
    assert (reply.status, reply.body["error"]["field"]) == (422, "bank_account_id")
    theirs = BankAccount.objects.get(firm=other_firm, kind=BankAccountKind.TRUST)
    reply = api.get(DIGESTS, {"bank_account_id": theirs.pk, "prefix": "cases-"})
    assert (reply.status, reply.body["error"]["field"]) == (404, "bank_account_id")
    reply = api.get(DIGESTS, {"bank_account_id": operating.pk})
    assert (reply.status, reply.body["error"]["field"]) == (422, "prefix")


def test_documents_of_a_list_of_files_and_without_a_file(api, client_file, sent):
    def refs(params) -> list[str]:
        reply = api.get(DOCUMENTS, {"kind": "check", "prefix": "cases-", **params})
        assert reply.status == 200
        return [item["external_ref"] for item in reply.body["items"]]

    ids = f"{client_file.pk},{sent['nothing'].pk}"
    ours = ["cases-trust-item-1", "cases-cost-2", "cases-trust-item-3"]
    assert refs({"file_ids": ids}) == ours
    assert refs({"no_file": "true"}) == ["cases-cost-9"]
    assert refs({"file_ids": ids, "no_file": "true"}) == [*ours, "cases-cost-9"]
    assert refs({"file_ids": str(sent["nothing"].pk)}) == []
    both = api.get(
        DOCUMENTS,
        {"kind": "check", "prefix": "cases-", "file_id": client_file.pk, "file_ids": ids},
    )
    assert (both.status, both.body["error"]["field"]) == (422, "file_id")
    bad = api.get(DOCUMENTS, {"kind": "check", "prefix": "cases-", "file_ids": "1,x"})
    assert (bad.status, bad.body["error"]["field"]) == (422, "file_ids")


def test_the_kept_digests_follow_moves_and_deletes_and_the_integrity_check_compares_them(
    firm, sent, client_file
):
    """Documents moved between files and out of any file, a reference changed to another
    namespace, one deleted: the kept digests still equal the documents; a digest that
    drifted is a problem of the nightly integrity check."""
    other = sent["ledger_only"]
    Check.objects.filter(pk=sent["queued"].pk).update(file=other)
    Check.objects.filter(pk=sent["printed"].pk).update(file=None)
    Check.objects.filter(pk=sent["voided"].pk).update(external_ref="elsewhere-3")
    TrustReceipt.objects.filter(pk=sent["receipt"].pk).update(amount_cents=1)
    Check.objects.filter(pk=sent["loose"].pk).delete()
    assert file_digests_drift(firm=firm) == []
    file_digests_compact()  # the kept rows alone (ADR 0035)
    kept = {
        d.file_key: (d.documents, d.cents)
        for d in FileDigest.objects.filter(firm=firm, namespace="cases-")
    }
    assert kept == {0: (1, 2_550), client_file.pk: (1, 1), other.pk: (1, 12_000)}
    assert ledger_integrity_check(firm=firm).problems == []

    FileDigest.objects.filter(firm=firm, namespace="cases-", file_key=other.pk).update(cents=5)
    assert ledger_integrity_check(firm=firm).problems == [
        f"the digest of cases- documents of file id {other.pk} is kept as 1 documents, $0.05, "
        f"hash {digest_of([digest_row('C', 'cases-trust-item-1', 12_000, 'queued')])}; its "
        "documents give 1 documents, $120.00, hash "
        f"{digest_of([digest_row('C', 'cases-trust-item-1', 12_000, 'queued')])}"
    ]
