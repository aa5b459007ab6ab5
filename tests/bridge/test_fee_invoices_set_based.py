"""Issue 12: Create fee invoice for many cases plans them together, in a constant number of
queries however many cases are ticked, and writes exactly what planning each case on its
own wrote: the same refusals (word for word), the same invoices (lines, amounts to the
cent, activity codes), the same outbox payloads.

Each group of cases holds one of each: a case fully settled (two costs sent through the
books, one paid by card outside them, the cost reimbursement staged 30.00 short, so the
last cost is repaid in part; COPP charges), a case already invoiced, a case with nothing to
invoice, a case whose attorney has no books user, and a case with a cost never sent.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from casebridge.books.models import ActivityCode
from casebridge.bridge.models import FeeInvoice, InvoiceRelease, OutboxItem, OutboxKind
from casebridge.bridge.services import outbox
from casebridge.bridge.services import settlement as bridge_settlement
from casebridge.bridge.services.delivery import outbox_deliver
from casebridge.cases.models import Case, Cost, TrustItem, TrustItemKind, TrustItemStatus, User
from casebridge.cases.services import cases as case_services
from casebridge.cases.services import costs as cost_services
from casebridge.cases.services import firms, settlement
from casebridge.core.errors import DomainError
from casebridge.core.models import AuditEvent
from tests.cases.helpers import deposit, offer, stage, terms

from .conftest import PASSWORD, activate, add_cost

GROSS = 10_000_000
COPP = 25_000
SHORT = 3_000  # the cost reimbursement staged this much below the costs


@dataclass
class Group:
    full: Case
    invoiced: Case
    nothing: Case
    no_books_user: Case
    never_sent: Case

    @property
    def ids(self) -> list[int]:
        return [c.pk for c in (self.full, self.invoiced, self.nothing, self.no_books_user)] + [
            self.never_sent.pk
        ]


def _case(cases, name: str, attorney: User) -> Case:
    return case_services.case_create(
        firm=cases.firm,
        actor=cases.admin,
        name=name,
        client_id=cases.case.client_id,
        responsible_attorney_id=attorney.pk,
        status="open",
    )


def _to_disbursement(cases, case: Case, *, reimburse: int | None, copp: bool = False) -> None:
    firm, admin = cases.firm, cases.admin
    if copp:
        terms(firm, admin, case, copp_cents=COPP)
    accepted = offer(firm, admin, case, GROSS)
    deposit(firm, admin, case, accepted, GROSS, check=f"7{case.pk:05d}")
    stage(firm, admin, case, "fee")
    if reimburse is not None:
        stage(firm, admin, case, "cost_reimbursement", reimburse)
    if copp:
        stage(firm, admin, case, "copp")
    settlement.push_to_client_trust(firm=firm, actor=admin, case_id=case.pk)
    settlement.push_to_disbursement(firm=firm, actor=admin, case_id=case.pk)


def _groups(cases, bob: User, sizes: list[int]) -> list[list[Group]]:
    """Every group's cases, their costs sent through the books together, then settled."""
    built: list[list[Group]] = []
    to_send: list[int] = []
    for g, size in enumerate(sizes):
        groups = []
        for n in range(size):
            tag = f"{g}.{n}"
            group = Group(
                full=_case(cases, f"Full {tag}", cases.attorney),
                invoiced=_case(cases, f"Invoiced {tag}", cases.attorney),
                nothing=_case(cases, f"Nothing {tag}", cases.attorney),
                no_books_user=_case(cases, f"Bob {tag}", bob),
                never_sent=_case(cases, f"Unsent {tag}", cases.attorney),
            )
            records = add_cost(cases, 50_000, case=group.full)
            wu = add_cost(cases, 35_000, payee="Dr. Wu", case=group.full)
            card = add_cost(cases, 4_500, payee="Court Clerk", case=group.full)
            cost_services.cost_pay(
                firm=cases.firm,
                actor=cases.admin,
                cost_id=card.pk,
                method="card",
                reference="VISA 4242",
                paid_date=card.cost_date,
            )
            invoiced_cost = add_cost(cases, 20_000, case=group.invoiced)
            add_cost(cases, 12_000, case=group.never_sent)
            to_send += [records.pk, wu.pk, invoiced_cost.pk]
            groups.append(group)
        built.append(groups)
    outbox.costs_send(firm=cases.firm, actor=cases.admin, cost_ids=to_send)
    report = outbox_deliver(firm_id=cases.firm.pk)
    assert (report.sent, report.failed) == (len(to_send), 0)
    for groups in built:
        for group in groups:
            _to_disbursement(
                cases, group.full, reimburse=50_000 + 35_000 + 4_500 - SHORT, copp=True
            )
            _to_disbursement(cases, group.invoiced, reimburse=20_000)
            _to_disbursement(cases, group.no_books_user, reimburse=None)
            _to_disbursement(cases, group.never_sent, reimburse=12_000)
            bridge_settlement.fee_invoice_create(
                firm=cases.firm, actor=cases.admin, case_id=group.invoiced.pk
            )
    return built


def _item(case: Case, kind: str) -> TrustItem:
    return TrustItem.objects.get(case=case, kind=kind)


def _expected_invoice(books, cases, conn, case: Case) -> dict[str, object]:
    """The invoice planning the case on its own wrote (issue 5's rules), field by field."""
    e112 = ActivityCode.objects.get(firm=books.firm, code="E112").pk
    copp_code = ActivityCode.objects.get(firm=books.firm, code="COPP").pk
    assert conn.copp_activity_code_id == copp_code
    records, wu, card = Cost.objects.filter(case=case).order_by("pk")
    fee, reimbursement, copp = (
        _item(case, TrustItemKind.FEE),
        _item(case, TrustItemKind.COST_REIMBURSEMENT),
        _item(case, TrustItemKind.COPP),
    )
    # the staged amounts as the cases side figured them (33.33% of the gross)
    assert (fee.amount_cents, reimbursement.amount_cents, copp.amount_cents) == (
        3_333_000,
        86_500,
        25_000,
    )

    def cost_line(cost: Cost, cents: int, tail: str) -> dict[str, object]:
        return {
            "kind": "cost",
            "description": f"Reimbursed cost: {cost.payee.name}, E112 2026-11-02{tail}",
            "amount_cents": cents,
            "source": f"cases-cost-{cost.pk}",
            "trust_item_id": reimbursement.pk,
            "cost_id": cost.pk,
            "activity_code_id": e112,
        }

    lines = [
        {
            "kind": "fee",
            "description": f"Attorney fee, {case.number} {case.name}",
            "amount_cents": 3_333_000,
            "source": f"cases-trust-item-{fee.pk}",
            "trust_item_id": fee.pk,
            "cost_id": None,
            "activity_code_id": None,
        },
        cost_line(records, 50_000, ""),
        cost_line(wu, 35_000, ""),
        # 30.00 short comes off the last cost, paid outside the books
        cost_line(card, 1_500, " (of $45.00) (paid outside the books)"),
        {
            "kind": "cost",
            "description": "COPP charges",
            "amount_cents": 25_000,
            "source": f"cases-trust-item-{copp.pk}",
            "trust_item_id": copp.pk,
            "cost_id": None,
            "activity_code_id": copp_code,
        },
    ]
    return {
        "release": InvoiceRelease.AUTOMATIC,
        "total_cents": 3_333_000 + 86_500 + 25_000,
        "lines": lines,
        "trust_item_ids": [fee.pk, reimbursement.pk, copp.pk],
        "stage": "",
        "created_by_id": cases.admin.pk,
    }


def _written(invoice: FeeInvoice) -> dict[str, object]:
    invoice.refresh_from_db()
    return {
        "release": invoice.release,
        "total_cents": invoice.total_cents,
        "lines": invoice.lines,
        "trust_item_ids": invoice.trust_item_ids,
        "stage": invoice.stage,
        "created_by_id": invoice.created_by_id,
    }


def _refusals(group: Group) -> dict[int, str]:
    invoiced = FeeInvoice.objects.get(case=group.invoiced)
    assert invoiced.external_ref == f"cases-fee-invoice-{invoiced.pk}"
    return {
        group.invoiced.pk: "this case already has a fee invoice (on its way to the books); it "
        "must be voided in the books before another is created",
        group.nothing.pk: "nothing on this case is waiting to be invoiced: push the staged fee, "
        "charges and cost reimbursement to disbursement first",
        group.no_books_user.pk: "the responsible attorney Bob Lee (bob@elsewhere.test) has no "
        "books user with that email. In the books: Gear → Users → add the user with exactly "
        "this email (or correct the email on either side)",
        group.never_sent.pk: "1 of this case's costs ($120.00) were never sent to the books, so "
        "the books hold no advance to reimburse; send or void them first (Costs tab)",
    }


def _click(cases, case_ids: list[int]) -> tuple[bridge_settlement.FeeInvoiceBatch, int]:
    with CaptureQueriesContext(connection) as queries:
        batch = bridge_settlement.fee_invoices_create(
            firm=cases.firm, actor=cases.admin, case_ids=case_ids
        )
    return batch, len(queries.captured_queries)


def test_fee_invoices_for_many_cases_take_as_many_queries_as_for_a_few(books, cases):
    conn = activate(books, cases, release=InvoiceRelease.AUTOMATIC)
    bob = firms.user_create(
        firm=cases.firm,
        actor=None,
        email="bob@elsewhere.test",
        password=PASSWORD,
        first_name="Bob",
        last_name="Lee",
        is_attorney=True,
    )
    small, large = _groups(cases, bob, [1, 3])
    audits_before = AuditEvent.objects.filter(system="bridge", action="fee_invoice").count()
    outbox_before = set(OutboxItem.objects.values_list("pk", flat=True))

    results = []
    for groups in (small, large):
        ids = [pk for group in groups for pk in group.ids]
        batch, queries = _click(cases, ids)
        results.append((groups, batch, queries))

    (_, _, few), (_, _, many) = results
    assert few == many, f"{few} queries for 5 cases, {many} for 15"
    for groups, batch, _ in results:
        # one invoice for each fully settled case, in the order ticked
        assert [i.case_id for i in batch.created] == [g.full.pk for g in groups]
        expected_refusals: dict[int, str] = {}
        for group in groups:
            expected_refusals.update(_refusals(group))
        assert batch.refused == expected_refusals
        assert list(batch.refused) == [
            pk for g in groups for pk in g.ids if pk in expected_refusals
        ]
        for group, invoice in zip(groups, batch.created, strict=True):
            assert invoice.external_ref == f"cases-fee-invoice-{invoice.pk}"
            assert _written(invoice) == _expected_invoice(books, cases, conn, group.full)
            [item] = OutboxItem.objects.filter(fee_invoice=invoice)
            assert (item.kind, item.case_id, item.state, item.created_by_id) == (
                OutboxKind.FEE_INVOICE,
                group.full.pk,
                "queued",
                cases.admin.pk,
            )
            assert item.payload == {
                "external_ref": invoice.external_ref,
                "attorney_email": "sam.smith@lopez.test",
                "trust_bank_account_id": books.trust.pk,
                "operating_bank_account_id": books.operating.pk,
                "release": "auto",
                "description": f"Settlement of {group.full.number} {group.full.name}",
            }
            # a refused case wrote nothing
            for refused in (group.nothing, group.no_books_user, group.never_sent):
                assert not FeeInvoice.objects.filter(case=refused).exists()
            assert FeeInvoice.objects.filter(case=group.invoiced).count() == 1
    created = [i for _, batch, _ in results for i in batch.created]
    assert set(OutboxItem.objects.values_list("pk", flat=True)) - outbox_before == set(
        OutboxItem.objects.filter(fee_invoice__in=created).values_list("pk", flat=True)
    )
    events = list(
        AuditEvent.objects.filter(system="bridge", action="fee_invoice")
        .order_by("pk")
        .values_list("actor_id", "summary")[audits_before:]
    )
    assert events == [
        (
            cases.admin.pk,
            f"Fee invoice for case {i.case.number} ($34,445.00, 5 lines, released "
            "automatically) queued for the books",
        )
        for i in created
    ]
    # the payments invoiced stay To Be Disbursed until the books post the invoice
    assert set(
        TrustItem.objects.filter(case_id__in=[i.case_id for i in created]).values_list(
            "kind", "status"
        )
    ) >= {(TrustItemKind.FEE, TrustItemStatus.TO_BE_DISBURSED)}


def test_one_case_is_the_batch_of_one(books, cases):
    """Create fee invoice on one case refuses with the batch's words, and plans the lines
    the batch writes."""
    activate(books, cases, release=InvoiceRelease.AUTOMATIC)
    bob = firms.user_create(
        firm=cases.firm,
        actor=None,
        email="bob@elsewhere.test",
        password=PASSWORD,
        first_name="Bob",
        last_name="Lee",
        is_attorney=True,
    )
    [[group]] = _groups(cases, bob, [1])
    plan = bridge_settlement.fee_invoice_plan(
        firm=cases.firm, actor=cases.admin, case_id=group.full.pk
    )
    for case_id, message in _refusals(group).items():
        with pytest.raises(DomainError) as refusal:
            bridge_settlement.fee_invoice_create(
                firm=cases.firm, actor=cases.admin, case_id=case_id
            )
        assert refusal.value.message == message
    invoice = bridge_settlement.fee_invoice_create(
        firm=cases.firm, actor=cases.admin, case_id=group.full.pk
    )
    assert [
        (ln.kind, ln.description, ln.amount_cents, ln.source, ln.cost_id, ln.activity_code_id)
        for ln in plan.lines
    ] == [
        (
            ln["kind"],
            ln["description"],
            ln["amount_cents"],
            ln["source"],
            ln["cost_id"],
            ln["activity_code_id"],
        )
        for ln in invoice.lines
    ]
    assert plan.total_cents == invoice.total_cents == 3_444_500
