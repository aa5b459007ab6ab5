"""The audit trail of every money-bearing change on the cases side: who did it, what it was
about, and the figures before and after (only after for what is new, only before for what
is gone)."""

from __future__ import annotations

import pytest

from casebridge.cases.models import TrustItem
from casebridge.cases.services import cases as case_services
from casebridge.cases.services import costs, settlement
from casebridge.core.models import AuditEvent
from tests.cases.helpers import D, add_cost, deposit, lien, new_case, offer, stage, terms

#: (entity, action) -> which of before / after the event must carry
EXPECTED = {
    ("cost", "create"): {"after"},
    ("cost", "change"): {"before", "after"},
    ("cost", "void"): {"before", "after"},
    ("cost", "pay"): {"before", "after"},
    ("cost", "split"): {"before", "after"},
    ("negotiation", "create"): {"after"},
    ("negotiation", "accept"): {"before", "after"},
    ("negotiation", "delete"): {"before"},
    ("deposit", "create"): {"after"},
    ("deposit", "void"): {"before", "after"},
    ("settlement", "change"): {"before", "after"},
    ("fee_change", "request"): {"after"},
    ("fee_change", "approve"): {"before", "after"},
    ("fee_change", "reject"): {"before", "after"},
    ("lien", "create"): {"after"},
    ("lien", "change"): {"before", "after"},
    ("lien", "accept"): {"before", "after"},
    ("trust_item", "stage"): {"after"},
    ("trust_item", "unstage"): {"before"},
    ("settlement", "push_to_client_trust"): {"after"},
    ("settlement", "push_to_disbursement"): {"after"},
}


@pytest.fixture
def a_whole_settlement(cfirm, cadmin, cattorney, case):
    """Everything a case manager does with money on one case, start to finish."""
    passenger = new_case(cfirm, cadmin, "Luis Lopez")
    case_services.cases_link(case=case, other_case_id=passenger.pk, actor=cadmin)
    tow = add_cost(cfirm, cadmin, case, 30_000)
    costs.cost_update(firm=cfirm, actor=cadmin, cost_id=tow.pk, amount_cents=40_000)
    costs.cost_split(firm=cfirm, actor=cadmin, cost_id=tow.pk)
    mistake = add_cost(cfirm, cadmin, case, 1_000)
    costs.cost_void(firm=cfirm, actor=cadmin, cost_id=mistake.pk)
    filing = add_cost(cfirm, cadmin, case, 850_000 - 20_000, cost_code="FILING")
    costs.cost_pay(firm=cfirm, actor=cadmin, cost_id=filing.pk, method="check", reference="7")

    low = offer(cfirm, cadmin, case, 10_000_000, accept=False)
    settlement.negotiation_delete(firm=cfirm, actor=cadmin, negotiation_id=low.pk)
    accepted = offer(cfirm, cadmin, case, 25_000_000)
    bounced = deposit(cfirm, cadmin, case, accepted, 5_000_000, check="1")
    settlement.deposit_void(firm=cfirm, actor=cadmin, deposit_id=bounced.pk)
    deposit(cfirm, cadmin, case, accepted, 25_000_000, check="2")

    _, rejected = terms(cfirm, cattorney, case, fee_rate_bp=4000, reason="agreed")
    settlement.fee_change_request_decide(
        firm=cfirm, actor=cadmin, request_id=rejected.pk, approve=False
    )
    _, approved = terms(cfirm, cattorney, case, fee_rate_bp=3333, copp_cents=0, reason="same")
    assert approved is None  # nothing changed, nothing to approve
    _, approved = terms(cfirm, cattorney, case, fee_rate_bp=3500, reason="agreed")
    settlement.fee_change_request_decide(
        firm=cfirm, actor=cadmin, request_id=approved.pk, approve=True
    )
    terms(cfirm, cadmin, case, fee_rate_bp=3333)

    valley = lien(cfirm, cadmin, case, 3_100_000)
    settlement.lien_update(
        firm=cfirm,
        actor=cadmin,
        lien_id=valley.pk,
        claimed_cents=3_100_000,
        final_cents=3_000_000,
        paid_direct=False,
    )
    settlement.lien_accept(firm=cfirm, actor=cadmin, lien_id=valley.pk, on=D)
    shield = lien(cfirm, cadmin, case, 1_500_000, final=1_500_000, holder="Blue Shield")
    stage(cfirm, cadmin, case, "lien", of=valley)
    stage(cfirm, cadmin, case, "lien", of=shield)
    fee = stage(cfirm, cadmin, case, "fee", 100)
    settlement.trust_item_unstage(firm=cfirm, actor=cadmin, item_id=fee.pk)
    stage(cfirm, cadmin, case, "fee")
    part = stage(cfirm, cadmin, case, "cost_reimbursement", 100_000)
    settlement.push_to_client_trust(firm=cfirm, actor=cadmin, case_id=case.pk)
    settlement.trust_item_unstage(firm=cfirm, actor=cadmin, item_id=part.pk)  # takes it back
    stage(cfirm, cadmin, case, "cost_reimbursement")
    settlement.push_to_client_trust(firm=cfirm, actor=cadmin, case_id=case.pk)
    settlement.push_to_disbursement(firm=cfirm, actor=cadmin, case_id=case.pk)
    return case


def test_every_money_bearing_change_is_audited_with_before_and_after(a_whole_settlement):
    events = AuditEvent.objects.filter(system="cases").exclude(
        entity_type__in=["firm", "user", "contact", "case"]
    )
    seen = set()
    for event in events:
        key = (event.entity_type, event.action)
        assert key in EXPECTED, f"an audited change nobody expected: {key}"
        carried = {name for name in ("before", "after") if getattr(event, name)}
        assert EXPECTED[key] <= carried, f"{key} ({event.summary}) lacks {EXPECTED[key] - carried}"
        assert event.summary, key
        assert event.actor_label in {"admin@lopez.test", "sam.smith@lopez.test"}, key
        seen.add(key)
    assert seen == set(EXPECTED)


def test_the_trail_tells_the_worked_settlement(a_whole_settlement):
    case = a_whole_settlement
    pushes = AuditEvent.objects.filter(
        system="cases", entity_type="settlement", action="push_to_client_trust"
    ).order_by("pk")
    assert [e.after["client_cents"] for e in pushes] == [
        25_000_000 - 4_500_000 - 8_332_500 - 100_000,
        11_317_500,
    ]
    withdrawn = AuditEvent.objects.filter(
        system="cases", entity_type="trust_item", action="unstage", before__client_cents__gt=0
    ).get()
    assert withdrawn.before == {"client_cents": 25_000_000 - 4_500_000 - 8_332_500 - 100_000}
    assert withdrawn.summary == "Case PI-000001: client's check withdrawn: staging changed"
    assert sorted(TrustItem.objects.filter(case=case).values_list("amount_cents", flat=True)) == [
        850_000,
        1_500_000,
        3_000_000,
        8_332_500,
        11_317_500,
    ]
