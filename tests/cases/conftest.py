"""Fixtures for the cases side: a PI firm, its people and a case."""

from __future__ import annotations

import datetime as dt

import pytest

from casebridge.cases.models import CostCode, Firm, User
from casebridge.cases.services import cases as case_services
from casebridge.cases.services import firms
from tests.twofactor import enrol

PASSWORD = "correct horse battery"


@pytest.fixture
def cfirm(db) -> Firm:
    return firms.firm_create(code="lopez-pi", name="Lopez Injury Attorneys")


@pytest.fixture
def cadmin(cfirm) -> User:
    """A firm administrator: two-factor sign-in required, enrolled with the fixed secret."""
    return enrol(
        firms.user_create(
            firm=cfirm,
            actor=None,
            email="admin@lopez.test",
            password=PASSWORD,
            first_name="Ana",
            last_name="Admin",
            is_firm_admin=True,
        )
    )


@pytest.fixture
def cattorney(cfirm) -> User:
    return firms.user_create(
        firm=cfirm,
        actor=None,
        email="sam.smith@lopez.test",
        password=PASSWORD,
        first_name="Sam",
        last_name="Smith",
        is_attorney=True,
    )


@pytest.fixture
def paralegal(cfirm) -> User:
    return firms.user_create(
        firm=cfirm,
        actor=None,
        email="pat@lopez.test",
        password=PASSWORD,
        first_name="Pat",
        last_name="Paralegal",
    )


@pytest.fixture
def client_contact(cfirm, cadmin):
    return case_services.contact_create(
        firm=cfirm,
        actor=cadmin,
        name="Maria Lopez",
        date_of_birth=dt.date(1985, 4, 12),
        phone="555-0100",
    )


@pytest.fixture
def case(cfirm, cadmin, cattorney, client_contact):
    return case_services.case_create(
        firm=cfirm,
        actor=cadmin,
        name="Lopez v. Acme Trucking",
        client_id=client_contact.pk,
        responsible_attorney_id=cattorney.pk,
        incident_date=dt.date(2025, 6, 1),
        status="open",
    )


def cost_code(firm: Firm, code: str) -> CostCode:
    return CostCode.objects.get(firm=firm, code=code)
