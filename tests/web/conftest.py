"""A cases firm with a case and a cost, and helpers that write the bridge's rows
directly: the operations endpoints only read them."""

from __future__ import annotations

import datetime as dt
import itertools

import pytest

from casebridge.bridge.models import Connection, ConnectionStatus, OutboxItem, OutboxState
from casebridge.cases.models import Case, Cost, CostCode
from casebridge.cases.models import Firm as CasesFirm
from casebridge.cases.services import cases as case_services
from casebridge.cases.services import costs as cost_services
from casebridge.cases.services import firms
from casebridge.core import clock

PASSWORD = "correct horse battery"
T0 = dt.datetime(2026, 11, 2, 17, 0, tzinfo=dt.UTC)
_keys = itertools.count(1)


@pytest.fixture
def cases_firm(db) -> CasesFirm:
    return firms.firm_create(code="lopez-pi", name="Lopez Injury Attorneys")


@pytest.fixture
def case(cases_firm) -> Case:
    admin = firms.user_create(
        firm=cases_firm,
        actor=None,
        email="admin@lopez.test",
        password=PASSWORD,
        is_firm_admin=True,
        perm_costs_management=True,
    )
    client = case_services.contact_create(firm=cases_firm, actor=admin, name="Maria Lopez")
    return case_services.case_create(
        firm=cases_firm, actor=admin, name="Lopez v. Acme", client_id=client.pk, status="open"
    )


def cost_of(case: Case) -> Cost:
    admin = case.firm.users.get(email="admin@lopez.test")
    payee = case_services.contact_create(firm=case.firm, actor=admin, name="Records Inc")
    return cost_services.cost_create(
        firm=case.firm,
        actor=admin,
        case_id=case.pk,
        payee_id=payee.pk,
        amount_cents=1_000,
        cost_code_id=CostCode.objects.get(firm=case.firm, code="E112").pk,
        cost_date=clock.today(),
        memo="records",
    )


def outbox_item(
    case: Case, *, kind: str = "cost_send", state: str = OutboxState.QUEUED, created_at=T0
) -> OutboxItem:
    return OutboxItem.objects.create(
        firm=case.firm,
        case=case,
        cost=cost_of(case),
        kind=kind,
        state=state,
        key=f"k-{next(_keys)}",
        next_attempt_at=created_at,
        created_at=created_at,
    )


def connection(firm: CasesFirm, **fields) -> Connection:
    values = {
        "status": ConnectionStatus.CONNECTED,
        "books_url": "http://books.invalid/books/api/v1",
        "books_firm_code": firm.code,
        "username": "integration@lopez.test",
        "updated_at": T0,
        "operating_account_id": 1,
        "trust_account_id": 2,
        **fields,
    }
    return Connection.objects.create(firm=firm, **values)
