"""Property-based tests of the ledger: random sequences of what a firm does all day
(deposits, checks, voids, invoices paid from trust, hand-made journal entries and their
reversals, some of them wrong) never break the books.

After every step: every entry balances, the trial balance's columns are equal, no client
is below zero, every maintained balance equals the sum of its postings, each client's trust
matches a simple model of what it should be, and a refused operation changed nothing.
Each example runs in a savepoint that is rolled back, so examples never see each other.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass
from typing import Any

import pytest
from django.db import transaction
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from casebridge.books.errors import DomainError
from casebridge.books.models import BankAccount, Firm, GLAccount, JournalEntry
from casebridge.books.services import auth, checks, files, invoices, setup
from casebridge.books.services.journal import Line, journal_entry_post, journal_entry_reverse
from tests.books.ledger_helpers import D, assert_books_consistent, snapshot, trust_balance

FILE = st.integers(min_value=0, max_value=1)
AMOUNT = st.integers(min_value=1, max_value=1_000_000)
PICK = st.integers(min_value=0, max_value=10_000)  # an index into what exists, modulo its size
ACCOUNTS = ("1000", "1010", "1300", "2100", "4000", "5200")
RAW_LINE = st.tuples(
    st.sampled_from(ACCOUNTS),
    st.booleans(),  # debit?
    st.integers(min_value=1, max_value=300_000),
    FILE,
)


@dataclass
class CheckModel:
    pk: int
    bank: str  # "operating" or "trust"
    file_id: int | None
    amount: int
    status: str = "queued"


@dataclass
class RawModel:
    entry: JournalEntry
    trust_delta: dict[int, int]  # file id -> change to its trust
    is_reversal: bool = False
    reversed: bool = False


@dataclass
class InvoiceModel:
    pk: int
    file_id: int
    total: int
    stage: str


class Books(RuleBasedStateMachine):
    """A firm's books driven by random operations, checked against a model of trust."""

    #: refusals seen across all examples, by code: proof the refusal paths were exercised
    refusals_seen: Counter[str] = Counter()

    def __init__(self) -> None:
        super().__init__()
        self._savepoint = transaction.atomic()
        self._savepoint.__enter__()

    def teardown(self) -> None:
        transaction.set_rollback(True)
        self._savepoint.__exit__(None, None, None)

    # --- set-up ----------------------------------------------------------------------------

    @initialize()
    def open_the_books(self) -> None:
        assert not Firm.objects.filter(code="prop").exists(), "an earlier example leaked"
        self.firm = setup.firm_create(code="prop", name="Property LLP", with_utbms_codes=False)
        self.gl = {a.number: a for a in GLAccount.objects.filter(firm=self.firm)}
        self.banks = {b.kind: b for b in BankAccount.objects.filter(firm=self.firm)}
        self.code = setup.activity_code_create(
            firm=self.firm,
            actor=None,
            code="E112",
            name="Court fees",
            gl_account_id=self.gl["1300"].pk,
            utbms_code="E112",
        )
        self.lawyer = auth.user_create(
            firm=self.firm, email="lawyer@prop.test", password="x" * 12, records_time=True
        )
        client, _ = files.contact_find_or_create(firm=self.firm, actor=None, name="Client")
        self.files = [
            files.file_find_or_create(
                firm=self.firm, actor=None, name=f"Matter {n}", client=client, number=f"P-{n}"
            )[0]
            for n in (1, 2)
        ]
        self.trust: dict[int, int] = {f.pk: 0 for f in self.files}
        self.checks: list[CheckModel] = []
        self.receipts: list[list[Any]] = []  # [pk, file id, amount, voided]
        self.raw: list[RawModel] = []
        self.invoices: list[InvoiceModel] = []
        self.numbers: dict[int, set[int]] = {b.pk: set() for b in self.banks.values()}

    def refused(self, code: str, operation) -> DomainError:
        """The operation must be refused with ``code`` and leave the books as they were."""
        before = snapshot()
        with pytest.raises(DomainError) as info:
            operation()
        assert info.value.code == code, info.value.message
        assert snapshot() == before, f"refused ({code}) but wrote to the books"
        Books.refusals_seen[code] += 1
        return info.value

    # --- money in and out ------------------------------------------------------------------

    @rule(f=FILE, cents=AMOUNT)
    def deposit(self, f: int, cents: int) -> None:
        file = self.files[f]
        receipt = checks.trust_receipt_record(
            firm=self.firm,
            actor=None,
            bank_account_id=self.banks["trust"].pk,
            file_id=file.pk,
            payer="Insurer",
            amount_cents=cents,
            received_on=D,
        )
        self.trust[file.pk] += cents
        self.receipts.append([receipt.pk, file.pk, cents, False])

    @rule(f=st.none() | FILE, cents=AMOUNT)
    def operating_check(self, f: int | None, cents: int) -> None:
        file = self.files[f] if f is not None else None
        check = checks.check_request_create(
            firm=self.firm,
            actor=None,
            bank_account_id=self.banks["operating"].pk,
            payee="Court clerk",
            amount_cents=cents,
            file_id=file.pk if file else None,
            activity_code_id=self.code.pk,
            request_date=D,
        )
        self.checks.append(CheckModel(check.pk, "operating", None, cents))

    @rule(f=FILE, delta=st.integers(min_value=-1_000_000, max_value=1_000))
    def trust_check(self, f: int, delta: int) -> None:
        """Pay out of a client's trust: at, under, or (sometimes) over what the client has."""
        file = self.files[f]
        available = self.trust[file.pk]
        cents = max(1, available + delta)

        def pay():
            return checks.check_request_create(
                firm=self.firm,
                actor=None,
                bank_account_id=self.banks["trust"].pk,
                payee="Lienholder",
                amount_cents=cents,
                file_id=file.pk,
                request_date=D,
            )

        if cents > available:
            error = self.refused("insufficient_trust_funds", pay)
            assert error.details["available_cents"] == available
            assert error.details["requested_cents"] == cents
            return
        check = pay()
        self.trust[file.pk] -= cents
        self.checks.append(CheckModel(check.pk, "trust", file.pk, cents))

    @precondition(lambda self: self.checks)
    @rule(i=PICK, number=st.none() | st.integers(min_value=1001, max_value=1006))
    def print_check(self, i: int, number: int | None) -> None:
        c = self.checks[i % len(self.checks)]
        bank = self.banks[c.bank]

        def print_it():
            return checks.check_print(
                firm=self.firm, actor=None, check_id=c.pk, check_number=number, printed_on=D
            )

        if c.status != "queued":
            self.refused("conflict", print_it)
        elif number is not None and number in self.numbers[bank.pk]:
            self.refused("validation_error", print_it)
        else:
            printed = print_it()
            assert printed.check_number not in self.numbers[bank.pk]
            if number is not None:
                assert printed.check_number == number
            self.numbers[bank.pk].add(printed.check_number)
            c.status = "printed"

    @precondition(lambda self: self.checks)
    @rule(i=PICK)
    def void_check(self, i: int) -> None:
        c = self.checks[i % len(self.checks)]

        def void():
            return checks.check_void(firm=self.firm, actor=None, check_id=c.pk, void_date=D)

        if c.status == "voided":
            self.refused("conflict", void)
            return
        void()
        c.status = "voided"
        if c.file_id is not None:
            self.trust[c.file_id] += c.amount

    @precondition(lambda self: self.receipts)
    @rule(i=PICK)
    def void_receipt(self, i: int) -> None:
        r = self.receipts[i % len(self.receipts)]
        pk, file_id, cents, voided = r

        def void():
            return checks.trust_receipt_void(firm=self.firm, actor=None, receipt_id=pk, void_date=D)

        if voided:
            self.refused("conflict", void)
        elif self.trust[file_id] < cents:
            error = self.refused("insufficient_trust_funds", void)
            assert error.details["available_cents"] == self.trust[file_id]
        else:
            void()
            self.trust[file_id] -= cents
            r[3] = True

    # --- invoices paid from trust ----------------------------------------------------------

    @rule(f=FILE, fee=st.integers(1, 500_000), cost=st.none() | st.integers(1, 100_000))
    def invoice_paid_from_trust(self, f: int, fee: int, cost: int | None) -> None:
        file = self.files[f]
        lines = [
            invoices.LineSpec(
                kind="fee", description="Fee", amount_cents=fee, timekeeper_id=self.lawyer.pk
            )
        ]
        if cost is not None:
            lines.append(
                invoices.LineSpec(
                    kind="cost",
                    description="Filing fee",
                    amount_cents=cost,
                    activity_code_id=self.code.pk,
                )
            )
        invoice = invoices.invoice_create(
            firm=self.firm,
            actor=None,
            file_id=file.pk,
            lines=lines,
            invoice_date=D,
            pay_from_trust=True,
        )
        total = fee + (cost or 0)
        assert invoice.total_cents == total

        def finalise():
            return invoices.invoice_finalise(
                firm=self.firm, actor=None, invoice_id=invoice.pk, on=D
            )

        if total > self.trust[file.pk]:
            self.refused("insufficient_trust_funds", finalise)
            invoice.refresh_from_db()
            assert invoice.stage == "draft"
            self.invoices.append(InvoiceModel(invoice.pk, file.pk, total, "draft"))
            return
        assert finalise().stage == "final"
        self.trust[file.pk] -= total
        self.invoices.append(InvoiceModel(invoice.pk, file.pk, total, "final"))

    @precondition(lambda self: self.invoices)
    @rule(i=PICK)
    def void_invoice(self, i: int) -> None:
        inv = self.invoices[i % len(self.invoices)]

        def void():
            return invoices.invoice_void(firm=self.firm, actor=None, invoice_id=inv.pk, void_date=D)

        if inv.stage == "voided":
            self.refused("conflict", void)
            return
        void()
        if inv.stage == "final":
            self.trust[inv.file_id] += inv.total
        inv.stage = "voided"

    # --- hand-made journal entries and reversals -------------------------------------------

    @rule(raw=st.lists(RAW_LINE, min_size=1, max_size=4), balance=st.booleans())
    def journal_entry(self, raw: list[tuple[str, bool, int, int]], balance: bool) -> None:
        lines = [
            Line(
                account=self.gl[number],
                debit_cents=cents if debit else 0,
                credit_cents=0 if debit else cents,
                file=self.files[f] if number == "2100" else None,
            )
            for number, debit, cents, f in raw
        ]
        difference = sum(ln.debit_cents - ln.credit_cents for ln in lines)
        if balance and difference:
            office = self.gl["5200"]
            lines.append(
                Line(account=office, credit_cents=difference)
                if difference > 0
                else Line(account=office, debit_cents=-difference)
            )
            difference = 0
        trust_delta: dict[int, int] = defaultdict(int)
        for ln in lines:
            if ln.file is not None:
                trust_delta[ln.file.pk] += ln.credit_cents - ln.debit_cents

        def post():
            return journal_entry_post(firm=self.firm, date=D, lines=lines, source="manual")

        bank_moves = sum(
            ln.debit_cents - ln.credit_cents for ln in lines if ln.account.number == "1010"
        )
        clients_move = sum(
            ln.credit_cents - ln.debit_cents for ln in lines if ln.account.number == "2100"
        )
        if len(lines) < 2:
            self.refused("validation_error", post)
        elif difference:
            self.refused("entry_unbalanced", post)
        elif bank_moves != clients_move:
            self.refused("trust_not_matched", post)
        elif any(self.trust[f] + d < 0 for f, d in trust_delta.items()):
            self.refused("insufficient_trust_funds", post)
        else:
            entry = post()
            for f, d in trust_delta.items():
                self.trust[f] += d
            self.raw.append(RawModel(entry, dict(trust_delta)))

    @precondition(lambda self: self.raw)
    @rule(i=PICK)
    def reverse(self, i: int) -> None:
        r = self.raw[i % len(self.raw)]

        def reverse_it():
            return journal_entry_reverse(firm=self.firm, entry=r.entry, date=D)

        if r.reversed or r.is_reversal:
            self.refused("validation_error", reverse_it)
        elif any(self.trust[f] - d < 0 for f, d in r.trust_delta.items()):
            self.refused("insufficient_trust_funds", reverse_it)
        else:
            reversal = reverse_it()
            for f, d in r.trust_delta.items():
                self.trust[f] -= d
            r.reversed = True
            self.raw.append(
                RawModel(reversal, {f: -d for f, d in r.trust_delta.items()}, is_reversal=True)
            )

    # --- what must always hold -------------------------------------------------------------

    @invariant()
    def the_books_balance(self) -> None:
        if not hasattr(self, "firm"):
            return
        assert_books_consistent(self.firm)
        for file in self.files:
            assert trust_balance(file) == self.trust[file.pk], f"trust of {file.number}"


def test_random_days_at_the_firm_never_break_the_books(db):
    Books.refusals_seen.clear()
    run_state_machine_as_test(
        Books,
        settings=settings(
            max_examples=40,
            stateful_step_count=25,
            deadline=None,
            suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
        ),
    )
    assert not Firm.objects.filter(code="prop").exists()  # every example was rolled back
    assert set(Books.refusals_seen) == {
        "insufficient_trust_funds",
        "entry_unbalanced",
        "validation_error",
        "conflict",
        "trust_not_matched",
    }, Books.refusals_seen
