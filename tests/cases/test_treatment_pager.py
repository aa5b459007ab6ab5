"""The Treatment tab's pager (issue 16, in depth): a case with many bills and treatments
shows one page of each, walked by keyset (Next / First), while its totals still cover
every bill; each list keeps its own cursor and a stale or edited cursor shows the first
page. The selectors walk every row exactly once, and the API twin pages the same way."""

from __future__ import annotations

import datetime as dt
import html
import re

import pytest
from django.test import Client
from django.urls import reverse

from casebridge.cases.models import Bill, Treatment
from casebridge.cases.selectors import medical as selectors
from casebridge.cases.services import cases as case_services
from casebridge.cases.services import medical
from casebridge.cases.services.medical import BillAmounts
from tests.cases.api.conftest import ApiClient, issue
from tests.cases.web.conftest import sign_in, text

D = dt.date(2026, 3, 2)


@pytest.fixture
def pclient(client, paralegal):
    return sign_in(client, paralegal)


@pytest.fixture
def provider(cfirm, paralegal):
    return medical.provider_for_name(firm=cfirm, actor=paralegal, name="Valley Medical")


def add_bills(cfirm, actor, case, provider, n: int) -> list[Bill]:
    """``n`` bills of $100.00 + $1.00 a bill (bill k: 10,000 + 100 k cents), $10.00 written
    off each."""
    return [
        medical.bill_create(
            firm=cfirm,
            actor=actor,
            case_id=case.pk,
            provider_id=provider.pk,
            bill_date=D,
            reference=f"ACCT-{k:03d}",
            amounts=BillAmounts(billed=10_000 + 100 * k, adjustments=1_000),
        )
        for k in range(n)
    ]


def add_treatments(cfirm, actor, case, provider, n: int) -> list[Treatment]:
    return [
        medical.treatment_create(
            firm=cfirm,
            actor=actor,
            case_id=case.pk,
            provider_id=provider.pk,
            first_visit=D - dt.timedelta(days=k),
            note=f"visit series {k:02d}",
        )
        for k in range(n)
    ]


def row_ids(page: str, prefix: str) -> list[int]:
    return [int(i) for i in re.findall(rf'<tr id="{prefix}-(\d+)"', page)]


def link(page: str, pager: str, which: str) -> str:
    """The href of the ``which`` (next/first) link of the ``pager`` nav."""
    nav = re.search(rf'<nav class="pager"[^>]*id="{pager}-pager">(.*?)</nav>', page, re.S)
    assert nav is not None, f"no {pager} pager"
    found = re.search(rf'href="([^"]+)"[^>]*data-page="{which}"', nav.group(1))
    assert found is not None, f"no {which} link in the {pager} pager"
    return html.unescape(found.group(1))


def test_a_case_with_55_bills_shows_50_then_5_with_totals_over_all(
    pclient, cfirm, paralegal, case, provider
):
    bills = add_bills(cfirm, paralegal, case, provider, 55)
    url = reverse("cases:case_treatment", args=[case.pk])
    first = text(pclient.get(url))
    assert row_ids(first, "bill") == [b.pk for b in bills[:50]]
    assert "50 on this page, 55 in all" in first
    assert 'data-page="first"' not in first.split('id="bills-pager"')[1].split("</nav>")[0]
    # every bill counted: billed 55 x $100.00 + $1.00 x (0 + 1 + ... + 54) = $5,500.00 + $1,485.00
    assert 'data-figure="specials">$6,985.00<' in first
    assert 'data-figure="adjustments">$550.00<' in first
    assert 'data-figure="outstanding">$6,435.00<' in first
    assert 'id="treatments-pager"' not in first  # nothing to page

    next_url = link(first, "bills", "next")
    assert next_url.startswith("?bills=")
    assert next_url.endswith("#bills-title")
    second = text(pclient.get(url + next_url.split("#")[0]))
    assert row_ids(second, "bill") == [b.pk for b in bills[50:]]
    assert "5 on this page, 55 in all" in second
    assert 'data-figure="specials">$6,985.00<' in second
    assert 'aria-disabled="true">Next &rarr;' in second
    assert link(second, "bills", "first") == "?#bills-title"


def test_each_list_keeps_its_own_cursor(pclient, cfirm, paralegal, case, provider):
    bills = add_bills(cfirm, paralegal, case, provider, 51)
    treatments = add_treatments(cfirm, paralegal, case, provider, 26)
    url = reverse("cases:case_treatment", args=[case.pk])
    first = text(pclient.get(url))
    assert row_ids(first, "treatment") == [t.pk for t in treatments[:25]]
    assert "25 on this page, 26 in all" in first
    bills_next = link(first, "bills", "next").split("#")[0]
    on_bills_2 = text(pclient.get(url + bills_next))
    treatments_next = link(on_bills_2, "treatments", "next").split("#")[0]
    # the treatments' Next keeps the bills' page
    assert treatments_next.startswith(bills_next + "&treatments=")
    both = text(pclient.get(url + treatments_next))
    assert row_ids(both, "bill") == [bills[50].pk]
    assert row_ids(both, "treatment") == [treatments[25].pk]
    # the treatments' First keeps the bills' page too
    assert link(both, "treatments", "first") == bills_next + "#treatments-title"


def test_a_stale_or_edited_cursor_shows_the_first_page(pclient, cfirm, paralegal, case, provider):
    bills = add_bills(cfirm, paralegal, case, provider, 51)
    treatments = add_treatments(cfirm, paralegal, case, provider, 2)
    url = reverse("cases:case_treatment", args=[case.pk])
    treatments_cursor = selectors.case_treatments_page(case=case, limit=1)[1]
    assert treatments_cursor is not None  # the other list's real cursor
    too_long, with_nul = "A" * 1001, "abc\x00def"
    for cursor in ("not-a-cursor", "eyJ4IjoxfQ", treatments_cursor, too_long, with_nul):
        response = pclient.get(url, {"bills": cursor})
        assert response.status_code == 200
        assert row_ids(text(response), "bill") == [b.pk for b in bills[:50]]
    for cursor in (too_long, with_nul):
        response = pclient.get(url, {"treatments": cursor})
        assert response.status_code == 200
        assert sorted(row_ids(text(response), "treatment")) == sorted(t.pk for t in treatments)


def test_a_short_case_has_no_pager(pclient, cfirm, paralegal, case, provider):
    add_bills(cfirm, paralegal, case, provider, 2)
    add_treatments(cfirm, paralegal, case, provider, 1)
    page = text(pclient.get(reverse("cases:case_treatment", args=[case.pk])))
    assert 'class="pager"' not in page
    assert len(row_ids(page, "bill")) == 2


def test_the_selectors_walk_every_row_once_and_only_the_cases(
    cfirm, cadmin, paralegal, case, provider, client_contact
):
    other = case_services.case_create(
        firm=cfirm,
        actor=cadmin,
        name="Lopez v. Beta Freight",
        client_id=client_contact.pk,
        status="open",
    )
    mine = add_bills(cfirm, paralegal, case, provider, 7)
    add_bills(cfirm, paralegal, other, provider, 3)
    medical.bill_void(firm=cfirm, actor=paralegal, bill_id=mine[3].pk, reason="Entered twice")
    seen: list[int] = []
    cursor = None
    pages = 0
    while True:
        rows, cursor = selectors.case_bills_page(case=case, cursor=cursor, limit=3)
        seen += [b.pk for b in rows]
        pages += 1
        if cursor is None:
            break
    assert seen == [b.pk for b in mine]  # void one included, in the order entered
    assert pages == 3
    assert selectors.case_bill_count(case=case) == 7
    rows, _ = selectors.case_bills_page(case=case, limit=7)
    assert [b.outstanding for b in rows][:2] == [9_000, 9_100]  # the annotation is kept


def test_the_api_twin_pages_the_bills_and_treatments(cfirm, paralegal, case, provider):
    bills = add_bills(cfirm, paralegal, case, provider, 5)
    treatments = add_treatments(cfirm, paralegal, case, provider, 3)
    api = ApiClient(Client(), issue(cfirm, paralegal))
    for path, rows, limit in (("bills", bills, 2), ("treatments", treatments, 2)):
        seen: list[int] = []
        query: dict[str, object] = {"limit": limit}
        while True:
            page = api.get(f"/cases/{case.pk}/{path}", query).body
            assert page["count"] == len(rows)
            assert len(page["items"]) <= limit
            seen += [item["id"] for item in page["items"]]
            if page["next"] is None:
                break
            query = {"limit": limit, "cursor": page["next"]}
        assert seen == [r.pk for r in rows]
    reply = api.get(f"/cases/{case.pk}/bills", {"cursor": "not-a-cursor"})
    assert reply.status == 422
    assert reply.error["field"] == "cursor"


# --- The pop-ups come back to the page they were opened from (issue 16's lows) ----------


def popup_link(page: str, label: str) -> str:
    """The href of the tab's pop-up link whose aria-label (or text) is ``label``."""
    found = re.search(
        rf'<a [^>]*href="([^"]+)"[^>]*(?:aria-label="{re.escape(label)}"|>'
        rf"{re.escape(label)}</a>)",
        page,
    )
    assert found is not None, f"no link {label!r}"
    return html.unescape(found.group(1))


def hidden_next(form: str) -> str:
    found = re.search(r'<input type="hidden" name="next" value="([^"]*)">', form)
    assert found is not None, "the pop-up's form carries no next"
    return html.unescape(found.group(1))


HX = {"HTTP_HX_REQUEST": "true"}


def test_a_bill_edited_on_the_second_page_comes_back_to_the_second_page(
    pclient, cfirm, paralegal, case, provider
):
    bills = add_bills(cfirm, paralegal, case, provider, 55)
    tab = reverse("cases:case_treatment", args=[case.pk])
    second = tab + link(text(pclient.get(tab)), "bills", "next").split("#")[0]
    page = text(pclient.get(second))
    edit = popup_link(page, "Edit the bill of Valley Medical")
    assert edit.startswith(reverse("cases:bill_edit", args=[bills[50].pk]) + "?next=")
    form = text(pclient.get(edit, **HX))
    assert hidden_next(form) == second
    response = pclient.post(
        edit,
        {
            "provider": "Valley Medical",
            "bill_date": "2026-03-02",
            "reference": "ACCT-050",
            "billed": "150.00",
            "adjustments": "10.00",
            "next": hidden_next(form),
        },
        **HX,
    )
    assert response.status_code == 200, text(response)
    assert response["HX-Redirect"] == second
    assert Bill.objects.get(pk=bills[50].pk).billed_cents == 15_000
    # the page it comes back to: the second one, the edited bill on it
    back = text(pclient.get(response["HX-Redirect"]))
    assert row_ids(back, "bill") == [b.pk for b in bills[50:]]
    # without htmx: the same page, by a redirect
    plain = pclient.post(
        reverse("cases:bill_void", args=[bills[51].pk]),
        {"reason": "Entered twice", "next": second},
    )
    assert (plain.status_code, plain["Location"]) == (302, second)


def test_treatment_added_or_edited_from_a_later_page_keeps_both_lists_pages(
    pclient, cfirm, paralegal, case, provider
):
    add_bills(cfirm, paralegal, case, provider, 51)
    treatments = add_treatments(cfirm, paralegal, case, provider, 26)
    tab = reverse("cases:case_treatment", args=[case.pk])
    on_bills_2 = tab + link(text(pclient.get(tab)), "bills", "next").split("#")[0]
    both = tab + link(text(pclient.get(on_bills_2)), "treatments", "next").split("#")[0]
    page = text(pclient.get(both))
    add = popup_link(page, "Add treatment")
    assert hidden_next(text(pclient.get(add, **HX))) == both
    added = pclient.post(
        add,
        {"provider": "Valley Medical", "status": "treating", "next": both},
        **HX,
    )
    assert added["HX-Redirect"] == both
    edit = popup_link(page, "Edit the treatment by Valley Medical")
    assert edit.startswith(reverse("cases:treatment_edit", args=[treatments[25].pk]))
    edited = pclient.post(
        edit,
        {"provider": "Valley Medical", "status": "finished", "note": "discharged", "next": both},
        **HX,
    )
    assert edited["HX-Redirect"] == both
    assert Treatment.objects.get(pk=treatments[25].pk).note == "discharged"


def test_a_next_off_this_site_returns_to_the_tab(pclient, cfirm, paralegal, case, provider):
    tab = reverse("cases:case_treatment", args=[case.pk])
    for elsewhere in ("https://evil.test/cases/1/treatment/", "//evil.test/", "case_treatment"):
        response = pclient.post(
            reverse("cases:treatment_new", args=[case.pk]),
            {"provider": "Valley Medical", "status": "treating", "next": elsewhere},
            **HX,
        )
        assert response["HX-Redirect"] == tab
    # opened from the tab's first page, a pop-up comes back to it
    page = text(pclient.get(tab))
    assert hidden_next(text(pclient.get(popup_link(page, "Add bill"), **HX))) == tab


@pytest.mark.parametrize("control", ["\n", "\r\n", "\t", "\x00", "\x7f"])
def test_a_next_with_a_control_character_saves_and_returns_to_the_tab(
    pclient, cfirm, paralegal, case, provider, control
):
    bill = add_bills(cfirm, paralegal, case, provider, 1)[0]
    tab = reverse("cases:case_treatment", args=[case.pk])
    # was: the bill voided, then a 500 (a newline in the HX-Redirect header)
    response = pclient.post(
        reverse("cases:bill_void", args=[bill.pk]),
        {"reason": "Entered twice", "next": f"{tab}?bills=x{control}Set-Cookie: x=1"},
        **HX,
    )
    assert (response.status_code, response["HX-Redirect"]) == (200, tab)
    assert "Set-Cookie" not in response.headers
    assert Bill.objects.get(pk=bill.pk).void_reason == "Entered twice"
    # without htmx, and opening a pop-up: the tab too
    plain = pclient.post(
        reverse("cases:treatment_new", args=[case.pk]),
        {"provider": "Valley Medical", "status": "treating", "next": f"{tab}{control}"},
    )
    assert (plain.status_code, plain["Location"]) == (302, tab)
    assert Treatment.objects.filter(case=case).count() == 1
    opened = text(
        pclient.get(reverse("cases:treatment_new", args=[case.pk]), {"next": f"/{control}x"}, **HX)
    )
    assert hidden_next(opened) == tab
