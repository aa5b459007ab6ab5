"""The readiness check against realistic data: attorneys with open and closed cases, codes
posting to the wrong kind of account (issue 10, items 1 and 2)."""

from __future__ import annotations

import pytest

from casebridge.books.models import AccountRole, AccountType, ActivityCode, Check, GLAccount
from casebridge.books.models import User as BooksUser
from casebridge.bridge.errors import NotReady, ValidationFailed
from casebridge.bridge.models import CostCodeMapping, OutboxItem
from casebridge.bridge.services import connection as conn_services
from casebridge.bridge.services import outbox
from casebridge.bridge.services.delivery import outbox_deliver
from casebridge.bridge.services.mappings import cost_code_mapping_save
from casebridge.bridge.services.outbox import cost_external_ref
from casebridge.bridge.services.readiness import readiness_run
from casebridge.cases.models import CostCode, CostStatus
from casebridge.cases.services import cases as case_services

from .conftest import activate, add_cost


def _check(conn, key):
    [check] = [c for c in readiness_run(conn=conn).checks if c.key == key]
    return check


def test_an_attorney_with_a_closed_case_among_open_ones_is_still_checked(books, cases):
    """Sam has one closed case and one open one; Records Time is off for him in the books
    and his books email differs: both checks fail and name him."""
    closed = case_services.case_create(
        firm=cases.firm,
        actor=cases.admin,
        name="Lopez v. Old Matter",
        client_id=cases.case.client_id,
        responsible_attorney_id=cases.attorney.pk,
        status="closed",
    )
    assert closed.status == "closed"
    conn = activate(books, cases)
    BooksUser.objects.filter(pk=books.attorney.pk).update(records_time=False)
    records = _check(conn, "records_time")
    assert (records.ok, records.detail) == (
        False,
        "Records Time is off for: Sam Smith (sam.smith@lopez.test)",
    )
    BooksUser.objects.filter(pk=books.attorney.pk).update(email="samuel.smith@lopez.test")
    emails = _check(conn, "attorney_emails")
    assert (emails.ok, emails.detail) == (
        False,
        "No books user for: Sam Smith (sam.smith@lopez.test)",
    )


def test_an_attorney_with_only_closed_cases_is_not_asked_for(books, cases):
    case_services.case_update(case=cases.case, actor=cases.admin, status="closed")
    conn = activate(books, cases)
    BooksUser.objects.filter(pk=books.attorney.pk).update(records_time=False)
    assert _check(conn, "records_time").ok is True
    assert _check(conn, "attorney_emails").detail == "All attorneys found."


# --- Item 1: a cost advance posts to Advanced client costs, never to COPP's income ------------


def _entry_lines(check):
    """The check's journal entry as (account number, debit, credit), debits first."""
    return sorted(
        (
            (p.account.number, p.debit_cents, p.credit_cents)
            for p in check.entry.postings.select_related("account")
        ),
        key=lambda row: (-row[1], row[0]),
    )


def _send_and_deliver(cases, costs):
    outbox.costs_send(firm=cases.firm, actor=cases.admin, cost_ids=[c.pk for c in costs])
    report = outbox_deliver(firm_id=cases.firm.pk)
    assert (report.sent, report.failed) == (len(costs), 0)


def test_a_cost_advance_debits_advanced_client_costs_not_copp_income(books, cases, connected):
    """Domain.md section 4: cost advanced = Dr Advanced client costs / Cr Operating bank. The
    books' COPP code posts to 4100 COPP Charges Income (it is what the fee invoice charges);
    a cost whose code has no mapping and no UTBMS twin goes with the cost posting reference
    chosen in pop-up 2, and one of a UTBMS code with the books' code of that UTBMS code."""
    assert connected.cost_posting_code_label == "E124 Other -> GL 1300 Advanced Client Costs"
    filing = add_cost(cases, 43_500, code="FILING")
    court = add_cost(cases, 12_000, code="E112")
    _send_and_deliver(cases, [filing, court])

    by_ref = {c.external_ref: c for c in Check.objects.filter(firm=books.firm)}
    filing_check = by_ref[cost_external_ref(filing.pk)]
    court_check = by_ref[cost_external_ref(court.pk)]
    assert (filing_check.activity_code.code, court_check.activity_code.code) == ("E124", "E112")
    assert _entry_lines(filing_check) == [("1300", 43_500, 0), ("1000", 0, 43_500)]
    assert _entry_lines(court_check) == [("1300", 12_000, 0), ("1000", 0, 12_000)]
    income = GLAccount.objects.filter(firm=books.firm, type=AccountType.INCOME)
    assert {a.number: a.balance_cents for a in income if a.balance_cents} == {}


def test_the_cost_posting_reference_must_post_to_advanced_client_costs(books, cases):
    """Pop-up 2 refuses an income code as the cost posting reference; when the books later
    point it at income, readiness fails naming the fix, and a send is refused with nothing
    written."""
    copp = ActivityCode.objects.get(firm=books.firm, code="COPP")
    conn = activate(books, cases)
    with pytest.raises(ValidationFailed) as refused:
        conn_services.connection_defaults_save(
            firm=cases.firm,
            actor=cases.admin,
            cost_posting_code_id=copp.pk,
            operating_account_id=books.operating.pk,
            trust_account_id=books.trust.pk,
            invoice_release="review",
        )
    assert refused.value.field == "cost_posting_code"
    assert refused.value.message == (
        "COPP → GL 4100 COPP Charges Income is not an Advanced client costs asset account: "
        "a cost advance is Dr Advanced client costs / Cr Operating bank. Choose a code that "
        "posts to Advanced client costs"
    )
    conn.refresh_from_db()
    assert conn.cost_posting_code_label == "E124 Other -> GL 1300 Advanced Client Costs"

    # the accountant points E124 at income in the books afterwards
    e124 = ActivityCode.objects.get(firm=books.firm, code="E124")
    ActivityCode.objects.filter(pk=e124.pk).update(
        gl_account=GLAccount.objects.get(firm=books.firm, number="4100")
    )
    check = _check(conn, "cost_posting")
    assert (check.ok, check.detail) == (
        False,
        "E124 Other → GL 4100 COPP Charges Income. That is an income account, so every cost "
        "advance would post there instead of to Advanced client costs.",
    )
    assert check.fix == (
        "In the books: Gear → Rates/Codes → Activity Code → pencil on E124 → GL account "
        "Advanced Client Costs → Save; or account Settings → Integrations → Books → "
        "Defaults: choose a cost posting reference that posts to Advanced client costs."
    )
    cost = add_cost(cases, 5_000, code="FILING")
    with pytest.raises(NotReady) as not_ready:
        outbox.costs_send(firm=cases.firm, actor=cases.admin, cost_ids=[cost.pk])
    assert not_ready.value.details["checks"] == ["cost_posting"]
    cost.refresh_from_db()
    assert cost.status == CostStatus.OPEN
    assert OutboxItem.objects.count() == 0


def test_copp_must_post_to_income_since_the_fee_invoice_charges_it(books, cases):
    """COPP pointed at the advanced-costs asset would make the fee invoice's COPP charge
    credit the asset: readiness fails for invoices (and only for invoices)."""
    conn = activate(books, cases)
    ActivityCode.objects.filter(firm=books.firm, code="COPP").update(
        gl_account=GLAccount.objects.get(firm=books.firm, role=AccountRole.ADVANCED_COSTS)
    )
    report = readiness_run(conn=conn)
    [copp] = [c for c in report.checks if c.key == "copp_code"]
    assert (copp.ok, copp.needed_for) == (False, ("invoices",))
    assert copp.detail == "Found: COPP COPP → GL 1300 Advanced Client Costs."
    assert copp.fix == (
        "It is a charge billed on the fee invoice, so it must post to an income account, not "
        "to an asset account. In the books: Gear → Rates/Codes → Activity Code → pencil on "
        "COPP → GL account: an income account such as COPP Charges Income → Save."
    )
    assert [c.key for c in report.failing("costs")] == []


def test_a_cost_code_cannot_be_mapped_to_an_income_code(books, cases, connected):
    copp = ActivityCode.objects.get(firm=books.firm, code="COPP")
    expert = ActivityCode.objects.get(firm=books.firm, code="E119")
    code = CostCode.objects.get(firm=cases.firm, code="MEDREC")
    with pytest.raises(ValidationFailed) as refused:
        cost_code_mapping_save(
            firm=cases.firm, actor=cases.admin, cost_code_id=code.pk, activity_code_id=copp.pk
        )
    assert refused.value.message.startswith(
        "COPP posts to GL 4100 COPP Charges Income, not to Advanced client costs"
    )
    assert CostCodeMapping.objects.count() == 0
    mapping = cost_code_mapping_save(
        firm=cases.firm, actor=cases.admin, cost_code_id=code.pk, activity_code_id=expert.pk
    )
    assert (mapping.activity_code_id, mapping.activity_code_label) == (expert.pk, "E119 Experts")
    # the books later point E119 at income: readiness names the mapping
    ActivityCode.objects.filter(pk=expert.pk).update(
        gl_account=GLAccount.objects.get(firm=books.firm, number="4100")
    )
    check = _check(connected, "cost_mappings")
    assert (check.ok, check.detail) == (
        False,
        "MEDREC: E119 Experts posts to GL 4100 COPP Charges Income.",
    )
