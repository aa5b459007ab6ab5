"""The audit trail on screen (issue 16): a case's Activity tab and the firm's list at
/cases/audit/, newest first, filtered, walked by keyset; the CSV export (exact, formulas
neutralised, on the firm's clock); the API twin paged with ``{items, next}``."""

from __future__ import annotations

import csv
import datetime as dt
import io
import zoneinfo

import pytest
from django.test import Client
from django.utils import timezone

from casebridge.cases.audit import cases_audit
from casebridge.cases.selectors.audit_trail import Change, audit_rows
from casebridge.cases.services import firms
from casebridge.core.audit import audit_record, audit_record_many
from casebridge.core.models import AuditEvent
from tests.cases.api.conftest import ApiClient, issue
from tests.cases.conftest import PASSWORD
from tests.cases.helpers import add_cost, contact, new_case
from tests.cases.web.conftest import sign_in, text

ZONE = "America/Los_Angeles"


@pytest.fixture
def la_firm(cfirm):
    cfirm.time_zone = ZONE
    cfirm.save(update_fields=["time_zone"])
    return cfirm


def local(at: dt.datetime) -> str:
    return timezone.localtime(at, zoneinfo.ZoneInfo(ZONE)).strftime("%Y-%m-%d %H:%M")


def rows_of(page: str) -> int:
    return page.count("data-audit-row")


def test_a_cases_activity_tab_shows_its_events_by_name_and_not_another_cases(la_firm, cadmin, case):
    cost = add_cost(la_firm, cadmin, case, 12_500, payee="Records Inc")
    other = new_case(la_firm, cadmin, "Tom Baker")
    add_cost(la_firm, cadmin, other, 99_900, payee="Elsewhere Towing")
    page = text(sign_in(Client(), cadmin).get(f"/cases/{case.pk}/audit/"))
    assert 'aria-current="page">Activity</a>' in page
    assert f"Cost $125.00 added to case {case.number}" in page
    assert f"Case {case.number} Lopez v. Acme Trucking opened" in page
    assert "Elsewhere Towing" not in page
    assert "$999.00" not in page
    # who by name, when on the firm's clock, the cost's fields by what they are called
    assert "<td>Ana Admin</td>" in page
    event = AuditEvent.objects.get(entity_type="cost", entity_id=str(cost.pk))
    assert f'<td class="nowrap">{local(event.at)}</td>' in page
    assert "<dt>Payee</dt><dd>Records Inc</dd>" in page
    assert "<dt>Amount</dt><dd>$125.00</dd>" in page
    assert f"<dt>Case</dt><dd>case {case.number}</dd>" in page
    assert "<dt>Cost code</dt><dd>E112 " in page


def test_the_firm_list_is_for_administrators_and_settings_holders(cfirm, cadmin, paralegal):
    holder = firms.user_create(
        firm=cfirm,
        actor=None,
        email="sue.settings@lopez.test",
        password=PASSWORD,
        first_name="Sue",
        perm_admin_settings=True,
    )
    assert sign_in(Client(), paralegal).get("/cases/audit/").status_code == 403
    assert sign_in(Client(), paralegal).get("/cases/audit/export.csv").status_code == 403
    assert sign_in(Client(), holder).get("/cases/audit/").status_code == 200
    assert sign_in(Client(), cadmin).get("/cases/audit/").status_code == 200


def test_filters_by_user_record_action_case_dates_and_words(la_firm, cadmin, cattorney, case):
    other = new_case(la_firm, cattorney, "Tom Baker")
    add_cost(la_firm, cattorney, other, 4_200, payee="Tow Co")
    client = sign_in(Client(), cadmin)

    def shown(query: str) -> str:
        return text(client.get(f"/cases/audit/?{query}"))

    by_sam = shown(f"user={cattorney.pk}")
    assert rows_of(by_sam) == AuditEvent.objects.filter(actor_id=cattorney.pk).count() == 2
    assert "<td>Ana Admin</td>" not in by_sam
    costs = shown("entity=cost")
    assert rows_of(costs) == 1
    assert "Cost $42.00 added to case" in costs
    assert (
        rows_of(shown("action=create&entity=contact"))
        == AuditEvent.objects.filter(entity_type="contact").count()
    )
    of_case = shown(f"case={other.number}")
    assert rows_of(of_case) == 2  # opened, and its cost
    assert rows_of(shown("case=NO-SUCH")) == 0
    today = timezone.localtime(timezone.now(), zoneinfo.ZoneInfo(ZONE)).date()
    everything = AuditEvent.objects.filter(system="cases", firm_id=la_firm.pk).count()
    assert rows_of(shown(f"since={today}&until={today}")) == everything
    assert rows_of(shown(f"since={today + dt.timedelta(days=1)}")) == 0
    assert rows_of(shown(f"until={today - dt.timedelta(days=1)}")) == 0
    assert rows_of(shown("q=tow+co")) == 1  # "Contact Tow Co added", in any case
    assert rows_of(shown("q=added+to+case")) == 1


def test_pages_newest_first_by_keyset(cfirm, cadmin, case):
    audit_record_many(
        [
            {
                "system": "cases",
                "firm_id": cfirm.pk,
                "action": "note",
                "entity_type": "case",
                "entity_id": case.pk,
                "summary": f"Note {i:02d}",
            }
            for i in range(60)
        ]
    )
    client = sign_in(Client(), cadmin)
    first = text(client.get("/cases/audit/?action=note"))
    assert rows_of(first) == 50
    # one insert gives all 60 the same moment: the newest id comes first
    assert first.index("Note 59") < first.index("Note 10")
    assert "Note 09" not in first
    start = first.index('href="?action=note&amp;cursor=') + len('href="')
    older = first[start : first.index('"', start)].replace("&amp;", "&")
    second = text(client.get(f"/cases/audit/{older}"))
    assert rows_of(second) == 10
    assert "Note 09" in second
    assert "Note 00" in second
    assert "Note 10" not in second
    assert 'rel="next"' not in second
    # a tampered cursor starts again at the newest page, saying so
    again = text(client.get("/cases/audit/?action=note&cursor=bogus"))
    assert "That page link is out of date" in again
    assert rows_of(again) == 50
    for cursor in ("A" * 1001, "abc\x00def"):  # longer than any cursor; a NUL
        response = client.get("/cases/audit/", {"action": "note", "cursor": cursor})
        assert response.status_code == 200
        assert rows_of(text(response)) == 50


def test_the_csv_export_is_exact_streamed_and_formulas_neutralised(la_firm, cadmin, case):
    holder = contact(la_firm, "CMS Medicare Recovery")
    cases_audit(
        firm_id=la_firm.pk,
        actor=cadmin,
        action="create",
        entity_type="lien",
        entity_id=7,
        summary=f"Case {case.number}: Medicare of CMS Medicare Recovery claimed $15,000.00",
        after={
            "kind": "medicare",
            "claimed_cents": 1_500_000,
            "paid_direct": False,
            "holder": holder.pk,
        },
    )
    audit_record(
        system="cases",
        firm_id=la_firm.pk,
        action="change",
        entity_type="lien",
        entity_id=7,
        actor_label="=2+3",
        summary='=HYPERLINK("http://evil.test")',
        before={"final_cents": 100, "id": 7},
        after={"final_cents": 250, "id": 7},
    )
    first, second = AuditEvent.objects.filter(entity_type="lien").order_by("pk")
    response = sign_in(Client(), cadmin).get("/cases/audit/export.csv?entity=lien")
    assert response.status_code == 200
    assert response.streaming
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"].startswith('attachment; filename="audit-trail-')
    body = b"".join(response.streaming_content).decode()
    assert list(csv.reader(io.StringIO(body))) == [
        ["When", "Who", "Action", "Record", "Summary", "Before and after"],
        [
            local(second.at),
            "'=2+3",
            "Change",
            "Lien",
            '\'=HYPERLINK("http://evil.test")',
            "Final: $1.00 → $2.50",
        ],
        [
            local(first.at),
            "Ana Admin",
            "Create",
            "Lien",
            f"Case {case.number}: Medicare of CMS Medicare Recovery claimed $15,000.00",
            "Claimed: $15,000.00; Holder: CMS Medicare Recovery; Kind: medicare; Paid direct: No",
        ],
    ]


def test_the_api_pages_the_firms_and_a_cases_events(cfirm, cadmin, paralegal, case):
    other = new_case(cfirm, cadmin, "Tom Baker")
    api = ApiClient(Client(), issue(cfirm, cadmin))
    seen: list[int] = []
    cursor = None
    while True:
        page = api.get("/audit-events", {"limit": 3, **({"cursor": cursor} if cursor else {})})
        assert page.status == 200
        assert len(page.body["items"]) <= 3
        seen += [item["id"] for item in page.body["items"]]
        cursor = page.body["next"]
        if cursor is None:
            break
    expected = list(
        AuditEvent.objects.filter(system="cases", firm_id=cfirm.pk)
        .order_by("-at", "-pk")
        .values_list("pk", flat=True)
    )
    assert seen == expected
    opened = api.get(f"/cases/{other.pk}/audit-events").body["items"]
    assert [e["summary"] for e in opened] == [f"Case {other.number} Tom Baker v. City Bus opened"]
    assert opened[0]["who"] == "Ana Admin"
    assert opened[0]["record_label"] == "Case"
    assert api.get("/audit-events", {"cursor": "bogus"}).error["field"] == "cursor"

    mere = ApiClient(Client(), issue(cfirm, paralegal))
    assert mere.get("/audit-events").status == 403
    assert mere.get(f"/cases/{case.pk}/audit-events").status == 200


def test_before_and_after_read_as_words_never_as_ids(cfirm, cadmin, case):
    cost = add_cost(cfirm, cadmin, case, 12_500, payee="Records Inc")
    common = {"system": "cases", "firm_id": cfirm.pk, "entity_id": 1}
    audit_record(
        **common,
        action="change",
        entity_type="settlement",
        summary=f"Case {case.number}: settlement terms changed",
        before={"fee": ("percent", 3333, 0, False), "charges": (0, 0)},
        after={"fee": ("fixed", 0, 500_000, False), "charges": (25_000, -10_000)},
    )
    audit_record(
        **common,
        action="split",
        entity_type="cost",
        summary="Cost split",
        before={"payee_id": cost.payee_id, "id": cost.pk, "mystery_id": 9},
        after={"parts": [{"cost": cost.pk, "case": case.pk, "amount_cents": 5_000}]},
    )
    terms, split = audit_rows(
        firm=cfirm,
        events=list(AuditEvent.objects.filter(action__in=["change", "split"]).order_by("pk")),
    )
    assert terms.changes == [
        Change(
            "Charges",
            "COPP $0.00, Property Damage Fee $0.00",
            "COPP $250.00, Property Damage Fee -$100.00",
        ),
        Change("Fee", "33.33% of the gross", "fixed $5,000.00"),
    ]
    assert split.changes == [
        Change(
            "Parts",
            "",
            f"Amount $50.00, Case case {case.number}, "
            "Cost cost of 2026-03-02 to Records Inc for $125.00",
        ),
        Change("Payee", "Records Inc", ""),
    ]
    assert (split.who, split.action_label, split.entity_label) == ("system", "Split", "Cost")
