"""A lien's reduction negotiated step by step: the firm requests, the holder counters, the
amount is agreed (which accepts and locks the lien through the one accept path), or the
request is withdrawn or refused. The steps are an append-only history; a refusal writes
nothing; a calculator scenario is applied as one request per lien, in one transaction."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from django.db import DatabaseError, transaction

from casebridge.cases.errors import Locked, ValidationFailed
from casebridge.cases.models import Lien, LienReduction
from casebridge.cases.selectors.settlement import settlement_figures
from casebridge.cases.services import firms, settlement
from casebridge.cases.services.lien_reductions import (
    lien_reduction_record,
    lien_reductions_request,
)
from tests.cases.helpers import D, add_cost, audits, lien, offer, refused, stage


@contextmanager
def no_step_written() -> Iterator[None]:
    before = list(LienReduction.objects.order_by("pk").values_list())
    yield
    assert list(LienReduction.objects.order_by("pk").values_list()) == before


@pytest.fixture
def worked(cfirm, cadmin, case):
    """The worked settlement: gross 250,000.00, costs 8,500.00, three medical liens."""
    add_cost(cfirm, cadmin, case, 500_000, cost_code="E119")
    add_cost(cfirm, cadmin, case, 350_000, cost_code="MEDREC")
    accepted = offer(cfirm, cadmin, case, 25_000_000)
    valley = lien(cfirm, cadmin, case, 2_000_000, holder="Valley Medical")
    ortho = lien(cfirm, cadmin, case, 1_500_000, holder="Ortho Partners")
    imaging = lien(cfirm, cadmin, case, 1_000_000, holder="City Imaging")
    return case, accepted, [valley, ortho, imaging]


def step(firm, actor, of, kind, amount=None, note="", on=D):
    return lien_reduction_record(
        firm=firm, actor=actor, lien_id=of.pk, step=kind, amount_cents=amount, made_on=on, note=note
    )


def history(of):
    return list(
        LienReduction.objects.filter(lien=of)
        .order_by("pk")
        .values_list("step", "amount_cents", "made_on", "note", "recorded_by__email")
    )


def test_request_counter_accept_is_kept_as_history_and_locks_the_lien(cfirm, cadmin, worked):
    case, _, (valley, _, _) = worked
    step(cfirm, cadmin, valley, "requested", 1_200_000, "per our letter")
    step(cfirm, cadmin, valley, "countered", 1_600_000)
    agreed = step(cfirm, cadmin, valley, "accepted", 1_450_000, on=dt.date(2026, 3, 5))
    assert history(valley) == [
        ("requested", 1_200_000, D, "per our letter", "admin@lopez.test"),
        ("countered", 1_600_000, D, "", "admin@lopez.test"),
        ("accepted", 1_450_000, dt.date(2026, 3, 5), "", "admin@lopez.test"),
    ]
    fresh = Lien.objects.get(pk=valley.pk)
    assert (fresh.final_cents, fresh.accepted_on) == (1_450_000, dt.date(2026, 3, 5))
    # liens 14,500.00 + 15,000.00 + 10,000.00 = 39,500.00; net 113,175.00 + 5,500.00
    assert settlement_figures(case=case).net_to_client_cents == 11_867_500
    assert [e.action for e in audits("lien_reduction")] == ["requested", "countered", "accepted"]
    [event] = audits("lien_reduction", agreed.pk)
    assert event.summary == f"Case {case.number}: lien of Valley Medical: accepted at $14,500.00"
    assert [e.action for e in audits("lien", valley.pk)] == ["create", "accept"]
    # the existing rules about accepted liens hold: locked for edits
    with refused(Locked, code="locked"):
        settlement.lien_update(
            firm=cfirm,
            actor=cadmin,
            lien_id=valley.pk,
            claimed_cents=2_000_000,
            final_cents=1,
            paid_direct=False,
        )


def test_an_accepted_lien_takes_no_step_until_reopened(cfirm, cadmin, worked):
    _, _, (valley, _, _) = worked
    step(cfirm, cadmin, valley, "accepted", 1_450_000)
    with refused(Locked, code="locked", match="accepted at \\$14,500.00 and locked"):
        step(cfirm, cadmin, valley, "requested", 1_000_000)
    settlement.lien_reopen(firm=cfirm, actor=cadmin, lien_id=valley.pk, reason="agreed in error")
    step(cfirm, cadmin, valley, "requested", 1_000_000)
    assert [s for s, *_ in history(valley)] == ["accepted", "requested"]


def test_withdrawn_and_refused_answer_an_open_request(cfirm, cadmin, worked):
    _, _, (valley, ortho, _) = worked
    with refused(ValidationFailed, code="validation_error", match="no open reduction") as info:
        step(cfirm, cadmin, valley, "withdrawn")
    assert info.value.field == "step"
    step(cfirm, cadmin, valley, "requested", 1_000_000)
    step(cfirm, cadmin, valley, "refused", note="holder will not reduce")
    step(cfirm, cadmin, ortho, "requested", 900_000)
    step(cfirm, cadmin, ortho, "withdrawn")
    assert history(valley)[1] == ("refused", None, D, "holder will not reduce", "admin@lopez.test")
    assert Lien.objects.get(pk=valley.pk).accepted_on is None


@pytest.mark.parametrize(
    ("kind", "amount", "field", "message"),
    [
        ("requested", 2_000_001, "amount", "\\$20,000.01 is more than the claim \\$20,000.00"),
        ("countered", -1, "amount", "cannot be negative"),
        ("accepted", None, "amount", "enter the amount"),
        ("withdrawn", 100, "amount", "carries no amount"),
        ("approved", 100, "step", "step must be one of"),
    ],
)
def test_bad_steps_are_refused_naming_the_field(
    cfirm, cadmin, worked, kind, amount, field, message
):
    _, _, (valley, _, _) = worked
    with no_step_written(), refused(ValidationFailed, code="validation_error", match=message) as e:
        step(cfirm, cadmin, valley, kind, amount)
    assert e.value.field == field
    assert Lien.objects.get(pk=valley.pk).accepted_on is None


def test_a_date_outside_the_window_is_refused(cfirm, cadmin, worked):
    _, _, (valley, _, _) = worked
    with no_step_written(), refused(ValidationFailed, code="validation_error") as info:
        step(cfirm, cadmin, valley, "accepted", 100, on=dt.date(1990, 1, 1))
    assert info.value.field == "made_on"
    assert Lien.objects.get(pk=valley.pk).accepted_on is None


def test_another_firms_lien_is_not_found(cfirm, cadmin, worked):
    _, _, (valley, _, _) = worked
    other = firms.firm_create(code="other-pi", name="Other PI")
    stranger = firms.user_create(
        firm=other, actor=None, email="x@other.test", password="correct horse battery"
    )
    with no_step_written(), refused(ValidationFailed, code="validation_error") as info:
        step(other, stranger, valley, "requested", 100)
    assert info.value.field == "lien"


def test_no_step_after_push_to_disbursement(cfirm, cadmin, case):
    accepted = offer(cfirm, cadmin, case, 1_000_000)
    settlement.deposit_record(
        firm=cfirm,
        actor=cadmin,
        case_id=case.pk,
        offer_id=accepted.pk,
        amount_cents=1_000_000,
        check_number="1",
        deposited_on=D,
    )
    claim = lien(cfirm, cadmin, case, 100_000, final=100_000)
    stage(cfirm, cadmin, case, "lien", of=claim)
    stage(cfirm, cadmin, case, "fee")
    settlement.push_to_client_trust(firm=cfirm, actor=cadmin, case_id=case.pk)
    settlement.push_to_disbursement(firm=cfirm, actor=cadmin, case_id=case.pk)
    with no_step_written(), refused(Locked, code="locked", match="pushed to disbursement"):
        step(cfirm, cadmin, claim, "requested", 50_000)


def test_steps_are_append_only_in_the_database(cfirm, cadmin, worked):
    _, _, (valley, _, _) = worked
    row = step(cfirm, cadmin, valley, "requested", 1_000_000)
    with pytest.raises(DatabaseError), transaction.atomic():
        LienReduction.objects.filter(pk=row.pk).update(amount_cents=1)
    assert LienReduction.objects.get(pk=row.pk).amount_cents == 1_000_000


def test_a_scenario_is_applied_as_one_request_per_lien(cfirm, cadmin, worked):
    case, _, (valley, ortho, imaging) = worked
    made = lien_reductions_request(
        firm=cfirm, actor=cadmin, case_id=case.pk, scenario="procurement", made_on=D
    )
    assert [(r.lien_id, r.step, r.amount_cents) for r in made] == [
        (valley.pk, "requested", 1_265_400),
        (ortho.pk, "requested", 949_050),
        (imaging.pk, "requested", 632_700),
    ]
    assert {r.note for r in made} == {"Procurement cost (reduction calculator)"}
    # nothing accepted: acceptance stays per lien
    assert list(Lien.objects.filter(case=case).values_list("accepted_on", flat=True)) == [None] * 3
    assert len(audits("lien_reduction", action="requested")) == 3


def test_a_scenario_with_a_refused_lien_writes_no_request(cfirm, cadmin, worked):
    case, _, (valley, _, imaging) = worked
    step(cfirm, cadmin, imaging, "accepted", 800_000)
    with no_step_written(), refused(ValidationFailed, code="validation_error") as info:
        lien_reductions_request(
            firm=cfirm,
            actor=cadmin,
            case_id=case.pk,
            scenario="target_net",
            lien_ids=[valley.pk, imaging.pk],
            target_net_cents=12_000_000,
        )
    assert info.value.field == "liens"
    with no_step_written(), refused(ValidationFailed, code="validation_error") as info:
        lien_reductions_request(firm=cfirm, actor=cadmin, case_id=case.pk, scenario="current")
    assert info.value.field == "scenario"
    with no_step_written(), refused(ValidationFailed, code="validation_error") as info:
        lien_reductions_request(
            firm=cfirm, actor=cadmin, case_id=case.pk, scenario="cap", cap_fraction="0.9"
        )
    assert info.value.field == "scenario"


def test_a_scenario_asks_no_more_than_a_saved_final(cfirm, cadmin, worked):
    case, _, (valley, ortho, imaging) = worked
    settlement.lien_update(
        firm=cfirm,
        actor=cadmin,
        lien_id=valley.pk,
        claimed_cents=2_000_000,
        final_cents=500_000,
        paid_direct=False,
    )
    made = lien_reductions_request(
        firm=cfirm, actor=cadmin, case_id=case.pk, scenario="procurement", made_on=D
    )
    # Valley counts for its saved final 5,000.00: 5,000.00 - 5,000.00 x 0.3673 = 3,163.50
    assert [(r.lien_id, r.step, r.amount_cents) for r in made] == [
        (valley.pk, "requested", 316_350),
        (ortho.pk, "requested", 949_050),
        (imaging.pk, "requested", 632_700),
    ]


def test_a_scenario_that_would_only_raise_a_saved_final_requests_nothing(cfirm, cadmin, worked):
    case, _, (valley, ortho, imaging) = worked
    for each, final in ((valley, 500_000), (ortho, 400_000), (imaging, 300_000)):
        settlement.lien_update(
            firm=cfirm,
            actor=cadmin,
            lien_id=each.pk,
            claimed_cents=each.claimed_cents,
            final_cents=final,
            paid_direct=False,
        )
    # the liens may take 250,000 - 91,825 - 120,000 = 38,175.00; they count for 12,000.00
    with no_step_written(), refused(ValidationFailed, code="validation_error") as info:
        lien_reductions_request(
            firm=cfirm,
            actor=cadmin,
            case_id=case.pk,
            scenario="target_net",
            target_net_cents=12_000_000,
            made_on=D,
        )
    assert info.value.field == "scenario"
