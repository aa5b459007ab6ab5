"""Activation (the seed's two pop-ups), against the books on a real port."""

from __future__ import annotations

import pytest

from casebridge.books.models import ActivityCode, IntegrationToken
from casebridge.bridge.crypto import decrypt_token
from casebridge.bridge.errors import BooksRefused
from casebridge.bridge.models import Connection, ConnectionStatus
from casebridge.bridge.services import connection as conn_services
from casebridge.cases.errors import PermissionDenied

from .conftest import INTEGRATION_EMAIL, PASSWORD, activate, books_firm_seeded


def _activate(books, cases, **overrides):
    args = dict(
        firm=cases.firm,
        actor=cases.admin,
        books_url=books.url,
        books_firm_code="lopez-pi",
        username=INTEGRATION_EMAIL,
        password=PASSWORD,
    )
    args.update(overrides)
    return conn_services.connection_activate(**args)


def test_both_pop_ups_connect_and_keep_the_token_encrypted(books, cases):
    conn = activate(books, cases)
    assert conn.status == ConnectionStatus.CONNECTED
    assert conn.operating_account_name == books.operating.name
    assert conn.trust_account_name == books.trust.name
    assert (conn.cost_posting_code_id, conn.cost_posting_code_label) == (
        ActivityCode.objects.get(firm=books.firm, code="E124").pk,
        "E124 Other -> GL 1300 Advanced Client Costs",
    )
    token = decrypt_token(conn.token_ciphertext)
    assert token not in conn.token_ciphertext
    assert PASSWORD not in str(Connection.objects.values().get(pk=conn.pk))
    assert (
        IntegrationToken.objects.filter(user=books.integration, revoked_at__isnull=True).count()
        == 1
    )


@pytest.mark.parametrize(
    ("overrides", "code", "field", "words"),
    [
        ({"password": "wrong"}, "invalid_credentials", "password", "refused this password"),
        (
            {"username": "nobody@lopez.test"},
            "user_not_found",
            "username",
            "have no user nobody@lopez.test",
        ),
        (
            {"books_url": "http://127.0.0.1:9/books/api/v1"},
            "books_unreachable",
            "books_url",
            "could not be reached",
        ),
    ],
)
def test_a_wrong_sign_in_says_exactly_what_is_wrong_and_writes_nothing(
    books, cases, overrides, code, field, words
):
    with pytest.raises(BooksRefused) as refused:
        _activate(books, cases, **overrides)
    assert refused.value.code == code
    assert refused.value.field == field
    assert words in refused.value.message
    assert "session" not in refused.value.message.lower()
    assert not Connection.objects.exists()


def test_an_unenrolled_integration_user_is_told_to_set_a_security_question(
    transactional_db, live_server, cases
):
    books_firm_seeded(enrolled=False)
    with pytest.raises(BooksRefused) as refused:
        conn_services.connection_activate(
            firm=cases.firm,
            actor=cases.admin,
            books_url=f"{live_server.url}/books/api/v1",
            books_firm_code="lopez-pi",
            username=INTEGRATION_EMAIL,
            password=PASSWORD,
        )
    assert refused.value.code == "security_question_not_enrolled"
    assert refused.value.message == (
        "integration@lopez.test has not set a security question yet. Log into the books as this "
        "user and set a security question first, then save again."
    )
    assert not Connection.objects.exists()


def test_only_an_administrator_or_settings_holder_may_activate(books, cases):
    with pytest.raises(PermissionDenied):
        _activate(books, cases, actor=cases.paralegal)
    assert not Connection.objects.exists()


def test_readiness_warns_when_the_user_is_not_the_designated_integration_user(books, cases):
    from casebridge.books.models import User as BooksUser
    from casebridge.bridge.services.readiness import readiness_run

    conn = activate(books, cases)
    assert [c for c in readiness_run(conn=conn).checks if c.warning] == []
    BooksUser.objects.filter(pk=books.integration.pk).update(is_integration_user=False)
    [check] = [c for c in readiness_run(conn=conn).checks if c.key == "integration_user"]
    assert (check.ok, check.warning) == (True, True)
    assert check.detail == (
        "Signed in to the books as integration@lopez.test, who is not marked as the designated "
        "integration user."
    )
