"""The cases side's invariants held by the database itself, tested by going around the
services (as a bug or a shell session would)."""

from __future__ import annotations

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone

from casebridge.cases.models import (
    Case,
    CaseType,
    Cost,
    Deposit,
    FeeChangeRequest,
    Lien,
    Negotiation,
    Settlement,
    TrustItem,
    User,
)
from casebridge.cases.services import firms
from tests.cases.conftest import PASSWORD
from tests.cases.helpers import D, add_cost, deposit, lien, offer, stage


def refused_by_the_database():
    """The statement fails inside its own savepoint, so the test can carry on."""
    return pytest.raises(IntegrityError)


@pytest.fixture
def cost(cfirm, cadmin, case) -> Cost:
    return add_cost(cfirm, cadmin, case, 10_000)


@pytest.mark.parametrize("cents", [0, -1])
def test_a_cost_amount_is_positive(cost, cents):
    with refused_by_the_database(), transaction.atomic():
        Cost.objects.filter(pk=cost.pk).update(amount_cents=cents)
    assert Cost.objects.get(pk=cost.pk).amount_cents == 10_000


def test_a_paid_cost_has_a_paid_date(cost):
    with refused_by_the_database(), transaction.atomic():
        Cost.objects.filter(pk=cost.pk).update(status="paid")
    Cost.objects.filter(pk=cost.pk).update(status="paid", paid_date=D)


def test_case_numbers_are_unique_per_firm(cfirm, cadmin, case):
    with refused_by_the_database(), transaction.atomic():
        Case.objects.create(
            firm=cfirm,
            number=case.number,
            name="Copy",
            client=case.client,
            case_type=case.case_type,
            opened_on=D,
        )


def test_emails_are_unique_per_firm_whatever_their_case(cfirm, cadmin):
    with refused_by_the_database(), transaction.atomic():
        User.objects.create(firm=cfirm, email="ADMIN@lopez.test", password="x")
    other = firms.firm_create(code="rival-law", name="Rival Law")
    firms.user_create(firm=other, actor=None, email="admin@lopez.test", password=PASSWORD)


def test_a_firm_has_one_default_case_type(cfirm):
    with refused_by_the_database(), transaction.atomic():
        CaseType.objects.create(firm=cfirm, name="Workers' Compensation", is_default=True)
    with refused_by_the_database(), transaction.atomic():
        CaseType.objects.create(firm=cfirm, name="personal injury")


def test_only_offers_are_accepted_and_one_per_payer(cfirm, cadmin, case):
    accepted = offer(cfirm, cadmin, case, 1_000)
    second = offer(cfirm, cadmin, case, 2_000, accept=False)
    with refused_by_the_database(), transaction.atomic():
        Negotiation.objects.filter(pk=second.pk).update(accepted_on=D)
    with refused_by_the_database(), transaction.atomic():
        Negotiation.objects.filter(pk=accepted.pk).update(kind="demand")
    with refused_by_the_database(), transaction.atomic():
        Negotiation.objects.filter(pk=second.pk).update(amount_cents=0)


def test_a_deposit_is_positive(cfirm, cadmin, case):
    accepted = offer(cfirm, cadmin, case, 1_000)
    made = deposit(cfirm, cadmin, case, accepted, 1_000)
    with refused_by_the_database(), transaction.atomic():
        Deposit.objects.filter(pk=made.pk).update(amount_cents=-1_000)


def test_an_accepted_lien_has_a_final_amount_and_nothing_is_negative(cfirm, cadmin, case):
    claim = lien(cfirm, cadmin, case, 1_000)
    with refused_by_the_database(), transaction.atomic():
        Lien.objects.filter(pk=claim.pk).update(accepted_on=D)
    with refused_by_the_database(), transaction.atomic():
        Lien.objects.filter(pk=claim.pk).update(claimed_cents=-1)
    with refused_by_the_database(), transaction.atomic():
        Lien.objects.filter(pk=claim.pk).update(final_cents=-1)


def test_a_staged_payment_is_positive_and_one_per_kind(cfirm, cadmin, case):
    accepted = offer(cfirm, cadmin, case, 1_000_000)
    deposit(cfirm, cadmin, case, accepted, 1_000_000)
    fee = stage(cfirm, cadmin, case, "fee", 1_000)
    with refused_by_the_database(), transaction.atomic():
        TrustItem.objects.filter(pk=fee.pk).update(amount_cents=0)
    with refused_by_the_database(), transaction.atomic():
        TrustItem.objects.create(
            firm=cfirm,
            case=case,
            kind="fee",
            payee_name="Lopez Injury Attorneys",
            amount_cents=1,
            staged_at=timezone.now(),
        )
    # liens are the one kind staged many times (one item per lien)
    for name in ("A", "B"):
        held = lien(cfirm, cadmin, case, 100, final=100, holder=name)
        stage(cfirm, cadmin, case, "lien", of=held)
    assert TrustItem.objects.filter(case=case, kind="lien").count() == 2


def test_settlement_terms_stay_in_range(case):
    s = Settlement.objects.get(case=case)
    for change in ({"fee_rate_bp": 10_001}, {"fee_fixed_cents": -1}, {"copp_cents": -1}):
        with refused_by_the_database(), transaction.atomic():
            Settlement.objects.filter(pk=s.pk).update(**change)
    Settlement.objects.filter(pk=s.pk).update(property_damage_fee_cents=-1)  # a waiver


def test_one_pending_fee_change_per_case(cfirm, cattorney, case):
    def request():
        return FeeChangeRequest.objects.create(
            firm=cfirm,
            case=case,
            fee_mode="percent",
            fee_rate_bp=4000,
            reason="agreed",
            requested_by=cattorney,
            requested_at=timezone.now(),
        )

    first = request()
    with refused_by_the_database(), transaction.atomic():
        request()
    FeeChangeRequest.objects.filter(pk=first.pk).update(status="rejected")
    request()
