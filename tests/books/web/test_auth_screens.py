"""Sign in, sign out, and the first-login security question (seed S2)."""

from __future__ import annotations

from html import unescape

import pytest
from django.test import Client, override_settings
from django.urls import reverse
from django.utils import timezone

from casebridge.books.auth import PENDING_KEY, SESSION_KEY, SETUP_KEY
from casebridge.books.forms import STANDARD_QUESTIONS
from casebridge.books.models import LoginAttempt, User
from casebridge.books.services import auth
from casebridge.core import clock, twofactor
from casebridge.core.models import AuditEvent
from tests.conftest import PASSWORD
from tests.twofactor import code_at, fresh_code

from .conftest import text

LOGIN = "/books/login/"


def login(client, firm="smith-pi", email="admin@smith.test", password=PASSWORD, **extra):
    """Both steps: the password, then (when asked) a fresh code of the fixed secret."""
    response = client.post(LOGIN, {"firm": firm, "email": email, "password": password, **extra})
    if response.status_code == 302 and response["Location"] == reverse("books:login_code"):
        user = User.objects.get(pk=client.session[PENDING_KEY]["user_id"])
        response = client.post(reverse("books:login_code"), {"code": fresh_code(user)})
    return response


def field_error(html: str, field: str) -> str:
    """The error block rendered under one field ('' when there is none)."""
    marker = f'id="id_{field}_error"'
    if marker not in html:
        return ""
    start = html.index(marker)
    return unescape(html[start : html.index("</div>", start)])


def test_the_sign_in_page_asks_for_firm_email_and_password(client, firm):
    html = text(client.get(LOGIN))
    for label in ("Firm ID", "Email", "Password"):
        assert f">{label}<" in html


def test_an_enrolled_user_signs_in_to_the_dashboard(client, admin):
    response = login(client, firm=" SMITH-PI ", email="ADMIN@smith.test")
    assert response.status_code == 302
    assert response["Location"] == reverse("books:dashboard")
    assert client.session[SESSION_KEY] == admin.pk
    attempt = LoginAttempt.objects.get()
    assert (attempt.succeeded, attempt.ip_address) == (True, "127.0.0.1")
    assert AuditEvent.objects.filter(action="login", entity_id=str(admin.pk)).count() == 1


def test_sign_in_goes_back_to_the_page_asked_for(client, admin):
    response = login(client, next="/books/checks/?status=printed")
    assert response["Location"] == "/books/checks/?status=printed"


def test_sign_in_never_redirects_off_site(client, admin):
    response = login(client, next="https://evil.example/steal")
    assert response["Location"] == reverse("books:dashboard")


def test_a_new_user_sets_up_two_factor_sign_in_then_enrolls_a_question(client, newcomer):
    response = login(client, email="new@smith.test")
    assert response.status_code == 302
    assert response["Location"] == reverse("books:two_factor_setup")
    assert client.get(response["Location"]).status_code == 200
    secret = twofactor.decrypt_secret(client.session[SETUP_KEY])
    response = client.post(reverse("books:two_factor_setup"), {"code": code_at(key=secret)})
    assert f'href="{reverse("books:enroll")}"' in text(response)


@pytest.mark.parametrize(
    "case",
    ["wrong password", "unknown email", "unknown firm", "deactivated user"],
)
def test_every_refused_sign_in_shows_the_same_message_next_to_the_password(
    client, admin, clerk, case
):
    if case == "deactivated user":
        auth.user_update(user=clerk, actor=admin, is_active=False)
    response = {
        "wrong password": lambda: login(client, password="not the password"),
        "unknown email": lambda: login(client, email="ghost@smith.test"),
        "unknown firm": lambda: login(client, firm="nobody"),
        "deactivated user": lambda: login(client, email=clerk.email),
    }[case]()
    assert response.status_code == 422
    assert "Retry-After" not in response.headers
    html = text(response)
    assert "Firm ID, email or password is not right" in field_error(html, "password")
    assert field_error(html, "email") == ""
    assert field_error(html, "firm") == ""
    assert SESSION_KEY not in client.session
    assert LoginAttempt.objects.get().succeeded is False


def test_blank_fields_are_each_marked_required(client, firm):
    response = client.post(LOGIN, {"firm": "", "email": "", "password": ""})
    assert response.status_code == 422
    html = text(response)
    for field in ("firm", "email", "password"):
        assert "This field is required." in field_error(html, field)
    assert LoginAttempt.objects.count() == 0


@override_settings(SIGNIN_ACCOUNT_FREE_FAILURES=3)
def test_repeated_failures_are_throttled_saying_when_to_try_again(client, admin, monkeypatch):
    moment = timezone.now()
    monkeypatch.setattr(clock, "now", lambda: moment)
    assert login(Client(REMOTE_ADDR="192.0.2.10")).status_code == 302  # the owner, earlier
    for _ in range(3):
        assert login(client, password="wrong password!").status_code == 422
    response = login(client)  # even the right password now waits
    assert response.status_code == 429
    assert response["Retry-After"] == "30"
    assert "Too many failed sign-ins; try again in 30 seconds" in text(response)
    assert SESSION_KEY not in client.session
    assert LoginAttempt.objects.filter(succeeded=False).count() == 3

    # the owner, from the address it signed in from before, is not held back
    assert login(Client(REMOTE_ADDR="192.0.2.10")).status_code == 302


def test_a_signed_in_user_visiting_sign_in_goes_to_the_dashboard(admin_client):
    response = admin_client.get(LOGIN)
    assert response["Location"] == reverse("books:dashboard")


def test_sign_out_is_post_only_and_ends_the_session(admin_client):
    assert admin_client.get(reverse("books:logout")).status_code == 405
    response = admin_client.post(reverse("books:logout"))
    assert response["Location"] == reverse("books:login")
    assert SESSION_KEY not in admin_client.session
    assert admin_client.get(reverse("books:dashboard")).status_code == 302


def test_sign_in_needs_the_csrf_token(admin):
    strict = Client(enforce_csrf_checks=True)
    assert login(strict).status_code == 403
    page = strict.get(LOGIN)
    token = page.cookies["csrftoken"].value
    response = strict.post(
        LOGIN,
        {"firm": "smith-pi", "email": "admin@smith.test", "password": PASSWORD},
        HTTP_X_CSRFTOKEN=token,
    )
    assert response.status_code == 302


# --- Enrollment --------------------------------------------------------------------------

ENROLL = "/books/enroll/"


def test_enrollment_offers_standard_questions_or_your_own(newcomer_client):
    html = text(newcomer_client.get(ENROLL))
    for question in STANDARD_QUESTIONS:
        assert question in html
    assert "Write my own question" in html
    assert "Confirm answer" in html


def test_enrolling_authenticates_the_account_and_says_so(newcomer_client, newcomer):
    response = newcomer_client.post(
        ENROLL,
        {
            "question_choice": STANDARD_QUESTIONS[0],
            "answer": "Biscuit",
            "answer_confirm": "  biscuit ",
        },
        follow=True,
    )
    assert response.redirect_chain == [(reverse("books:dashboard"), 302)]
    html = text(response)
    assert "Your account is now authenticated for integrations." in html
    assert "terminated" not in html.lower()
    newcomer.refresh_from_db()
    assert newcomer.is_enrolled
    assert newcomer.security_question == STANDARD_QUESTIONS[0]
    assert auth.security_answer_matches(user=newcomer, answer="BISCUIT")
    assert AuditEvent.objects.filter(action="security_question_enroll").count() == 1


def test_a_written_question_is_used(newcomer_client, newcomer):
    newcomer_client.post(
        ENROLL,
        {
            "question_choice": "__custom__",
            "custom_question": "Name of my first law school professor?",
            "answer": "Holmes",
            "answer_confirm": "Holmes",
        },
    )
    newcomer.refresh_from_db()
    assert newcomer.security_question == "Name of my first law school professor?"


def test_answers_that_do_not_match_are_refused(newcomer_client, newcomer):
    response = newcomer_client.post(
        ENROLL,
        {"question_choice": STANDARD_QUESTIONS[1], "answer": "Fresno", "answer_confirm": "Reno"},
    )
    assert response.status_code == 422
    assert "The two answers do not match." in field_error(text(response), "answer_confirm")
    newcomer.refresh_from_db()
    assert not newcomer.is_enrolled


def test_a_written_question_must_be_written(newcomer_client, newcomer):
    response = newcomer_client.post(
        ENROLL, {"question_choice": "__custom__", "answer": "abc", "answer_confirm": "abc"}
    )
    assert "Write your question." in field_error(text(response), "custom_question")
    assert not User.objects.get(pk=newcomer.pk).is_enrolled


def test_the_services_refusal_lands_on_the_right_field(newcomer_client, newcomer):
    response = newcomer_client.post(
        ENROLL,
        {
            "question_choice": "__custom__",
            "custom_question": "Is my dog called rex?",
            "answer": "Rex",
            "answer_confirm": "rex",
        },
    )
    assert response.status_code == 422
    assert "The answer must not appear in the question" in field_error(text(response), "answer")
    response = newcomer_client.post(
        ENROLL,
        {
            "question_choice": "__custom__",
            "custom_question": "Why",
            "answer": "abc",
            "answer_confirm": "abc",
        },
    )
    assert "Choose or write a security question" in field_error(text(response), "custom_question")
    assert not User.objects.get(pk=newcomer.pk).is_enrolled


def test_an_unknown_question_choice_is_refused(newcomer_client, newcomer):
    response = newcomer_client.post(
        ENROLL, {"question_choice": "Anything?", "answer": "abc", "answer_confirm": "abc"}
    )
    assert response.status_code == 422
    assert "Select a valid choice" in field_error(text(response), "question_choice")


def test_enrollment_needs_a_signed_in_user(client):
    response = client.get(ENROLL)
    assert response["Location"] == f"{LOGIN}?next={ENROLL}"


def test_an_enrolled_user_is_not_asked_again(admin_client, admin):
    assert admin_client.get(ENROLL)["Location"] == reverse("books:dashboard")
    admin_client.post(
        ENROLL, {"question_choice": STANDARD_QUESTIONS[0], "answer": "x1y", "answer_confirm": "x1y"}
    )
    admin.refresh_from_db()
    assert admin.security_question == "First pet's name?"


@pytest.mark.parametrize("path", [LOGIN, ENROLL, "/books/"])
def test_no_page_shows_a_session_terminated_message(newcomer_client, path):
    html = text(newcomer_client.get(path, follow=True)).lower()
    assert "terminated" not in html
    assert "authentication failed" not in html
