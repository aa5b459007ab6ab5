"""``GET /search?q=``: the screens' search as JSON, the token's firm and permissions."""

from __future__ import annotations

from casebridge.cases.selectors.search import search_cases_side
from casebridge.cases.services import cases as case_services
from casebridge.core.api.search import SearchOut


def test_the_same_groups_as_the_screen(api, cadmin, case, open_cost, other_world):
    reply = api.get("/search", {"q": "lop"})
    assert reply.status == 200
    assert reply.body == SearchOut.of(search_cases_side(cadmin, "lop")).model_dump(mode="json")
    cases = next(g for g in reply.body["groups"] if g["kind"] == "cases")
    assert cases["hits"] == [
        {
            "label": f"{case.number} Lopez v. Acme Trucking",
            "detail": "Open · client Maria Lopez",
            "url": f"/cases/{case.pk}/",
        }
    ]


def test_payees_need_the_permission(paralegal_api, api, open_cost):
    kinds = [g["kind"] for g in paralegal_api.get("/search", {"q": "records"}).body["groups"]]
    assert kinds == ["cases", "contacts", "costs"]
    kinds = [g["kind"] for g in api.get("/search", {"q": "records"}).body["groups"]]
    assert kinds == ["cases", "contacts", "payees", "costs"]


def test_no_words_no_groups_and_a_missing_q_names_the_field(api, cfirm, cadmin):
    case_services.contact_create(firm=cfirm, actor=cadmin, name="Ana")
    assert api.get("/search", {"q": " -- "}).body == {"query": "--", "groups": []}
    reply = api.get("/search")
    assert reply.status == 422
    assert reply.error["field"] == "q"
    assert api.get("/search", {"q": "x" * 201}).status == 422


def test_a_token_is_needed(anonymous):
    assert anonymous.get("/search", {"q": "lop"}).status == 401
