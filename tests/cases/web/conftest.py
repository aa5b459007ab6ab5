"""Fixtures for the cases side's screens: signed-in test clients, a linked case, a cost, a
settlement ready to stage, another firm's objects, and a check that a refusal wrote
nothing."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from django.test import Client

from casebridge.cases.auth import SESSIONS
from casebridge.cases.models import (
    Case,
    Contact,
    Cost,
    CostCode,
    Deposit,
    FeeChangeRequest,
    Firm,
    Lien,
    Negotiation,
    Settlement,
    TrustItem,
    User,
)
from casebridge.cases.services import cases as case_services
from casebridge.cases.services import costs, firms, settlement, two_factor
from casebridge.core.models import AuditEvent
from tests.cases.conftest import PASSWORD, cost_code
from tests.twofactor import enrol

HX = {"HTTP_HX_REQUEST": "true"}
D = dt.date(2026, 3, 2)

#: The tables a screen may write; "nothing written" compares all of their rows.
TABLES = (
    Firm,
    User,
    Contact,
    Case,
    Case.linked_cases.through,
    CostCode,
    Cost,
    Settlement,
    Negotiation,
    Deposit,
    Lien,
    TrustItem,
    FeeChangeRequest,
    AuditEvent,
)


def state() -> list[list[tuple[Any, ...]]]:
    return [list(m._default_manager.order_by("pk").values_list()) for m in TABLES]


@contextmanager
def nothing_written() -> Iterator[None]:
    before = state()
    yield
    assert state() == before, "a refused request wrote to the database"


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
def admin_client(cadmin) -> Client:
    return sign_in(Client(), cadmin)


@pytest.fixture
def attorney(cfirm) -> User:
    """An attorney with the Costs management and Deposit settlement checks permissions."""
    return firms.user_create(
        firm=cfirm,
        actor=None,
        email="alex.attorney@lopez.test",
        password=PASSWORD,
        first_name="Alex",
        last_name="Attorney",
        is_attorney=True,
        perm_costs_management=True,
        perm_deposit_settlement=True,
    )


@pytest.fixture
def attorney_client(attorney) -> Client:
    return sign_in(Client(), attorney)


@pytest.fixture
def paralegal_client(paralegal) -> Client:
    """A user with no permission beyond working cases."""
    return sign_in(Client(), paralegal)


@pytest.fixture
def settings_holder(cfirm) -> User:
    """Not an administrator, but holds "Administration settings page access"."""
    return firms.user_create(
        firm=cfirm,
        actor=None,
        email="sue.settings@lopez.test",
        password=PASSWORD,
        first_name="Sue",
        last_name="Settings",
        perm_admin_settings=True,
    )


@pytest.fixture
def payee(cfirm, cadmin) -> Contact:
    return case_services.contact_create(firm=cfirm, actor=cadmin, name="Records Inc")


@pytest.fixture
def insurer(cfirm, cadmin) -> Contact:
    return case_services.contact_create(firm=cfirm, actor=cadmin, name="Acme Insurance")


@pytest.fixture
def linked_case(cfirm, cadmin, cattorney, case) -> Case:
    client = case_services.contact_create(firm=cfirm, actor=cadmin, name="Luis Lopez")
    other = case_services.case_create(
        firm=cfirm,
        actor=cadmin,
        name="L. Lopez v. Acme Trucking",
        client_id=client.pk,
        responsible_attorney_id=cattorney.pk,
        status="open",
    )
    case_services.cases_link(case=case, other_case_id=other.pk, actor=cadmin)
    return other


@pytest.fixture
def cost(cfirm, cadmin, case, payee) -> Cost:
    """An open cost of $300.01 on the case."""
    return costs.cost_create(
        firm=cfirm,
        actor=cadmin,
        case_id=case.pk,
        payee_id=payee.pk,
        amount_cents=30_001,
        cost_code_id=cost_code(cfirm, "MEDREC").pk,
        cost_date=D,
        invoice_reference="INV-7",
        memo="Records of Valley Medical",
    )


@pytest.fixture
def offer(cfirm, cadmin, case, insurer) -> Negotiation:
    """An offer of $100,000.00, not accepted."""
    return settlement.negotiation_record(
        firm=cfirm,
        actor=cadmin,
        case_id=case.pk,
        kind="offer",
        party_id=insurer.pk,
        amount_cents=10_000_000,
        made_on=D,
    )


@pytest.fixture
def deposited(cfirm, cadmin, case, offer, cost) -> Negotiation:
    """The offer accepted and its check of $100,000.00 deposited (the cost is on the case)."""
    settlement.offer_accept(firm=cfirm, actor=cadmin, negotiation_id=offer.pk, on=D)
    settlement.deposit_record(
        firm=cfirm,
        actor=cadmin,
        case_id=case.pk,
        offer_id=offer.pk,
        amount_cents=10_000_000,
        check_number="5501",
        deposited_on=D,
    )
    return offer


@pytest.fixture
def lien(cfirm, cadmin, case) -> Lien:
    holder = case_services.contact_create(firm=cfirm, actor=cadmin, name="Valley Medical")
    return settlement.lien_create(
        firm=cfirm,
        actor=cadmin,
        case_id=case.pk,
        kind="medical",
        holder_id=holder.pk,
        claimed_cents=2_000_000,
    )


@pytest.fixture
def other_firm_objects(db) -> dict[str, int]:
    """Another firm's case, cost, offer, lien, staged item, deposit and user, by URL name."""
    ofirm = firms.firm_create(code="other-pi", name="Other PI")
    boss = firms.user_create(
        firm=ofirm,
        actor=None,
        email="boss@other.test",
        password=PASSWORD,
        is_firm_admin=True,
        is_attorney=True,
    )
    client = case_services.contact_create(firm=ofirm, actor=boss, name="Other Client")
    ocase = case_services.case_create(firm=ofirm, actor=boss, name="Other", client_id=client.pk)
    ocost = costs.cost_create(
        firm=ofirm,
        actor=boss,
        case_id=ocase.pk,
        payee_id=client.pk,
        amount_cents=5_000,
        cost_code_id=cost_code(ofirm, "E101").pk,
    )
    neg = settlement.negotiation_record(
        firm=ofirm,
        actor=boss,
        case_id=ocase.pk,
        kind="offer",
        party_id=client.pk,
        amount_cents=100_000,
    )
    settlement.offer_accept(firm=ofirm, actor=boss, negotiation_id=neg.pk)
    odeposit = settlement.deposit_record(
        firm=ofirm,
        actor=boss,
        case_id=ocase.pk,
        offer_id=neg.pk,
        amount_cents=100_000,
        check_number="1",
    )
    olien = settlement.lien_create(
        firm=ofirm,
        actor=boss,
        case_id=ocase.pk,
        kind="misc",
        holder_id=client.pk,
        claimed_cents=1_000,
    )
    item = settlement.trust_item_stage(firm=ofirm, actor=boss, case_id=ocase.pk, kind="fee")
    return {
        "case": ocase.pk,
        "cost": ocost.pk,
        "negotiation": neg.pk,
        "lien": olien.pk,
        "item": item.pk,
        "deposit": odeposit.pk,
        "user": boss.pk,
    }
