"""No input may cause a server error, and a refused form writes nothing."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from .conftest import HX, state

JUNK = [
    "\x00",
    "a\x00b",
    "x" * 5000,
    "99999999999999999999999",
    "-1",
    "1e400",
    "NaN",
    "Infinity",
    "<script>alert(1)</script>",
    "' OR 1=1 --",
    "١٢٣",  # Arabic-Indic digits
    "\u202e",
    "3.3.3",
    "$-,.",
]


@pytest.fixture
def forms_(case, linked_case, cost, deposited, lien, cadmin):
    """Every form with its fields (URL name, URL arguments, fields)."""
    return [
        (
            "cases:case_new",
            [],
            [
                "client_name",
                "client_address",
                "client_date_of_birth",
                "client_phone",
                "client_email",
                "name",
                "case_type",
                "responsible_attorney",
                "incident_date",
                "status",
            ],
        ),
        ("cases:case_edit", [case.pk], ["name", "status", "responsible_attorney", "incident_date"]),
        ("cases:case_link", [case.pk], ["number"]),
        (
            "cases:cost_new",
            [case.pk],
            [
                "payee",
                "amount",
                "invoice_reference",
                "priority",
                "cost_code",
                "memo",
                "cost_date",
            ],
        ),
        (
            "cases:cost_edit",
            [cost.pk],
            [
                "payee",
                "amount",
                "invoice_reference",
                "priority",
                "cost_code",
                "memo",
                "cost_date",
                "paid_date",
            ],
        ),
        ("cases:cost_void", [cost.pk], ["reason"]),
        ("cases:cost_pay", [cost.pk], ["method", "reference", "paid_date"]),
        ("cases:cost_split", [cost.pk], [f"part_{case.pk}", f"part_{linked_case.pk}"]),
        (
            "cases:negotiation_new",
            [case.pk],
            ["kind", "party", "amount", "made_on", "note"],
        ),
        ("cases:deposit_new", [case.pk], ["offer", "amount", "check_number", "deposited_on"]),
        (
            "cases:settlement_terms",
            [case.pk],
            [
                "fee_mode",
                "fee_rate",
                "fee_fixed",
                "fee_base",
                "copp",
                "property_damage_fee",
                "reason",
            ],
        ),
        (
            "cases:lien_new",
            [case.pk],
            ["kind", "holder", "claimed", "paid_direct", "note"],
        ),
        ("cases:lien_edit", [lien.pk], ["claimed", "final", "paid_direct", "note"]),
        ("cases:lien_accept", [lien.pk], ["final", "accepted_on"]),
        ("cases:stage", [case.pk, "fee"], ["amount", "note"]),
        ("cases:stage_lien", [case.pk, lien.pk], ["amount", "note"]),
        ("cases:push_client_trust", [case.pk], ["payee_name", "note"]),
        (
            "cases:settings",
            [],
            [
                "default_fee_rate",
                "default_copp",
                "default_property_damage_fee",
                "fee_changes_need_approval",
            ],
        ),
        (
            "cases:user_new",
            [],
            ["email", "first_name", "last_name", "password", "perm_costs_management"],
        ),
        (
            "cases:user_edit",
            [cadmin.pk],
            ["email", "first_name", "last_name", "is_active", "is_firm_admin"],
        ),
        ("cases:cost_code_new", [], ["code", "name"]),
        ("cases:costs_bulk", [], ["action", "cost", "confirmed", "reason", "next"]),
    ]


def test_junk_posted_to_every_form_never_breaks_it(admin_client, forms_):
    for name, args, fields in forms_:
        url = reverse(name, args=args)
        for junk in JUNK:
            before = state()
            response = admin_client.post(url, dict.fromkeys(fields, junk), **HX)
            assert response.status_code in (200, 302, 404, 422), (name, junk, response.status_code)
            if response.status_code in (404, 422):
                assert state() == before, (name, junk)


def test_junk_posted_to_the_money_forms_writes_nothing(admin_client, forms_):
    money = {
        "cases:cost_new",
        "cases:deposit_new",
        "cases:stage",
        "cases:stage_lien",
        "cases:cost_split",
        "cases:lien_accept",
    }
    before = state()
    for name, args, fields in forms_:
        if name not in money:
            continue
        for junk in JUNK:
            response = admin_client.post(
                reverse(name, args=args), dict.fromkeys(fields, junk), **HX
            )
            assert response.status_code == 422, (name, junk)
    assert state() == before


GET_PAGES = [
    ("cases:case_list", ["q", "status", "page"]),
    (
        "cases:costs_management",
        [
            "status",
            "sort",
            "page",
            "case",
            "attorney",
            "payee",
            "date_from",
            "date_to",
            "amount_min",
            "amount_max",
        ],
    ),
    ("cases:client_trust", ["tab", "page"]),
    ("cases:client_trust_export", ["tab", "bom", "page"]),
    ("cases:settings_users", ["page"]),
]


@pytest.mark.parametrize(("name", "params"), GET_PAGES)
def test_junk_in_a_query_string_never_breaks_a_page(admin_client, cost, name, params):
    for junk in JUNK:
        response = admin_client.get(reverse(name), dict.fromkeys(params, junk))
        assert response.status_code == 200, (name, junk)


def test_junk_in_the_live_split_sum(admin_client, case, linked_case, cost):
    url = reverse("cases:cost_split_sum", args=[cost.pk])
    for junk in JUNK:
        response = admin_client.get(url, {f"part_{case.pk}": junk, f"part_{linked_case.pk}": junk})
        assert response.status_code == 200, junk


def test_huge_ids_in_urls_are_not_found(admin_client, case):
    huge = "99999999999999999999"
    for path in (
        f"/cases/{huge}/",
        f"/cases/{huge}/settlement/",
        f"/cases/costs/{huge}/edit/",
        f"/cases/liens/{huge}/accept/",
        f"/cases/{case.pk}/settlement/stage/lien/{huge}/",
        f"/cases/{case.pk}/unlink/{huge}/",
        f"/cases/settings/users/{huge}/edit/",
    ):
        assert admin_client.get(path).status_code == 404, path


def test_junk_sign_in(client, cadmin):
    for junk in JUNK:
        response = client.post(
            reverse("cases:login"), {"firm": junk, "email": junk, "password": junk, "next": junk}
        )
        assert response.status_code == 422, junk


def test_writes_need_a_post(admin_client, case, cost):
    for path in (
        reverse("cases:costs_bulk"),
        reverse("cases:logout"),
    ):
        assert admin_client.get(path).status_code == 405
    assert admin_client.put(reverse("cases:cost_void", args=[cost.pk])).status_code == 405


def test_a_get_never_writes(admin_client, case, linked_case, cost, deposited, lien):
    before = state()
    for name, args in [
        ("cases:cost_void", [cost.pk]),
        ("cases:cost_pay", [cost.pk]),
        ("cases:cost_split", [cost.pk]),
        ("cases:offer_accept", [deposited.pk]),
        ("cases:lien_accept", [lien.pk]),
        ("cases:push_client_trust", [case.pk]),
        ("cases:push_disbursement", [case.pk]),
        ("cases:case_unlink", [case.pk, linked_case.pk]),
    ]:
        assert admin_client.get(reverse(name, args=args), {"amount": "1.00"}).status_code == 200
    assert state() == before


def test_over_long_text_is_refused_by_the_form_not_the_database(admin_client, cfirm):
    from casebridge.cases.models import CaseType

    long_email = "a" * 250 + "@x.test"
    before = state()
    response = admin_client.post(
        reverse("cases:case_new"),
        {
            "client_name": "A",
            "client_email": long_email,
            "name": "B",
            "case_type": CaseType.objects.get(firm=cfirm).pk,
            "status": "intake",
        },
        **HX,
    )
    assert response.status_code == 422
    assert state() == before


def test_a_plain_browser_without_htmx_gets_whole_pages(cadmin, case, cost):
    from .conftest import sign_in

    client = sign_in(Client(), cadmin)
    page = client.get(reverse("cases:cost_void", args=[cost.pk]))
    assert page.status_code == 200
    assert "<html" in page.content.decode()
    response = client.post(reverse("cases:cost_void", args=[cost.pk]), {"reason": "x"})
    assert response.status_code == 302
    assert response["Location"] == reverse("cases:case_costs", args=[case.pk])
