"""Fixtures of the bank tests: books opened on 2026-01-01, an attorney who may sign, and
the API's and the screens' signed-in clients."""

from __future__ import annotations

import pytest

from casebridge.books.services import auth
from tests.books.api.conftest import api, token  # noqa: F401 - fixtures
from tests.books.ledger_helpers import books_open
from tests.books.web.conftest import (  # noqa: F401 - fixtures of the screen tests
    admin_client,
    clerk,
    clerk_client,
    other_admin,
    other_client,
)
from tests.conftest import PASSWORD


@pytest.fixture
def opened(firm, admin):
    return books_open(firm, admin)


@pytest.fixture
def signer(firm, admin):
    """An attorney of the firm, who may sign a reconciliation."""
    return auth.user_create(
        firm=firm,
        email="partner@smith.test",
        password=PASSWORD,
        first_name="Pat",
        last_name="Partner",
        is_attorney=True,
        actor=admin,
    )
