"""The lien reduction calculator over the worked settlement of domain.md: gross 250,000.00,
fee 33.33% = 83,325.00, costs 8,500.00, three medical liens 20,000.00 + 15,000.00 +
10,000.00 = 45,000.00, net to the client 113,175.00. Every scenario's figures are worked
out by hand below, and the calculator writes nothing."""

from __future__ import annotations

from decimal import Decimal

import pytest

from casebridge.cases.errors import ValidationFailed
from casebridge.cases.selectors.lien_calculator import (
    CAP,
    CURRENT,
    PROCUREMENT,
    TARGET_NET,
    lien_scenarios,
    parse_fraction,
)
from casebridge.cases.services import settlement
from tests.cases.helpers import add_cost, lien, new_case, offer, writes_nothing


@pytest.fixture
def worked(cfirm, cadmin, case):
    """The worked settlement, liens claimed and not yet accepted."""
    add_cost(cfirm, cadmin, case, 500_000, cost_code="E119")
    add_cost(cfirm, cadmin, case, 350_000, cost_code="MEDREC")
    offer(cfirm, cadmin, case, 25_000_000)
    valley = lien(cfirm, cadmin, case, 2_000_000, holder="Valley Medical")
    ortho = lien(cfirm, cadmin, case, 1_500_000, holder="Ortho Partners")
    imaging = lien(cfirm, cadmin, case, 1_000_000, holder="City Imaging")
    return case, [valley, ortho, imaging]


def rows(scenario):
    """(holder, proposed, reduction) per lien, and gross, fee, costs, liens, net."""
    return [(ln.holder, ln.proposed_cents, ln.reduction_cents) for ln in scenario.liens], (
        scenario.gross_cents,
        scenario.fee_cents,
        scenario.costs_cents,
        scenario.liens_cents,
        scenario.net_to_client_cents,
    )


def test_the_current_figures_are_the_settlement_tabs(worked):
    case, _ = worked
    with writes_nothing():
        calc = lien_scenarios(case=case)
    assert [s.key for s in calc.scenarios] == [CURRENT, PROCUREMENT]
    # 250,000.00 - 83,325.00 - 8,500.00 - 45,000.00 = 113,175.00
    assert rows(calc.scenario(CURRENT)) == (
        [
            ("Valley Medical", 2_000_000, 0),
            ("Ortho Partners", 1_500_000, 0),
            ("City Imaging", 1_000_000, 0),
        ],
        (25_000_000, 8_332_500, 850_000, 4_500_000, 11_317_500),
    )


def test_procurement_cost_reduces_each_lien_by_the_fee_and_costs_share(worked):
    case, _ = worked
    calc = lien_scenarios(case=case)
    # fee + costs = 83,325.00 + 8,500.00 = 91,825.00; 91,825 / 250,000 = 0.3673
    # Valley   20,000.00 x 0.3673 = 7,346.00 -> 12,654.00
    # Ortho    15,000.00 x 0.3673 = 5,509.50 ->  9,490.50
    # Imaging  10,000.00 x 0.3673 = 3,673.00 ->  6,327.00
    # liens 12,654.00 + 9,490.50 + 6,327.00 = 28,471.50 (45,000.00 - 16,528.50)
    # net 250,000.00 - 83,325.00 - 8,500.00 - 28,471.50 = 129,703.50
    assert rows(calc.scenario(PROCUREMENT)) == (
        [
            ("Valley Medical", 1_265_400, 734_600),
            ("Ortho Partners", 949_050, 550_950),
            ("City Imaging", 632_700, 367_300),
        ],
        (25_000_000, 8_332_500, 850_000, 2_847_150, 12_970_350),
    )


def test_target_net_shares_one_reduction_and_allocates_the_odd_cent(worked):
    case, _ = worked
    with writes_nothing():
        calc = lien_scenarios(case=case, target_net_cents=12_000_000)
    # the liens may take 250,000.00 - 83,325.00 - 8,500.00 - 120,000.00 = 38,175.00
    # Valley  38,175.00 x 20/45 = 16,966.666... -> 16,966.66 + the left-over cent = 16,966.67
    # Ortho   38,175.00 x 15/45 = 12,725.00
    # Imaging 38,175.00 x 10/45 =  8,483.333... -> 8,483.33
    # floors 16,966.66 + 12,725.00 + 8,483.33 = 38,174.99: one cent to allocate, to the
    # largest remainder (.67 of a cent, Valley's); the three add back to 38,175.00
    scenario = calc.scenario(TARGET_NET)
    assert rows(scenario) == (
        [
            ("Valley Medical", 1_696_667, 303_333),
            ("Ortho Partners", 1_272_500, 227_500),
            ("City Imaging", 848_333, 151_667),
        ],
        (25_000_000, 8_332_500, 850_000, 3_817_500, 12_000_000),
    )
    assert 1_696_667 + 1_272_500 + 848_333 == 3_817_500


def test_a_cap_limits_the_liens_to_a_fraction_of_the_gross(worked):
    case, _ = worked
    calc = lien_scenarios(case=case, cap_fraction="0.15")
    # cap 250,000.00 x 0.15 = 37,500.00
    # Valley  37,500.00 x 20/45 = 16,666.666... -> 16,666.67 (the left-over cent)
    # Ortho   37,500.00 x 15/45 = 12,500.00
    # Imaging 37,500.00 x 10/45 =  8,333.333... -> 8,333.33
    # net 250,000.00 - 83,325.00 - 8,500.00 - 37,500.00 = 120,675.00
    assert rows(calc.scenario(CAP)) == (
        [
            ("Valley Medical", 1_666_667, 333_333),
            ("Ortho Partners", 1_250_000, 250_000),
            ("City Imaging", 833_333, 166_667),
        ],
        (25_000_000, 8_332_500, 850_000, 3_750_000, 12_067_500),
    )
    assert [s.key for s in calc.scenarios] == [CURRENT, CAP, PROCUREMENT]


def test_a_cap_above_the_claims_reduces_nothing(worked):
    case, _ = worked
    scenario = lien_scenarios(case=case, cap_fraction="0.5").scenario(CAP)
    assert [ln.proposed_cents for ln in scenario.liens] == [2_000_000, 1_500_000, 1_000_000]
    assert scenario.reduced == ()


def test_only_the_selected_liens_are_reduced(worked):
    case, (valley, ortho, _) = worked
    calc = lien_scenarios(case=case, lien_ids=[valley.pk, ortho.pk], target_net_cents=12_000_000)
    # Imaging stays at 10,000.00; the others may take 38,175.00 - 10,000.00 = 28,175.00
    # Valley 28,175.00 x 20/35 = 16,100.00; Ortho 28,175.00 x 15/35 = 12,075.00
    assert rows(calc.scenario(TARGET_NET))[0] == [
        ("Valley Medical", 1_610_000, 390_000),
        ("Ortho Partners", 1_207_500, 292_500),
        ("City Imaging", 1_000_000, 0),
    ]
    assert calc.scenario(TARGET_NET).net_to_client_cents == 12_000_000
    # procurement: Imaging not selected keeps its claim
    assert [ln.proposed_cents for ln in calc.scenario(PROCUREMENT).liens] == [
        1_265_400,
        949_050,
        1_000_000,
    ]


def test_procurement_rounds_the_total_once_and_adds_back(cfirm, cadmin):
    case = new_case(cfirm, cadmin)
    offer(cfirm, cadmin, case, 1_000_000)  # gross 10,000.00, fee 3,333.00, no costs
    for holder in ("A Clinic", "B Clinic", "C Clinic"):
        lien(cfirm, cadmin, case, 10_001, holder=holder)  # 100.01 each
    scenario = lien_scenarios(case=case).scenario(PROCUREMENT)
    # total reduction 300.03 x 3,333.00 / 10,000.00 = 100.00 (99.999999 rounded half up)
    # split over three equal claims: 33.34 + 33.33 + 33.33 (the first takes the cent)
    assert [ln.reduction_cents for ln in scenario.liens] == [3_334, 3_333, 3_333]
    assert [ln.proposed_cents for ln in scenario.liens] == [6_667, 6_668, 6_668]
    assert scenario.liens_cents == 30_003 - 10_000


@pytest.mark.parametrize(
    ("kwargs", "field", "message"),
    [
        ({"target_net_cents": 15_817_501}, "target_net", "cannot net \\$158,175.01: even with"),
        ({"target_net_cents": -1}, "target_net", "cannot be negative"),
        ({"cap_fraction": "1.01"}, "cap_fraction", "from 0 to 1"),
        ({"cap_fraction": "-0.1"}, "cap_fraction", "from 0 to 1"),
        ({"cap_fraction": "a third"}, "cap_fraction", "not a number"),
        ({"cap_fraction": "0.1234567"}, "cap_fraction", "more than 6 decimal places"),
        ({"lien_ids": []}, "liens", "select at least one lien"),
        ({"lien_ids": [999_999]}, "liens", "not one of this case's liens"),
    ],
)
def test_impossible_inputs_are_refused_naming_the_field(worked, kwargs, field, message):
    case, _ = worked
    # 250,000.00 - 83,325.00 - 8,500.00 = 158,175.00 is the most the client can net
    with writes_nothing(), pytest.raises(ValidationFailed, match=message) as info:
        lien_scenarios(case=case, **kwargs)
    assert info.value.field == field


def test_the_most_the_client_can_net_is_allowed(worked):
    case, _ = worked
    scenario = lien_scenarios(case=case, target_net_cents=15_817_500).scenario(TARGET_NET)
    assert scenario.liens_cents == 0
    assert scenario.net_to_client_cents == 15_817_500


def test_an_accepted_lien_cannot_be_selected_nor_is_it_by_default(cfirm, cadmin, worked):
    case, (valley, ortho, imaging) = worked
    from casebridge.cases.services import settlement

    settlement.lien_accept(firm=cfirm, actor=cadmin, lien_id=imaging.pk, final_cents=800_000)
    calc = lien_scenarios(case=case)
    assert calc.selected_ids == (valley.pk, ortho.pk)
    # Imaging counts at its accepted 8,000.00 in every scenario
    assert [ln.proposed_cents for ln in calc.scenario(PROCUREMENT).liens][2] == 800_000
    with pytest.raises(ValidationFailed, match="City Imaging is accepted") as info:
        lien_scenarios(case=case, lien_ids=[imaging.pk])
    assert info.value.field == "liens"


def test_no_accepted_offer_no_calculation(cfirm, cadmin):
    case = new_case(cfirm, cadmin)
    lien(cfirm, cadmin, case, 100_000)
    with pytest.raises(ValidationFailed, match="no offer is accepted") as info:
        lien_scenarios(case=case)
    assert info.value.field == "case"


def test_parse_fraction_takes_plain_decimals_only():
    assert parse_fraction("0.25") == Decimal("0.25")
    assert parse_fraction("1") == Decimal(1)
    with pytest.raises(ValidationFailed):
        parse_fraction(0.25)


@pytest.fixture
def valley_final_saved(cfirm, cadmin, worked):
    """Valley claimed 20,000.00 with a final of 5,000.00 saved, not accepted."""
    case, liens = worked
    settlement.lien_update(
        firm=cfirm,
        actor=cadmin,
        lien_id=liens[0].pk,
        claimed_cents=2_000_000,
        final_cents=500_000,
        paid_direct=False,
    )
    return case, liens


def test_procurement_works_from_a_saved_final_not_the_claim(valley_final_saved):
    case, _ = valley_final_saved
    calc = lien_scenarios(case=case)
    # the liens count for 5,000.00 + 15,000.00 + 10,000.00 = 30,000.00 now
    # Valley    5,000.00 x 0.3673 = 1,836.50 -> 3,163.50 (not 12,654.00 off the claim)
    # liens 3,163.50 + 9,490.50 + 6,327.00 = 18,981.00; net 250,000 - 91,825 - 18,981 = 139,194
    assert rows(calc.scenario(PROCUREMENT)) == (
        [
            ("Valley Medical", 316_350, 183_650),
            ("Ortho Partners", 949_050, 550_950),
            ("City Imaging", 632_700, 367_300),
        ],
        (25_000_000, 8_332_500, 850_000, 1_898_100, 13_919_400),
    )
    assert calc.scenario(CURRENT).reduced == ()


def test_a_target_the_current_amounts_already_meet_proposes_no_increase(valley_final_saved):
    case, _ = valley_final_saved
    # the liens may take 250,000 - 91,825 - 125,000 = 33,175.00, more than the 30,000.00
    # they count for: each stays as it counts now (Valley 5,000.00, not 14,744.44);
    # net 250,000 - 91,825 - 30,000 = 128,175.00
    target = lien_scenarios(case=case, target_net_cents=12_500_000).scenario(TARGET_NET)
    assert rows(target) == (
        [
            ("Valley Medical", 500_000, 0),
            ("Ortho Partners", 1_500_000, 0),
            ("City Imaging", 1_000_000, 0),
        ],
        (25_000_000, 8_332_500, 850_000, 3_000_000, 12_817_500),
    )
    assert target.reduced == ()


def test_a_target_shares_the_allowance_pro_rata_to_the_current_amounts(valley_final_saved):
    case, _ = valley_final_saved
    # allowance 250,000 - 91,825 - 130,000 = 28,175.00 over 5,000 : 15,000 : 10,000
    # Valley 4,695.833.. Ortho 14,087.50 Imaging 9,391.666.. -> the cent to Imaging
    target = lien_scenarios(case=case, target_net_cents=13_000_000).scenario(TARGET_NET)
    assert rows(target) == (
        [
            ("Valley Medical", 469_583, 30_417),
            ("Ortho Partners", 1_408_750, 91_250),
            ("City Imaging", 939_167, 60_833),
        ],
        (25_000_000, 8_332_500, 850_000, 2_817_500, 13_000_000),
    )
    assert [ln.holder for ln in target.reduced] == [
        "Valley Medical",
        "Ortho Partners",
        "City Imaging",
    ]


def test_a_cap_above_the_current_amounts_proposes_no_increase(valley_final_saved):
    case, _ = valley_final_saved
    # cap 0.15 x 250,000 = 37,500.00, more than the 30,000.00 the liens count for
    cap = lien_scenarios(case=case, cap_fraction="0.15").scenario(CAP)
    assert [ln.proposed_cents for ln in cap.liens] == [500_000, 1_500_000, 1_000_000]
    assert cap.reduced == ()


def test_a_scenario_not_computed_names_its_input(worked):
    case, _ = worked
    calc = lien_scenarios(case=case)
    with pytest.raises(ValidationFailed) as cap:
        calc.scenario(CAP)
    assert (cap.value.field, cap.value.message) == (
        "cap_fraction",
        "give the cap fraction for the liens capped scenario",
    )
    with pytest.raises(ValidationFailed) as target:
        calc.scenario(TARGET_NET)
    assert (target.value.field, target.value.message) == (
        "target_net",
        "give the target net to the client for the target net to client scenario",
    )
