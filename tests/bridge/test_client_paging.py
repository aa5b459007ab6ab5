"""The bridge's books client reads every paged list of the books' API the one way (issue 14):
a page's ``next`` goes back as ``cursor`` until it is null, for the reference lists and the
bulk reports alike."""

from __future__ import annotations

from typing import Any

import pytest

from casebridge.books.models import ActivityCode, File, User
from casebridge.books.services import files
from casebridge.bridge import client as books_client
from casebridge.bridge.client import HttpBooksClient
from casebridge.bridge.models import Connection
from casebridge.bridge.services import connection as conn_services
from tests.books.ledger_helpers import deposit


@pytest.fixture
def requests(monkeypatch) -> list[tuple[str, dict[str, Any]]]:
    """Each GET the client sends, with its query."""
    seen: list[tuple[str, dict[str, Any]]] = []
    original = HttpBooksClient._request

    def spy(self: HttpBooksClient, method: str, path: str, **kwargs: Any) -> Any:
        if method == "GET":
            seen.append((path, dict(kwargs.get("params") or {})))
        return original(self, method, path, **kwargs)

    monkeypatch.setattr(HttpBooksClient, "_request", spy)
    return seen


@pytest.fixture
def trust_files(books) -> list[File]:
    """Five files with money in the books' trust account: 1.00, 2.00, ... 5.00."""
    made = []
    for n in range(1, 6):
        client, _ = files.contact_find_or_create(
            firm=books.firm, actor=books.admin, name=f"Client {n}"
        )
        file, _ = files.file_find_or_create(
            firm=books.firm, actor=books.admin, name=f"Client {n} v. Acme", client=client
        )
        deposit(books.firm, books.admin, books.trust, file, n * 100)
        made.append(file)
    return made


def test_the_client_follows_next_page_by_page(books, cases, connected, monkeypatch, requests):
    monkeypatch.setattr(books_client, "PAGE_SIZE", 10)
    client = conn_services.client_for(Connection.objects.get())
    try:
        codes = client.activity_codes()
        users = client.users()
    finally:
        client.close()
    expected = list(
        ActivityCode.objects.filter(firm=books.firm).order_by("code", "pk").values_list("code")
    )
    assert [(c.code,) for c in codes] == expected
    assert len(expected) == 26  # three pages of ten
    assert sorted(u.id for u in users) == sorted(
        User.objects.filter(firm=books.firm).values_list("pk", flat=True)
    )
    pages = [query for path, query in requests if path == "activity-codes"]
    assert [q["limit"] for q in pages] == [10, 10, 10]
    assert "cursor" not in pages[0]
    assert len({q["cursor"] for q in pages[1:]}) == 2
    assert not any("offset" in q for _, q in requests)


def test_the_bulk_reports_page_the_same_way(
    books, cases, connected, monkeypatch, requests, trust_files
):
    monkeypatch.setattr(books_client, "BULK_PAGE_SIZE", 2)
    monkeypatch.setattr(books_client, "DIGEST_PAGE_SIZE", 2)
    client = conn_services.client_for(Connection.objects.get())
    try:
        balances = client.all_trust_balances(books.trust.pk)
        digests = client.external_digests(books.trust.pk, "cases-")
    finally:
        client.close()
    assert balances == {f.pk: n * 100 for n, f in enumerate(trust_files, start=1)}
    assert digests.balances == balances
    for path in ("reports/trust-balances", "reports/external-digests"):
        queries = [query for p, query in requests if p == path]
        assert len(queries) == 3, path  # 2 + 2 + 1 files
        assert ["cursor" in q for q in queries] == [False, True, True]


@pytest.mark.parametrize(
    "pages",
    [
        [{"items": [1], "next": "same"}, {"items": [2], "next": "same"}],
        [{"items": [1], "next": "a"}, {"items": [], "next": "b"}],
    ],
    ids=["a repeated cursor", "an empty page with a next one"],
)
def test_a_page_that_leads_nowhere_new_is_refused_not_followed_forever(monkeypatch, pages):
    answers = iter(pages)
    monkeypatch.setattr(HttpBooksClient, "_request", lambda self, *a, **k: next(answers))
    client = HttpBooksClient.__new__(HttpBooksClient)
    read: list[Any] = []
    with pytest.raises(books_client.BooksRejected) as refused:
        read.extend(client._pages("/activity-codes"))
    assert refused.value.code == "paging_loop"
    assert read == [item for page in pages for item in page["items"]]
