"""The cases side's demo firm: what `cases_demo_load` creates, that a second run changes
nothing, and that its worked settlement is ready to stage down to $0.00."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from io import StringIO

import pytest
from django.core.management import call_command

from casebridge.books.models import Firm as BooksFirm
from casebridge.cases.models import (
    Case,
    Contact,
    Cost,
    Deposit,
    Firm,
    Lien,
    Negotiation,
    Permission,
    TrustItem,
    User,
)
from casebridge.cases.selectors.settlement import settlement_figures
from casebridge.cases.services import firms, settlement
from casebridge.core.models import AuditEvent

PASSWORD = "demo-password-1"


def load() -> str:
    out = StringIO()
    call_command("cases_demo_load", stdout=out)
    return out.getvalue()


def counts() -> dict[str, int]:
    return {
        model.__name__: model.objects.count()
        for model in (Firm, User, Contact, Case, Cost, Negotiation, Deposit, Lien, TrustItem)
    } | {"audit": AuditEvent.objects.count()}


@pytest.fixture
def demo(db) -> Firm:
    assert "loaded (firm ID: demo)" in load()
    return Firm.objects.get(code="demo")


def test_the_demo_firm_has_its_people_and_their_permissions(demo):
    assert demo.name == "Demo Injury Law Group"
    users = {u.email: u for u in User.objects.filter(firm=demo)}
    assert set(users) == {"admin@demo.test", "sam@demo.test", "paralegal@demo.test"}
    admin, sam, paralegal = (
        users["admin@demo.test"],
        users["sam@demo.test"],
        users["paralegal@demo.test"],
    )
    assert admin.is_firm_admin
    assert not admin.is_attorney
    assert sam.is_attorney
    assert not sam.is_firm_admin
    assert sam.has_permission(Permission.DEPOSIT_SETTLEMENT)
    assert sam.has_permission(Permission.COSTS_MANAGEMENT)
    assert paralegal.has_permission(Permission.COSTS_MANAGEMENT)
    assert not paralegal.has_permission(Permission.DEPOSIT_SETTLEMENT)
    assert not paralegal.has_permission(Permission.ADMIN_SETTINGS)
    assert not paralegal.is_attorney
    for email in users:
        user = firms.user_authenticate(firm_code="demo", email=email, password=PASSWORD)
        assert user.email == email


def test_the_demo_has_twelve_cases_with_costs_links_and_negotiations(demo):
    cases = Case.objects.filter(firm=demo)
    assert cases.count() == 12
    assert Counter(cases.values_list("status", flat=True)) == {
        "intake": 2,
        "open": 7,
        "settled": 2,
        "closed": 1,
    }
    assert set(cases.values_list("responsible_attorney__email", flat=True)) == {"sam@demo.test"}
    assert Contact.objects.filter(firm=demo).count() == 26  # 12 clients, 14 others

    costs = Cost.objects.filter(firm=demo)
    assert costs.count() == 26
    assert Counter(costs.values_list("status", flat=True)) == {"open": 14, "paid": 11, "void": 1}

    chen = cases.get(name="Chen v. City Transit")
    wei = cases.get(name="Wei Chen v. City Transit")
    assert list(chen.linked_cases.all()) == [wei]
    assert list(wei.linked_cases.all()) == [chen]
    parts = costs.filter(memo__contains="Split from $1,800.01")
    assert sorted(parts.values_list("case__name", "amount_cents")) == [
        ("Chen v. City Transit", 90_001),
        ("Wei Chen v. City Transit", 90_000),
    ]

    negotiations = Negotiation.objects.filter(firm=demo)
    assert negotiations.count() == 10
    assert sorted(
        negotiations.filter(accepted_on__isnull=False).values_list("case__name", "amount_cents")
    ) == [("Lopez v. Acme Trucking", 25_000_000), ("Williams v. Metro Delivery", 8_500_000)]
    assert Deposit.objects.filter(firm=demo).count() == 1
    assert Lien.objects.filter(firm=demo).count() == 2
    assert TrustItem.objects.filter(firm=demo).count() == 0


def test_the_demo_opens_on_the_day_of_its_oldest_cost(today, demo):
    """Its window (ADR 0007) holds every date it loads."""
    oldest = Cost.objects.filter(firm=demo).order_by("cost_date").first()
    assert oldest is not None
    assert demo.opening_date == oldest.cost_date == today - dt.timedelta(days=1000)
    assert not Deposit.objects.filter(firm=demo, deposited_on__lt=demo.opening_date).exists()


def test_a_second_run_does_nothing(demo):
    before = counts()
    assert load().strip() == "Cases demo firm already loaded."
    assert counts() == before


def test_the_demo_leaves_the_books_alone(db):
    books_firms = BooksFirm.objects.count()
    load()
    assert BooksFirm.objects.count() == books_firms


def test_lopez_is_the_worked_settlement_ready_to_stage_to_zero(demo):
    sam = User.objects.get(firm=demo, email="sam@demo.test")
    case = Case.objects.get(firm=demo, name="Lopez v. Acme Trucking")
    figures = settlement_figures(case=case)
    assert figures.gross_cents == figures.deposited_cents == 25_000_000
    assert figures.fee_cents == 8_332_500
    assert figures.costs_cents == 850_000
    assert figures.liens_cents == 4_500_000
    assert all(lien.accepted for lien in figures.liens)
    assert figures.net_to_client_cents == 11_317_500
    assert figures.trust_remaining_cents == 25_000_000

    for kind in ("fee", "cost_reimbursement"):
        settlement.trust_item_stage(firm=demo, actor=sam, case_id=case.pk, kind=kind)
    for lien in figures.liens:
        settlement.trust_item_stage(
            firm=demo, actor=sam, case_id=case.pk, kind="lien", lien_id=lien.lien_id
        )
    client = settlement.push_to_client_trust(firm=demo, actor=sam, case_id=case.pk)
    assert client is not None
    assert (client.payee_name, client.amount_cents) == ("Maria Lopez", 11_317_500)
    assert settlement_figures(case=case).trust_remaining_cents == 0
