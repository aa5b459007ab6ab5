"""The Settlement tab's lien reductions: the Reductions pop-up (history and the next step),
the Reduction calculator (scenarios side by side, inputs through htmx) and "Request these
amounts". A refusal is a 422 with the message beside its field and writes nothing."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from casebridge.cases.models import Lien, LienReduction
from casebridge.cases.services import firms
from tests.cases.helpers import add_cost, lien, new_case, offer

from .conftest import HX, nothing_written, text


@pytest.fixture
def worked(cfirm, cadmin, case):
    """gross 250,000.00, fee 33.33%, costs 8,500.00, liens 20,000 + 15,000 + 10,000."""
    add_cost(cfirm, cadmin, case, 500_000, cost_code="E119")
    add_cost(cfirm, cadmin, case, 350_000, cost_code="MEDREC")
    offer(cfirm, cadmin, case, 25_000_000)
    return [
        lien(cfirm, cadmin, case, cents, holder=holder)
        for holder, cents in [
            ("Valley Medical", 2_000_000),
            ("Ortho Partners", 1_500_000),
            ("City Imaging", 1_000_000),
        ]
    ]


def fingerprint_in(response) -> str:
    """The fingerprint of the figures the "Request these amounts" pop-up was drawn from."""
    found = re.search(r'name="fingerprint" value="([0-9a-f]+)"', response.content.decode())
    assert found is not None
    return found.group(1)


def test_request_these_amounts_after_the_figures_changed_is_refused_and_shows_them_again(
    admin_client, case, worked
):
    url = reverse("cases:lien_calculator_request", args=[case.pk])
    query = {"scenario": "procurement", "liens": ",".join(str(ln.pk) for ln in worked)}
    seen = fingerprint_in(admin_client.get(url, query, **HX))
    Lien.objects.filter(pk=worked[0].pk).update(final_cents=1_800_000)  # Edit lien, meanwhile
    with nothing_written():
        response = admin_client.post(
            url, {**query, "made_on": "2026-03-02", "fingerprint": seen}, **HX
        )
    assert response.status_code == 422  # a pop-up's refusal, as every other one
    page = text(response)
    assert "The figures changed since this scenario was computed; review it again" in page
    assert "$11,388.60" in page  # Valley Medical's procurement amount from 18,000.00 now
    again = fingerprint_in(response)
    assert again != seen
    response = admin_client.post(
        url, {**query, "made_on": "2026-03-02", "fingerprint": again}, **HX
    )
    assert response.status_code == 200
    assert LienReduction.objects.filter(lien=worked[0]).get().amount_cents == 1_138_860


def test_the_settlement_tab_links_the_reductions_and_the_calculator(admin_client, case, worked):
    page = text(admin_client.get(reverse("cases:case_settlement", args=[case.pk])))
    assert "Reduction calculator" in page
    assert "Reductions of the lien of Valley Medical" in page


def test_a_request_then_an_agreement_through_the_pop_up(admin_client, worked):
    url = reverse("cases:lien_reductions", args=[worked[0].pk])
    form = text(admin_client.get(url, **HX))
    assert "No reduction asked for yet." in form
    response = admin_client.post(
        url, {"step": "requested", "amount": "12,000.00", "made_on": "2026-03-02"}, **HX
    )
    assert response.status_code == 200
    assert response["HX-Redirect"].endswith("/settlement/")
    response = admin_client.post(
        url, {"step": "accepted", "amount": "14,500.00", "made_on": "2026-03-03"}, **HX
    )
    assert response.status_code == 200
    fresh = Lien.objects.get(pk=worked[0].pk)
    assert (fresh.final_cents, str(fresh.accepted_on)) == (1_450_000, "2026-03-03")
    page = text(admin_client.get(url, **HX))
    assert "Reduction requested" in page
    assert "$14,500.00" in page
    assert "Accepted at $14,500.00 and locked" in page
    assert "Record step" not in page


def test_a_withdrawal_ignores_the_amount_the_form_kept(admin_client, worked):
    url = reverse("cases:lien_reductions", args=[worked[0].pk])
    admin_client.post(
        url, {"step": "requested", "amount": "12,000.00", "made_on": "2026-03-02"}, **HX
    )
    response = admin_client.post(
        url, {"step": "withdrawn", "amount": "12,000.00", "made_on": "2026-03-03"}, **HX
    )
    assert response.status_code == 200
    assert list(LienReduction.objects.values_list("step", "amount_cents")) == [
        ("requested", 1_200_000),
        ("withdrawn", None),
    ]


def test_an_amount_above_the_claim_is_422_beside_the_amount(admin_client, worked):
    url = reverse("cases:lien_reductions", args=[worked[0].pk])
    with nothing_written():
        response = admin_client.post(
            url, {"step": "requested", "amount": "20,000.01", "made_on": "2026-03-02"}, **HX
        )
    assert response.status_code == 422
    assert "The amount $20,000.01 is more than the claim $20,000.00" in text(response)
    assert LienReduction.objects.count() == 0


def test_another_firms_lien_is_not_found(admin_client, cfirm):
    other = firms.firm_create(code="other-pi", name="Other PI")
    theirs = lien(other, None, new_case(other, None), 100_000)  # type: ignore[arg-type]
    url = reverse("cases:lien_reductions", args=[theirs.pk])
    assert admin_client.get(url).status_code == 404
    with nothing_written():
        response = admin_client.post(url, {"step": "requested", "amount": "1.00"}, **HX)
    assert response.status_code == 404


def test_the_calculator_shows_the_scenarios_side_by_side(admin_client, case, worked):
    url = reverse("cases:lien_calculator", args=[case.pk])
    page = text(admin_client.get(url, **HX))
    assert "Current figures" in page
    assert "$113,175.00" in page  # net now
    assert "$129,703.50" in page  # procurement cost
    response = admin_client.get(
        url,
        {
            "run": "1",
            "target_net": "120,000.00",
            "cap_fraction": "0.15",
            "liens": [str(ln.pk) for ln in worked],
        },
        HTTP_HX_REQUEST="true",
        HTTP_HX_TARGET="lien-calculator",
    )
    assert response.status_code == 200
    page = text(response)
    assert page.lstrip().startswith('<div id="lien-calculator"')
    for figure in ("$120,000.00", "$120,675.00", "$16,966.67", "$16,666.67", "$28,471.50"):
        assert figure in page
    assert LienReduction.objects.count() == 0


def test_an_impossible_target_is_422_beside_the_field(admin_client, case, worked):
    url = reverse("cases:lien_calculator", args=[case.pk])
    with nothing_written():
        response = admin_client.get(
            url,
            {"run": "1", "target_net": "158,175.01", "liens": [str(worked[0].pk)]},
            HTTP_HX_REQUEST="true",
            HTTP_HX_TARGET="lien-calculator",
        )
    assert response.status_code == 422
    assert "The client cannot net $158,175.01" in text(response)
    response = admin_client.get(
        url, {"run": "1", "cap_fraction": "2", "liens": [str(worked[0].pk)]}, **HX
    )
    assert response.status_code == 422
    assert "The cap fraction must be from 0 to 1" in text(response)


def test_request_these_amounts_writes_one_request_per_lien(admin_client, case, worked):
    url = reverse("cases:lien_calculator_request", args=[case.pk])
    ids = ",".join(str(ln.pk) for ln in worked)
    query = {"scenario": "procurement", "liens": ids}
    shown = admin_client.get(url, query, **HX)
    confirm = text(shown)
    assert "$12,654.00" in confirm
    assert "$9,490.50" in confirm
    seen = fingerprint_in(shown)
    response = admin_client.post(
        url, {**query, "made_on": "2026-03-02", "note": "", "fingerprint": seen}, **HX
    )
    assert response.status_code == 200
    assert list(
        LienReduction.objects.order_by("pk").values_list("lien_id", "step", "amount_cents")
    ) == [
        (worked[0].pk, "requested", 1_265_400),
        (worked[1].pk, "requested", 949_050),
        (worked[2].pk, "requested", 632_700),
    ]
    assert not Lien.objects.filter(accepted_on__isnull=False).exists()


def test_request_these_amounts_refused_writes_nothing(admin_client, case, worked):
    url = reverse("cases:lien_calculator_request", args=[case.pk])
    with nothing_written():
        response = admin_client.post(
            url, {"scenario": "cap", "cap_fraction": "0.9", "made_on": "2026-03-02"}, **HX
        )
    assert response.status_code == 422, text(response)
    assert "reduces no selected lien" in text(response), text(response)
    assert LienReduction.objects.count() == 0


def test_the_pop_ups_work_as_plain_pages(admin_client, case, worked):
    assert admin_client.get(reverse("cases:lien_calculator", args=[case.pk])).status_code == 200
    assert (
        admin_client.get(reverse("cases:lien_reductions", args=[worked[0].pk])).status_code == 200
    )


MALFORMED = ["²", "9" * 5000, "1e3", "NaN", "-"]


@pytest.mark.parametrize("bad", MALFORMED)
@pytest.mark.parametrize("field", ["target_net", "cap_fraction"])
def test_request_these_amounts_refuses_malformed_input_beside_its_field(
    admin_client, case, worked, field, bad
):
    url = reverse("cases:lien_calculator_request", args=[case.pk])
    scenario = {"target_net": "target_net", "cap_fraction": "cap"}[field]
    query = {"scenario": scenario, field: bad}
    response = admin_client.get(url, query, **HX)
    assert response.status_code == 422
    assert f'id="id_{field}_error"' in text(response)
    with nothing_written():
        response = admin_client.post(url, {**query, "made_on": "2026-03-02"}, **HX)
    assert response.status_code == 422
    assert f'id="id_{field}_error"' in text(response)
    assert LienReduction.objects.count() == 0


@pytest.mark.parametrize("bad", ["²", "9" * 5000, "1;2", "x"])
def test_request_these_amounts_refuses_malformed_lien_ids(admin_client, case, worked, bad):
    url = reverse("cases:lien_calculator_request", args=[case.pk])
    response = admin_client.get(url, {"scenario": "procurement", "liens": bad}, **HX)
    assert response.status_code == 422
    assert "Select the liens again in the calculator." in text(response)
    with nothing_written():
        response = admin_client.post(
            url, {"scenario": "procurement", "liens": bad, "made_on": "2026-03-02"}, **HX
        )
    assert response.status_code == 422
    assert LienReduction.objects.count() == 0


def test_an_impossible_target_in_request_these_amounts_is_beside_the_field(
    admin_client, case, worked
):
    url = reverse("cases:lien_calculator_request", args=[case.pk])
    response = admin_client.get(url, {"scenario": "target_net", "target_net": "158,175.01"}, **HX)
    assert response.status_code == 422
    page = text(response)
    assert 'id="id_target_net_error"' in page
    assert "The client cannot net $158,175.01" in page


@pytest.mark.parametrize("bad", MALFORMED)
@pytest.mark.parametrize("field", ["target_net", "cap_fraction"])
def test_the_calculator_refuses_malformed_input_beside_its_field(
    admin_client, case, worked, field, bad
):
    url = reverse("cases:lien_calculator", args=[case.pk])
    response = admin_client.get(
        url, {"run": "1", field: bad}, HTTP_HX_REQUEST="true", HTTP_HX_TARGET="lien-calculator"
    )
    assert response.status_code == 422
    assert f'id="id_{field}_error"' in text(response)


def test_the_calculator_hands_the_target_to_request_these_amounts_as_money(
    admin_client, case, worked
):
    response = admin_client.get(
        reverse("cases:lien_calculator", args=[case.pk]),
        {"run": "1", "target_net": "120,000.00", "liens": [str(ln.pk) for ln in worked]},
        HTTP_HX_REQUEST="true",
        HTTP_HX_TARGET="lien-calculator",
    )
    assert "target_net=120000.00&amp;" in response.content.decode()
    url = reverse("cases:lien_calculator_request", args=[case.pk])
    ids = ",".join(str(ln.pk) for ln in worked)
    query = {"scenario": "target_net", "liens": ids, "target_net": "120000.00"}
    shown = admin_client.get(url, query, **HX)
    assert "$16,966.67" in text(shown)
    response = admin_client.post(
        url, {**query, "made_on": "2026-03-02", "fingerprint": fingerprint_in(shown)}, **HX
    )
    assert response.status_code == 200
    assert list(LienReduction.objects.order_by("pk").values_list("amount_cents", flat=True)) == [
        1_696_667,
        1_272_500,
        848_333,
    ]
