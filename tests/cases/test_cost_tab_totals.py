"""The Costs Management tabs' maintained counts and totals (``CostTabTotal``, kept by
triggers on the costs table, migration 0008) equal a fresh aggregate of the costs after
every write path: the services one cost at a time, the bulk UPDATEs of a Send and of the
paid sync, a split, bulk inserts, raw SQL, deletes, a rolled-back transaction."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import IntegrityError, connection, transaction
from django.db.models import Count, Sum

from casebridge.cases.models import Cost, CostStatus, CostTabTotal, Firm
from casebridge.cases.selectors.costs import costs_management_page
from casebridge.cases.services import cases as case_services
from casebridge.cases.services import costs as cost_services
from casebridge.cases.services import firms
from casebridge.core import clock
from casebridge.core.errors import ValidationFailed
from tests.cases.conftest import cost_code


def fresh(firm: Firm) -> dict[str, tuple[int, int]]:
    """Each status's (count, sum of cents), summed now from the costs themselves."""
    rows = (
        Cost.objects.filter(firm=firm)
        .values("status")
        .annotate(n=Count("*"), cents=Sum("amount_cents"))
        .order_by()
    )
    return {r["status"]: (r["n"], r["cents"]) for r in rows}


def kept(firm: Firm) -> dict[str, tuple[int, int]]:
    """The maintained totals, statuses with no cost left out."""
    return {
        t.status: (t.count, t.total_cents)
        for t in CostTabTotal.objects.filter(firm=firm)
        if t.count or t.total_cents
    }


@pytest.fixture
def world(cfirm, cadmin, case, client_contact):
    payee = case_services.contact_create(firm=cfirm, actor=cadmin, name="Acme Records")
    linked = case_services.case_create(
        firm=cfirm,
        actor=cadmin,
        name="Lopez v. Acme (2)",
        client_id=client_contact.pk,
        status="open",
    )
    case_services.cases_link(case=case, other_case_id=linked.pk, actor=cadmin)
    other = firms.firm_create(code="other-pi", name="Other PI")
    return {"payee": payee, "linked": linked, "other": other}


def add(firm, actor, case, payee, cents: int) -> Cost:
    return cost_services.cost_create(
        firm=firm,
        actor=actor,
        case_id=case.pk,
        payee_id=payee.pk,
        amount_cents=cents,
        cost_code_id=cost_code(firm, "E101").pk,
    )


def test_totals_follow_every_write_path(cfirm, cadmin, case, world):
    payee = world["payee"]
    assert kept(cfirm) == fresh(cfirm) == {}
    costs = [add(cfirm, cadmin, case, payee, 1_000 * (n + 1)) for n in range(12)]
    assert kept(cfirm) == fresh(cfirm) == {CostStatus.OPEN: (12, 78_000)}

    # edit the amount (and a field that does not count)
    cost_services.cost_update(firm=cfirm, actor=cadmin, cost_id=costs[0].pk, amount_cents=1_234)
    cost_services.cost_update(firm=cfirm, actor=cadmin, cost_id=costs[1].pk, memo="Filing fee")
    assert kept(cfirm) == fresh(cfirm) == {CostStatus.OPEN: (12, 78_234)}

    # void one; pay one outside the books; split one across the linked case
    cost_services.cost_void(firm=cfirm, actor=cadmin, cost_id=costs[2].pk, reason="typo")
    cost_services.cost_pay(
        firm=cfirm, actor=cadmin, cost_id=costs[3].pk, method="card", reference="4242"
    )
    parts = cost_services.cost_split(firm=cfirm, actor=cadmin, cost_id=costs[4].pk)
    assert len(parts) == 2
    assert kept(cfirm) == fresh(cfirm)
    assert kept(cfirm)[CostStatus.OPEN] == (12 - 2 + 1, 78_234 - 3_000 - 4_000)

    # the Send (one bulk UPDATE), a send withdrawn, the paid sync (bulk UPDATEs), a void check
    sent = [c.pk for c in costs[5:11]]
    with transaction.atomic():
        cost_services.costs_mark_sent(firm=cfirm, actor=cadmin, cost_ids=sent)
    cost_services.cost_return_to_open(firm=cfirm, actor=cadmin, cost_id=sent[0], reason="oops")
    printed = [(pk, f"10{n}", clock.today()) for n, pk in enumerate(sent[1:4])]
    assert cost_services.costs_record_checks_printed(firm=cfirm, actor=None, printed=printed) == 3
    cost_services.cost_void_by_check(
        firm=cfirm, actor=None, cost_id=sent[1], voided_on=clock.today(), reason="check lost"
    )
    assert kept(cfirm) == fresh(cfirm)
    assert {s: kept(cfirm)[s][0] for s in kept(cfirm)} == {
        CostStatus.OPEN: 6,
        CostStatus.PENDING: 2,
        CostStatus.PAID: 3,
        CostStatus.VOID: 2,
    }

    # bulk inserts, raw SQL (an UPDATE ... of many rows and an INSERT), deletes
    Cost.objects.bulk_create(
        [
            Cost(
                firm=cfirm,
                case=case,
                payee=payee,
                amount_cents=cents,
                cost_code=cost_code(cfirm, "E102"),
                cost_date=dt.date(2026, 1, 2),
                created_at=clock.now(),
            )
            for cents in (505, 606, 707)
        ]
    )
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE cases_cost SET status = %s, amount_cents = amount_cents + 1 "
            "WHERE firm_id = %s AND status = %s AND amount_cents < 1000",
            [CostStatus.PENDING, cfirm.pk, CostStatus.OPEN],
        )
        assert cursor.rowcount == 3
    Cost.objects.filter(pk=costs[11].pk).delete()
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM cases_cost WHERE id = %s", [costs[10].pk])
    assert kept(cfirm) == fresh(cfirm)
    assert kept(cfirm)[CostStatus.PENDING] == (2 + 3 - 1, 10_000 + 506 + 607 + 708)

    # nothing of it leaks into another firm's totals; a rolled-back write leaves no trace
    other = world["other"]
    assert kept(other) == fresh(other) == {}
    before = kept(cfirm)

    def write_then_fail() -> None:
        with transaction.atomic():
            add(cfirm, cadmin, case, payee, 99_999)
            Cost.objects.filter(firm=cfirm).update(status=CostStatus.VOID)
            raise RuntimeError("rolled back")

    with pytest.raises(RuntimeError):
        write_then_fail()
    assert kept(cfirm) == before == fresh(cfirm)

    # the screen reads them: the tab's count and total, each tab's count
    page = costs_management_page(firm=cfirm, status=CostStatus.PENDING)
    assert (page.count, page.total_cents) == kept(cfirm)[CostStatus.PENDING]
    assert page.tab_counts == {
        s: kept(cfirm).get(s, (0, 0))[0]
        for s in (CostStatus.OPEN, CostStatus.PENDING, CostStatus.PAID)
    }


def test_a_refused_write_moves_no_total(cfirm, cadmin, case, world):
    cost = add(cfirm, cadmin, case, world["payee"], 5_000)
    before = kept(cfirm)
    with pytest.raises(ValidationFailed, match="greater than"):
        cost_services.cost_update(firm=cfirm, actor=cadmin, cost_id=cost.pk, amount_cents=0)
    with pytest.raises(IntegrityError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("UPDATE cases_cost SET amount_cents = 0 WHERE id = %s", [cost.pk])
    assert kept(cfirm) == before == fresh(cfirm) == {CostStatus.OPEN: (1, 5_000)}


def test_the_triggers_are_in_place(db):
    """A migration that rebuilds the costs table on SQLite drops its triggers: this says so."""
    if connection.vendor == "postgresql":
        sql = "SELECT tgname FROM pg_trigger WHERE tgrelid = 'cases_cost'::regclass"
    else:
        sql = "SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'cases_cost'"
    with connection.cursor() as cursor:
        cursor.execute(sql)
        names = {row[0] for row in cursor.fetchall()}
    assert {"cases_cost_tab_insert", "cases_cost_tab_update", "cases_cost_tab_delete"} <= names
