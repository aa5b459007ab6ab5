"""The worked settlement of domain.md with a Medicare lien (issue 16): gross $250,000.00;
fee 33.33% = $83,325.00; costs $8,500.00; liens $45,000.00 (Valley Medical $30,000.00 and
Medicare $15,000.00); net to the client $113,175.00, pushed to client trust."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db.models import Max

from casebridge.cases.models import (
    Case,
    ClientMedicareStatus,
    Firm,
    MedicareClaim,
    MedicareHoldOverride,
    MedicareStep,
    TrustItem,
    User,
)
from casebridge.cases.services import settlement
from casebridge.core.models import AuditEvent
from tests.cases.helpers import add_cost, deposit, lien, offer

D = dt.date(2026, 3, 2)
#: The date of Medicare's final demand letter in these tests, and 60 days after it.
DEMAND_ON = dt.date(2026, 3, 10)
DEADLINE = dt.date(2026, 5, 9)


def worked_settlement(firm: Firm, actor: User, case: Case, *, medicare_lien: bool = True) -> None:
    """Everything staged and pushed to client trust: the client's check is $113,175.00."""
    add_cost(firm, actor, case, 500_000, cost_code="E119")
    add_cost(firm, actor, case, 350_000, cost_code="MEDREC")
    accepted = offer(firm, actor, case, 25_000_000)
    deposit(firm, actor, case, accepted, 25_000_000)
    liens = [
        lien(firm, actor, case, 3_000_000, final=3_000_000, holder="Valley Medical"),
        lien(
            firm,
            actor,
            case,
            1_500_000,
            final=1_500_000,
            holder="CMS Medicare Recovery",
            kind="medicare" if medicare_lien else "medical",
        ),
    ]
    for each in liens:
        settlement.trust_item_stage(
            firm=firm, actor=actor, case_id=case.pk, kind="lien", lien_id=each.pk
        )
    settlement.trust_item_stage(firm=firm, actor=actor, case_id=case.pk, kind="fee")
    settlement.trust_item_stage(firm=firm, actor=actor, case_id=case.pk, kind="cost_reimbursement")
    settlement.push_to_client_trust(firm=firm, actor=actor, case_id=case.pk)


def medicare_state() -> dict[str, Any]:
    """Every row a push or a Medicare write could touch, to show a refusal wrote nothing."""
    return {
        "items": list(TrustItem.objects.order_by("pk").values_list()),
        "audit": AuditEvent.objects.aggregate(m=Max("pk"))["m"],
        "statuses": list(ClientMedicareStatus.objects.order_by("pk").values_list()),
        "claims": list(MedicareClaim.objects.order_by("pk").values_list()),
        "steps": list(MedicareStep.objects.order_by("pk").values_list()),
        "overrides": list(MedicareHoldOverride.objects.order_by("pk").values_list()),
    }
