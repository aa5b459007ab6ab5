"""Costs over the API: add, the Costs tab, Costs Management, the edit rules, void, pay and
split, and each refusal with the problem named and nothing written."""

from __future__ import annotations

import datetime as dt

import pytest

from casebridge.cases.models import Cost, CostStatus
from casebridge.cases.services import cases as case_services
from casebridge.cases.services import costs
from tests.cases.api.conftest import D, db_state, refused
from tests.cases.conftest import cost_code


@pytest.fixture
def cost_body(cfirm, case, payee) -> dict:
    return {
        "case_id": case.pk,
        "payee_id": payee.pk,
        "amount": "125.50",
        "cost_code_id": cost_code(cfirm, "MEDREC").pk,
        "cost_date": "2026-03-02",
        "invoice_reference": "INV-7",
        "priority": "high",
        "memo": "Medical records",
    }


@pytest.fixture
def linked(cfirm, cadmin, case, client_contact):
    """Two more cases linked to ``case`` (three passengers of one accident)."""
    others = [
        case_services.case_create(
            firm=cfirm, actor=cadmin, name=f"Passenger {n}", client_id=client_contact.pk
        )
        for n in (2, 3)
    ]
    for other in others:
        case_services.cases_link(case=case, other_case_id=other.pk, actor=cadmin)
    return others


def test_add_a_cost_and_read_it_back(api, cfirm, case, payee, cost_body):
    reply = api.post("/costs", cost_body)
    assert reply.status == 201
    body = dict(reply.body)
    cost_id = body.pop("id")
    assert body == {
        "case": {"id": case.pk, "number": case.number, "name": "Lopez v. Acme Trucking"},
        "payee": {"id": payee.pk, "name": "Records Inc"},
        "amount": "125.50",
        "shown_amount": "125.50",
        "invoice_reference": "INV-7",
        "priority": "high",
        "cost_code": {
            "id": cost_code(cfirm, "MEDREC").pk,
            "code": "MEDREC",
            "name": "Medical records",
        },
        "memo": "Medical records",
        "cost_date": "2026-03-02",
        "status": "open",
        "paid_date": None,
        "payment_method": "",
        "payment_reference": "",
        "sent_at": None,
        "voided_on": None,
        "void_reason": "",
        "split_from_id": None,
    }
    assert Cost.objects.get().amount_cents == 12_550
    assert api.get(f"/costs/{cost_id}").body == reply.body
    tab = api.get(f"/cases/{case.pk}/costs")
    assert (tab.body["count"], tab.body["items"][0]["id"], tab.body["next"]) == (1, cost_id, None)


@pytest.mark.parametrize("amount", ["0", "0.00", "-5.00", "-0.01"])
def test_a_zero_or_negative_cost_is_refused_saying_what_to_do(api, cost_body, amount):
    before = db_state()
    reply = api.post("/costs", {**cost_body, "amount": amount}, key="neg-1")
    refused(
        reply,
        422,
        "validation_error",
        "a cost must be greater than $0.00 (to take a cost back, void it)",
        field="amount",
    )
    assert db_state() == before


@pytest.mark.parametrize(
    ("amount", "message"),
    [
        (125.5, "amount: must be a decimal string such as '12.34'"),
        ("1.005", "amount: has more than two decimal places: 1.005"),
        ("1e5", "amount: is not a number: '1e5' (write it like 1234.56)"),
        ("", "amount: is required"),
    ],
)
def test_malformed_amounts_are_refused_naming_the_field(api, cost_body, amount, message):
    before = db_state()
    reply = api.post("/costs", {**cost_body, "amount": amount})
    assert (reply.status, reply.error["field"], reply.error["message"]) == (422, "amount", message)
    assert db_state() == before


def test_a_misspelt_field_is_refused(api, cost_body):
    body = {**cost_body, "ammount": "1.00"}
    reply = api.post("/costs", body)
    assert (reply.status, reply.error["field"]) == (422, "ammount")
    assert Cost.objects.count() == 0


def test_a_closed_case_takes_no_costs(api, cadmin, case, cost_body):
    case_services.case_update(case=case, actor=cadmin, status="closed")
    before = db_state()
    reply = api.post("/costs", cost_body)
    refused(reply, 409, "locked", f"case {case.number} is closed; reopen it to add costs")
    assert db_state() == before


def test_an_unpaid_cost_is_edited_in_full(api, open_cost, cfirm, payee):
    reply = api.patch(
        f"/costs/{open_cost.pk}",
        {"amount": "99.99", "memo": "  corrected  ", "cost_code_id": cost_code(cfirm, "E101").pk},
    )
    assert reply.status == 200
    assert (reply.body["amount"], reply.body["memo"], reply.body["cost_code"]["code"]) == (
        "99.99",
        "corrected",
        "E101",
    )
    assert api.patch(f"/costs/{open_cost.pk}", {}).status == 200  # nothing to change


def test_a_paid_cost_changes_only_its_paid_date_and_memo(api, open_cost):
    paid = api.post(
        f"/costs/{open_cost.pk}/pay",
        {"method": "check", "reference": "1001", "paid_date": "2026-03-03"},
    )
    assert paid.status == 200
    assert (paid.body["status"], paid.body["payment_reference"], paid.body["paid_date"]) == (
        "paid",
        "1001",
        "2026-03-03",
    )
    before = db_state()
    locked = api.patch(f"/costs/{open_cost.pk}", {"amount": "1.00"})
    refused(
        locked, 409, "locked", "a paid cost can only change its paid date and memo", field="amount"
    )
    assert db_state() == before

    edited = api.patch(f"/costs/{open_cost.pk}", {"paid_date": "2026-03-04", "memo": "late"})
    assert (edited.status, edited.body["paid_date"], edited.body["memo"]) == (
        200,
        "2026-03-04",
        "late",
    )
    void = api.post(f"/costs/{open_cost.pk}/void")
    refused(void, 409, "locked", "a paid cost is voided by voiding its check")
    again = api.post(f"/costs/{open_cost.pk}/pay", {"method": "card", "reference": "4242"})
    assert (again.status, again.error["code"]) == (409, "locked")


def test_a_null_in_an_edit_is_refused(api, open_cost):
    before = db_state()
    reply = api.patch(f"/costs/{open_cost.pk}", {"amount": None})
    assert reply.status == 422
    assert reply.error["field"] == "amount"
    assert "cannot be null" in reply.error["message"]
    assert db_state() == before


def test_an_unpaid_cost_has_no_paid_date_to_edit(api, open_cost):
    reply = api.patch(f"/costs/{open_cost.pk}", {"paid_date": "2026-03-04"})
    refused(reply, 422, "validation_error", "cannot change paid_date")


def test_a_void_cost_shows_zero_and_is_locked(api, open_cost, case):
    void = api.post(f"/costs/{open_cost.pk}/void", {"reason": "duplicate"})
    assert void.status == 200
    assert (void.body["status"], void.body["amount"], void.body["shown_amount"]) == (
        "void",
        "100.00",
        "0.00",
    )
    assert api.get(f"/cases/{case.pk}").body["settlement"]["costs"] == "0.00"
    before = db_state()
    edit = api.patch(f"/costs/{open_cost.pk}", {"memo": "x"})
    refused(edit, 409, "locked", "a void cost cannot be edited")
    assert db_state() == before


def test_the_split_proposal_and_an_even_split(api, open_cost, case, linked):
    proposal = api.get(f"/costs/{open_cost.pk}/split")
    assert proposal.status == 200
    assert proposal.body["amount"] == "100.00"
    assert [(p["case"]["id"], p["amount"]) for p in proposal.body["parts"]] == [
        (case.pk, "33.34"),
        (linked[0].pk, "33.33"),
        (linked[1].pk, "33.33"),
    ]
    split = api.post(f"/costs/{open_cost.pk}/split")
    assert split.status == 200
    parts = split.body["parts"]
    assert [(p["case"]["id"], p["amount"]) for p in parts] == [
        (case.pk, "33.34"),
        (linked[0].pk, "33.33"),
        (linked[1].pk, "33.33"),
    ]
    assert parts[0]["id"] == open_cost.pk
    assert parts[1]["split_from_id"] == open_cost.pk
    assert f"[Split from $100.00 on case {case.number} across 3 cases]" in parts[2]["memo"]


def test_split_parts_that_do_not_add_up_are_refused(api, open_cost, case, linked):
    before = db_state()
    reply = api.post(
        f"/costs/{open_cost.pk}/split",
        {
            "parts": [
                {"case_id": case.pk, "amount": "50.00"},
                {"case_id": linked[0].pk, "amount": "25.00"},
                {"case_id": linked[1].pk, "amount": "24.99"},
            ]
        },
        key="split-1",
    )
    refused(
        reply,
        422,
        "validation_error",
        "the parts add up to $99.99, not the cost's $100.00 ($0.01 short)",
        field="parts",
    )
    assert db_state() == before

    fixed = api.post(
        f"/costs/{open_cost.pk}/split",
        {
            "parts": [
                {"case_id": case.pk, "amount": "50.00"},
                {"case_id": linked[0].pk, "amount": "50.00"},
            ]
        },
        key="split-1",
    )
    assert fixed.status == 200
    assert [p["amount"] for p in fixed.body["parts"]] == ["50.00", "50.00"]
    replay = api.post(
        f"/costs/{open_cost.pk}/split",
        {
            "parts": [
                {"case_id": case.pk, "amount": "50.00"},
                {"case_id": linked[0].pk, "amount": "50.00"},
            ]
        },
        key="split-1",
    )
    assert (replay.status, replay.body) == (200, fixed.body)
    assert replay.headers["Idempotent-Replayed"] == "true"
    assert Cost.objects.count() == 2
    costs.cost_pay(
        firm=open_cost.firm,
        actor=open_cost.created_by,
        cost_id=open_cost.pk,
        method="check",
        reference="1",
    )
    locked = api.post(f"/costs/{open_cost.pk}/split", key="split-2")
    refused(locked, 409, "locked", "only an open cost that has not been sent to the books")


def test_a_split_needs_linked_cases(api, cfirm, cadmin, open_cost, client_contact):
    before = db_state()
    lonely = api.get(f"/costs/{open_cost.pk}/split")
    refused(
        lonely,
        422,
        "validation_error",
        f"case {open_cost.case.number} has no linked cases to split with",
    )
    assert api.post(f"/costs/{open_cost.pk}/split").status == 422
    assert db_state() == before

    def new_case(name):
        return case_services.case_create(
            firm=cfirm, actor=cadmin, name=name, client_id=client_contact.pk
        )

    partner, stranger = new_case("Partner"), new_case("Stranger")
    case_services.cases_link(case=open_cost.case, other_case_id=partner.pk, actor=cadmin)
    before = db_state()
    reply = api.post(
        f"/costs/{open_cost.pk}/split",
        {
            "parts": [
                {"case_id": open_cost.case_id, "amount": "50.00"},
                {"case_id": stranger.pk, "amount": "50.00"},
            ]
        },
    )
    refused(
        reply,
        422,
        "validation_error",
        f"case {stranger.number} is not linked to this cost's case",
        field="parts",
    )
    for parts, problem in [
        ([("own", "100.00")], "a split needs at least two cases"),
        ([("own", "100.00"), ("partner", "0.00")], "every part must be greater than $0.00"),
        ([("partner", "100.00"), ("partner", "0")], f"case {partner.number} appears twice"),
    ]:
        ids = {"own": open_cost.case_id, "partner": partner.pk}
        body = {"parts": [{"case_id": ids[c], "amount": a} for c, a in parts]}
        refused(api.post(f"/costs/{open_cost.pk}/split", body), 422, "validation_error", problem)
    assert db_state() == before


def test_a_cases_costs_tab_pages_by_cursor_newest_first(api, cfirm, cadmin, case, payee):
    made = [
        costs.cost_create(
            firm=cfirm,
            actor=cadmin,
            case_id=case.pk,
            payee_id=payee.pk,
            amount_cents=100 * n,
            cost_code_id=cost_code(cfirm, "E101").pk,
            cost_date=D - dt.timedelta(days=day),
        ).pk
        for n, day in enumerate((3, 0, 3, 0, 1), start=1)
    ]
    pages, query = [], {"limit": 2}
    while True:
        reply = api.get(f"/cases/{case.pk}/costs", query)
        assert reply.status == 200
        pages.append(([c["id"] for c in reply.body["items"]], reply.body["count"]))
        if reply.body["next"] is None:
            break
        query["cursor"] = reply.body["next"]
    # newest first, ties by the larger id first
    assert pages == [([made[3], made[1]], 5), ([made[4], made[2]], 5), ([made[0]], 5)]
    bad = api.get(f"/cases/{case.pk}/costs", {"cursor": "junk"})
    assert (bad.status, bad.error["field"]) == (422, "cursor")


def test_costs_management_tabs_filters_and_sort(api, cfirm, cadmin, case, payee, cattorney):
    for cents in (500, 300, 900):
        costs.cost_create(
            firm=cfirm,
            actor=cadmin,
            case_id=case.pk,
            payee_id=payee.pk,
            amount_cents=cents,
            cost_code_id=cost_code(cfirm, "E101").pk,
            cost_date=D,
        )
    paid = Cost.objects.order_by("pk").first()
    assert paid is not None
    costs.cost_pay(firm=cfirm, actor=cadmin, cost_id=paid.pk, method="card", reference="4242")

    open_tab = api.get("/costs", {"sort": "amount"})
    assert open_tab.status == 200
    body = open_tab.body
    assert [c["amount"] for c in body["items"]] == ["9.00", "3.00"]
    assert (
        body["count"],
        body["total"],
        body["status"],
        body["limit"],
        body["next"],
        body["previous"],
    ) == (2, "12.00", "open", 50, None, None)
    paid_tab = api.get("/costs", {"status": "paid"})
    assert [c["id"] for c in paid_tab.body["items"]] == [paid.pk]
    filtered = api.get(
        "/costs", {"attorney_id": cattorney.pk, "amount_min": "4.00", "payee_id": payee.pk}
    )
    assert [c["amount"] for c in filtered.body["items"]] == ["9.00"]
    first = api.get("/costs", {"sort": "-amount", "limit": 1})
    assert (first.body["items"][0]["amount"], first.body["previous"]) == ("3.00", None)
    paged = api.get("/costs", {"sort": "-amount", "limit": 1, "cursor": first.body["next"]})
    assert (paged.body["items"][0]["amount"], paged.body["next"], paged.body["count"]) == (
        "9.00",
        None,
        2,
    )
    back = api.get("/costs", {"sort": "-amount", "limit": 1, "cursor": paged.body["previous"]})
    assert [c["amount"] for c in back.body["items"]] == ["3.00"]
    last = api.get("/costs", {"sort": "-amount", "limit": 1, "cursor": "last"})
    assert [c["amount"] for c in last.body["items"]] == ["9.00"]
    bad = api.get("/costs", {"status": "void"})
    assert (bad.status, bad.error["field"]) == (422, "status")
    for cursor, sort in (("junk", "-amount"), (first.body["next"], "date")):
        bad = api.get("/costs", {"sort": sort, "cursor": cursor})
        assert (bad.status, bad.error["field"]) == (422, "cursor")


def test_costs_management_needs_its_permission(paralegal_api, attorney_api, cfirm, paralegal):
    reply = paralegal_api.get("/costs")
    refused(
        reply,
        403,
        "permission_denied",
        "this needs the 'Costs management' permission",
        permission="costs_management",
    )
    paralegal.perm_costs_management = True
    paralegal.save(update_fields=["perm_costs_management"])
    assert paralegal_api.get("/costs").status == 200


def test_cost_codes_are_the_utbms_codes_and_the_firms_own(api):
    reply = api.get("/cost-codes", {"limit": 1000})
    codes = {c["code"]: c for c in reply.body["items"]}
    assert reply.body["count"] == 27
    assert codes["E101"] == {**codes["E101"], "name": "Copying", "is_utbms": True}
    assert codes["MEDREC"]["is_utbms"] is False


def test_paying_needs_a_reference(api, open_cost):
    before = db_state()
    reply = api.post(f"/costs/{open_cost.pk}/pay", {"method": "check", "reference": "  "})
    assert (reply.status, reply.error["field"]) == (422, "reference")
    assert db_state() == before
    assert Cost.objects.get().status == CostStatus.OPEN
