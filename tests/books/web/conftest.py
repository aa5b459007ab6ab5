"""Fixtures for the books' screens: signed-in test clients and a little money to show."""

from __future__ import annotations

import datetime as dt

import pytest
from django.test import Client

from casebridge.books.auth import SESSIONS
from casebridge.books.models import User
from casebridge.books.services import auth, checks, two_factor
from tests.conftest import PASSWORD
from tests.twofactor import enrol

HX = {"HTTP_HX_REQUEST": "true"}


def sign_in(client: Client, user: User) -> Client:
    """Signed in as ``user`` (past both factors: a user who must have a TOTP gets the
    fixed one first)."""
    if two_factor.totp_required(user):
        enrol(user)
    session = client.session
    session.update(SESSIONS.values(user))
    session.save()
    return client


@pytest.fixture
def admin_client(client, admin) -> Client:
    return sign_in(client, admin)


@pytest.fixture
def clerk(firm) -> User:
    """An enrolled user who is not an administrator."""
    user = auth.user_create(
        firm=firm, email="clerk@smith.test", password=PASSWORD, first_name="Cleo", last_name="Clerk"
    )
    return auth.security_question_enroll(user=user, question="Favourite colour?", answer="teal")


@pytest.fixture
def clerk_client(clerk) -> Client:
    return sign_in(Client(), clerk)


@pytest.fixture
def newcomer(firm) -> User:
    """A user who has never enrolled a security question."""
    return auth.user_create(firm=firm, email="new@smith.test", password=PASSWORD)


@pytest.fixture
def newcomer_client(newcomer) -> Client:
    return sign_in(Client(), newcomer)


@pytest.fixture
def other_admin(other_firm) -> User:
    user = auth.user_create(
        firm=other_firm, email="boss@jones.test", password=PASSWORD, is_admin=True
    )
    return auth.security_question_enroll(user=user, question="First school?", answer="Lincoln")


@pytest.fixture
def other_client(other_admin) -> Client:
    return sign_in(Client(), other_admin)


@pytest.fixture
def funded_file(firm, admin, trust, client_file):
    """The client file with $1,000.00 deposited in trust."""
    checks.trust_receipt_record(
        firm=firm,
        actor=admin,
        bank_account_id=trust.pk,
        file_id=client_file.pk,
        payer="Acme Insurance",
        amount_cents=100_000,
        received_on=dt.date(2026, 2, 1),
        reference="5501",
    )
    return client_file


def text(response) -> str:
    return response.content.decode()
