"""The readiness screen and cost code mapping, against the books on a real port."""

from __future__ import annotations

import re

from django.urls import reverse

from casebridge.books.models import ActivityCode, AreaOfPractice
from casebridge.bridge.models import CostCodeMapping
from casebridge.cases.models import CostCode
from casebridge.core.models import AuditEvent
from tests.bridge.conftest import work

from .conftest import HX, text

SEEDED_CHECKS = (
    "integration_user",
    "token",
    "attorney_emails",
    "records_time",
    "release_stage",
    "personal_injury",
    "copp_code",
    "property_damage_code",
    "cost_posting",
    "cost_mappings",
    "operating_account",
    "trust_account",
)


def _verdicts(page: str) -> dict[str, str]:
    return dict(re.findall(r'data-check="([a-z_]+)" data-verdict="([a-z]+)"', page))


def _run_checks(client, firm_id: int) -> str:
    """Run checks now: the worker is asked (the page says so and polls its results), the
    worker answers (played here), and the results show without the page asking the books."""
    response = client.post(reverse("bridge:readiness"))
    assert (response.status_code, response["Location"]) == (302, reverse("bridge:readiness"))
    page = text(client.get(reverse("bridge:readiness")))
    assert "The worker is checking the books now" in page
    assert "Checking the books…" in page
    poll = reverse("bridge:readiness") + "?fragment=1"
    assert f'hx-get="{poll}" hx-trigger="every 2s"' in page
    fragment = text(client.get(poll, **HX))
    assert fragment.lstrip().startswith('<div id="readiness-results"')  # just the results
    assert "Checking the books…" in fragment
    work(firm_id)
    fragment = text(client.get(poll, **HX))
    assert "Checking the books…" not in fragment
    assert "hx-trigger" not in fragment  # done: it stops polling
    return text(client.get(reverse("bridge:readiness")))


def test_readiness_passes_every_seeded_check_and_names_a_failure_with_its_fix(
    books, cases, connected, admin_client
):
    page = text(admin_client.get(reverse("bridge:readiness")))
    assert ">Run checks now</button>" in page
    assert 'aria-current="page">Integrations</a>' in page  # Account Settings' sub-navigation
    # the report the worker ran at activation, with its age
    assert _verdicts(page) == dict.fromkeys(SEEDED_CHECKS, "pass")
    assert page.count('<span class="badge badge-ok">Pass</span>') == len(SEEDED_CHECKS)
    assert "Every check passes · checked " in page

    AreaOfPractice.objects.filter(firm=books.firm).update(name="WC", description="Workers comp")
    page = _run_checks(admin_client, cases.firm.pk)
    verdicts = _verdicts(page)
    assert verdicts.pop("personal_injury") == "fail"
    assert verdicts == dict.fromkeys(set(SEEDED_CHECKS) - {"personal_injury"}, "pass")
    row = re.search(r'<tr id="check-personal_injury".*?</tr>', page, re.S)
    assert row
    assert '<span class="badge badge-bad">Fail</span>' in row.group(0)
    assert "Personal Injury is an area of practice" in row.group(0)
    assert "Not found." in row.group(0)
    assert (
        "In the books: Gear → Areas of Practice → Add → Name PI, Description "
        "Personal Injury → Save."
    ) in row.group(0)
    assert "1 failing" in page
    # the last report is what a later visit shows
    assert _verdicts(text(admin_client.get(reverse("bridge:readiness"))))["personal_injury"] == (
        "fail"
    )


def test_readiness_says_when_the_books_cannot_be_reached(cases, connected, admin_client):
    type(connected).objects.filter(pk=connected.pk).update(
        books_url="http://127.0.0.1:9/books/api/v1"
    )
    page = _run_checks(admin_client, cases.firm.pk)
    assert "The books at http://127.0.0.1:9/books/api/v1 could not be reached" in page
    assert "These are the last results." in page
    assert _verdicts(page)["personal_injury"] == "pass"


def test_readiness_needs_settings_access(cases, paralegal_client):
    response = paralegal_client.get(reverse("bridge:readiness"))
    assert response.status_code == 403
    assert 'data-permission="admin_settings"' in text(response)


def test_a_cost_code_is_mapped_to_a_books_advance_code_and_back_to_the_default(
    books, cases, connected, admin_client
):
    code = CostCode.objects.get(firm=cases.firm, code="MEDREC")
    page = text(admin_client.get(reverse("bridge:mappings")))
    assert re.search(
        r'data-mapped="MEDREC"><span class="muted">Cost posting reference \(default\)</span>',
        page,
    )
    # a UTBMS cost code goes with the books' code of the same UTBMS code
    assert re.search(
        r'data-mapped="E112">E112 Court fees <span class="muted">\(same UTBMS code\)</span>',
        page,
    )
    assert "(E124 Other → GL 1300 Advanced Client Costs)" in page

    experts = ActivityCode.objects.get(firm=books.firm, code="E119")
    damage = ActivityCode.objects.get(firm=books.firm, code="PD")
    form = text(admin_client.get(reverse("bridge:mapping_edit", args=[code.pk]), **HX))
    assert (
        '<option value="" selected>Default (same UTBMS code, else the cost posting reference)'
        "</option>"
    ) in form
    assert f'<option value="{experts.pk}">E119 Experts</option>' in form
    # only codes that post to Advanced client costs are offered: not COPP, not PD
    assert f'value="{damage.pk}"' not in form
    assert ">COPP</option>" not in form

    response = admin_client.post(
        reverse("bridge:mapping_edit", args=[code.pk]), {"activity_code": str(experts.pk)}, **HX
    )
    assert response["HX-Redirect"] == reverse("bridge:mappings")
    mapping = CostCodeMapping.objects.get(cost_code=code)
    assert (mapping.activity_code_id, mapping.activity_code_label) == (
        experts.pk,
        "E119 Experts",
    )
    page = text(admin_client.get(reverse("bridge:mappings")))
    assert 'data-mapped="MEDREC">E119 Experts</td>' in page
    assert "Cost code MEDREC goes to the books as E119 Experts." in page
    form = text(admin_client.get(reverse("bridge:mapping_edit", args=[code.pk]), **HX))
    assert f'<option value="{experts.pk}" selected>E119 Experts</option>' in form

    # a code the books do not offer (or an income code) is refused; nothing changes
    for refused in ("999999", str(damage.pk)):
        response = admin_client.post(
            reverse("bridge:mapping_edit", args=[code.pk]), {"activity_code": refused}, **HX
        )
        assert response.status_code == 422
        assert "Choose one of the books&#x27; activity codes listed." in text(response)
    assert CostCodeMapping.objects.get(cost_code=code).activity_code_id == experts.pk

    response = admin_client.post(
        reverse("bridge:mapping_edit", args=[code.pk]), {"activity_code": ""}, **HX
    )
    assert response["HX-Redirect"] == reverse("bridge:mappings")
    assert not CostCodeMapping.objects.exists()
    assert list(
        AuditEvent.objects.filter(system="bridge", entity_type="cost_code_mapping")
        .order_by("pk")
        .values_list("action", "entity_id")
    ) == [("create", str(code.pk)), ("delete", str(code.pk))]


def test_mapping_a_code_of_another_firm_is_not_found(cases, connected, admin_client):
    from casebridge.cases.services import firms

    other = firms.firm_create(code="jones", name="Jones Law")
    code = CostCode.objects.filter(firm=other).first()
    assert code is not None
    assert admin_client.get(reverse("bridge:mapping_edit", args=[code.pk]), **HX).status_code == 404
