"""API test helpers for the cases side: a JSON client over Django's test client (``api``),
tokens for each of the firm's people, a second firm with one of everything (for scoping
tests), and a snapshot of every row the cases side writes (to show a refusal wrote
nothing)."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import pytest
from django.test import Client

from casebridge.cases.api.security import token_issue
from casebridge.cases.models import (
    ApiToken,
    Case,
    CaseType,
    ClientMedicareStatus,
    Contact,
    Cost,
    CostCode,
    Deadline,
    DeadlineReminder,
    Deposit,
    FeeChangeRequest,
    Firm,
    IdempotencyRecord,
    Lien,
    LimitationRule,
    MedicareClaim,
    MedicareHoldOverride,
    MedicareStep,
    Negotiation,
    Settlement,
    TrustItem,
    User,
)
from casebridge.cases.services import cases as case_services
from casebridge.cases.services import costs, deadlines, firms, medicare, settlement, two_factor
from casebridge.core import clock
from casebridge.core.models import AuditEvent
from tests.cases.conftest import PASSWORD, cost_code
from tests.cases.medical_helpers import medical_ids
from tests.twofactor import enrol, fresh_code

BASE = "/cases/api/v1"
D = dt.date(2026, 3, 2)


@dataclass
class Reply:
    status: int
    body: Any
    headers: Mapping[str, str] = field(default_factory=dict)

    @property
    def error(self) -> dict[str, Any]:
        assert isinstance(self.body, dict), self.body
        assert "error" in self.body, self.body
        return dict(self.body["error"])


class ApiClient:
    """JSON requests through Django's test client (same process, same transaction)."""

    def __init__(self, client: Client, token: str | None = None) -> None:
        self.client = client
        self.token = token

    def _headers(self, key: str | None, extra: Mapping[str, str] | None = None) -> dict[str, str]:
        headers = dict(extra or {})
        if self.token:
            headers.setdefault("Authorization", f"Bearer {self.token}")
        if key is not None:
            headers["Idempotency-Key"] = key
        return headers

    def _reply(self, response: Any) -> Reply:
        assert response.status_code < 500, response.content
        raw = response.content
        return Reply(response.status_code, json.loads(raw) if raw else None, dict(response.headers))

    def get(self, path: str, params: Mapping[str, Any] | None = None) -> Reply:
        return self._reply(self.client.get(BASE + path, params or {}, headers=self._headers(None)))

    def _send(self, method: str, path: str, body: Any, key: str | None, raw: str | None) -> Reply:
        data = raw if raw is not None else ("" if body is None else json.dumps(body))
        response = getattr(self.client, method)(
            BASE + path, data=data, content_type="application/json", headers=self._headers(key)
        )
        return self._reply(response)

    def post(self, path: str, body: Any = None, *, key: str | None = None, raw: str | None = None):
        return self._send("post", path, body, key, raw)

    def put(self, path: str, body: Any = None) -> Reply:
        return self._send("put", path, body, None, None)

    def patch(self, path: str, body: Any = None) -> Reply:
        return self._send("patch", path, body, None, None)

    def delete(self, path: str) -> Reply:
        return self._reply(self.client.delete(BASE + path, headers=self._headers(None)))


def issue(firm: Firm, user: User) -> str:
    """A token for ``user``, past the second factor: a fresh code for a user who has a TOTP
    (or must: enrolled with the fixed secret first)."""
    totp = fresh_code(enrol(user)) if two_factor.totp_applies(user) else ""
    return token_issue(firm_code=firm.code, email=user.email, password=PASSWORD, totp=totp).token


@pytest.fixture
def api(client, cfirm, cadmin) -> ApiClient:
    """The firm administrator (who holds every permission)."""
    return ApiClient(client, issue(cfirm, cadmin))


@pytest.fixture
def attorney_api(cfirm, cattorney) -> ApiClient:
    return ApiClient(Client(), issue(cfirm, cattorney))


@pytest.fixture
def paralegal_api(cfirm, paralegal) -> ApiClient:
    """A user with no extra permission."""
    return ApiClient(Client(), issue(cfirm, paralegal))


@pytest.fixture
def anonymous(client) -> ApiClient:
    return ApiClient(client)


def contact(firm: Firm, actor: User, name: str) -> Contact:
    return case_services.contact_create(firm=firm, actor=actor, name=name)


@pytest.fixture
def insurer(cfirm, cadmin) -> Contact:
    return contact(cfirm, cadmin, "Acme Insurance")


@pytest.fixture
def payee(cfirm, cadmin) -> Contact:
    return contact(cfirm, cadmin, "Records Inc")


@pytest.fixture
def open_cost(cfirm, cadmin, case, payee) -> Cost:
    return costs.cost_create(
        firm=cfirm,
        actor=cadmin,
        case_id=case.pk,
        payee_id=payee.pk,
        amount_cents=10_000,
        cost_code_id=cost_code(cfirm, "MEDREC").pk,
        cost_date=D,
    )


@pytest.fixture
def accepted_offer(cfirm, cadmin, case, insurer) -> Negotiation:
    """An accepted offer of 250,000.00 from Acme Insurance, nothing deposited yet."""
    offer = settlement.negotiation_record(
        firm=cfirm,
        actor=cadmin,
        case_id=case.pk,
        kind="offer",
        party_id=insurer.pk,
        amount_cents=25_000_000,
        made_on=D,
    )
    return settlement.offer_accept(firm=cfirm, actor=cadmin, negotiation_id=offer.pk, on=D)


@pytest.fixture
def other_world(db) -> dict[str, int]:
    """Another firm with one of every record, for scoping tests: its ids by path name."""
    firm = firms.firm_create(code="jones-pi", name="Jones Injury Law")
    admin = firms.user_create(
        firm=firm,
        actor=None,
        email="admin@jones.test",
        password=PASSWORD,
        is_firm_admin=True,
        is_attorney=True,
    )
    client = contact(firm, admin, "Jones Client")
    insurer = contact(firm, admin, "Jones Insurer")

    def new_case(name: str) -> Case:
        return case_services.case_create(
            firm=firm, actor=admin, name=name, client_id=client.pk, status="open"
        )

    case, linked = new_case("Jones v. One"), new_case("Jones v. Two")
    case_services.cases_link(case=case, other_case_id=linked.pk, actor=admin)
    cost = costs.cost_create(
        firm=firm,
        actor=admin,
        case_id=case.pk,
        payee_id=client.pk,
        amount_cents=5_000,
        cost_code_id=cost_code(firm, "E101").pk,
    )
    offer = settlement.negotiation_record(
        firm=firm,
        actor=admin,
        case_id=case.pk,
        kind="offer",
        party_id=insurer.pk,
        amount_cents=1_000_000,
    )
    settlement.offer_accept(firm=firm, actor=admin, negotiation_id=offer.pk)
    demand = settlement.negotiation_record(
        firm=firm,
        actor=admin,
        case_id=case.pk,
        kind="demand",
        party_id=insurer.pk,
        amount_cents=2_000_000,
    )
    deposit = settlement.deposit_record(
        firm=firm,
        actor=admin,
        case_id=case.pk,
        offer_id=offer.pk,
        amount_cents=1_000_000,
        check_number="J-1",
    )
    lien = settlement.lien_create(
        firm=firm,
        actor=admin,
        case_id=case.pk,
        kind="medical",
        holder_id=client.pk,
        claimed_cents=100_000,
    )
    item = settlement.trust_item_stage(firm=firm, actor=admin, case_id=case.pk, kind="fee")
    clerk = firms.user_create(firm=firm, actor=None, email="clerk@jones.test", password=PASSWORD)
    Firm.objects.filter(pk=firm.pk).update(fee_changes_need_approval=True)
    firm.refresh_from_db()
    other = new_case("Jones v. Three")
    _, request = settlement.settlement_terms_update(
        firm=firm,
        actor=clerk,
        case_id=other.pk,
        fee_mode="percent",
        fee_rate_bp=4000,
        fee_fixed_cents=0,
        fee_on_net_of_costs=False,
        copp_cents=0,
        property_damage_fee_cents=0,
        reason="trial",
    )
    assert request is not None
    return {
        "case_id": case.pk,
        "other_case_id": linked.pk,
        "contact_id": client.pk,
        "cost_id": cost.pk,
        "negotiation_id": demand.pk,
        "offer_id": offer.pk,
        "deposit_id": deposit.pk,
        "lien_id": lien.pk,
        "item_id": item.pk,
        "request_id": request.pk,
        "user_id": admin.pk,
        "cost_code_id": cost_code(firm, "E101").pk,
        "case_type_id": CaseType.objects.get(firm=firm).pk,
        **medical_ids(firm, admin, case),
        "rule_id": LimitationRule.objects.filter(firm=firm)
        .order_by("pk")
        .values_list("pk", flat=True)[0],
        "deadline_id": deadlines.deadline_create(
            firm=firm, actor=admin, case_id=case.pk, title="Answer", due_date=dt.date(2027, 1, 1)
        ).pk,
        "step_id": medicare.medicare_step_record(
            firm=firm, actor=admin, case_id=case.pk, kind="notice_sent", on=clock.today()
        ).pk,
    }


#: Every table the cases side's API writes.
WRITTEN = (
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
    IdempotencyRecord,
    AuditEvent,
    LimitationRule,
    Deadline,
    DeadlineReminder,
    ClientMedicareStatus,
    MedicareClaim,
    MedicareStep,
    MedicareHoldOverride,
)


def db_state() -> dict[str, list[dict[str, Any]]]:
    """Every field of every row the API could write (API tokens aside: using one stamps
    its ``last_used_at``), to show that a refusal wrote nothing."""
    return {model.__name__: list(model.objects.order_by("pk").values()) for model in WRITTEN} | {
        "ApiToken": list(ApiToken.objects.order_by("pk").values("pk", "revoked_at"))
    }


_ANY = object()


def refused(
    reply: Reply, status: int, code: str, problem: str, *, field: Any = _ANY, **details: Any
) -> None:
    """``reply`` is the refusal ``status``/``code`` whose message starts by naming
    ``problem`` (the services go on to say what to do instead)."""
    assert reply.status == status, reply.body
    error = reply.error
    assert error["code"] == code, error
    assert error["message"].startswith(problem), error["message"]
    if field is not _ANY:
        assert error.get("field") == field, error
    if details:
        assert error.get("details") == details, error
