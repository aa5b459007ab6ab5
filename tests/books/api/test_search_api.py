"""``GET /search?q=``: the screens' search as JSON, scoped to the token's firm."""

from __future__ import annotations

from casebridge.books.selectors.search import search_books
from casebridge.books.services import auth
from casebridge.core.api.search import SearchOut
from tests.books.api.conftest import ApiClient, issue_token
from tests.books.ledger_helpers import deposit, trust_check
from tests.conftest import PASSWORD


def test_the_same_groups_as_the_screen(api, firm, admin, trust, client_file):
    deposit(firm, admin, trust, client_file, 50_000)
    trust_check(firm, admin, trust, client_file, 20_000, payee="Lopez Family")
    reply = api.get("/search", params={"q": "LOPEZ"})
    assert reply.status == 200
    assert reply.body == SearchOut.of(search_books(firm, "LOPEZ")).model_dump(mode="json")
    assert [(g["kind"], len(g["hits"])) for g in reply.body["groups"]] == [
        ("files", 1),
        ("contacts", 1),
        ("checks", 1),
        ("invoices", 0),
    ]
    assert reply.body["groups"][0]["hits"][0]["url"] == f"/books/files/{client_file.pk}/"


def test_another_firms_token_finds_none_of_ours(client, client_file, other_firm):
    boss = auth.user_create(
        firm=other_firm, email="boss@jones.test", password=PASSWORD, is_admin=True, actor=None
    )
    auth.security_question_enroll(user=boss, question="First pet's name?", answer="Rex")
    other = ApiClient(client, issue_token("jones-law", "boss@jones.test"))
    body = other.get("/search", params={"q": "lopez"}).body
    assert all(g["hits"] == [] for g in body["groups"])


def test_a_missing_q_names_the_field_and_a_token_is_needed(api, anonymous):
    reply = api.get("/search")
    assert reply.status == 422
    assert reply.error["field"] == "q"
    assert anonymous.get("/search", params={"q": "a"}).status == 401
