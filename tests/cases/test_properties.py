"""Property-based tests of the cases side's money.

(a) Splits: any positive amount across 2 to 8 linked cases, the even split and any valid
    edited split add back to the original to the cent, every part positive; parts that do
    not add up are refused and write nothing.
(b) Staging: random sequences of deposits (partial, voided), liens claimed and accepted,
    payments staged (random kinds and amounts, sometimes too much), unstaged, and pushes to
    client trust and to disbursement, checked after every step against a simple model: what
    is staged from trust never exceeds what is deposited, the trust remaining is never
    negative, a refused step changed nothing, and after a successful push to client trust
    the remaining is exactly $0.00.

Each example runs in a savepoint that is rolled back, so examples never see each other.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import pytest
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from casebridge.cases.errors import DomainError, ValidationFailed
from casebridge.cases.models import Cost, Firm, Settlement, TrustItem
from casebridge.cases.services import cases as case_services
from casebridge.cases.services import costs, firms, settlement
from casebridge.cases.services.costs import SplitPart
from casebridge.core.money import format_cents
from tests.cases.helpers import (
    D,
    add_cost,
    contact,
    figures,
    new_case,
    refused,
    snapshot,
    terms,
)

FAST = settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@contextmanager
def rolled_back() -> Iterator[None]:
    with transaction.atomic():
        yield
        transaction.set_rollback(True)


# --- (a) splits -----------------------------------------------------------------------------

AMOUNT = st.one_of(st.integers(1, 20), st.integers(1, 10_000_000), st.integers(1, 10**12))


@FAST
@given(cents=AMOUNT, n=st.integers(2, 8), data=st.data())
def test_random_splits_always_add_back_to_the_original(cfirm, cadmin, cents, n, data):
    with rolled_back():
        cases = [new_case(cfirm, cadmin, f"Passenger {i}") for i in range(n)]
        for other in cases[1:]:
            case_services.cases_link(case=cases[0], other_case_id=other.pk, actor=cadmin)

        # the even split: largest remainder, parts differ by at most a cent
        even = add_cost(cfirm, cadmin, cases[0], cents)
        proposal = costs.cost_split_proposal(firm=cfirm, cost_id=even.pk)
        amounts = [p.amount_cents for p in proposal]
        assert [p.case_id for p in proposal] == [c.pk for c in cases]
        assert sum(amounts) == cents
        assert max(amounts) - min(amounts) <= 1
        assert amounts == sorted(amounts, reverse=True)  # the extra cents go first
        if cents < n:  # not a cent for every case
            with refused(ValidationFailed, code="validation_error") as info:
                costs.cost_split(firm=cfirm, actor=cadmin, cost_id=even.pk)
            assert info.value.message.startswith("every part must be greater than $0.00")
            return
        parts = costs.cost_split(firm=cfirm, actor=cadmin, cost_id=even.pk)
        stored = Cost.objects.filter(pk__in=[p.pk for p in parts])
        assert sum(stored.values_list("amount_cents", flat=True)) == cents
        assert min(stored.values_list("amount_cents", flat=True)) > 0
        assert {c.case_id: c.amount_cents for c in stored} == {
            p.case_id: p.amount_cents for p in proposal
        }

        # an edited split over some of the cases (the cost's own case always)
        k = data.draw(st.integers(2, min(n, cents)), label="cases")
        chosen = [cases[0], *data.draw(st.permutations(cases[1:]), label="order")[: k - 1]]
        cuts = sorted(data.draw(st.sets(st.integers(1, cents - 1), min_size=k - 1, max_size=k - 1)))
        edited_amounts = [b - a for a, b in zip([0, *cuts], [*cuts, cents], strict=True)]
        edited = add_cost(cfirm, cadmin, cases[0], cents)
        wanted = [SplitPart(c.pk, a) for c, a in zip(chosen, edited_amounts, strict=True)]

        # the same parts, one of them off by a few cents, are refused with the difference
        off = data.draw(st.integers(-3, 3).filter(bool), label="off by")
        i = data.draw(st.integers(0, k - 1), label="which part")
        wrong = [
            SplitPart(p.case_id, p.amount_cents + (off if j == i else 0))
            for j, p in enumerate(wanted)
        ]
        if wrong[i].amount_cents > 0:
            with refused(ValidationFailed, code="validation_error") as info:
                costs.cost_split(firm=cfirm, actor=cadmin, cost_id=edited.pk, parts=wrong)
            side = "over" if off > 0 else "short"
            assert info.value.message.endswith(f"({format_cents(abs(off))} {side})")

        result = costs.cost_split(firm=cfirm, actor=cadmin, cost_id=edited.pk, parts=wanted)
        assert result[0].pk == edited.pk
        assert [(c.case_id, c.amount_cents) for c in result] == [
            (p.case_id, p.amount_cents) for p in wanted
        ]
        stored = Cost.objects.filter(pk__in=[c.pk for c in result])
        assert sum(stored.values_list("amount_cents", flat=True)) == cents
        assert min(stored.values_list("amount_cents", flat=True)) > 0


# --- (b) staging ----------------------------------------------------------------------------

PICK = st.integers(min_value=0, max_value=10_000)  # an index into what exists, modulo its size
FRACTION = st.integers(min_value=1, max_value=100)  # percent of something
CHARGES = ("cost_reimbursement", "copp", "property_damage_fee")
HOW = st.sampled_from(["due", "less", "just past the trust", "more", "all the trust"])


@dataclass
class DepositModel:
    pk: int
    cents: int
    voided: bool = False


@dataclass
class LienModel:
    pk: int
    claimed: int
    paid_direct: bool
    final: int | None = None
    item: int | None = None  # the staged item's pk


@dataclass
class ItemModel:
    pk: int
    kind: str
    cents: int
    paid_direct: bool
    lien: LienModel | None = None


def live(self: Settling) -> bool:
    return not self.disbursed


class Settling(RuleBasedStateMachine):
    """One case's settlement driven by random operations, checked against a model."""

    #: refusals and successes seen across all examples: proof every path was exercised
    seen: Counter[str] = Counter()

    def __init__(self) -> None:
        super().__init__()
        self._savepoint = transaction.atomic()
        self._savepoint.__enter__()

    def teardown(self) -> None:
        transaction.set_rollback(True)
        self._savepoint.__exit__(None, None, None)

    # --- set-up ----------------------------------------------------------------------------

    @initialize(
        gross=st.integers(1_000_000, 50_000_000),
        rate=st.one_of(st.sampled_from([3333, 4000, 2500]), st.integers(0, 10_000)),
        cost_amounts=st.lists(st.integers(1, 3_000_000), min_size=1, max_size=3),
        copp=st.sampled_from([2_500, 15_000, 0]),
        pd=st.sampled_from([50_000, -30_000, 0, -10_000_000]),
        first_check=st.sampled_from([100, 20, 50, 0]),  # percent of the gross deposited at once
    )
    def open_the_case(
        self, gross: int, rate: int, cost_amounts: list[int], copp: int, pd: int, first_check: int
    ) -> None:
        assert not Firm.objects.filter(code="prop").exists(), "an earlier example leaked"
        self.firm = firms.firm_create(code="prop", name="Property LLP")
        self.admin = firms.user_create(
            firm=self.firm,
            actor=None,
            email="admin@prop.test",
            password="x" * 12,
            is_firm_admin=True,
        )
        self.case = new_case(self.firm, self.admin, "Maria Lopez")
        for cents in cost_amounts:
            add_cost(self.firm, self.admin, self.case, cents)
        terms(
            self.firm,
            self.admin,
            self.case,
            fee_rate_bp=rate,
            copp_cents=copp,
            property_damage_fee_cents=pd,
        )
        neg = settlement.negotiation_record(
            firm=self.firm,
            actor=self.admin,
            case_id=self.case.pk,
            kind="offer",
            party_id=contact(self.firm, "Acme Insurance").pk,
            amount_cents=gross,
        )
        self.offer = settlement.offer_accept(
            firm=self.firm, actor=self.admin, negotiation_id=neg.pk, on=D
        )
        self.gross = gross
        # the model's own arithmetic: a percentage of the gross is rounded half up
        self.due = {
            "fee": (gross * rate + 5_000) // 10_000,
            "cost_reimbursement": max(sum(cost_amounts) + min(pd, 0), 0),
            "copp": copp,
            "property_damage_fee": pd,
        }
        self.deposits: list[DepositModel] = []
        self.liens: list[LienModel] = []
        self.items: list[ItemModel] = []
        self.client: ItemModel | None = None
        self.pushed = False
        self.disbursed = False
        if first_check:
            cents = gross * first_check // 100
            self.deposits.append(DepositModel(self.deposit_cents(cents).pk, cents))

    # --- the model -------------------------------------------------------------------------

    @property
    def deposited(self) -> int:
        return sum(d.cents for d in self.deposits if not d.voided)

    @property
    def staged_before_client(self) -> int:
        """Staged from trust, the client's check aside (paid-direct items take no trust)."""
        return sum(i.cents for i in self.items if not i.paid_direct)

    @property
    def staged_from_trust(self) -> int:
        return self.staged_before_client + (self.client.cents if self.client else 0)

    def withdraw_client_check(self) -> None:
        self.client = None
        self.pushed = False

    def paid_direct(self) -> int:
        return sum(
            ln.final if ln.final is not None else ln.claimed for ln in self.liens if ln.paid_direct
        )

    def outstanding(self) -> bool:
        """What Push to Client Trust waits for: exactly the settlement less what was paid
        direct in trust, and every lien decided and staged."""
        staged_kinds = {i.kind for i in self.items}
        return (
            self.gross - self.paid_direct() != self.deposited
            or any(cents > 0 and kind not in staged_kinds for kind, cents in self.due.items())
            or any(ln.final is None for ln in self.liens)
            or any(ln.final and ln.item is None for ln in self.liens)
        )

    def refused(self, code: str, operation: Callable[[], Any]) -> DomainError:
        """The operation must be refused with ``code`` and leave every row as it was."""
        before = snapshot()
        with pytest.raises(DomainError) as info:
            operation()
        assert info.value.code == code, info.value.message
        assert snapshot() == before, f"refused ({code}) but wrote something"
        Settling.seen[code] += 1
        return info.value

    # --- money in --------------------------------------------------------------------------

    def deposit_cents(self, cents: int) -> Any:
        return settlement.deposit_record(
            firm=self.firm,
            actor=self.admin,
            case_id=self.case.pk,
            offer_id=self.offer.pk,
            amount_cents=cents,
            check_number=f"{len(self.deposits) + 1}",
            deposited_on=D,
        )

    @precondition(live)
    @rule(how=st.sampled_from(["rest", "part", "over"]), pct=FRACTION)
    def deposit(self, how: str, pct: int) -> None:
        room = self.gross - self.deposited
        expected_room = max(self.gross - self.paid_direct() - self.deposited, 0)
        cents = {"rest": room, "part": room * pct // 100, "over": room + pct}[how] or 1
        if cents > room:
            error = self.refused("validation_error", lambda: self.deposit_cents(cents))
            assert error.message.endswith(f"at most {format_cents(room)} remains to be deposited")
            return
        if cents > expected_room:  # a lien paid direct takes its share before trust
            error = self.refused("validation_error", lambda: self.deposit_cents(cents))
            assert (
                f"at most {format_cents(expected_room)} more is expected in trust" in error.message
            )
            return
        made = self.deposit_cents(cents)
        self.deposits.append(DepositModel(made.pk, cents))
        self.withdraw_client_check()
        Settling.seen["deposit"] += 1

    @precondition(lambda self: live(self) and self.deposits)
    @rule(i=PICK)
    def void_deposit(self, i: int) -> None:
        d = self.deposits[i % len(self.deposits)]

        def void():
            return settlement.deposit_void(firm=self.firm, actor=self.admin, deposit_id=d.pk)

        if d.voided:
            self.refused("locked", void)
        elif self.staged_before_client > self.deposited - d.cents:
            error = self.refused("staging_exceeds_trust", void)
            short = self.staged_before_client - (self.deposited - d.cents)
            assert error.message.endswith(f"unstage {format_cents(short)} first")
        else:
            void()
            d.voided = True
            self.withdraw_client_check()
            Settling.seen["void"] += 1

    # --- liens -----------------------------------------------------------------------------

    @precondition(live)
    @rule(claimed=st.integers(0, 5_000_000), paid_direct=st.booleans())
    def claim_lien(self, claimed: int, paid_direct: bool) -> None:
        made = settlement.lien_create(
            firm=self.firm,
            actor=self.admin,
            case_id=self.case.pk,
            kind="health_insurance" if paid_direct else "medical",  # Medicare: its own tests
            holder_id=contact(self.firm, f"Holder {len(self.liens)}").pk,
            claimed_cents=claimed,
            paid_direct=paid_direct,
        )
        self.liens.append(LienModel(made.pk, claimed, paid_direct))

    @precondition(lambda self: live(self) and self.liens)
    @rule(i=PICK, pct=st.integers(0, 101))
    def accept_lien(self, i: int, pct: int) -> None:
        held = self.liens[i % len(self.liens)]
        final = held.claimed * pct // 100 + (1 if pct == 101 else 0)

        def accept():
            return settlement.lien_accept(
                firm=self.firm, actor=self.admin, lien_id=held.pk, final_cents=final, on=D
            )

        if held.final is not None:
            self.refused("locked", accept)
        elif final > held.claimed:
            self.refused("validation_error", accept)
        else:
            accept()
            held.final = final

    # --- staging ---------------------------------------------------------------------------

    @precondition(live)
    @rule(how=HOW, pct=FRACTION)
    def stage_fee(self, how: str, pct: int) -> None:
        self.stage("fee", 0, how, pct)

    @precondition(live)
    @rule(kind=st.sampled_from(CHARGES), how=HOW, pct=FRACTION)
    def stage_charge(self, kind: str, how: str, pct: int) -> None:
        self.stage(kind, 0, how, pct)

    @precondition(live)
    @rule(i=PICK, how=HOW, pct=FRACTION)
    def stage_lien(self, i: int, how: str, pct: int) -> None:
        self.stage("lien", i, how, pct)

    @precondition(live)
    @rule()
    def get_everything_ready(self) -> None:
        """A paralegal working down the list, then Push to Client Trust: the rest of the
        settlement deposited, every lien accepted as claimed, and every fee, charge and lien
        staged at what is due (refused, as the model expects, if earlier stagings took too
        much)."""
        rest = self.gross - self.paid_direct() - self.deposited
        if rest > 0:
            made = self.deposit_cents(rest)
            self.deposits.append(DepositModel(made.pk, rest))
            self.withdraw_client_check()
        for i, held in enumerate(self.liens):
            if held.final is None:
                self.accept_lien(i, 100)
        staged = {item.kind for item in self.items}
        for kind in ("fee", *CHARGES):
            if kind not in staged and self.due.get(kind, 0) > 0:
                self.stage(kind, 0, "due", 0)
        for i, held in enumerate(self.liens):
            if held.item is None and held.final:
                self.stage("lien", i, "due", 0)
        self.push_to_client_trust(guardian=False)

    def stage(self, kind: str, i: int, how: str, pct: int) -> None:
        """Stage Payment of ``kind``: what is due, less, more, or about what the trust holds."""
        held = self.liens[i % len(self.liens)] if kind == "lien" and self.liens else None
        if kind == "lien":
            due = held.final if held is not None and held.final is not None else 0
        else:
            due = self.due[kind]
        available = self.deposited - self.staged_before_client  # once the client's check is out
        amount = {
            "due": None,
            "less": max(due * pct // 100, 1),
            "just past the trust": max(min(due, available + 1), 1),
            "more": due + pct,
            "all the trust": max(available + pct - 50, 1),
        }[how]
        wanted = due if amount is None else amount
        paid_direct = held is not None and held.paid_direct

        def stage_it():
            return settlement.trust_item_stage(
                firm=self.firm,
                actor=self.admin,
                case_id=self.case.pk,
                kind=kind,
                amount_cents=amount,
                lien_id=held.pk if held is not None else None,
            )

        if kind == "lien":
            already = held is not None and held.item is not None
        else:
            already = any(item.kind == kind for item in self.items)
        if (
            (kind == "fee" and self.deposited == 0)
            or (kind == "property_damage_fee" and due < 0)
            or (kind == "lien" and (held is None or held.final is None))
            or already
            or due <= 0
            or wanted > due
        ):
            self.refused("validation_error", stage_it)
        elif not paid_direct and wanted > available:
            error = self.refused("staging_exceeds_trust", stage_it)
            assert error.details == {"available_cents": available}
        else:
            made = stage_it()
            assert (made.kind, made.amount_cents, made.paid_direct) == (kind, wanted, paid_direct)
            self.items.append(ItemModel(made.pk, kind, wanted, paid_direct, held))
            if held is not None:
                held.item = made.pk
            self.withdraw_client_check()
            Settling.seen["stage"] += 1

    @precondition(lambda self: live(self) and (self.items or self.client))
    @rule(i=PICK)
    def unstage(self, i: int) -> None:
        every = [*self.items, *([self.client] if self.client else [])]
        item = every[i % len(every)]
        settlement.trust_item_unstage(firm=self.firm, actor=self.admin, item_id=item.pk)
        if item is not self.client:
            self.items.remove(item)
            if item.lien is not None:
                item.lien.item = None
        self.withdraw_client_check()
        Settling.seen["unstage"] += 1

    # --- the pushes ------------------------------------------------------------------------

    @precondition(lambda self: live(self) and self.deposited)
    @rule(guardian=st.booleans())
    def push_to_client_trust(self, guardian: bool) -> None:
        payee = "Guardian of M. Lopez" if guardian else ""

        def push():
            return settlement.push_to_client_trust(
                firm=self.firm, actor=self.admin, case_id=self.case.pk, payee_name=payee
            )

        if self.outstanding():
            self.refused("validation_error", push)
            return
        remainder = self.deposited - self.staged_before_client
        client = push()
        if remainder:
            assert client is not None
            assert (client.amount_cents, client.payee_name) == (
                remainder,
                payee or "Maria Lopez",
            )
            self.client = ItemModel(client.pk, "client", remainder, False)
        else:
            assert client is None
            self.client = None
        self.pushed = True
        assert figures(self.case).trust_remaining_cents == 0
        Settling.seen["push"] += 1

    @precondition(lambda self: live(self) and self.pushed)
    @rule()
    def push_to_disbursement(self) -> None:
        def push():
            return settlement.push_to_disbursement(
                firm=self.firm, actor=self.admin, case_id=self.case.pk
            )

        if self.outstanding():  # a lien claimed since the push
            self.refused("validation_error", push)
            return
        assert push() == len(self.items) + (1 if self.client else 0)
        self.disbursed = True
        Settling.seen["disburse"] += 1
        self.everything_is_locked()

    def everything_is_locked(self) -> None:
        """Pushed to disbursement, the settlement is locked: nothing comes, goes or moves."""
        f, a, c = self.firm, self.admin, self.case.pk
        late = contact(f, "Late Clinic")
        attempts = [
            lambda: self.deposit_cents(1),
            lambda: settlement.deposit_void(firm=f, actor=a, deposit_id=self.deposits[-1].pk),
            lambda: settlement.lien_create(
                firm=f, actor=a, case_id=c, kind="medical", holder_id=late.pk, claimed_cents=1
            ),
            lambda: settlement.trust_item_stage(firm=f, actor=a, case_id=c, kind="copp"),
            lambda: settlement.push_to_client_trust(firm=f, actor=a, case_id=c),
            lambda: settlement.push_to_disbursement(firm=f, actor=a, case_id=c),
        ]
        for item in [*self.items, *([self.client] if self.client else [])]:
            attempts.append(
                lambda pk=item.pk: settlement.trust_item_unstage(firm=f, actor=a, item_id=pk)
            )
        for attempt in attempts:
            self.refused("locked", attempt)

    @precondition(lambda self: self.disbursed)
    @rule()
    def nothing_more_to_do(self) -> None:
        """The case is settled and disbursed: the example is over."""

    # --- what must always hold -------------------------------------------------------------

    @invariant()
    def the_trust_adds_up(self) -> None:
        if not hasattr(self, "case"):
            return
        f = figures(self.case)
        assert f.deposited_cents == self.deposited
        assert f.staged_from_trust_cents == self.staged_from_trust
        assert f.staged_from_trust_cents <= f.deposited_cents
        assert f.trust_remaining_cents >= 0
        assert TrustItem.objects.filter(case=self.case).count() == len(self.items) + (
            1 if self.client else 0
        )
        pushed_at = Settlement.objects.get(case=self.case).pushed_to_client_trust_at
        assert (pushed_at is not None) == self.pushed
        if self.pushed:
            assert f.trust_remaining_cents == 0
        if self.disbursed:
            assert not TrustItem.objects.filter(case=self.case, status="staged").exists()


def test_random_settlements_never_stage_more_than_is_held(db):
    Settling.seen.clear()
    run_state_machine_as_test(
        Settling,
        settings=settings(
            max_examples=30,
            stateful_step_count=25,
            deadline=None,
            suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
        ),
    )
    assert not Firm.objects.filter(code="prop").exists()  # every example was rolled back
    for path in ("validation_error", "staging_exceeds_trust", "locked", "stage", "push"):
        assert Settling.seen[path], (path, Settling.seen)
