"""The worked settlement of domain.md on the cases side: gross 250,000.00; fee 33.33%;
costs 8,500.00; liens 45,000.00; net to the client 113,175.00, staged to exactly $0.00."""

from __future__ import annotations

import datetime as dt

from casebridge.cases.models import TrustItem, TrustItemStatus
from casebridge.cases.selectors.settlement import settlement_figures
from casebridge.cases.services import cases as case_services
from casebridge.cases.services import costs, settlement
from tests.cases.conftest import cost_code

D = dt.date(2026, 3, 2)


def test_the_worked_settlement_nets_113_175_and_stages_to_zero(cfirm, cadmin, case):
    contact = case_services.contact_create
    insurer = contact(firm=cfirm, actor=cadmin, name="Acme Insurance")
    records = contact(firm=cfirm, actor=cadmin, name="Records Inc")
    for cents, code in [(500_000, "E119"), (350_000, "MEDREC")]:
        costs.cost_create(
            firm=cfirm,
            actor=cadmin,
            case_id=case.pk,
            payee_id=records.pk,
            amount_cents=cents,
            cost_code_id=cost_code(cfirm, code).pk,
            cost_date=D,  # not after the deposit: the first record bounds the dates (ADR 0007)
        )
    offer = settlement.negotiation_record(
        firm=cfirm,
        actor=cadmin,
        case_id=case.pk,
        kind="offer",
        party_id=insurer.pk,
        amount_cents=25_000_000,
        made_on=D,
    )
    settlement.offer_accept(firm=cfirm, actor=cadmin, negotiation_id=offer.pk, on=D)
    settlement.deposit_record(
        firm=cfirm,
        actor=cadmin,
        case_id=case.pk,
        offer_id=offer.pk,
        amount_cents=25_000_000,
        check_number="88123",
        deposited_on=D,
    )
    for name, cents in [("Valley Medical", 3_000_000), ("Blue Shield", 1_500_000)]:
        holder = contact(firm=cfirm, actor=cadmin, name=name)
        lien = settlement.lien_create(
            firm=cfirm,
            actor=cadmin,
            case_id=case.pk,
            kind="medical",
            holder_id=holder.pk,
            claimed_cents=cents + 100_000,
        )
        settlement.lien_accept(firm=cfirm, actor=cadmin, lien_id=lien.pk, final_cents=cents)
        settlement.trust_item_stage(
            firm=cfirm, actor=cadmin, case_id=case.pk, kind="lien", lien_id=lien.pk
        )
    settlement.trust_item_stage(firm=cfirm, actor=cadmin, case_id=case.pk, kind="fee")
    settlement.trust_item_stage(
        firm=cfirm, actor=cadmin, case_id=case.pk, kind="cost_reimbursement"
    )

    figures = settlement_figures(case=case)
    assert figures.gross_cents == 25_000_000
    assert figures.fee_cents == 8_332_500
    assert figures.costs_cents == 850_000
    assert figures.liens_cents == 4_500_000
    assert figures.net_to_client_cents == 11_317_500

    client_item = settlement.push_to_client_trust(firm=cfirm, actor=cadmin, case_id=case.pk)
    assert client_item is not None
    assert client_item.amount_cents == 11_317_500
    assert client_item.payee_name == "Maria Lopez"
    assert settlement_figures(case=case).trust_remaining_cents == 0
    assert settlement.push_to_disbursement(firm=cfirm, actor=cadmin, case_id=case.pk) == 5
    assert sorted(
        TrustItem.objects.filter(case=case, status=TrustItemStatus.TO_BE_DISBURSED).values_list(
            "amount_cents", flat=True
        )
    ) == [850_000, 1_500_000, 3_000_000, 8_332_500, 11_317_500]
