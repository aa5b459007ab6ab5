"""The Send written set-based (issue 12): the costs' UPDATE, their audit events, links and
outbox items (payloads built by the database) are exactly what the Send wrote one object
at a time; it commits in chunks, and a chunk refused midway leaves the earlier ones queued
and the rest Open, and says so."""

from __future__ import annotations

import re

import pytest

from casebridge.bridge.models import CostLink, OutboxItem, OutboxKind, OutboxState
from casebridge.bridge.services import delivery, outbox
from casebridge.cases.errors import Locked
from casebridge.cases.models import CostStatus
from casebridge.cases.services import costs as cost_services
from casebridge.core import clock
from casebridge.core.models import AuditEvent

from .conftest import add_cost


def _send(cases, costs, **kw):
    return outbox.costs_send(
        firm=cases.firm, actor=cases.admin, cost_ids=[c.pk for c in costs], **kw
    )


def _statuses(costs):
    out = []
    for cost in costs:
        cost.refresh_from_db()
        out.append(cost.status)
    return out


def test_the_payload_link_and_audit_are_the_ones_the_send_always_wrote(books, cases, connected):
    plain = add_cost(cases, 123_456_789, payee="Dr. Wu")
    invoiced = add_cost(cases, 5)
    cost_services.cost_update(
        firm=cases.firm,
        actor=cases.admin,
        cost_id=invoiced.pk,
        memo="",
        invoice_reference="INV-7",
    )
    number = cases.case.number

    result = _send(cases, [invoiced, plain])

    assert (result.count, result.total_cents, result.not_sent, result.problem) == (
        2,
        123_456_794,
        0,
        "",
    )
    assert _statuses([plain, invoiced]) == [CostStatus.PENDING, CostStatus.PENDING]
    assert plain.sent_at is not None
    items = list(OutboxItem.objects.filter(firm=cases.firm).order_by("pk"))
    # in cost id order, one each, with the payload the books' POST /checks/batch takes
    assert [(i.cost_id, i.case_id, i.kind, i.state, i.attempts) for i in items] == [
        (plain.pk, cases.case.pk, OutboxKind.COST_SEND, OutboxState.QUEUED, 0),
        (invoiced.pk, cases.case.pk, OutboxKind.COST_SEND, OutboxState.QUEUED, 0),
    ]
    mapped = items[0].payload["activity_code_id"]
    assert isinstance(mapped, int)
    today = clock.today().isoformat()
    assert [i.payload for i in items] == [
        {
            "external_ref": f"cases-cost-{plain.pk}",
            "bank_account_id": connected.operating_account_id,
            "payee": "Dr. Wu",
            "amount_cents": 123_456_789,
            "activity_code_id": mapped,
            "memo": f"Medical records · E112 {number}",
            "posting_reference": "",
            "request_date": today,
        },
        {
            "external_ref": f"cases-cost-{invoiced.pk}",
            "bank_account_id": connected.operating_account_id,
            "payee": "Records Inc",
            "amount_cents": 5,
            "activity_code_id": mapped,
            "memo": f"Inv. INV-7 · E112 {number}",
            "posting_reference": "",
            "request_date": today,
        },
    ]
    assert all(re.fullmatch(r"[0-9a-f]{32}", i.key) for i in items)
    assert len({i.key for i in items}) == 2
    assert all(i.created_by_id == cases.admin.pk for i in items)
    assert all(i.next_attempt_at == i.created_at for i in items)
    links = list(CostLink.objects.order_by("cost_id"))
    assert [(lk.cost_id, lk.external_ref, lk.bank_account_id, lk.problem) for lk in links] == [
        (plain.pk, f"cases-cost-{plain.pk}", connected.operating_account_id, ""),
        (invoiced.pk, f"cases-cost-{invoiced.pk}", connected.operating_account_id, ""),
    ]
    events = list(
        AuditEvent.objects.filter(system="cases", action="send", entity_type="cost").order_by(
            "entity_id"
        )
    )
    assert sorted(
        (e.entity_id, e.summary, e.after, e.actor_id, e.actor_label) for e in events
    ) == sorted(
        [
            (
                str(plain.pk),
                f"Cost to {plain.payee.name} for $1,234,567.89 sent to the books",
                {"status": "pending", "amount_cents": 123_456_789},
                cases.admin.pk,
                cases.admin.email,
            ),
            (
                str(invoiced.pk),
                f"Cost to {invoiced.payee.name} for $0.05 sent to the books",
                {"status": "pending", "amount_cents": 5},
                cases.admin.pk,
                cases.admin.email,
            ),
        ]
    )


def test_a_long_memo_is_cut_at_255_and_stripped(books, cases, connected):
    cost = add_cost(cases, 1_000)
    cost_services.cost_update(firm=cases.firm, actor=cases.admin, cost_id=cost.pk, memo="x" * 300)
    _send(cases, [cost])
    item = OutboxItem.objects.get(cost=cost)
    assert item.payload["memo"] == "x" * 255


def test_a_refused_cost_anywhere_in_the_selection_writes_nothing(
    books, cases, connected, monkeypatch
):
    monkeypatch.setattr(outbox, "SEND_CHUNK", 2)
    costs = [add_cost(cases, 1_000 + n) for n in range(5)]
    _send(cases, [costs[3]])  # Pending now: the fourth of the next selection
    before = AuditEvent.objects.count()

    with pytest.raises(
        Locked, match=r"the cost to Records Inc for \$10\.03 is Pending and was already sent"
    ):
        _send(cases, costs)

    assert _statuses(costs) == [CostStatus.OPEN] * 3 + [CostStatus.PENDING, CostStatus.OPEN]
    assert OutboxItem.objects.count() == 1
    assert CostLink.objects.count() == 1
    assert AuditEvent.objects.count() == before


def test_chunks_commit_one_by_one_and_a_failure_midway_is_reported(
    books, cases, connected, monkeypatch
):
    """A cost changed by someone else after the Send checked the selection: the chunk
    holding it is refused whole, the chunk before stays queued, the rest stay Open."""
    monkeypatch.setattr(outbox, "SEND_CHUNK", 2)
    scheduled: list[int] = []
    monkeypatch.setattr(delivery, "_enqueue", lambda firm_id, delay: scheduled.append(firm_id))
    costs = [add_cost(cases, 1_000 * (n + 1)) for n in range(5)]
    refusal = cost_services.costs_send_refusal
    voided: list[int] = []

    def checked_then_someone_voids_the_fourth(**kw):
        found = refusal(**kw)  # the selection as the Send checks it: every cost Open
        if not voided:
            cost_services.cost_void(
                firm=cases.firm, actor=cases.admin, cost_id=costs[3].pk, reason="duplicate"
            )
            voided.append(costs[3].pk)
        return found

    monkeypatch.setattr(cost_services, "costs_send_refusal", checked_then_someone_voids_the_fourth)

    result = _send(cases, costs)

    assert (result.count, result.total_cents, result.not_sent) == (2, 3_000, 3)
    assert result.problem.startswith("3 costs not sent, still Open: ")
    assert "the cost to Records Inc for $40.00 is Void" in result.problem
    assert result.problem.endswith("The 2 sent before are queued.")
    assert _statuses(costs) == [
        CostStatus.PENDING,
        CostStatus.PENDING,
        CostStatus.OPEN,
        CostStatus.VOID,
        CostStatus.OPEN,
    ]
    assert sorted(OutboxItem.objects.values_list("cost_id", flat=True)) == [
        costs[0].pk,
        costs[1].pk,
    ]
    assert sorted(CostLink.objects.values_list("cost_id", flat=True)) == [
        costs[0].pk,
        costs[1].pk,
    ]
    assert AuditEvent.objects.filter(system="cases", action="send").count() == 2
    # the drain was asked for as the first chunk committed
    assert scheduled == [cases.firm.pk]


def test_a_selection_of_several_chunks_is_sent_whole(books, cases, connected, monkeypatch):
    monkeypatch.setattr(outbox, "SEND_CHUNK", 2)
    scheduled: list[int] = []
    monkeypatch.setattr(delivery, "_enqueue", lambda firm_id, delay: scheduled.append(firm_id))
    costs = [add_cost(cases, 100 * (n + 1)) for n in range(5)]

    result = _send(cases, costs)

    assert (result.count, result.total_cents, result.not_sent, result.problem) == (
        5,
        1_500,
        0,
        "",
    )
    assert _statuses(costs) == [CostStatus.PENDING] * 5
    assert OutboxItem.objects.filter(kind=OutboxKind.COST_SEND).count() == 5
    assert AuditEvent.objects.filter(system="cases", action="send").count() == 5
    assert scheduled == [cases.firm.pk, cases.firm.pk]  # the first chunk and the last


def test_sent_again_after_a_withdrawal_keeps_its_link_and_clears_the_problem(
    books, cases, connected
):
    cost = add_cost(cases, 2_000)
    _send(cases, [cost])
    OutboxItem.objects.filter(cost=cost).update(state=OutboxState.CANCELLED)
    CostLink.objects.filter(cost=cost).update(problem="the books refused it")
    cost_services.cost_return_to_open(
        firm=cases.firm, actor=cases.admin, cost_id=cost.pk, reason="withdrawn"
    )

    _send(cases, [cost])

    link = CostLink.objects.get(cost=cost)
    assert (link.external_ref, link.problem) == (f"cases-cost-{cost.pk}", "")
    assert OutboxItem.objects.filter(cost=cost, state=OutboxState.QUEUED).count() == 1
