"""The rest of the cases side's lists exported (issue 15): Client Trust Management's tab,
Account Settings' users, cost codes and limitation rules, and the audit trail (the firm's
and a case's) as CSV and XLSX from each screen's Export menu. Exact rows of a small messy
dataset (accents, names that start like a formula, a paid-direct lien, an inactive user,
code and rule); each export guarded as its screen is; a format not offered is refused."""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import html
import io
import re
import zoneinfo

import openpyxl
import pytest
from django.test import Client
from django.utils import timezone

from casebridge.cases.models import CostCode, Deposit, LimitationRule, TrustItem, User
from casebridge.cases.services import cases as case_services
from casebridge.cases.services import deadlines, disbursement, firms, settlement
from casebridge.cases.services.firms import UTBMS_EXPENSE_CODES
from casebridge.core import clock
from casebridge.core.audit import audit_record
from casebridge.core.models import AuditEvent
from tests.cases.api.conftest import issue
from tests.cases.conftest import PASSWORD

from .conftest import sign_in, text

pytestmark = pytest.mark.django_db

ZONE = "America/Los_Angeles"
PAID = dt.date(2026, 3, 9)
MONEY_FORMAT = '"$"#,##0.00;-"$"#,##0.00'


def content(response) -> bytes:
    return b"".join(response.streaming_content) if response.streaming else response.content


def csv_rows(response) -> list[list[str]]:
    assert response.status_code == 200, content(response)[:500]
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    return list(csv.reader(io.StringIO(content(response).decode("utf-8"))))


def workbook_sheet(response):
    assert response.status_code == 200, content(response)[:500]
    assert response["Content-Type"] == (
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    )
    return openpyxl.load_workbook(io.BytesIO(content(response))).active


def xlsx_rows(response) -> list[tuple[object, ...]]:
    return list(workbook_sheet(response).iter_rows(values_only=True))


def midnight(day: dt.date) -> dt.datetime:
    """A date as openpyxl reads an Excel date back."""
    return dt.datetime.combine(day, dt.time.min)


@pytest.fixture
def la_firm(cfirm):
    cfirm.time_zone = ZONE
    cfirm.save(update_fields=["time_zone"])
    return cfirm


def staged_on(item: TrustItem) -> dt.date:
    return timezone.localtime(item.staged_at, zoneinfo.ZoneInfo(ZONE)).date()


# --- Client Trust Management --------------------------------------------------------------


@pytest.fixture
def staged(la_firm, cadmin, case, deposited, other_firm_objects):
    """The $100,000.00 settlement deposited; the fee staged, and a medical lien of
    "=Valley Médical" accepted at $10,000.00 and paid direct. Another firm has a fee
    staged too."""
    holder = case_services.contact_create(firm=la_firm, actor=cadmin, name="=Valley Médical")
    lien = settlement.lien_create(
        firm=la_firm,
        actor=cadmin,
        case_id=case.pk,
        kind="medical",
        holder_id=holder.pk,
        claimed_cents=2_000_000,
        paid_direct=True,
    )
    settlement.lien_accept(firm=la_firm, actor=cadmin, lien_id=lien.pk, final_cents=1_000_000)
    settlement.trust_item_stage(firm=la_firm, actor=cadmin, case_id=case.pk, kind="fee")
    settlement.trust_item_stage(
        firm=la_firm, actor=cadmin, case_id=case.pk, kind="lien", lien_id=lien.pk
    )
    return case


HEAD = [
    "Case",
    "Case name",
    "Client",
    "Attorney",
    "Item",
    "Payee",
    "Note",
    "Paid direct",
    "Check number",
    "Invoice",
    "Staged on",
    "Disbursed on",
    "Amount",
]


def test_the_staged_tab_as_csv_item_by_item_formulas_neutralised(admin_client, staged):
    fee, lien = TrustItem.objects.filter(case=staged).order_by("pk")
    page = text(admin_client.get("/cases/client-trust/"))
    # the menu carries the tab the screen opened on (Staged: it has work)
    assert 'href="/cases/export/client-trust/?tab=staged&amp;format=xlsx"' in page
    response = admin_client.get("/cases/export/client-trust/", {"format": "csv", "tab": "staged"})
    assert response.streaming
    assert response["Content-Disposition"] == (
        f'attachment; filename="client-trust-staged-{clock.today().isoformat()}.csv"'
    )
    rows = csv_rows(response)
    assert rows == [
        HEAD,
        [
            staged.number,
            "Lopez v. Acme Trucking",
            "Maria Lopez",
            "Sam Smith",
            "Attorney fee",
            "Lopez Injury Attorneys",
            "",
            "No",
            "",
            "",
            staged_on(fee).isoformat(),
            "",
            "33330.00",
        ],
        [
            staged.number,
            "Lopez v. Acme Trucking",
            "Maria Lopez",
            "Sam Smith",
            "Medical bill",
            "'=Valley Médical",
            "DO NOT DISTRIBUTE - PAID DIRECT",
            "Yes",
            "",
            "",
            staged_on(lien).isoformat(),
            "",
            "10000.00",
        ],
    ]
    # without a tab: the tab the screen opens on; another firm's staged fee is never there
    assert csv_rows(admin_client.get("/cases/export/client-trust/")) == rows
    bom = admin_client.get("/cases/export/client-trust/", {"bom": "1"})
    assert content(bom).startswith("\ufeffCase,Case name,".encode())
    assert csv_rows(admin_client.get("/cases/export/client-trust/?tab=disbursed")) == [HEAD]


def test_the_disbursed_tab_as_xlsx_amounts_are_numbers_and_dates_dates(
    admin_client, la_firm, cadmin, staged
):
    # the worked flow of test_client_trust_screens: the fee and the costs from $90,000.00
    # really received, the client's check the rest, then checks printed and the invoice final
    fee = TrustItem.objects.get(case=staged, kind="fee")
    settlement.trust_item_unstage(firm=la_firm, actor=cadmin, item_id=fee.pk)
    first = Deposit.objects.get(case=staged)
    settlement.deposit_void(firm=la_firm, actor=cadmin, deposit_id=first.pk, reason="wrong")
    settlement.deposit_record(
        firm=la_firm,
        actor=cadmin,
        case_id=staged.pk,
        offer_id=first.offer_id,
        amount_cents=9_000_000,
        check_number="5502",
    )
    settlement.trust_item_stage(firm=la_firm, actor=cadmin, case_id=staged.pk, kind="fee")
    settlement.trust_item_stage(
        firm=la_firm, actor=cadmin, case_id=staged.pk, kind="cost_reimbursement"
    )
    settlement.push_to_client_trust(firm=la_firm, actor=cadmin, case_id=staged.pk)
    settlement.push_to_disbursement(firm=la_firm, actor=cadmin, case_id=staged.pk)
    items = {i.kind: i for i in TrustItem.objects.filter(case=staged)}
    disbursement.trust_items_record_checks_printed(
        firm=la_firm, actor=None, printed=[(items["client"].pk, "1001", PAID)]
    )
    disbursement.trust_items_record_invoiced(
        firm=la_firm,
        actor=None,
        item_ids=[items["fee"].pk, items["cost_reimbursement"].pk],
        reference="Invoice 17",
        on=PAID,
    )

    response = admin_client.get(
        "/cases/export/client-trust/", {"format": "xlsx", "tab": "disbursed"}
    )
    assert response["Content-Disposition"] == (
        f'attachment; filename="client-trust-disbursed-{clock.today().isoformat()}.xlsx"'
    )
    sheet = workbook_sheet(response)
    rows = list(sheet.iter_rows(values_only=True))
    case = (staged.number, "Lopez v. Acme Trucking", "Maria Lopez", "Sam Smith")
    firm = "Lopez Injury Attorneys"

    def staged_day(kind: str) -> dt.datetime:
        return midnight(staged_on(items[kind]))

    assert rows == [
        tuple(HEAD),
        (*case, "Attorney fee", firm, "", "No", "", "Invoice 17", staged_day("fee"),
         midnight(PAID), 33330),
        (*case, "Cost reimbursement", firm, "", "No", "", "Invoice 17",
         staged_day("cost_reimbursement"), midnight(PAID), 300.01),
        (*case, "Client's final check", "Maria Lopez", "", "No", "1001", "",
         staged_day("client"), midnight(PAID), 56369.99),
    ]  # fmt: skip
    for line in (2, 3, 4):
        amount = sheet.cell(row=line, column=13)
        assert amount.data_type == "n"
        assert amount.number_format == MONEY_FORMAT
        assert sheet.cell(row=line, column=11).is_date
        assert sheet.cell(row=line, column=12).is_date
    # the paid-direct lien stays To Be Disbursed: recorded, never paid from trust
    waiting = csv_rows(admin_client.get("/cases/export/client-trust/?tab=to_be_disbursed"))
    assert [(r[4], r[5], r[7], r[12]) for r in waiting[1:]] == [
        ("Medical bill", "'=Valley Médical", "Yes", "10000.00")
    ]


def test_client_trust_is_exported_by_anyone_who_sees_the_screen(paralegal_client, staged):
    assert paralegal_client.get("/cases/client-trust/").status_code == 200
    rows = csv_rows(paralegal_client.get("/cases/export/client-trust/"))
    assert len(rows) == 3
    anonymous = Client().get("/cases/export/client-trust/")
    assert anonymous.status_code == 302
    assert anonymous["Location"].startswith("/cases/login/")


# --- Users and permissions -----------------------------------------------------------------


@pytest.fixture
def people(la_firm, cadmin, cattorney, paralegal):
    """The administrator (two factors, an API token, last signed in on 2 March at 10:30
    in Los Angeles), the attorney, the paralegal, and "=Eve Ñúñez", who held Costs
    management and has left."""
    token = issue(la_firm, cadmin)
    User.objects.filter(pk=cadmin.pk).update(
        last_login_at=dt.datetime(2026, 3, 2, 18, 30, tzinfo=dt.UTC)
    )
    eve = firms.user_create(
        firm=la_firm,
        actor=cadmin,
        email="eve@lopez.test",
        password=PASSWORD,
        first_name="=Eve",
        last_name="Ñúñez",
        perm_costs_management=True,
    )
    firms.user_update(user=eve, actor=cadmin, is_active=False)
    return token


USER_HEAD = [
    "First name",
    "Last name",
    "Email",
    "Firm administrator",
    "Attorney",
    "Active",
    "Administration settings page access",
    "Costs management",
    "Deposit settlement checks",
    "Last sign-in",
]
ANA_SIGNED_IN = "2026-03-02 10:30"  # 18:30 UTC, on the firm's clock
USER_ROWS = [
    ["Ana", "Admin", "admin@lopez.test", "Yes", "No", "Yes", "Yes", "Yes", "Yes", ANA_SIGNED_IN],
    ["Pat", "Paralegal", "pat@lopez.test", "No", "No", "Yes", "No", "No", "No", ""],
    ["Sam", "Smith", "sam.smith@lopez.test", "No", "Yes", "Yes", "No", "No", "No", ""],
    ["'=Eve", "Ñúñez", "eve@lopez.test", "No", "No", "No", "No", "Yes", "No", ""],
]  # fmt: skip


def test_the_users_as_csv_and_xlsx_without_a_secret(admin_client, people):
    page = text(admin_client.get("/cases/settings/users/"))
    assert 'href="/cases/export/users/?format=csv&amp;bom=0"' in page
    response = admin_client.get("/cases/export/users/", {"format": "csv"})
    body = content(response).decode()
    assert list(csv.reader(io.StringIO(body))) == [USER_HEAD, *USER_ROWS]
    secrets = [people, hashlib.sha256(people.encode()).hexdigest()]
    for user in User.objects.all():
        secrets += [user.password, user.totp_secret] if user.totp_secret else [user.password]
    assert len(secrets) == 7
    assert not [s for s in secrets if s in body]

    rows = xlsx_rows(admin_client.get("/cases/export/users/", {"format": "xlsx"}))
    # XLSX writes text as text: the name keeps its "=" and is never a formula
    as_written = [[None if v == "" else v for v in r] for r in USER_ROWS]
    as_written[3][0] = "=Eve"
    assert rows == [tuple(USER_HEAD), *map(tuple, as_written)]
    cells = {str(v) for r in rows for v in r}
    assert not [s for s in secrets if any(s in c for c in cells)]


def test_only_those_who_open_users_and_permissions_export_it(
    paralegal_client, attorney_client, settings_holder, people
):
    for client in (paralegal_client, attorney_client):
        refused = client.get("/cases/export/users/", {"format": "xlsx"})
        assert refused.status_code == 403
        assert "Administration settings page access" in text(refused)
        assert "admin@lopez.test" not in text(refused)
    holder = sign_in(Client(), settings_holder)
    assert len(csv_rows(holder.get("/cases/export/users/"))) == 7  # the head, six people
    anonymous = Client().get("/cases/export/users/")
    assert anonymous.status_code == 302


# --- Cost codes ----------------------------------------------------------------------------


def test_the_cost_codes_the_firms_own_first_then_utbms(admin_client, cfirm, cadmin):
    firms.cost_code_create(firm=cfirm, actor=cadmin, code="=cmd", name="=2+3 Courier")
    CostCode.objects.filter(firm=cfirm, code="POLICE").update(is_active=False)
    page = text(admin_client.get("/cases/settings/cost-codes/"))
    assert 'href="/cases/export/cost-codes/?format=xlsx"' in page
    own = [
        ["'=CMD", "'=2+3 Courier", "Firm's own", "Yes"],
        ["FILING", "Filing fee", "Firm's own", "Yes"],
        ["MEDREC", "Medical records", "Firm's own", "Yes"],
        ["POLICE", "Police report", "Firm's own", "No"],
    ]
    utbms = [[c, n, "UTBMS expense code", "Yes"] for c, n in UTBMS_EXPENSE_CODES]
    head = ["Code", "Name", "Kind", "Active"]
    assert csv_rows(admin_client.get("/cases/export/cost-codes/")) == [head, *own, *utbms]
    rows = xlsx_rows(admin_client.get("/cases/export/cost-codes/", {"format": "xlsx"}))
    assert rows[1] == ("=CMD", "=2+3 Courier", "Firm's own", "Yes")
    assert rows[2:] == [tuple(r) for r in own[1:] + utbms]


def test_cost_codes_need_the_settings_permission(paralegal_client):
    assert paralegal_client.get("/cases/export/cost-codes/").status_code == 403


# --- Limitation rules ----------------------------------------------------------------------


def test_the_limitation_rules_active_first_with_their_dates(admin_client, cfirm, cadmin):
    deadlines.limitation_rule_create(
        firm=cfirm,
        actor=cadmin,
        state="NY",
        claim_type="negligence",
        rule_type="statute",
        period_count=3,
        period_unit="years",
        effective_from=dt.date(2000, 1, 1),
        citation='=HYPERLINK("http://evil.test")',
        verify_with_counsel=False,
        note="Núñez v. Smith, as counsel read it",
    )
    old_florida = LimitationRule.objects.get(firm=cfirm, state="FL", effective_from=None)
    deadlines.limitation_rule_update(
        firm=cfirm, actor=cadmin, rule_id=old_florida.pk, is_active=False
    )
    page = text(admin_client.get("/cases/settings/limitation-rules/"))
    assert 'href="/cases/export/limitation-rules/?format=xlsx"' in page
    statute = ("Negligence", "Statute of limitations")
    assert csv_rows(admin_client.get("/cases/export/limitation-rules/")) == [
        [
            "State",
            "Claim",
            "Rule",
            "Period",
            "Unit",
            "Incidents from",
            "Incidents until",
            "Citation",
            "Verify with counsel",
            "Note",
            "Active",
        ],
        ["CA", *statute, "2", "years", "2003-01-01", "", "Cal. Civ. Proc. Code § 335.1", "Yes",
         "Injury to or death of an individual caused by wrongful act or neglect; section in "
         "force from 1 January 2003.", "Yes"],
        ["FL", *statute, "2", "years", "2023-03-25", "",
         "§ 95.11(4)(a), Fla. Stat., as amended by ch. 2023-15, Laws of Fla. (HB 837)", "Yes",
         "Negligence causes of action accruing after 24 March 2023, the act's effective date.",
         "Yes"],
        ["NY", *statute, "3", "years", "2000-01-01", "", "'=HYPERLINK(\"http://evil.test\")",
         "No", "Núñez v. Smith, as counsel read it", "Yes"],
        ["FL", *statute, "4", "years", "", "2023-03-24",
         "§ 95.11(3)(a), Fla. Stat. (before ch. 2023-15, Laws of Fla.)", "Yes",
         "Negligence causes of action accruing on or before 24 March 2023.", "No"],
    ]  # fmt: skip
    sheet = workbook_sheet(admin_client.get("/cases/export/limitation-rules/?format=xlsx"))
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[1][3:7] == (2, "years", midnight(dt.date(2003, 1, 1)), None)
    assert rows[3][3:8] == (
        3,
        "years",
        midnight(dt.date(2000, 1, 1)),
        None,
        '=HYPERLINK("http://evil.test")',
    )
    assert rows[4][3:7] == (4, "years", None, midnight(dt.date(2023, 3, 24)))
    assert sheet.cell(row=2, column=6).is_date
    assert sheet.cell(row=5, column=7).is_date
    assert sheet.cell(row=2, column=4).data_type == "n"
    assert sheet.cell(row=4, column=8).data_type == "s"  # text, never a formula


def test_limitation_rules_need_the_settings_permission(paralegal_client):
    assert paralegal_client.get("/cases/export/limitation-rules/").status_code == 403


# --- The audit trail -----------------------------------------------------------------------


@pytest.fixture
def lien_events(la_firm, cadmin, case):
    """Two events of a lien of the case: one by the administrator, one whose actor and
    summary start like formulas."""
    audit_record(
        system="cases",
        firm_id=la_firm.pk,
        actor_id=cadmin.pk,
        actor_label=cadmin.email,
        action="create",
        entity_type="lien",
        entity_id=7,
        summary=f"Case {case.number}: Medicare lien claimed $15,000.00",
        after={"claimed_cents": 1_500_000, "paid_direct": False},
    )
    audit_record(
        system="cases",
        firm_id=la_firm.pk,
        action="change",
        entity_type="lien",
        entity_id=7,
        actor_label="=2+3",
        summary=f'Case {case.number}: =HYPERLINK("http://evil.test")',
        before={"final_cents": 100},
        after={"final_cents": 250},
    )
    return list(AuditEvent.objects.filter(entity_type="lien").order_by("-pk"))


def local(at: dt.datetime) -> str:
    return timezone.localtime(at, zoneinfo.ZoneInfo(ZONE)).strftime("%Y-%m-%d %H:%M")


def audit_expected(case, events) -> list[list[str]]:
    newer, older = events
    return [
        ["When", "Who", "Action", "Record", "Summary", "Before and after"],
        [local(newer.at), "'=2+3", "Change", "Lien",
         f'Case {case.number}: =HYPERLINK("http://evil.test")', "Final: $1.00 → $2.50"],
        [local(older.at), "Ana Admin", "Create", "Lien",
         f"Case {case.number}: Medicare lien claimed $15,000.00",
         "Claimed: $15,000.00; Paid direct: No"],
    ]  # fmt: skip


def test_the_firms_audit_trail_as_csv_and_xlsx_beside_the_old_csv(admin_client, case, lien_events):
    page = text(admin_client.get("/cases/audit/?entity=lien&cursor=abc"))
    # the menu keeps the filters and drops the page's place
    assert 'href="/cases/export/audit/?entity=lien&amp;format=xlsx"' in page
    assert "Export CSV" not in page
    expected = audit_expected(case, lien_events)
    new = csv_rows(admin_client.get("/cases/export/audit/?format=csv&entity=lien"))
    assert new == expected
    old = admin_client.get("/cases/audit/export.csv?entity=lien")
    assert old["Content-Disposition"] == (
        f'attachment; filename="audit-trail-{clock.today().isoformat()}.csv"'
    )
    assert csv_rows(old) == expected
    rows = xlsx_rows(admin_client.get("/cases/export/audit/?format=xlsx&entity=lien"))
    expected[1][1] = "=2+3"  # a string in XLSX: never a formula, so no apostrophe
    assert rows == [tuple(r) for r in expected]


def test_a_cases_activity_as_xlsx_for_anyone_who_sees_the_case(
    paralegal_client, case, lien_events, other_firm_objects
):
    page = text(paralegal_client.get(f"/cases/{case.pk}/audit/"))
    assert f'href="/cases/export/cases/{case.pk}/audit/?format=xlsx"' in page
    response = paralegal_client.get(f"/cases/export/cases/{case.pk}/audit/?format=xlsx&entity=lien")
    assert response["Content-Disposition"] == (
        f'attachment; filename="audit-trail-case-{case.number}-{clock.today().isoformat()}.xlsx"'
    )
    expected = audit_expected(case, lien_events)
    expected[1][1] = "=2+3"
    assert xlsx_rows(response) == [tuple(r) for r in expected]
    legacy = paralegal_client.get(f"/cases/{case.pk}/audit/export.csv?entity=lien")
    assert csv_rows(legacy) == audit_expected(case, lien_events)
    # the firm's trail is for the settings permission; another firm's case is not found
    assert paralegal_client.get("/cases/export/audit/?format=xlsx").status_code == 403
    other = other_firm_objects["case"]
    assert paralegal_client.get(f"/cases/export/cases/{other}/audit/").status_code == 404


def test_a_bad_audit_filter_exports_nothing_in_either_format(admin_client, case, lien_events):
    for fmt in ("csv", "xlsx"):
        reply = admin_client.get(
            f"/cases/export/cases/{case.pk}/audit/?format={fmt}&since=2026-13-45"
        )
        assert reply.status_code == 400
        assert reply.content.decode() == (
            "The filters are not valid, so nothing was exported. From: Enter a valid date.\n"
        )


# --- Formats ---------------------------------------------------------------------------------


def test_a_format_not_offered_is_refused_naming_the_parameter(admin_client, case):
    for url in (
        "/cases/export/client-trust/",
        "/cases/export/users/",
        "/cases/export/cost-codes/",
        "/cases/export/limitation-rules/",
        "/cases/export/audit/",
        f"/cases/export/cases/{case.pk}/audit/",
    ):
        for fmt in ("pdf", "ods", "XLSX2"):
            reply = admin_client.get(url, {"format": fmt})
            assert reply.status_code == 422, (url, fmt)
            assert reply.content.decode() == "format must be one of csv, xlsx", (url, fmt)
        assert admin_client.get(url, {"format": "XLSX"}).status_code == 200
        assert admin_client.post(url, {"format": "csv"}).status_code == 405


def test_a_screen_address_carrying_format_or_bom_does_not_override_the_menus_choice(
    admin_client, case, lien_events
):
    # review: the menu wrote ?format=csv&<the screen's query>, and the last value is the
    # one read, so /cases/audit/?format=pdf&... made every item a 422
    page = text(admin_client.get("/cases/audit/?format=pdf&bom=1&entity=lien"))
    links = dict(
        (kind, html.unescape(href))
        for href, kind in re.findall(r'href="([^"]+)" data-export="([a-z-]+)"', page)
    )
    assert links == {
        "csv": "/cases/export/audit/?format=pdf&bom=1&entity=lien&format=csv&bom=0",
        "csv-bom": "/cases/export/audit/?format=pdf&bom=1&entity=lien&format=csv&bom=1",
        "xlsx": "/cases/export/audit/?format=pdf&bom=1&entity=lien&format=xlsx",
    }
    expected = audit_expected(case, lien_events)
    assert csv_rows(admin_client.get(links["csv"])) == expected  # no BOM: the first cell reads
    with_bom = content(admin_client.get(links["csv-bom"]))
    assert with_bom.startswith(b"\xef\xbb\xbf")
    assert list(csv.reader(io.StringIO(with_bom.decode("utf-8-sig")))) == expected
    assert xlsx_rows(admin_client.get(links["xlsx"]))[0] == tuple(expected[0])


def test_an_xlsx_over_the_in_request_limit_is_refused_naming_the_way_out(
    admin_client, case, lien_events, monkeypatch
):
    # review: the firm's audit trail as XLSX had no limit: the workbook is written whole
    # before its first byte goes, and some 75,000 events passed the web worker's 30 s
    monkeypatch.setattr("casebridge.web.exports.XLSX_IN_REQUEST_MAX_ROWS", 1)
    for url in (
        "/cases/export/audit/?entity=lien&format=xlsx",
        f"/cases/export/cases/{case.pk}/audit/?entity=lien&format=xlsx",
    ):
        response = admin_client.get(url)
        assert response.status_code == 422, url
        assert content(response) == (
            b"More than 1 rows are too many for an XLSX made while you wait: narrow the "
            b"filters, or export CSV, which has no such limit.\n"
        )
    # CSV streams: no limit; and a filter that narrows to one row makes its XLSX
    assert len(csv_rows(admin_client.get("/cases/export/audit/?entity=lien&format=csv"))) == 3
    narrowed = admin_client.get("/cases/export/audit/?entity=lien&action=create&format=xlsx")
    assert narrowed.status_code == 200
    # the Cases list (the firm's one case) alike
    assert admin_client.get("/cases/export/cases/?format=xlsx").status_code == 200
    monkeypatch.setattr("casebridge.web.exports.XLSX_IN_REQUEST_MAX_ROWS", 0)
    assert admin_client.get("/cases/export/cases/?format=xlsx").status_code == 422
