"""Fixtures of the bank tests: books opened on 2026-01-01, an attorney who may sign."""

from __future__ import annotations

import pytest

from casebridge.books.services import auth
from tests.books.api.conftest import api, token  # noqa: F401 - fixtures
from tests.books.ledger_helpers import books_open
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
