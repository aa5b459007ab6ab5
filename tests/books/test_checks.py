"""Check requests from operating (cost advances) and trust, and their printing."""

from __future__ import annotations

import pytest

from casebridge.books.errors import Conflict, ValidationFailed
from casebridge.books.models import ActivityCode, BankAccount, CheckStatus, GLAccount
from casebridge.books.services import checks, setup
from casebridge.core.models import AuditEvent
from tests.books.ledger_helpers import (
    D,
    deposit,
    gl,
    operating_check,
    refused,
    trust_check,
    writes_nothing,
)


@pytest.fixture
def court_fees(firm) -> ActivityCode:
    return ActivityCode.objects.get(firm=firm, code="E112")


def test_an_operating_check_needs_an_activity_code(firm, admin, operating, client_file):
    with refused(ValidationFailed, code="validation_error") as info:
        checks.check_request_create(
            firm=firm,
            actor=admin,
            bank_account_id=operating.pk,
            payee="Superior Court",
            amount_cents=43_500,
            file_id=client_file.pk,
            request_date=D,
        )
    assert info.value.message == "an activity code is required for an operating check"
    assert info.value.field == "activity_code"


def test_an_operating_check_advances_a_cost_to_the_case(
    firm, admin, operating, client_file, court_fees
):
    check = operating_check(
        firm, admin, operating, client_file, 43_500, court_fees, payee="Superior Court"
    )

    assert (check.status, check.check_number, check.amount_cents) == (
        CheckStatus.QUEUED,
        None,
        43_500,
    )
    assert list(
        check.entry.postings.order_by("pk").values_list(
            "account__number", "file__number", "debit_cents", "credit_cents"
        )
    ) == [("1300", client_file.number, 43_500, 0), ("1000", client_file.number, 0, 43_500)]
    assert check.entry.memo == "Check to Superior Court"
    assert check.entry.source == "check"
    assert gl(firm, "1300") == 43_500  # advanced client costs: an asset, not an expense
    assert gl(firm, "1000") == -43_500


def test_an_operating_check_posts_to_the_codes_account(firm, admin, operating, court_fees):
    office = GLAccount.objects.get(firm=firm, number="5200")
    supplies = setup.activity_code_create(
        firm=firm, actor=admin, code="SUP", name="Office supplies", gl_account_id=office.pk
    )
    operating_check(firm, admin, operating, None, 2_999, supplies, payee="Staples")
    assert (gl(firm, "5200"), gl(firm, "1000"), gl(firm, "1300")) == (2_999, -2_999, 0)


def test_a_trust_check_requires_a_file(firm, admin, trust):
    with refused(ValidationFailed, code="validation_error") as info:
        checks.check_request_create(
            firm=firm,
            actor=admin,
            bank_account_id=trust.pk,
            payee="Maria Lopez",
            amount_cents=100,
            file_id=None,
            request_date=D,
        )
    assert info.value.message == "a file is required"
    assert info.value.field == "file"


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"payee": "  "}, "payee is required"),
        ({"amount_cents": 0}, "amount must be greater than zero"),
        ({"amount_cents": -1}, "amount must be greater than zero"),
        ({"bank_account_id": 0}, "bank account not found in this firm"),
        ({"activity_code_id": 0}, "activity code not found in this firm"),
    ],
)
def test_a_check_request_is_validated(
    firm, admin, operating, client_file, court_fees, changes, message
):
    args = {
        "firm": firm,
        "actor": admin,
        "bank_account_id": operating.pk,
        "payee": "Superior Court",
        "amount_cents": 1_000,
        "file_id": client_file.pk,
        "activity_code_id": court_fees.pk,
        "request_date": D,
    } | changes
    with refused(ValidationFailed, code="validation_error") as info:
        checks.check_request_create(**args)
    assert info.value.message == message


def test_printing_assigns_the_next_number_and_moves_it_on(
    firm, admin, operating, client_file, court_fees
):
    first = operating_check(firm, admin, operating, client_file, 1_000, court_fees)
    second = operating_check(firm, admin, operating, client_file, 2_000, court_fees)

    printed = checks.check_print(firm=firm, actor=admin, check_id=first.pk, printed_on=D)
    assert (printed.status, printed.check_number, printed.printed_on) == ("printed", 1001, D)
    operating.refresh_from_db()
    assert operating.next_check_number == 1002

    assert checks.check_print(firm=firm, actor=admin, check_id=second.pk).check_number == 1002
    operating.refresh_from_db()
    assert operating.next_check_number == 1003
    event = AuditEvent.objects.get(entity_type="check", entity_id=str(first.pk), action="print")
    assert (event.before, event.after) == (
        {"status": "queued"},
        {"status": "printed", "check_number": 1001},
    )


def test_an_explicit_number_moves_the_sequence_only_forwards(
    firm, admin, operating, client_file, court_fees
):
    a, b, c = (operating_check(firm, admin, operating, client_file, 100, court_fees) for _ in "abc")
    assert checks.check_print(firm=firm, actor=admin, check_id=a.pk, check_number=5000)
    operating.refresh_from_db()
    assert operating.next_check_number == 5001
    assert checks.check_print(firm=firm, actor=admin, check_id=b.pk, check_number=900)
    operating.refresh_from_db()
    assert operating.next_check_number == 5001
    assert checks.check_print(firm=firm, actor=admin, check_id=c.pk).check_number == 5001


def test_the_next_number_skips_numbers_already_used(
    firm, admin, operating, client_file, court_fees
):
    a, b = (operating_check(firm, admin, operating, client_file, 100, court_fees) for _ in "ab")
    checks.check_print(firm=firm, actor=admin, check_id=a.pk)  # 1001
    BankAccount.objects.filter(pk=operating.pk).update(next_check_number=1001)  # e.g. reset
    assert checks.check_print(firm=firm, actor=admin, check_id=b.pk).check_number == 1002


def test_a_number_is_used_once_per_bank_account(
    firm, admin, operating, trust, client_file, court_fees
):
    a, b = (operating_check(firm, admin, operating, client_file, 100, court_fees) for _ in "ab")
    checks.check_print(firm=firm, actor=admin, check_id=a.pk, check_number=1500)

    with refused(ValidationFailed, code="validation_error") as info:
        checks.check_print(firm=firm, actor=admin, check_id=b.pk, check_number=1500)
    assert info.value.message == "check number 1500 is already used on Operating"
    assert info.value.field == "check_number"

    deposit(firm, admin, trust, client_file, 1_000)
    on_trust = trust_check(firm, admin, trust, client_file, 100)
    assert (
        checks.check_print(
            firm=firm, actor=admin, check_id=on_trust.pk, check_number=1500
        ).check_number
        == 1500
    )


def test_a_check_number_must_be_positive(firm, admin, operating, client_file, court_fees):
    check = operating_check(firm, admin, operating, client_file, 100, court_fees)
    with refused(ValidationFailed, code="validation_error", match="must be positive"):
        checks.check_print(firm=firm, actor=admin, check_id=check.pk, check_number=0)


def test_only_a_queued_check_can_be_printed(firm, admin, operating, client_file, court_fees):
    printed, voided = (
        operating_check(firm, admin, operating, client_file, 100, court_fees) for _ in "ab"
    )
    checks.check_print(firm=firm, actor=admin, check_id=printed.pk)
    checks.check_void(firm=firm, actor=admin, check_id=voided.pk, void_date=D)

    with refused(Conflict, code="conflict") as info:
        checks.check_print(firm=firm, actor=admin, check_id=printed.pk)
    assert info.value.message == f"check {printed.pk} is printed, not queued for printing"
    with refused(Conflict, code="conflict") as info:
        checks.check_print(firm=firm, actor=admin, check_id=voided.pk, check_number=7777)
    assert info.value.message == f"check {voided.pk} is voided, not queued for printing"


def test_voiding_an_operating_check_returns_the_cost_advance(
    firm, admin, operating, client_file, court_fees
):
    check = operating_check(firm, admin, operating, client_file, 43_500, court_fees)
    checks.check_void(firm=firm, actor=admin, check_id=check.pk, void_date=D)
    assert (gl(firm, "1300"), gl(firm, "1000")) == (0, 0)
    check.refresh_from_db()
    assert check.void_entry.memo == "Void of check (unprinted) to Records Inc"


def test_another_firms_checks_are_out_of_reach(
    firm, other_firm, admin, operating, client_file, court_fees
):
    check = operating_check(firm, admin, operating, client_file, 100, court_fees)
    with refused(ValidationFailed, code="validation_error", match="check not found in this firm"):
        checks.check_print(firm=other_firm, actor=None, check_id=check.pk)
    with refused(ValidationFailed, code="validation_error", match="check not found in this firm"):
        checks.check_void(firm=other_firm, actor=None, check_id=check.pk, void_date=D)
    theirs = BankAccount.objects.get(firm=other_firm, kind="operating")
    with refused(ValidationFailed, code="validation_error", match="bank account not found"):
        operating_check(firm, admin, theirs, client_file, 100, court_fees)


# --- found again by external_ref ---------------------------------------------------------


def request_with_ref(firm, admin, operating, client_file, code, **change):
    args = {
        "firm": firm,
        "actor": admin,
        "bank_account_id": operating.pk,
        "payee": "Superior Court",
        "amount_cents": 43_500,
        "file_id": client_file.pk,
        "activity_code_id": code.pk,
        "request_date": D,
        "external_ref": "cost-17",
        **change,
    }
    return checks.check_request_find_or_create(**args)


def test_a_check_is_found_by_its_external_ref_and_nothing_is_posted(
    firm, admin, operating, client_file, court_fees
):
    check, created = request_with_ref(firm, admin, operating, client_file, court_fees)
    assert created is True
    event = AuditEvent.objects.get(entity_type="check", entity_id=str(check.pk), action="create")
    assert event.after["external_ref"] == "cost-17"
    with writes_nothing():
        again, created = request_with_ref(
            firm, admin, operating, client_file, court_fees, payee="  Superior Court ", memo="x"
        )
        assert (again.pk, created) == (check.pk, False)
        # the wrapper keeps its old shape: the check, whichever way it came
        assert (
            checks.check_request_create(
                firm=firm,
                actor=admin,
                bank_account_id=operating.pk,
                payee="Superior Court",
                amount_cents=43_500,
                file_id=client_file.pk,
                activity_code_id=court_fees.pk,
                external_ref=" cost-17 ",
            ).pk
            == check.pk
        )
    assert gl(firm, "1000") == -43_500


def test_a_different_check_under_the_same_external_ref_is_refused(
    firm, admin, operating, client_file, court_fees
):
    check, _ = request_with_ref(firm, admin, operating, client_file, court_fees)
    with refused(Conflict, code="external_ref_conflict") as info:
        request_with_ref(firm, admin, operating, client_file, court_fees, amount_cents=43_501)
    assert info.value.http_status == 409
    assert info.value.details == {"check_id": check.pk, "differing": ["amount"]}
    assert f"is already check {check.pk}" in info.value.message


def test_a_lost_race_for_a_new_external_ref_is_a_retryable_conflict(
    firm, admin, operating, client_file, court_fees, monkeypatch
):
    check, _ = request_with_ref(firm, admin, operating, client_file, court_fees)
    monkeypatch.setattr(checks, "_checks_by_ref", lambda firm, refs: {})
    with refused(Conflict, code="conflict") as info:
        request_with_ref(firm, admin, operating, client_file, court_fees)
    assert info.value.details == {"retryable": True}
    assert info.value.field == "external_ref"
    monkeypatch.undo()
    assert request_with_ref(firm, admin, operating, client_file, court_fees) == (check, False)


def test_a_trust_receipt_is_found_by_its_external_ref(firm, admin, trust, client_file):
    def receive(**change):
        args = {
            "firm": firm,
            "actor": admin,
            "bank_account_id": trust.pk,
            "file_id": client_file.pk,
            "payer": "Acme Insurance",
            "amount_cents": 100_000,
            "received_on": D,
            "external_ref": "settlement-1",
            **change,
        }
        return checks.trust_receipt_find_or_record(**args)

    receipt, created = receive()
    assert created is True
    with writes_nothing():
        assert receive(reference="88123") == (receipt, False)
    with refused(Conflict, code="external_ref_conflict") as info:
        receive(payer="Beta Insurance")
    assert info.value.details == {"receipt_id": receipt.pk, "differing": ["payer"]}
    found = checks.trust_receipt_record(
        firm=firm,
        actor=admin,
        bank_account_id=trust.pk,
        file_id=client_file.pk,
        payer="Acme Insurance",
        amount_cents=100_000,
        external_ref="settlement-1",
    )
    assert found.pk == receipt.pk
