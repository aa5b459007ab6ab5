"""A password change ends the user's other sessions; a wrong current password is a guess
the sign-in's throttle counts (both sides, through the shared account kit:
casebridge.web.account and casebridge.web.sessions)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest
from django.contrib.auth.hashers import check_password
from django.test import Client, override_settings

from casebridge.books import auth as books_auth
from casebridge.books.models import User as BooksUser
from casebridge.books.services import auth as books_services
from casebridge.cases import auth as cases_auth
from casebridge.cases.models import User as CasesUser
from casebridge.cases.services import firms as cases_services
from casebridge.core.models import AuditEvent
from tests.conftest import PASSWORD
from tests.twofactor import enrol, fresh_code

NEW = "a brand new password"
OTHER = "another new password"
ADDRESS = "203.0.113.9"


@dataclass(frozen=True)
class Side:
    name: str
    auth: Any
    services: Any
    user_model: type[Any]
    #: A page any signed-in user of the side sees (200).
    page: str

    def client(self, user: Any) -> Client:
        client = Client(REMOTE_ADDR=ADDRESS)
        session = client.session
        session.update(self.auth.SESSIONS.values(user))
        session.save()
        return client

    def signed_in(self, client: Client) -> bool:
        response = client.get(self.page)
        if response.status_code == 200:
            return True
        assert response.status_code == 302
        assert response["Location"].startswith(f"/{self.name}/login/")
        return False

    def change(self, client: Client, current: str, new: str) -> Any:
        return client.post(
            f"/{self.name}/account/password/",
            {"current_password": current, "new_password": new, "new_password_confirm": new},
        )


BOOKS = Side("books", books_auth, books_services, BooksUser, "/books/account/")
CASES = Side("cases", cases_auth, cases_services, CasesUser, "/cases/account/")


@pytest.fixture(params=[BOOKS, CASES], ids=["books", "cases"])
def side(request) -> Side:
    return request.param


@pytest.fixture
def person(side, firm, admin) -> Any:
    """A signed-in kind of user of the side: a books administrator, a cases paralegal."""
    if side is BOOKS:
        return admin
    from casebridge.cases.services import firms

    cfirm = firms.firm_create(code="lopez-pi", name="Lopez Injury Attorneys")
    return firms.user_create(
        firm=cfirm, actor=None, email="pat@lopez.test", password=PASSWORD, first_name="Pat"
    )


@pytest.fixture
def side_admin(side, person) -> Any:
    """An administrator of the person's firm (the person, on the books side, is one)."""
    if side is BOOKS:
        return books_services.user_create(
            firm=person.firm,
            email="second-admin@smith.test",
            password=PASSWORD,
            is_admin=True,
        )
    return enrol(
        cases_services.user_create(
            firm=person.firm,
            actor=None,
            email="admin@lopez.test",
            password=PASSWORD,
            is_firm_admin=True,
        )
    )


def test_changing_the_password_signs_out_every_other_session_and_keeps_this_one(side, person):
    here, elsewhere = side.client(person), side.client(person)
    assert side.signed_in(here)
    assert side.signed_in(elsewhere)

    response = side.change(here, PASSWORD, NEW)

    assert response.status_code == 302
    assert side.signed_in(here)
    assert not side.signed_in(elsewhere)
    assert side.auth.SESSION_KEY not in elsewhere.session
    # signing in again with the new password is a new session like any other
    assert side.signed_in(side.client(side.user_model.objects.get(pk=person.pk)))


def test_an_administrators_reset_ends_the_users_sessions(side, person, side_admin):
    before = side.client(person)
    side.services.password_reset_by_admin(
        user=person, actor=side_admin, temporary_password="temporary-123"
    )
    assert not side.signed_in(before)


def test_a_session_that_never_recorded_its_password_is_signed_out(side, person):
    """Fail closed: a session holding only the user's id (as every session did before the
    rule) is not taken for the user."""
    client = Client()
    session = client.session
    session[side.auth.SESSION_KEY] = person.pk
    session.save()
    assert not side.signed_in(client)
    assert side.auth.SESSION_KEY not in client.session


def test_a_session_with_another_users_hash_is_signed_out(side, person, side_admin):
    client = Client()
    session = client.session
    session[side.auth.SESSION_KEY] = person.pk
    session[side.auth.SESSIONS.auth_key] = side.auth.SESSIONS.auth_hash(side_admin)
    session.save()
    assert not side.signed_in(client)


@override_settings(SIGNIN_ACCOUNT_FREE_FAILURES=3)
def test_wrong_current_passwords_are_throttled_like_sign_ins_and_change_nothing(side, person):
    client = side.client(person)
    for _ in range(3):
        response = side.change(client, "not it at all", NEW)
        assert response.status_code == 422
        assert "The current password is not right" in response.content.decode()

    response = side.change(client, PASSWORD, NEW)  # right, but the account backs off

    assert response.status_code == 429
    assert "Too many failed sign-ins; try again in 30 seconds" in response.content.decode()
    stored = side.user_model.objects.get(pk=person.pk)
    assert check_password(PASSWORD, stored.password)
    assert not AuditEvent.objects.filter(action="password_change").exists()
    assert side.signed_in(client)  # refused, not signed out


@override_settings(SIGNIN_ACCOUNT_FREE_FAILURES=3)
def test_wrong_current_passwords_count_against_the_sign_in_too(side, person):
    client = side.client(person)
    for _ in range(3):
        side.change(client, "not it at all", NEW)
    stranger = Client(REMOTE_ADDR="198.51.100.7")
    response = stranger.post(
        f"/{side.name}/login/",
        {"firm": person.firm.code, "email": person.email, "password": PASSWORD},
    )
    assert response.status_code == 429


def test_the_change_is_audited_with_the_address_it_came_from(side, person):
    client = side.client(person)
    assert side.change(client, PASSWORD, NEW).status_code == 302
    event = AuditEvent.objects.get(action="password_change")
    assert (event.system, event.entity_id, event.ip_address) == (
        side.name,
        str(person.pk),
        ADDRESS,
    )
    # and a second change from this very session works: it was carried over
    assert side.change(client, NEW, OTHER).status_code == 302
    assert AuditEvent.objects.filter(action="password_change").count() == 2


def api_token(side: Side, person: Any) -> str:
    body = {"firm": person.firm.code, "username": person.email, "password": PASSWORD}
    if person.has_totp:
        body["totp"] = fresh_code(person)
    response = Client(REMOTE_ADDR=ADDRESS).post(
        f"/{side.name}/api/v1/auth/session", body, content_type="application/json"
    )
    assert response.status_code == 201, response.content
    return str(response.json()["token"])


@override_settings(SIGNIN_ACCOUNT_FREE_FAILURES=3)
def test_the_apis_password_change_counts_wrong_current_passwords_too(side, person):
    """The API's password change runs in a transaction (Idempotency-Key) that a refusal
    rolls back; the failure is counted all the same (DomainError.outlive)."""
    headers = {"Authorization": f"Bearer {api_token(side, person)}"}
    client = Client(REMOTE_ADDR=ADDRESS)

    def change(current: str) -> Any:
        return client.post(
            f"/{side.name}/api/v1/auth/password",
            {"current_password": current, "new_password": NEW},
            content_type="application/json",
            headers=headers,
        )

    wrong = 401 if side is BOOKS else 422
    for _ in range(3):
        response = change("not it at all")
        assert (response.status_code, response.json()["error"]["field"]) == (
            wrong,
            "current_password",
        )
    response = change(PASSWORD)
    assert response.status_code == 429
    assert response.json()["error"]["code"] == "too_many_attempts"
    assert response["Retry-After"] == "30"
    assert check_password(PASSWORD, side.user_model.objects.get(pk=person.pk).password)


def test_a_sign_in_waiting_for_its_code_ends_when_the_password_changes(side, person):
    """Someone who had the old password and got as far as the code step cannot finish."""
    client = Client()
    session = client.session
    session.save()
    request = type("R", (), {"session": client.session})()
    side.auth.SESSIONS.pending_start(request, person, "")
    request.session.save()
    assert side.auth.SESSIONS.pending_user(request) == person
    stored = side.user_model.objects.get(pk=person.pk)
    side.services.password_change(user=stored, current_password=PASSWORD, new_password=NEW)
    assert side.auth.SESSIONS.pending_user(request) is None
    assert side.auth.SESSIONS.pending_key not in request.session


def test_a_temporary_password_is_replaced_before_anything_else(side, person, side_admin):
    """A user an administrator added (no second factor) chooses a password first: on the
    books before enrolling the security question."""
    if side is BOOKS:
        added = books_services.user_create(
            firm=person.firm,
            actor=person,
            email="new@smith.test",
            password="temporary-123",
            role="staff",
            must_change_password=True,
        )
    else:
        added = cases_services.user_create(
            firm=person.firm,
            actor=side_admin,
            email="new@lopez.test",
            password="temporary-123",
            must_change_password=True,
        )
    password_page = f"/{side.name}/account/password/"
    if side is BOOKS:  # every person there signs in with a second factor, which comes first
        from casebridge.books.views.account import SCREENS

        assert not added.is_enrolled
        assert SCREENS.after_sign_in(added, "/books/files/") == password_page
        return
    client = Client(REMOTE_ADDR=ADDRESS)
    response = client.post(
        f"/{side.name}/login/",
        {"firm": added.firm.code, "email": added.email, "password": "temporary-123"},
    )
    assert client.get(response["Location"])["Location"] == password_page


def test_the_cases_apis_sign_in_with_a_new_password_records_the_address(side, person, side_admin):
    if side is BOOKS:
        pytest.skip("the books' API sign-in is tested in tests/books/api")
    cases_services.password_reset_by_admin(
        user=person, actor=side_admin, temporary_password="temporary-123"
    )
    response = Client(REMOTE_ADDR=ADDRESS).post(
        "/cases/api/v1/auth/session",
        {
            "firm": person.firm.code,
            "username": person.email,
            "password": "temporary-123",
            "new_password": NEW,
        },
        content_type="application/json",
    )
    assert response.status_code == 201, response.content
    event = AuditEvent.objects.get(action="password_change")
    assert (event.entity_id, event.ip_address) == (str(person.pk), ADDRESS)
