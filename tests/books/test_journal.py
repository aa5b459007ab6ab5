"""Posting to the general ledger: balanced entries, refusals that write nothing,
idempotent repeats, all-or-nothing batches and reversals."""

from __future__ import annotations

import datetime as dt

import pytest

from casebridge.books.errors import (
    Conflict,
    EntryUnbalanced,
    IdempotencyKeyReused,
    TrustNotMatched,
    TrustOverdraw,
    ValidationFailed,
)
from casebridge.books.models import AccountRole, GLAccount, JournalEntry, Posting
from casebridge.books.services import checks, files, invoices
from casebridge.books.services.journal import (
    EntrySpec,
    Line,
    journal_entries_post_batch,
    journal_entry_post,
    journal_entry_reverse,
)
from casebridge.core.models import AuditEvent
from tests.books.ledger_helpers import (
    D,
    deposit,
    gl,
    refused,
    trust_balance,
    trust_check,
    writes_nothing,
)
from tests.conftest import account


@pytest.fixture
def office(firm) -> GLAccount:
    return GLAccount.objects.get(firm=firm, number="5200")


@pytest.fixture
def bank(firm) -> GLAccount:
    return account(firm, AccountRole.OPERATING_BANK)


@pytest.fixture
def liability(firm) -> GLAccount:
    return account(firm, AccountRole.CLIENT_TRUST_LIABILITY)


def pay_rent(firm, office, bank, cents=12_550, **kw):
    return journal_entry_post(
        firm=firm,
        date=D,
        memo="Office rent",
        lines=[Line(account=office, debit_cents=cents), Line(account=bank, credit_cents=cents)],
        **kw,
    )


def test_a_balanced_entry_posts_and_moves_the_maintained_balances(firm, admin, office, bank):
    entry = pay_rent(firm, office, bank, actor=admin, posting_reference="R-3")

    assert (entry.date, entry.memo, entry.posting_reference, entry.created_by) == (
        D,
        "Office rent",
        "R-3",
        admin,
    )
    assert list(
        entry.postings.order_by("pk").values_list("account__number", "debit_cents", "credit_cents")
    ) == [("5200", 12_550, 0), ("1000", 0, 12_550)]
    assert gl(firm, "5200") == 12_550
    assert gl(firm, "1000") == -12_550
    event = AuditEvent.objects.get(entity_type="journal_entry", entity_id=str(entry.pk))
    assert (event.action, event.actor_id, event.actor_label) == ("post", admin.pk, admin.email)
    assert event.after["lines"] == [
        {"account": "5200", "file": None, "debit_cents": 12_550, "credit_cents": 0},
        {"account": "1000", "file": None, "debit_cents": 0, "credit_cents": 12_550},
    ]


def test_an_entry_may_have_many_lines(firm, office, bank):
    income = account(firm, AccountRole.FEE_INCOME)
    journal_entry_post(
        firm=firm,
        date=D,
        lines=[
            Line(account=bank, debit_cents=10_000),
            Line(account=office, debit_cents=2_500),
            Line(account=income, credit_cents=7_500),
            Line(account=income, credit_cents=5_000),
        ],
    )
    assert (gl(firm, "1000"), gl(firm, "5200"), gl(firm, "4000")) == (10_000, 2_500, -12_500)


def test_an_unbalanced_entry_is_refused_and_nothing_is_written(firm, office, bank):
    with refused(EntryUnbalanced, code="entry_unbalanced") as info:
        journal_entry_post(
            firm=firm,
            date=D,
            lines=[
                Line(account=office, debit_cents=10_000),
                Line(account=bank, credit_cents=9_999),
            ],
        )
    assert info.value.message == "entry does not balance: debits $100.00, credits $99.99"
    assert info.value.details == {"debits": 10_000, "credits": 9_999}
    assert info.value.field == "lines"
    assert (gl(firm, "5200"), gl(firm, "1000")) == (0, 0)


def test_a_single_line_entry_is_refused(firm, office):
    with refused(ValidationFailed, code="validation_error") as info:
        journal_entry_post(firm=firm, date=D, lines=[Line(account=office, debit_cents=100)])
    assert info.value.message == "a journal entry needs at least two postings"


@pytest.mark.parametrize(
    ("second", "message"),
    [
        ({"debit_cents": -100, "credit_cents": 0}, "line 2: amounts cannot be negative"),
        ({"debit_cents": 0, "credit_cents": -100}, "line 2: amounts cannot be negative"),
        (
            {"debit_cents": 100, "credit_cents": 100},
            "line 2: exactly one of debit or credit must be positive",
        ),
        (
            {"debit_cents": 0, "credit_cents": 0},
            "line 2: exactly one of debit or credit must be positive",
        ),
        ({"credit_cents": 10_000_000_000_000}, "line 2: amount is too large"),
    ],
)
def test_malformed_lines_are_refused(firm, office, bank, second, message):
    with refused(ValidationFailed, code="validation_error") as info:
        journal_entry_post(
            firm=firm,
            date=D,
            lines=[Line(account=office, debit_cents=100), Line(account=bank, **second)],
        )
    assert info.value.message == message


def test_an_account_of_another_firm_is_refused(firm, other_firm, office):
    theirs = account(other_firm, AccountRole.OPERATING_BANK)
    with refused(ValidationFailed, code="validation_error") as info:
        journal_entry_post(
            firm=firm,
            date=D,
            lines=[Line(account=office, debit_cents=100), Line(account=theirs, credit_cents=100)],
        )
    assert info.value.message == "line 2: account is not in this firm"


def test_an_inactive_account_is_refused(firm, office, bank):
    GLAccount.objects.filter(pk=office.pk).update(is_active=False)
    office.refresh_from_db()
    with refused(ValidationFailed, code="validation_error") as info:
        pay_rent(firm, office, bank)
    assert info.value.message == "line 1: account 5200 Office Expenses is inactive"


def test_a_client_trust_posting_must_name_a_file(firm, liability, bank):
    with refused(ValidationFailed, code="validation_error") as info:
        journal_entry_post(
            firm=firm,
            date=D,
            lines=[Line(account=bank, debit_cents=100), Line(account=liability, credit_cents=100)],
        )
    assert info.value.message == "line 2: a client trust posting must name a file"


def test_a_file_of_another_firm_is_refused(firm, other_firm, admin, liability, bank):
    client, _ = files.contact_find_or_create(firm=other_firm, actor=None, name="Someone Else")
    their_file, _ = files.file_find_or_create(
        firm=other_firm, actor=None, name="Else v. Else", client=client, number="J-1"
    )
    with refused(ValidationFailed, code="validation_error") as info:
        journal_entry_post(
            firm=firm,
            date=D,
            lines=[
                Line(account=bank, debit_cents=100),
                Line(account=liability, credit_cents=100, file=their_file),
            ],
        )
    assert info.value.message == "line 2: file is not in this firm"


def test_a_client_trust_posting_moves_the_files_trust_ledger(firm, trust, liability, client_file):
    trust_bank = account(firm, AccountRole.TRUST_BANK)
    journal_entry_post(
        firm=firm,
        date=D,
        lines=[
            Line(account=trust_bank, debit_cents=40_000, file=client_file),
            Line(account=liability, credit_cents=40_000, file=client_file),
        ],
    )
    assert trust_balance(client_file, trust) == 40_000
    posting = Posting.objects.get(account=liability)
    assert posting.trust_ledger.file == client_file
    assert posting.trust_ledger.bank_account == trust


# --- idempotency ---------------------------------------------------------------------------


def test_repeating_an_idempotency_key_returns_the_same_entry_and_writes_nothing(firm, office, bank):
    first = pay_rent(firm, office, bank, source="api", idempotency_key="rent-2026-03")
    with writes_nothing():
        again = pay_rent(firm, office, bank, source="api", idempotency_key="rent-2026-03")
    assert again.pk == first.pk
    assert gl(firm, "5200") == 12_550


def test_the_same_key_with_other_content_is_refused_not_replayed(firm, office, bank):
    first = pay_rent(firm, office, bank, source="api", idempotency_key="rent-2026-03")
    with refused(
        IdempotencyKeyReused,
        code="idempotency_key_reused",
        match=f"already used for journal entry {first.pk} with other content",
    ):
        pay_rent(firm, office, bank, 99, source="api", idempotency_key="rent-2026-03")
    assert gl(firm, "5200") == 12_550


def test_the_same_key_from_another_source_or_firm_is_a_new_entry(firm, other_firm, office, bank):
    first = pay_rent(firm, office, bank, source="api", idempotency_key="k1")
    second = pay_rent(firm, office, bank, source="import", idempotency_key="k1")
    theirs = pay_rent(
        other_firm,
        GLAccount.objects.get(firm=other_firm, number="5200"),
        account(other_firm, AccountRole.OPERATING_BANK),
        source="api",
        idempotency_key="k1",
    )
    assert len({first.pk, second.pk, theirs.pk}) == 3
    assert gl(firm, "5200") == 25_100


# --- batches -------------------------------------------------------------------------------


def spec(office, bank, cents, key=None, **kw):
    return EntrySpec(
        date=D,
        lines=[Line(account=office, debit_cents=cents), Line(account=bank, credit_cents=cents)],
        source="batch",
        idempotency_key=key,
        **kw,
    )


def test_a_batch_posts_every_entry(firm, office, bank):
    result = journal_entries_post_batch(
        firm=firm, entries=[spec(office, bank, 100, "a"), spec(office, bank, 250, "b")]
    )
    assert [created for _, created in result] == [True, True]
    assert [e.idempotency_key for e, _ in result] == ["a", "b"]
    assert gl(firm, "5200") == 350


def test_a_batch_is_all_or_nothing_and_names_the_bad_entry(firm, office, bank):
    bad = EntrySpec(
        date=D,
        lines=[Line(account=office, debit_cents=500), Line(account=bank, credit_cents=400)],
    )
    with refused(EntryUnbalanced, code="entry_unbalanced") as info:
        journal_entries_post_batch(
            firm=firm,
            entries=[spec(office, bank, 100, "a"), bad, spec(office, bank, 300, "c")],
        )
    assert info.value.message == "entry 2: entry does not balance: debits $5.00, credits $4.00"


def test_a_batch_checks_trust_entry_by_entry(firm, trust, client_file, liability):
    trust_bank = account(firm, AccountRole.TRUST_BANK)

    def move(cents, *, into):
        lines = [
            Line(account=trust_bank, debit_cents=cents, file=client_file),
            Line(account=liability, credit_cents=cents, file=client_file),
        ]
        if not into:
            lines = [
                Line(account=liability, debit_cents=cents, file=client_file),
                Line(account=trust_bank, credit_cents=cents, file=client_file),
            ]
        return EntrySpec(date=D, lines=lines)

    # a deposit then a disbursement in one batch is fine
    journal_entries_post_batch(firm=firm, entries=[move(1_000, into=True), move(600, into=False)])
    assert trust_balance(client_file) == 400
    # but a disbursement of more than is there by then is refused, naming the entry
    with refused(TrustOverdraw, code="insufficient_trust_funds") as info:
        journal_entries_post_batch(
            firm=firm,
            entries=[move(100, into=True), move(200, into=False), move(301, into=False)],
        )
    assert info.value.message == (
        f"entry 3: file {client_file.number} has $3.00 available in trust; $3.01 was requested"
    )
    assert info.value.details["available_cents"] == 300


def test_a_batch_with_a_key_repeated_inside_is_refused(firm, office, bank):
    with refused(ValidationFailed, code="validation_error") as info:
        journal_entries_post_batch(
            firm=firm,
            entries=[spec(office, bank, 100, "a"), spec(office, bank, 200, "a")],
        )
    assert info.value.message == "idempotency key 'a' appears twice in this batch"


def test_replaying_a_batch_returns_the_existing_entries_unposted(firm, office, bank):
    first = journal_entries_post_batch(
        firm=firm, entries=[spec(office, bank, 100, "a"), spec(office, bank, 200, "b")]
    )
    entries_before = JournalEntry.objects.count()
    again = journal_entries_post_batch(
        firm=firm,
        entries=[
            spec(office, bank, 100, "a"),
            spec(office, bank, 200, "b"),
            spec(office, bank, 400, "c"),
        ],
    )
    assert [(e.pk, created) for e, created in again[:2]] == [(e.pk, False) for e, _ in first]
    assert again[2][1] is True
    assert again[2][0].idempotency_key == "c"
    assert JournalEntry.objects.count() == entries_before + 1
    assert gl(firm, "5200") == 700


def test_a_refusal_in_a_partly_replayed_batch_names_the_entry_as_sent(firm, office, bank):
    journal_entries_post_batch(firm=firm, entries=[spec(office, bank, 100, "a")])
    bad = EntrySpec(
        date=D,
        lines=[Line(account=office, debit_cents=500), Line(account=bank, credit_cents=400)],
    )
    with refused(EntryUnbalanced, code="entry_unbalanced") as info:
        journal_entries_post_batch(firm=firm, entries=[spec(office, bank, 100, "a"), bad])
    assert info.value.message == "entry 2: entry does not balance: debits $5.00, credits $4.00"


# --- reversals -----------------------------------------------------------------------------


def test_a_reversal_mirrors_the_postings_on_the_given_date(firm, admin, office, bank):
    entry = pay_rent(firm, office, bank, posting_reference="R-3")
    on = D + dt.timedelta(days=5)
    reversal = journal_entry_reverse(firm=firm, entry=entry, date=on, actor=admin)

    assert reversal.date == on
    assert reversal.reverses == entry
    assert reversal.posting_reference == "R-3"
    assert reversal.memo == f"Reversal of JE{entry.pk}: Office rent"
    assert list(
        reversal.postings.order_by("pk").values_list(
            "account__number", "debit_cents", "credit_cents"
        )
    ) == [("5200", 0, 12_550), ("1000", 12_550, 0)]
    assert (gl(firm, "5200"), gl(firm, "1000")) == (0, 0)
    event = AuditEvent.objects.get(entity_type="journal_entry", entity_id=str(reversal.pk))
    assert event.action == "reverse"
    assert event.after["reverses"] == entry.pk


def test_an_entry_is_reversed_at_most_once(firm, office, bank):
    entry = pay_rent(firm, office, bank)
    journal_entry_reverse(firm=firm, entry=entry, date=D)
    with refused(ValidationFailed, code="validation_error") as info:
        journal_entry_reverse(firm=firm, entry=entry, date=D)
    assert info.value.message == f"journal entry {entry.pk} has already been reversed"


def test_a_reversal_is_not_itself_reversed(firm, office, bank):
    reversal = journal_entry_reverse(firm=firm, entry=pay_rent(firm, office, bank), date=D)
    with refused(ValidationFailed, code="validation_error") as info:
        journal_entry_reverse(firm=firm, entry=reversal, date=D)
    assert info.value.message == (
        f"journal entry {reversal.pk} is itself a reversal; post a new entry"
    )


def test_a_reversal_cannot_be_dated_before_its_entry(firm, office, bank):
    entry = pay_rent(firm, office, bank)
    with refused(ValidationFailed, code="validation_error") as info:
        journal_entry_reverse(firm=firm, entry=entry, date=D - dt.timedelta(days=1))
    assert info.value.message == "a reversal cannot be dated before the entry it reverses"
    assert info.value.field == "date"


def test_an_entry_of_another_firm_cannot_be_reversed(firm, other_firm, office, bank):
    entry = pay_rent(firm, office, bank)
    with refused(ValidationFailed, code="validation_error", match="entry is not in this firm"):
        journal_entry_reverse(firm=other_firm, entry=entry, date=D)


def test_reversing_a_deposit_already_disbursed_is_an_overdraw(firm, admin, trust, client_file):
    receipt = deposit(firm, admin, trust, client_file, 100_000)
    trust_check(firm, admin, trust, client_file, 60_000)
    with refused(TrustOverdraw, code="insufficient_trust_funds") as info:
        checks.trust_receipt_void(firm=firm, actor=admin, receipt_id=receipt.pk, void_date=D)
    assert info.value.message == (
        f"file {client_file.number} has $400.00 available in trust; $1,000.00 was requested"
    )
    assert info.value.details == {
        "available_cents": 40_000,
        "requested_cents": 100_000,
        "file_id": client_file.pk,
    }
    assert trust_balance(client_file) == 40_000


def _document_entry(kind, firm, admin, attorney, trust, client_file):
    receipt = deposit(firm, admin, trust, client_file, 100_000)
    if kind == "trust receipt":
        return receipt.entry
    if kind == "check":
        return trust_check(firm, admin, trust, client_file, 60_000).entry
    invoice = invoices.invoice_create(
        firm=firm,
        actor=admin,
        file_id=client_file.pk,
        pay_from_trust=True,
        invoice_date=D,
        lines=[
            invoices.LineSpec(
                kind="fee", description="Fee", amount_cents=10_000, timekeeper_id=attorney.pk
            )
        ],
    )
    return invoices.invoice_finalise(firm=firm, actor=admin, invoice_id=invoice.pk, on=D).entry


@pytest.mark.parametrize("kind", ["trust receipt", "check", "invoice"])
def test_a_documents_entry_is_reversed_only_by_voiding_the_document(
    firm, admin, attorney, trust, client_file, kind
):
    entry = _document_entry(kind, firm, admin, attorney, trust, client_file)
    with refused(Conflict, code="conflict", match=f"belongs to {kind} .*; void the {kind} instead"):
        journal_entry_reverse(firm=firm, entry=entry, date=D)


def test_client_money_cannot_leave_a_ledger_without_leaving_the_trust_bank(
    firm, admin, trust, client_file
):
    deposit(firm, admin, trust, client_file, 100_000)
    liability = account(firm, AccountRole.CLIENT_TRUST_LIABILITY)
    income = account(firm, AccountRole.FEE_INCOME)
    with refused(TrustNotMatched, code="trust_not_matched") as info:
        journal_entry_post(
            firm=firm,
            date=D,
            lines=[
                Line(account=liability, debit_cents=40_000, file=client_file),
                Line(account=income, credit_cents=40_000),
            ],
        )
    assert info.value.message == (
        "1010 Client Trust Bank (IOLTA) moves $0.00 but the client ledgers of 2100 Client Trust "
        "Liability move -$400.00; money in a trust account must be posted to a client file as well"
    )


def test_money_cannot_leave_the_trust_bank_without_a_client_file(firm, admin, trust, client_file):
    deposit(firm, admin, trust, client_file, 100_000)
    with refused(
        TrustNotMatched, code="trust_not_matched", match="moves -\\$100.00 but the client"
    ):
        journal_entry_post(
            firm=firm,
            date=D,
            lines=[
                Line(account=account(firm, AccountRole.OPERATING_BANK), debit_cents=10_000),
                Line(account=account(firm, AccountRole.TRUST_BANK), credit_cents=10_000),
            ],
        )


def test_moving_trust_money_between_two_clients_needs_no_bank_movement(
    firm, admin, trust, client_file
):
    other, _ = files.file_find_or_create(
        firm=firm, actor=admin, name="Chen v. Transit", client=client_file.client
    )
    deposit(firm, admin, trust, client_file, 100_000)
    liability = account(firm, AccountRole.CLIENT_TRUST_LIABILITY)
    journal_entry_post(
        firm=firm,
        date=D,
        lines=[
            Line(account=liability, debit_cents=25_000, file=client_file),
            Line(account=liability, credit_cents=25_000, file=other),
        ],
    )
    assert trust_balance(client_file) == 75_000
    assert trust_balance(other) == 25_000
