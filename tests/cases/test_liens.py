"""Liens and third-party payments: a claim, a final amount that is accepted (and locked), a
payment staged only for the accepted amount, and a third party paid directly that is recorded
and staged as "DO NOT DISTRIBUTE - PAID DIRECT" without taking money from trust."""

from __future__ import annotations

import pytest

from casebridge.cases.errors import Locked, ValidationFailed
from casebridge.cases.models import Lien, LienKind
from casebridge.cases.services import firms, settlement
from casebridge.cases.services.settlement import PAID_DIRECT_NOTE
from tests.cases.helpers import (
    D,
    audits,
    contact,
    deposit,
    figures,
    lien,
    new_case,
    offer,
    refused,
    stage,
)


@pytest.fixture
def valley(cfirm):
    return contact(cfirm, "Valley Medical")


@pytest.fixture
def claim(cfirm, cadmin, case, valley) -> Lien:
    """Valley Medical claims 31,000.00, not yet decided."""
    return lien(cfirm, cadmin, case, 3_100_000)


def update(cfirm, cadmin, claim, claimed, final, paid_direct=False, note=""):
    return settlement.lien_update(
        firm=cfirm,
        actor=cadmin,
        lien_id=claim.pk,
        claimed_cents=claimed,
        final_cents=final,
        paid_direct=paid_direct,
        note=note,
    )


def accept(cfirm, cadmin, claim, final=None):
    return settlement.lien_accept(
        firm=cfirm, actor=cadmin, lien_id=claim.pk, final_cents=final, on=D
    )


def state(claim) -> tuple:
    fresh = Lien.objects.get(pk=claim.pk)
    return (fresh.claimed_cents, fresh.final_cents, fresh.accepted_on, fresh.paid_direct)


@pytest.mark.parametrize("kind", LienKind.values)
def test_every_kind_of_lien_is_recorded_with_its_claim(cfirm, cadmin, case, valley, kind):
    made = settlement.lien_create(
        firm=cfirm,
        actor=cadmin,
        case_id=case.pk,
        kind=kind,
        holder_id=valley.pk,
        claimed_cents=125_000,
        note=" per letter ",
    )
    assert state(made) == (125_000, None, None, False)
    assert made.note == "per letter"
    [event] = audits("lien", made.pk)
    assert event.after == {"kind": kind, "claimed_cents": 125_000, "paid_direct": False}


@pytest.mark.parametrize(
    ("kind", "claimed", "message"),
    [
        ("dental", 100, "kind must be one of " + ", ".join(LienKind.values)),
        ("medical", -1, "the claimed amount cannot be negative"),
    ],
)
def test_a_lien_needs_a_known_kind_and_a_claim(cfirm, cadmin, case, valley, kind, claimed, message):
    with refused(ValidationFailed, code="validation_error") as info:
        settlement.lien_create(
            firm=cfirm,
            actor=cadmin,
            case_id=case.pk,
            kind=kind,
            holder_id=valley.pk,
            claimed_cents=claimed,
        )
    assert info.value.message == message


def test_a_lien_holder_of_another_firm_is_refused(cfirm, cadmin, case):
    rival = firms.firm_create(code="rival-law", name="Rival Law")
    stranger = contact(rival, "Rival Clinic")
    with refused(ValidationFailed, code="validation_error") as info:
        settlement.lien_create(
            firm=cfirm,
            actor=cadmin,
            case_id=case.pk,
            kind="medical",
            holder_id=stranger.pk,
            claimed_cents=100,
        )
    assert info.value.message == "lien holder not found in this firm"


def test_until_a_final_amount_is_set_the_claim_counts(cfirm, cadmin, case, claim):
    assert figures(case).liens_cents == 3_100_000
    update(cfirm, cadmin, claim, 3_100_000, 2_500_000, note="negotiated")
    assert figures(case).liens_cents == 2_500_000
    [line] = figures(case).liens
    assert (line.claimed_cents, line.final_cents, line.accepted) == (3_100_000, 2_500_000, False)


def test_an_open_lien_is_updated_and_audited(cfirm, cadmin, claim):
    update(cfirm, cadmin, claim, 3_000_000, 2_800_000, paid_direct=True, note="reduced")
    assert state(claim) == (3_000_000, 2_800_000, None, True)
    event = audits("lien", claim.pk, "change")[-1]
    assert event.before == {
        "claimed_cents": 3_100_000,
        "final_cents": None,
        "paid_direct": False,
        "note": "",
    }
    assert event.after["final_cents"] == 2_800_000


def test_accepting_locks_the_final_amount(cfirm, cadmin, claim):
    accepted = accept(cfirm, cadmin, claim, 3_000_000)
    assert state(accepted) == (3_100_000, 3_000_000, D, False)
    [event] = audits("lien", claim.pk, "accept")
    assert event.summary == "Case PI-000001: lien of Valley Medical accepted at $30,000.00"
    assert event.before == {"final_cents": None, "accepted_on": None}
    assert event.after == {"final_cents": 3_000_000, "accepted_on": "2026-03-02"}
    with refused(Locked, code="locked") as info:
        update(cfirm, cadmin, claim, 3_100_000, 2_000_000)
    assert info.value.message.startswith("this lien's final amount is accepted and locked")
    with refused(Locked, code="locked") as info:
        accept(cfirm, cadmin, claim, 2_000_000)
    assert info.value.message == "this lien is already accepted"


def test_accepting_needs_a_final_amount(cfirm, cadmin, claim):
    with refused(ValidationFailed, code="validation_error") as info:
        accept(cfirm, cadmin, claim)
    assert info.value.message == "enter and save the final amount before accepting it"


def test_a_saved_final_amount_is_the_one_accepted(cfirm, cadmin, claim):
    update(cfirm, cadmin, claim, 3_100_000, 2_750_000)
    assert accept(cfirm, cadmin, claim).final_cents == 2_750_000


def test_a_final_amount_above_the_claim_is_refused(cfirm, cadmin, claim):
    with refused(ValidationFailed, code="validation_error") as info:
        accept(cfirm, cadmin, claim, 3_100_001)
    assert info.value.message == (
        "the final amount $31,000.01 is more than the claim $31,000.00; correct the claim first"
    )
    accept(cfirm, cadmin, claim, 3_100_000)  # the whole claim is fine


@pytest.mark.parametrize("final", [-1])
def test_a_negative_final_amount_is_refused(cfirm, cadmin, claim, final):
    with refused(ValidationFailed, code="validation_error") as info:
        accept(cfirm, cadmin, claim, final)
    assert info.value.message == "the final amount cannot be negative"
    with refused(ValidationFailed, code="validation_error") as info:
        update(cfirm, cadmin, claim, 3_100_000, final)
    assert info.value.message == "the final amount cannot be negative"


def test_a_lien_is_staged_only_once_accepted(cfirm, cadmin, case, claim):
    accepted = offer(cfirm, cadmin, case, 25_000_000)
    deposit(cfirm, cadmin, case, accepted, 25_000_000)
    with refused(ValidationFailed, code="validation_error") as info:
        stage(cfirm, cadmin, case, "lien", of=claim)
    assert info.value.message == (
        "a payment can be staged only for an accepted final amount; accept the lien first"
    )
    accept(cfirm, cadmin, claim, 3_000_000)
    item = stage(cfirm, cadmin, case, "lien", of=claim)
    assert (item.kind, item.payee_name, item.amount_cents, item.paid_direct, item.note) == (
        "lien",
        "Valley Medical",
        3_000_000,
        False,
        "",
    )
    assert figures(case).liens[0].staged_cents == 3_000_000


def test_a_lien_is_paid_from_trust_once(cfirm, cadmin, case, claim):
    accepted = offer(cfirm, cadmin, case, 25_000_000)
    deposit(cfirm, cadmin, case, accepted, 25_000_000)
    accept(cfirm, cadmin, claim, 3_000_000)
    stage(cfirm, cadmin, case, "lien", 1_000_000, of=claim)
    with refused(ValidationFailed, code="validation_error") as info:
        stage(cfirm, cadmin, case, "lien", 2_000_000, of=claim)
    assert info.value.message.startswith("the lien of Valley Medical is already staged")


def test_a_lien_of_another_case_is_not_staged_here(cfirm, cadmin, case, claim):
    other = new_case(cfirm, cadmin, "Tom Baker")
    accepted = offer(cfirm, cadmin, other, 100_000)
    deposit(cfirm, cadmin, other, accepted, 100_000)
    accept(cfirm, cadmin, claim, 50_000)
    with refused(ValidationFailed, code="validation_error") as info:
        stage(cfirm, cadmin, other, "lien", of=claim)
    assert info.value.message == "choose a lien of this case"


def test_a_lien_paid_direct_is_staged_as_do_not_distribute_and_takes_no_trust(cfirm, cadmin, case):
    accepted = offer(cfirm, cadmin, case, 10_000_000)
    medicare = lien(
        cfirm,
        cadmin,
        case,
        2_000_000,
        final=1_500_000,
        holder="Medicare",
        kind="medicare",
        paid_direct=True,
    )
    # the insurer paid Medicare out of the settlement and sent the firm the rest
    deposit(cfirm, cadmin, case, accepted, 8_500_000)
    f = figures(case)
    assert (f.expected_in_trust_cents, f.not_yet_deposited_cents) == (8_500_000, 0)
    assert (f.liens_cents, f.liens_paid_direct_cents) == (1_500_000, 1_500_000)
    stage(cfirm, cadmin, case, "fee")  # 3,333,000 of the 8,500,000 held
    item = stage(cfirm, cadmin, case, "lien", of=medicare)
    assert (item.payee_name, item.amount_cents, item.paid_direct, item.note) == (
        "Medicare",
        1_500_000,
        True,
        "DO NOT DISTRIBUTE - PAID DIRECT",
    )
    assert PAID_DIRECT_NOTE == "DO NOT DISTRIBUTE - PAID DIRECT"
    f = figures(case)
    assert (f.staged_from_trust_cents, f.trust_remaining_cents) == (3_333_000, 5_167_000)
    assert f.net_to_client_cents == 10_000_000 - 3_333_000 - 1_500_000
    client = settlement.push_to_client_trust(firm=cfirm, actor=cadmin, case_id=case.pk)
    assert client is not None
    assert client.amount_cents == 5_167_000 == f.net_to_client_cents
    [event] = audits("trust_item", item.pk, "stage")
    assert event.summary == (
        "Case PI-000001: Lien / third-party payment of $15,000.00 staged (paid direct)"
    )


def test_a_lien_paid_direct_can_be_staged_with_the_trust_fully_staged(cfirm, cadmin, case):
    accepted = offer(cfirm, cadmin, case, 1_000_000)
    direct = lien(cfirm, cadmin, case, 400_000, final=400_000, paid_direct=True)
    deposit(cfirm, cadmin, case, accepted, 600_000)
    other = lien(cfirm, cadmin, case, 600_000, final=600_000, holder="Blue Shield")
    stage(cfirm, cadmin, case, "lien", of=other)
    assert figures(case).trust_remaining_cents == 0
    stage(cfirm, cadmin, case, "lien", of=direct, note="paid by insurer 2026-02-20")
    f = figures(case)
    assert (f.staged_from_trust_cents, f.trust_remaining_cents) == (600_000, 0)


def test_a_lien_accepted_at_zero_needs_no_payment(cfirm, cadmin, case, claim):
    accepted = offer(cfirm, cadmin, case, 1_000_000)
    deposit(cfirm, cadmin, case, accepted, 1_000_000)
    accept(cfirm, cadmin, claim, 0)
    with refused(ValidationFailed, code="validation_error") as info:
        stage(cfirm, cadmin, case, "lien", of=claim)
    assert info.value.message.startswith("nothing is due for the Lien / third-party payment")
    stage(cfirm, cadmin, case, "fee")
    client = settlement.push_to_client_trust(firm=cfirm, actor=cadmin, case_id=case.pk)
    assert client is not None
    assert client.amount_cents == 1_000_000 - 333_300  # the fee only: the lien takes nothing
