"""Printing a batch of one bank account's queued checks, and reprinting a spoiled check."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest

from casebridge.books.errors import Conflict, ValidationFailed
from casebridge.books.models import (
    ActivityCode,
    BankAccount,
    Check,
    GLAccount,
    JournalEntry,
    Posting,
    SpoiledCheckNumber,
)
from casebridge.books.selectors.reports import client_trust_ledger, trial_balance
from casebridge.books.services import checks, setup
from casebridge.core.models import AuditEvent
from tests.books.ledger_helpers import (
    D,
    books_open,
    deposit,
    operating_check,
    snapshot,
    trust_check,
)

LATER = D + dt.timedelta(days=3)


@pytest.fixture(autouse=True)
def opened(firm, admin) -> None:
    books_open(firm, admin)


@pytest.fixture
def court_fees(firm) -> ActivityCode:
    return ActivityCode.objects.get(firm=firm, code="E112")


@pytest.fixture
def queued(firm, admin, operating, client_file, court_fees) -> list[Check]:
    """Three operating checks queued on D: $100.00, $200.00, $300.00."""
    return [
        operating_check(
            firm, admin, operating, client_file, cents, court_fees, payee=f"Payee {cents // 100}"
        )
        for cents in (10_000, 20_000, 30_000)
    ]


def full_snapshot() -> dict[str, Any]:
    return {
        **snapshot(),
        "printed_on": sorted(Check.objects.values_list("pk", "printed_on")),
        "spoiled": sorted(SpoiledCheckNumber.objects.values_list("bank_account", "number")),
    }


@contextmanager
def refused(error: type[Exception], *, code: str) -> Iterator[pytest.ExceptionInfo[Any]]:
    """A refusal with ``code`` that wrote nothing at all (spoiled numbers included)."""
    before = full_snapshot()
    with pytest.raises(error) as info:
        yield info
    assert info.value.code == code  # type: ignore[attr-defined]
    assert full_snapshot() == before, "a refused operation wrote to the books"


def numbers(*rows: Check) -> list[tuple[str, int | None, dt.date | None]]:
    fresh = Check.objects.in_bulk([c.pk for c in rows])
    return [(fresh[c.pk].status, fresh[c.pk].check_number, fresh[c.pk].printed_on) for c in rows]


# --- a batch ---------------------------------------------------------------------------------


def test_a_batch_is_numbered_consecutively_in_the_order_given(firm, admin, operating, queued):
    a, b, c = queued
    printed = checks.checks_print_batch(
        firm=firm,
        actor=admin,
        check_ids=[c.pk, a.pk, b.pk],
        bank_account_id=operating.pk,
        printed_on=LATER,
    )
    assert [(p.pk, p.check_number) for p in printed] == [(c.pk, 1001), (a.pk, 1002), (b.pk, 1003)]
    assert numbers(a, b, c) == [
        ("printed", 1002, LATER),
        ("printed", 1003, LATER),
        ("printed", 1001, LATER),
    ]
    operating.refresh_from_db()
    assert operating.next_check_number == 1004
    events = AuditEvent.objects.filter(entity_type="check", action="print").order_by("pk")
    assert [(e.entity_id, e.before, e.after) for e in events] == [
        (str(c.pk), {"status": "queued"}, {"status": "printed", "check_number": 1001}),
        (str(a.pk), {"status": "queued"}, {"status": "printed", "check_number": 1002}),
        (str(b.pk), {"status": "queued"}, {"status": "printed", "check_number": 1003}),
    ]
    assert [e.summary for e in events] == [
        "Check 1001 printed to Payee 300",
        "Check 1002 printed to Payee 100",
        "Check 1003 printed to Payee 200",
    ]


def test_a_batch_is_printed_today_by_default(firm, admin, operating, queued, today):
    checks.checks_print_batch(
        firm=firm, actor=admin, check_ids=[queued[0].pk], bank_account_id=operating.pk
    )
    assert numbers(queued[0]) == [("printed", 1001, today)]


def test_a_batch_skips_only_the_numbers_already_used(firm, admin, operating, queued, court_fees):
    a, b, c = queued
    checks.check_print(firm=firm, actor=admin, check_id=a.pk, check_number=1002)
    BankAccount.objects.filter(pk=operating.pk).update(next_check_number=1001)
    checks.checks_print_batch(
        firm=firm, actor=admin, check_ids=[b.pk, c.pk], bank_account_id=operating.pk
    )
    assert [n for _, n, _ in numbers(b, c)] == [1001, 1003]
    operating.refresh_from_db()
    assert operating.next_check_number == 1004


def test_a_batch_is_one_transaction(firm, admin, operating, queued, monkeypatch):
    """A failure after the numbers were written (here: the audit) takes them all back."""

    def audit_fails(**kwargs: Any) -> int:
        raise RuntimeError("audit log unavailable")

    monkeypatch.setattr(checks, "books_audit_many", audit_fails)
    before = full_snapshot()
    with pytest.raises(RuntimeError):
        checks.checks_print_batch(
            firm=firm,
            actor=admin,
            check_ids=[c.pk for c in queued],
            bank_account_id=operating.pk,
        )
    assert full_snapshot() == before


def test_a_bad_check_refuses_the_whole_batch(
    firm, other_firm, admin, operating, trust, client_file, queued, court_fees
):
    a, b, c = queued
    deposit(firm, admin, trust, client_file, 50_000)
    on_trust = trust_check(firm, admin, trust, client_file, 1_000)
    their_bank = BankAccount.objects.get(firm=other_firm, kind="operating")
    their_code = setup.activity_code_create(
        firm=other_firm,
        actor=None,
        code="COPY",
        name="Copies",
        gl_account_id=GLAccount.objects.get(firm=other_firm, number="1300").pk,
    )
    theirs = operating_check(other_firm, None, their_bank, None, 100, their_code)
    printed = operating_check(firm, admin, operating, client_file, 500, court_fees)
    checks.check_print(firm=firm, actor=admin, check_id=printed.pk, check_number=900)
    voided = operating_check(firm, admin, operating, client_file, 500, court_fees)
    checks.check_void(firm=firm, actor=admin, check_id=voided.pk, void_date=D)

    def batch(*ids: int, **kwargs: Any) -> list[Check]:
        return checks.checks_print_batch(
            firm=firm,
            actor=admin,
            check_ids=list(ids),
            bank_account_id=kwargs.pop("bank", operating.pk),
            **kwargs,
        )

    cases: list[tuple[tuple[int, ...], dict[str, Any], type[Exception], str, str, int | None]] = [
        ((a.pk, 999_999), {}, ValidationFailed, "check_ids", "check 999999 not found", 1),
        ((a.pk, on_trust.pk), {}, ValidationFailed, "check_ids", "is drawn on Client Trust", 1),
        ((printed.pk, a.pk), {}, Conflict, "check_ids", "is printed, not queued", 0),
        ((a.pk, b.pk, voided.pk), {}, Conflict, "check_ids", "is voided, not queued", 2),
        ((a.pk, b.pk, a.pk), {}, ValidationFailed, "check_ids", "named twice (at 0 and 2)", 2),
        ((), {}, ValidationFailed, "check_ids", "choose at least one check", None),
        (
            (a.pk, c.pk),
            {"printed_on": D - dt.timedelta(days=1)},
            ValidationFailed,
            "printed_on",
            f"printed_on 2026-03-01 is before check {a.pk}'s date 2026-03-02",
            0,
        ),
        (
            (a.pk,),
            {"printed_on": dt.date(2099, 1, 1)},
            ValidationFailed,
            "printed_on",
            "printed_on 2099-01-01 is after",
            None,
        ),
        ((a.pk,), {"bank": 999_999}, ValidationFailed, "bank_account", "bank account not", None),
        ((a.pk,), {"bank": their_bank.pk}, ValidationFailed, "bank_account", "not found", None),
        ((a.pk, theirs.pk), {}, ValidationFailed, "check_ids", f"check {theirs.pk} not found", 1),
    ]
    for ids, kwargs, error, field, message, index in cases:
        code = "conflict" if error is Conflict else "validation_error"
        with refused(error, code=code) as info:
            batch(*ids, **kwargs)
        assert info.value.field == field, ids
        assert message in info.value.message, (ids, info.value.message)
        assert info.value.details.get("index") == index, ids
    assert numbers(a, b, c) == [("queued", None, None)] * 3


def test_a_single_print_is_a_batch_of_one_and_keeps_its_refusals(firm, admin, operating, queued):
    a, b, _ = queued
    assert checks.check_print(firm=firm, actor=admin, check_id=a.pk).check_number == 1001
    with refused(ValidationFailed, code="validation_error") as info:
        checks.check_print(firm=firm, actor=admin, check_id=b.pk, printed_on=D - dt.timedelta(1))
    assert info.value.field == "printed_on"
    assert info.value.message == (
        f"printed_on 2026-03-01 is before check {b.pk}'s date 2026-03-02: a check is not "
        "printed before the day it is dated"
    )
    assert "index" not in info.value.details


# --- a spoiled check printed again -------------------------------------------------------------


@pytest.fixture
def funded_trust_check(firm, admin, trust, client_file) -> Check:
    """A $400.00 trust check from a file holding $1,000.00, printed on D as number 1001."""
    deposit(firm, admin, trust, client_file, 100_000)
    check = trust_check(firm, admin, trust, client_file, 40_000, payee="Valley Medical")
    return checks.check_print(firm=firm, actor=admin, check_id=check.pk, printed_on=D)


def money_picture(firm, client_file) -> Any:
    tb = trial_balance(firm=firm)
    ledgers = client_trust_ledger(firm=firm, file_id=client_file.pk)
    return (
        [(r.number, r.debit_cents, r.credit_cents) for r in tb.rows],
        [(ledger.lines, ledger.balance_cents) for ledger in ledgers],
        JournalEntry.objects.count(),
        Posting.objects.count(),
    )


def test_a_reprint_spoils_the_number_and_prints_the_same_payment_again(
    firm, admin, trust, client_file, funded_trust_check
):
    check = funded_trust_check
    before = money_picture(firm, client_file)

    again = checks.check_reprint(
        firm=firm, actor=admin, check_id=check.pk, reason="Jammed in the printer", printed_on=LATER
    )

    assert (again.pk, again.status, again.check_number, again.printed_on) == (
        check.pk,
        "printed",
        1002,
        LATER,
    )
    assert again.entry_id == check.entry_id
    assert again.void_entry_id is None
    spoiled = SpoiledCheckNumber.objects.get()
    assert (
        spoiled.bank_account_id,
        spoiled.number,
        spoiled.reprinted_check_id,
        spoiled.reason,
        spoiled.printed_on,
        spoiled.spoiled_on,
        spoiled.spoiled_by_id,
    ) == (trust.pk, 1001, check.pk, "Jammed in the printer", D, LATER, admin.pk)
    trust.refresh_from_db()
    assert trust.next_check_number == 1003
    # the money did not move: no entry, no posting, the same trial balance and ledger
    assert money_picture(firm, client_file) == before
    event = AuditEvent.objects.get(entity_type="check", entity_id=str(check.pk), action="reprint")
    assert event.summary == (
        "Check 1001 to Valley Medical spoiled (Jammed in the printer); printed again as check 1002"
    )
    assert (event.before, event.after) == (
        {"check_number": 1001, "printed_on": "2026-03-02"},
        {
            "check_number": 1002,
            "printed_on": "2026-03-05",
            "spoiled_number": 1001,
            "reason": "Jammed in the printer",
        },
    )


def test_a_spoiled_number_is_never_used_again(firm, admin, trust, client_file, funded_trust_check):
    checks.check_reprint(firm=firm, actor=admin, check_id=funded_trust_check.pk, reason="Torn")
    later = trust_check(firm, admin, trust, client_file, 1_000)
    with refused(ValidationFailed, code="validation_error") as info:
        checks.check_print(firm=firm, actor=admin, check_id=later.pk, check_number=1001)
    assert info.value.message == "check number 1001 is already used on Client Trust (IOLTA)"
    BankAccount.objects.filter(pk=trust.pk).update(next_check_number=1001)  # e.g. reset
    [printed] = checks.checks_print_batch(
        firm=firm, actor=admin, check_ids=[later.pk], bank_account_id=trust.pk
    )
    assert printed.check_number == 1003  # 1001 spoiled, 1002 the reprint
    live = set(Check.objects.filter(bank_account=trust).values_list("check_number", flat=True))
    spoiled = set(
        SpoiledCheckNumber.objects.filter(bank_account=trust).values_list("number", flat=True)
    )
    assert live == {1002, 1003}
    assert spoiled == {1001}
    assert not live & spoiled


def test_a_check_reprinted_twice_keeps_both_spoiled_numbers(
    firm, admin, trust, client_file, funded_trust_check
):
    before = money_picture(firm, client_file)
    for reason in ("Jammed", "Printed crooked"):
        checks.check_reprint(firm=firm, actor=admin, check_id=funded_trust_check.pk, reason=reason)
    assert list(SpoiledCheckNumber.objects.order_by("number").values_list("number", "reason")) == [
        (1001, "Jammed"),
        (1002, "Printed crooked"),
    ]
    assert Check.objects.get(pk=funded_trust_check.pk).check_number == 1003
    assert money_picture(firm, client_file) == before


def test_a_reprinted_check_voided_later_puts_the_money_back_once(
    firm, admin, trust, client_file, funded_trust_check
):
    checks.check_reprint(firm=firm, actor=admin, check_id=funded_trust_check.pk, reason="Torn")
    checks.check_void(firm=firm, actor=admin, check_id=funded_trust_check.pk, void_date=LATER)
    [ledger] = client_trust_ledger(firm=firm, file_id=client_file.pk)
    assert ledger.balance_cents == 100_000
    check = Check.objects.get(pk=funded_trust_check.pk)
    assert list(
        JournalEntry.objects.filter(source="check").order_by("pk").values_list("pk", "reverses")
    ) == [(check.entry_id, None), (check.void_entry_id, check.entry_id)]


def test_what_cannot_be_reprinted(firm, other_firm, admin, trust, client_file, funded_trust_check):
    queued = trust_check(firm, admin, trust, client_file, 1_000)
    voided = trust_check(firm, admin, trust, client_file, 1_000)
    checks.check_void(firm=firm, actor=admin, check_id=voided.pk, void_date=D)
    check = funded_trust_check
    cases: list[tuple[dict[str, Any], type[Exception], str, str | None]] = [
        ({"check_id": queued.pk}, Conflict, f"check {queued.pk} is queued: only a printed", None),
        ({"check_id": voided.pk}, Conflict, f"check {voided.pk} is voided: only a printed", None),
        ({"reason": "  "}, ValidationFailed, "a reason is required", "reason"),
        ({"reason": "bad\u202eone"}, ValidationFailed, "reason contains", "reason"),
        (
            {"printed_on": D - dt.timedelta(days=1)},
            ValidationFailed,
            "printed_on 2026-03-01 is before check 1001 was first printed (2026-03-02)",
            "printed_on",
        ),
        ({"printed_on": dt.date(2099, 1, 1)}, ValidationFailed, "after", "printed_on"),
    ]
    for change, error, message, field in cases:
        args = {"firm": firm, "actor": admin, "check_id": check.pk, "reason": "Jammed"} | change
        code = "conflict" if error is Conflict else "validation_error"
        with refused(error, code=code) as info:
            checks.check_reprint(**args)
        assert message in info.value.message, info.value.message
        assert info.value.field == field
    with refused(ValidationFailed, code="validation_error") as info:
        checks.check_reprint(firm=other_firm, actor=None, check_id=check.pk, reason="Jammed")
    assert info.value.message == "check not found in this firm"
