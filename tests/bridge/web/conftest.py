"""Fixtures for the bridge's screens: signed-in test clients of the cases side, against the
books served on a real port (the fixtures of tests/bridge/conftest.py)."""

from __future__ import annotations

import pytest
from django.test import Client

from casebridge.cases.auth import SESSIONS
from casebridge.cases.models import User
from casebridge.cases.services import two_factor
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


def text(response) -> str:
    return response.content.decode()


@pytest.fixture
def admin_client(cases) -> Client:
    return sign_in(Client(), cases.admin)


@pytest.fixture
def paralegal_client(cases) -> Client:
    """Costs management, but no Account Settings."""
    return sign_in(Client(), cases.paralegal)
