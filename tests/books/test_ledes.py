"""LEDES 1998B export of fee invoices (issue 15, ADR 0044), field by field against the
specification's rules: the first line, the header line, 24 fields a line, ``[]``
terminators, YYYYMMDD dates, two-decimal amounts, line totals after adjustments adding to
INVOICE_TOTAL exactly, fees with task and activity codes and their timekeeper, expenses
with expense codes, free text made safe, identifiers refused, a voided invoice refused,
and the exact file of a worked invoice."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.db import IntegrityError, transaction

from casebridge.books.errors import AdminRequired, Conflict, ValidationFailed
from casebridge.books.exports import ledes
from casebridge.books.exports.ledes import LedesInvoice, LedesLine, LedesRefused
from casebridge.books.models import ActivityCode, InvoiceLine
from casebridge.books.services import auth, invoices, setup
from casebridge.books.services import ledes as ledes_service
from casebridge.books.services.invoices import LineSpec
from casebridge.core.models import AuditEvent
from tests.books.ledger_helpers import D, refused
from tests.conftest import PASSWORD

HEADER = (
    "INVOICE_DATE|INVOICE_NUMBER|CLIENT_ID|LAW_FIRM_MATTER_ID|INVOICE_TOTAL|"
    "BILLING_START_DATE|BILLING_END_DATE|INVOICE_DESCRIPTION|LINE_ITEM_NUMBER|"
    "EXP/FEE/INV_ADJ_TYPE|LINE_ITEM_NUMBER_OF_UNITS|LINE_ITEM_ADJUSTMENT_AMOUNT|"
    "LINE_ITEM_TOTAL|LINE_ITEM_DATE|LINE_ITEM_TASK_CODE|LINE_ITEM_EXPENSE_CODE|"
    "LINE_ITEM_ACTIVITY_CODE|TIMEKEEPER_ID|LINE_ITEM_DESCRIPTION|LAW_FIRM_ID|"
    "LINE_ITEM_UNIT_COST|TIMEKEEPER_NAME|TIMEKEEPER_CLASSIFICATION|CLIENT_MATTER_ID[]"
)


# --- the format, on plain data ----------------------------------------------------------


def fee_line(**kw) -> LedesLine:
    values = {
        "type": "F",
        "date": dt.date(2026, 2, 10),
        "description": "Draft demand letter",
        "units": Decimal("2.50"),
        "unit_cost_cents": 40_000,
        "task_code": "L120",
        "activity_code": "A103",
        "timekeeper_id": "SS",
        "timekeeper_name": "Smith, Sam",
        "timekeeper_classification": "PT",
    }
    return LedesLine(**{**values, **kw})


def expense_line(**kw) -> LedesLine:
    values = {
        "type": "E",
        "date": dt.date(2026, 2, 12),
        "description": "Filing fee",
        "units": Decimal(1),
        "unit_cost_cents": 43_500,
        "expense_code": "E112",
    }
    return LedesLine(**{**values, **kw})


def an_invoice(lines, total=None, **kw) -> LedesInvoice:
    values = {
        "number": "1001",
        "date": dt.date(2026, 3, 2),
        "client_id": "ACME-INS",
        "law_firm_matter_id": "F-2026-00001",
        "law_firm_id": "12-3456789",
        "total_cents": sum(ln.total_cents for ln in lines) if total is None else total,
        "billing_start": dt.date(2026, 2, 1),
        "billing_end": dt.date(2026, 2, 28),
        "description": "February services",
        "client_matter_id": "CLM-778812",
        "lines": lines,
    }
    return LedesInvoice(**{**values, **kw})


def test_the_first_line_the_header_and_one_line_a_line_item_each_ending_brackets():
    text = ledes.ledes_1998b([an_invoice([fee_line(), expense_line()])])
    lines = text.split("\r\n")
    assert lines[0] == "LEDES1998B[]"
    assert lines[1] == HEADER
    assert lines[-1] == ""  # the last line ends with its line break too
    assert len(lines) == 5
    for line in lines[1:4]:
        assert line.endswith("[]")
        assert line.count("[]") == 1
        assert len(line[:-2].split("|")) == 24


def test_a_fee_and_an_expense_field_by_field():
    rows = ledes.parse(ledes.ledes_1998b([an_invoice([fee_line(), expense_line()])]))
    assert rows[0] == {
        "INVOICE_DATE": "20260302",
        "INVOICE_NUMBER": "1001",
        "CLIENT_ID": "ACME-INS",
        "LAW_FIRM_MATTER_ID": "F-2026-00001",
        "INVOICE_TOTAL": "1435.00",
        "BILLING_START_DATE": "20260201",
        "BILLING_END_DATE": "20260228",
        "INVOICE_DESCRIPTION": "February services",
        "LINE_ITEM_NUMBER": "1",
        "EXP/FEE/INV_ADJ_TYPE": "F",
        "LINE_ITEM_NUMBER_OF_UNITS": "2.50",
        "LINE_ITEM_ADJUSTMENT_AMOUNT": "0.00",
        "LINE_ITEM_TOTAL": "1000.00",
        "LINE_ITEM_DATE": "20260210",
        "LINE_ITEM_TASK_CODE": "L120",
        "LINE_ITEM_EXPENSE_CODE": "",
        "LINE_ITEM_ACTIVITY_CODE": "A103",
        "TIMEKEEPER_ID": "SS",
        "LINE_ITEM_DESCRIPTION": "Draft demand letter",
        "LAW_FIRM_ID": "12-3456789",
        "LINE_ITEM_UNIT_COST": "400.00",
        "TIMEKEEPER_NAME": "Smith, Sam",
        "TIMEKEEPER_CLASSIFICATION": "PT",
        "CLIENT_MATTER_ID": "CLM-778812",
    }
    expense = rows[1]
    assert {k: expense[k] for k in ledes.FIELDS[8:]} == {
        "LINE_ITEM_NUMBER": "2",
        "EXP/FEE/INV_ADJ_TYPE": "E",
        "LINE_ITEM_NUMBER_OF_UNITS": "1.00",
        "LINE_ITEM_ADJUSTMENT_AMOUNT": "0.00",
        "LINE_ITEM_TOTAL": "435.00",
        "LINE_ITEM_DATE": "20260212",
        "LINE_ITEM_TASK_CODE": "",
        "LINE_ITEM_EXPENSE_CODE": "E112",
        "LINE_ITEM_ACTIVITY_CODE": "",
        "TIMEKEEPER_ID": "",
        "LINE_ITEM_DESCRIPTION": "Filing fee",
        "LAW_FIRM_ID": "12-3456789",
        "LINE_ITEM_UNIT_COST": "435.00",
        "TIMEKEEPER_NAME": "",
        "TIMEKEEPER_CLASSIFICATION": "",
        "CLIENT_MATTER_ID": "CLM-778812",
    }


@pytest.mark.parametrize(
    ("cents", "text"),
    [
        (0, "0.00"),
        (5, "0.05"),
        (123_456, "1234.56"),
        (123_456_789, "1234567.89"),
        (-2_500, "-25.00"),
    ],
)
def test_amounts_have_two_decimals_and_no_symbol_or_separator(cents, text):
    assert ledes.amount_field(cents) == text


def test_units_have_two_to_four_decimals_and_dates_are_yyyymmdd():
    assert [ledes.units_field(Decimal(u)) for u in ("1", "7.5", "0.125", "0.1234")] == [
        "1.00",
        "7.50",
        "0.125",
        "0.1234",
    ]
    assert ledes.date_field(dt.date(2026, 1, 9)) == "20260109"


def test_line_totals_after_adjustments_add_up_to_the_invoice_total_exactly():
    lines = [
        fee_line(adjustment_cents=-10_000),  # 2.5 h at 400.00 less a 100.00 courtesy discount
        expense_line(),
        LedesLine(
            type="IF",
            date=dt.date(2026, 2, 28),
            description="Volume discount",
            adjustment_cents=-4_550,
        ),
        LedesLine(
            type="IE",
            date=dt.date(2026, 2, 28),
            description="Copies written off",
            adjustment_cents=-35,
        ),
    ]
    rows = ledes.parse(ledes.ledes_1998b([an_invoice(lines)]))
    assert [
        (r["EXP/FEE/INV_ADJ_TYPE"], r["LINE_ITEM_ADJUSTMENT_AMOUNT"], r["LINE_ITEM_TOTAL"])
        for r in rows
    ] == [
        ("F", "-100.00", "900.00"),
        ("E", "0.00", "435.00"),
        ("IF", "-45.50", "-45.50"),
        ("IE", "-0.35", "-0.35"),
    ]
    assert {r["INVOICE_TOTAL"] for r in rows} == {"1289.15"}
    cents = sum(int(Decimal(r["LINE_ITEM_TOTAL"]) * 100) for r in rows)
    assert cents == 128_915
    # an adjustment line has no units, unit cost, codes or timekeeper
    assert [
        rows[2][k]
        for k in (
            "LINE_ITEM_NUMBER_OF_UNITS",
            "LINE_ITEM_UNIT_COST",
            "LINE_ITEM_TASK_CODE",
            "TIMEKEEPER_ID",
        )
    ] == ["", "", "", ""]


def test_an_invoice_total_that_is_not_the_sum_of_its_lines_is_refused():
    with pytest.raises(LedesRefused) as info:
        ledes.ledes_1998b([an_invoice([fee_line(), expense_line()], total=143_501)])
    assert info.value.message == (
        "Invoice 1001: INVOICE_TOTAL 1435.01 is not the sum of its line totals, 1435.00"
    )
    assert info.value.field == "INVOICE_TOTAL"


def test_free_text_with_pipes_brackets_and_line_breaks_is_made_safe():
    line = fee_line(description="Call | adjuster [] re:\r\nlien\tnotes  for Peña")
    rows = ledes.parse(ledes.ledes_1998b([an_invoice([line], description="Feb | Mar")]))
    assert rows[0]["LINE_ITEM_DESCRIPTION"] == "Call / adjuster () re: lien notes for Pena"
    assert rows[0]["INVOICE_DESCRIPTION"] == "Feb / Mar"
    assert ledes.text_field("a[[]]b") == "a[()]b"


@pytest.mark.parametrize(
    ("field", "value", "problem"),
    [
        (
            "client_matter_id",
            "CLM|7788",
            "CLIENT_MATTER_ID 'CLM|7788' may hold only printable ASCII without |, [ or ]",
        ),
        (
            "client_id",
            "ACME[]",
            "CLIENT_ID 'ACME[]' may hold only printable ASCII without |, [ or ]",
        ),
        (
            "law_firm_matter_id",
            "F-2026-00001-CONSOLIDATED",
            "LAW_FIRM_MATTER_ID 'F-2026-00001-CONSOLIDATED' is longer than 20 characters",
        ),
        ("law_firm_id", "", "LAW_FIRM_ID is required and empty"),
        ("client_id", "Peña", "CLIENT_ID 'Peña' may hold only printable ASCII without |, [ or ]"),
    ],
)
def test_an_identifier_that_breaks_the_rules_is_refused_naming_the_field(field, value, problem):
    with pytest.raises(LedesRefused) as info:
        ledes.ledes_1998b([an_invoice([fee_line()], **{field: value})])
    assert info.value.message == f"Invoice 1001: {problem}"
    assert info.value.field == problem.split(" ")[0]


@pytest.mark.parametrize(
    ("line", "message", "field"),
    [
        (
            fee_line(task_code=""),
            "LINE_ITEM_TASK_CODE is empty, not a UTBMS code such as L110",
            "LINE_ITEM_TASK_CODE",
        ),
        (
            fee_line(activity_code="L120"),
            "LINE_ITEM_ACTIVITY_CODE is 'L120', not a UTBMS code such as A101",
            "LINE_ITEM_ACTIVITY_CODE",
        ),
        (
            fee_line(expense_code="E101"),
            "a fee has no LINE_ITEM_EXPENSE_CODE",
            "LINE_ITEM_EXPENSE_CODE",
        ),
        (
            fee_line(timekeeper_classification="XX"),
            "TIMEKEEPER_CLASSIFICATION is 'XX', not one of PT, AS, OC, LA, OT",
            "TIMEKEEPER_CLASSIFICATION",
        ),
        (fee_line(timekeeper_id=""), "TIMEKEEPER_ID is required and empty", "TIMEKEEPER_ID"),
        (
            expense_line(expense_code=""),
            "LINE_ITEM_EXPENSE_CODE is empty, not a UTBMS code such as E101",
            "LINE_ITEM_EXPENSE_CODE",
        ),
        (
            fee_line(units=Decimal("0.333"), unit_cost_cents=100),
            "0.333 units at 1.00 do not come to whole cents",
            "LINE_ITEM_UNIT_COST",
        ),
        (
            fee_line(type="X"),
            "EXP/FEE/INV_ADJ_TYPE is 'X', not F, E, IF or IE",
            "EXP/FEE/INV_ADJ_TYPE",
        ),
    ],
)
def test_fees_need_task_activity_and_timekeeper_expenses_an_expense_code(line, message, field):
    with pytest.raises(LedesRefused) as info:
        ledes.ledes_1998b([an_invoice([line], total=0)])
    assert info.value.message == f"Invoice 1001, line 1: {message}"
    assert info.value.field == field


def test_several_invoices_share_one_file_and_an_invoice_twice_is_refused():
    second = an_invoice([expense_line()], number="1002")
    rows = ledes.parse(ledes.ledes_1998b([an_invoice([fee_line()]), second]))
    assert [(r["INVOICE_NUMBER"], r["LINE_ITEM_NUMBER"], r["INVOICE_TOTAL"]) for r in rows] == [
        ("1001", "1", "1000.00"),
        ("1002", "1", "435.00"),
    ]
    with pytest.raises(LedesRefused, match="Invoice 1002 is in the file twice"):
        ledes.ledes_1998b([second, second])


# --- the books' invoices ------------------------------------------------------------------


@pytest.fixture
def ledes_ready(firm, admin, attorney):
    ledes_service.ledes_settings_save(
        firm=firm,
        actor=admin,
        law_firm_id="12-3456789",
        fee_task_code="l120",
        fee_activity_code="A103",
    )
    ledes_service.timekeeper_ledes_save(
        firm=firm, actor=admin, user_id=attorney.pk, timekeeper_id="SS", classification="PT"
    )
    return firm


def worked_invoice(firm, admin, attorney, client_file, **kw):
    copying = ActivityCode.objects.get(firm=firm, code="E101")
    court = ActivityCode.objects.get(firm=firm, code="E112")
    return invoices.invoice_create(
        firm=firm,
        actor=admin,
        file_id=client_file.pk,
        invoice_date=D,
        description="Pre-litigation work",
        lines=[
            LineSpec(
                kind="fee",
                description="Demand package | medical summary",
                amount_cents=300_000,
                timekeeper_id=attorney.pk,
                hours=Decimal("7.50"),
                line_date=dt.date(2026, 2, 20),
            ),
            LineSpec(
                kind="cost",
                description="Medical records copies",
                amount_cents=12_550,
                activity_code_id=copying.pk,
                line_date=dt.date(2026, 2, 3),
            ),
            LineSpec(
                kind="cost",
                description="Complaint filing fee",
                amount_cents=43_500,
                activity_code_id=court.pk,
                line_date=dt.date(2026, 2, 27),
            ),
        ],
        **kw,
    )


def test_the_exact_file_of_a_worked_invoice(ledes_ready, firm, admin, attorney, client_file):
    ledes_service.file_ledes_ids_save(
        firm=firm,
        actor=admin,
        file_id=client_file.pk,
        client_id="ACME-INS",
        client_matter_id="CLM-778812",
    )
    invoice = worked_invoice(firm, admin, attorney, client_file)
    exported = ledes_service.invoices_ledes_export(firm=firm, actor=admin, invoice_ids=[invoice.pk])
    matter = client_file.number
    head = f"20260302|1001|ACME-INS|{matter}|3560.50|20260203|20260227|Pre-litigation work"
    assert exported.text == (
        "LEDES1998B[]\r\n"
        f"{HEADER}\r\n"
        f"{head}|1|E|1.00|0.00|125.50|20260203||E101|||Medical records copies|12-3456789|"
        "125.50|||CLM-778812[]\r\n"
        f"{head}|2|F|7.50|0.00|3000.00|20260220|L120||A103|SS|Demand package / medical summary|"
        "12-3456789|400.00|Smith, Sam|PT|CLM-778812[]\r\n"
        f"{head}|3|E|1.00|0.00|435.00|20260227||E112|||Complaint filing fee|12-3456789|"
        "435.00|||CLM-778812[]\r\n"
    )
    assert (exported.filename, exported.invoice_numbers, exported.total_cents) == (
        "LEDES1998B-invoice-1001.txt",
        (1001,),
        356_050,
    )
    event = AuditEvent.objects.filter(action="export").get()
    assert (event.entity_type, event.entity_id, event.summary, event.actor_label) == (
        "invoice",
        str(invoice.pk),
        "Exported 1 invoice as LEDES 1998B (1001; $3,560.50)",
        "admin@smith.test",
    )


def test_defaults_client_id_is_the_client_and_the_timekeeper_id_the_user(
    ledes_ready, firm, admin, attorney, client_file
):
    LedesTimekeeper = type(attorney.ledes)
    LedesTimekeeper.objects.filter(user=attorney).update(timekeeper_id="")
    invoice = worked_invoice(firm, admin, attorney, client_file)
    rows = ledes.parse(
        ledes_service.invoices_ledes_export(firm=firm, actor=admin, invoice_ids=[invoice.pk]).text
    )
    assert {r["CLIENT_ID"] for r in rows} == {str(client_file.client_id)}
    assert {r["CLIENT_MATTER_ID"] for r in rows} == {""}
    assert rows[1]["TIMEKEEPER_ID"] == str(attorney.pk)


def test_a_fee_whose_amount_does_not_divide_by_its_hours_is_one_unit(
    ledes_ready, firm, admin, attorney, client_file
):
    invoice = invoices.invoice_create(
        firm=firm,
        actor=admin,
        file_id=client_file.pk,
        invoice_date=D,
        lines=[
            LineSpec(
                kind="fee",
                description="Contingency fee (33 1/3%)",
                amount_cents=1_000_000,
                timekeeper_id=attorney.pk,
                hours=Decimal("3.00"),
            ),
            LineSpec(
                kind="fee",
                description="Settlement conference",
                amount_cents=50_000,
                timekeeper_id=attorney.pk,
            ),
        ],
    )
    rows = ledes.parse(
        ledes_service.invoices_ledes_export(firm=firm, actor=admin, invoice_ids=[invoice.pk]).text
    )
    assert [
        (r["LINE_ITEM_NUMBER_OF_UNITS"], r["LINE_ITEM_UNIT_COST"], r["LINE_ITEM_TOTAL"])
        for r in rows
    ] == [("1.00", "10000.00", "10000.00"), ("1.00", "500.00", "500.00")]
    assert rows[0]["INVOICE_DESCRIPTION"] == "Lopez v. Acme Trucking"  # the file's name


def test_many_invoices_in_one_file_in_number_order(ledes_ready, firm, admin, attorney, client_file):
    first = worked_invoice(firm, admin, attorney, client_file)
    second = worked_invoice(firm, admin, attorney, client_file)
    exported = ledes_service.invoices_ledes_export(
        firm=firm, actor=admin, invoice_ids=[second.pk, first.pk, second.pk]
    )
    rows = ledes.parse(exported.text)
    assert [(r["INVOICE_NUMBER"], r["LINE_ITEM_NUMBER"]) for r in rows] == [
        ("1001", "1"),
        ("1001", "2"),
        ("1001", "3"),
        ("1002", "1"),
        ("1002", "2"),
        ("1002", "3"),
    ]
    assert exported.filename == "LEDES1998B-invoices-1001-to-1002-2.txt"
    assert AuditEvent.objects.filter(action="export").get().summary == (
        "Exported 2 invoices as LEDES 1998B (1001, 1002; $7,121.00)"
    )


def test_a_voided_invoice_is_refused_and_nothing_is_written(
    ledes_ready, firm, admin, attorney, client_file
):
    invoice = worked_invoice(firm, admin, attorney, client_file)
    invoices.invoice_void(firm=firm, actor=admin, invoice_id=invoice.pk, reason="Wrong file")
    with refused(LedesRefused, code="ledes_refused") as info:
        ledes_service.invoices_ledes_export(firm=firm, actor=admin, invoice_ids=[invoice.pk])
    assert info.value.message == "Invoice 1001 is voided: a voided invoice is not billed"
    assert info.value.http_status == 422


def test_without_the_firms_ledes_settings_the_export_is_refused(firm, admin, attorney, client_file):
    invoice = worked_invoice(firm, admin, attorney, client_file)
    with refused(LedesRefused, code="ledes_refused") as info:
        ledes_service.invoices_ledes_export(firm=firm, actor=admin, invoice_ids=[invoice.pk])
    assert info.value.message == (
        "the firm has no LEDES law firm ID (its federal tax ID) nor fee task and activity "
        "codes yet (Settings → LEDES e-billing)"
    )
    assert info.value.field == "LAW_FIRM_ID"


def test_a_timekeeper_without_a_classification_is_named_with_the_invoice_and_line(
    ledes_ready, firm, admin, client_file
):
    paralegal = auth.user_create(
        firm=firm,
        email="pat@smith.test",
        password=PASSWORD,
        first_name="Pat",
        last_name="Lee",
        records_time=True,
    )
    invoice = invoices.invoice_create(
        firm=firm,
        actor=admin,
        file_id=client_file.pk,
        invoice_date=D,
        lines=[
            LineSpec(
                kind="fee",
                description="Intake",
                amount_cents=9_000,
                timekeeper_id=paralegal.pk,
                hours=Decimal("1.00"),
            )
        ],
    )
    with refused(LedesRefused, code="ledes_refused") as info:
        ledes_service.invoices_ledes_export(firm=firm, actor=admin, invoice_ids=[invoice.pk])
    assert info.value.message == (
        "Invoice 1001, line 1 (Intake): the timekeeper Pat Lee has no LEDES classification "
        "(Rates/Codes → Timekeepers → LEDES)"
    )
    assert info.value.field == "TIMEKEEPER_CLASSIFICATION"


def test_a_cost_whose_activity_code_has_no_utbms_code_is_named(
    ledes_ready, firm, admin, attorney, client_file
):
    gl = ActivityCode.objects.get(firm=firm, code="E101").gl_account
    courier = setup.activity_code_create(
        firm=firm, actor=admin, code="COURIER", name="Courier", gl_account_id=gl.pk
    )
    invoice = invoices.invoice_create(
        firm=firm,
        actor=admin,
        file_id=client_file.pk,
        invoice_date=D,
        lines=[
            LineSpec(
                kind="cost",
                description="Courier to court",
                amount_cents=4_500,
                activity_code_id=courier.pk,
            )
        ],
    )
    with refused(LedesRefused, code="ledes_refused") as info:
        ledes_service.invoices_ledes_export(firm=firm, actor=admin, invoice_ids=[invoice.pk])
    assert info.value.message == (
        "Invoice 1001, line 1 (Courier to court): its activity code COURIER has no UTBMS "
        "expense code, nor has the line (Invoice → the line's UTBMS codes, or Rates/Codes → "
        "Activity Code)"
    )


def test_another_firms_invoice_is_not_found(
    ledes_ready, firm, other_firm, admin, attorney, client_file
):
    invoice = worked_invoice(firm, admin, attorney, client_file)
    with refused(ValidationFailed, code="validation_error") as info:
        ledes_service.invoices_ledes_export(firm=other_firm, actor=None, invoice_ids=[invoice.pk])
    assert info.value.message == f"no invoice {invoice.pk} in this firm"


def test_the_settings_are_checked_and_kept_for_administrators(firm, admin, attorney):
    with refused(ValidationFailed, code="validation_error") as info:
        ledes_service.ledes_settings_save(
            firm=firm,
            actor=admin,
            law_firm_id="12|3456789",
            fee_task_code="L120",
            fee_activity_code="A103",
        )
    assert (info.value.field, info.value.message) == (
        "law_firm_id",
        "LAW_FIRM_ID '12|3456789' may hold only printable ASCII without |, [ or ]",
    )
    with refused(ValidationFailed, code="validation_error") as info:
        ledes_service.ledes_settings_save(
            firm=firm,
            actor=admin,
            law_firm_id="12-3456789",
            fee_task_code="E101",
            fee_activity_code="A103",
        )
    assert (info.value.field, info.value.message) == (
        "fee_task_code",
        "The fee task code must be a UTBMS code such as L110",
    )
    with refused(AdminRequired, code="admin_required"):
        ledes_service.ledes_settings_save(
            firm=firm,
            actor=attorney,
            law_firm_id="12-3456789",
            fee_task_code="L120",
            fee_activity_code="A103",
        )
    saved = ledes_service.ledes_settings_save(
        firm=firm,
        actor=admin,
        law_firm_id=" 12-3456789 ",
        fee_task_code="l120",
        fee_activity_code="a103",
    )
    assert (saved.law_firm_id, saved.fee_task_code, saved.fee_activity_code) == (
        "12-3456789",
        "L120",
        "A103",
    )
    assert AuditEvent.objects.filter(entity_type="ledes_settings").count() == 1


def test_invoice_lines_keep_their_ids(ledes_ready, firm, admin, attorney, client_file):
    # the export reads; it changes no line
    invoice = worked_invoice(firm, admin, attorney, client_file)
    before = list(InvoiceLine.objects.values_list("pk", "description", "amount_cents"))
    ledes_service.invoices_ledes_export(firm=firm, actor=admin, invoice_ids=[invoice.pk])
    assert list(InvoiceLine.objects.values_list("pk", "description", "amount_cents")) == before


# --- a line's own UTBMS codes (ADR 0054) ---------------------------------------------------


def coded_invoice(firm, admin, attorney, client_file):
    """Six lines: fees with their own task and activity codes, with only a task code and
    with none (the firm's L120 / A103), a cost with its own expense code (E115, though its
    activity code is E101 Copying) and costs with none (their activity code's)."""
    copying = ActivityCode.objects.get(firm=firm, code="E101")
    court = ActivityCode.objects.get(firm=firm, code="E112")

    def fee(day, description, cents, hours, **codes):
        return LineSpec(
            kind="fee",
            description=description,
            amount_cents=cents,
            timekeeper_id=attorney.pk,
            hours=Decimal(hours),
            line_date=dt.date(2026, 2, day),
            **codes,
        )

    def cost(day, description, cents, code, **codes):
        return LineSpec(
            kind="cost",
            description=description,
            amount_cents=cents,
            activity_code_id=code.pk,
            line_date=dt.date(2026, 2, day),
            **codes,
        )

    return invoices.invoice_create(
        firm=firm,
        actor=admin,
        file_id=client_file.pk,
        invoice_date=D,
        description="Pre-litigation work",
        lines=[
            cost(3, "Medical records copies", 12_550, copying),
            fee(
                10,
                "Deposition of the truck driver",
                120_000,
                "3.00",
                utbms_task_code="L330",
                utbms_activity_code="A109",
            ),
            cost(11, "Deposition transcript", 61_240, copying, utbms_expense_code="E115"),
            fee(20, "Demand package", 300_000, "7.50", utbms_task_code="L160"),
            fee(25, "Client update call", 8_000, "0.20"),
            cost(27, "Complaint filing fee", 43_500, court),
        ],
    )


def test_the_exact_file_of_an_invoice_with_line_codes_and_defaults(
    ledes_ready, firm, admin, attorney, client_file
):
    ledes_service.file_ledes_ids_save(
        firm=firm,
        actor=admin,
        file_id=client_file.pk,
        client_id="ACME-INS",
        client_matter_id="CLM-778812",
    )
    invoice = coded_invoice(firm, admin, attorney, client_file)
    exported = ledes_service.invoices_ledes_export(firm=firm, actor=admin, invoice_ids=[invoice.pk])
    head = (
        f"20260302|1001|ACME-INS|{client_file.number}|5452.90|20260203|20260227|Pre-litigation work"
    )
    tail = "|12-3456789"
    assert exported.text == (
        "LEDES1998B[]\r\n"
        f"{HEADER}\r\n"
        f"{head}|1|E|1.00|0.00|125.50|20260203||E101|||Medical records copies{tail}|"
        "125.50|||CLM-778812[]\r\n"
        f"{head}|2|F|3.00|0.00|1200.00|20260210|L330||A109|SS|Deposition of the truck driver"
        f"{tail}|400.00|Smith, Sam|PT|CLM-778812[]\r\n"
        f"{head}|3|E|1.00|0.00|612.40|20260211||E115|||Deposition transcript{tail}|"
        "612.40|||CLM-778812[]\r\n"
        f"{head}|4|F|7.50|0.00|3000.00|20260220|L160||A103|SS|Demand package{tail}|"
        "400.00|Smith, Sam|PT|CLM-778812[]\r\n"
        f"{head}|5|F|0.20|0.00|80.00|20260225|L120||A103|SS|Client update call{tail}|"
        "400.00|Smith, Sam|PT|CLM-778812[]\r\n"
        f"{head}|6|E|1.00|0.00|435.00|20260227||E112|||Complaint filing fee{tail}|"
        "435.00|||CLM-778812[]\r\n"
    )
    rows = ledes.parse(exported.text)
    assert sum(int(Decimal(r["LINE_ITEM_TOTAL"]) * 100) for r in rows) == 545_290
    assert exported.total_cents == invoice.total_cents == 545_290


def test_the_line_codes_are_kept_upper_cased_and_a_line_without_is_blank(
    firm, admin, attorney, client_file
):
    invoice = invoices.invoice_create(
        firm=firm,
        actor=admin,
        file_id=client_file.pk,
        invoice_date=D,
        lines=[
            LineSpec(
                kind="fee",
                description="Mediation",
                amount_cents=50_000,
                timekeeper_id=attorney.pk,
                utbms_task_code=" l160 ",
                utbms_activity_code="a109",
            ),
            LineSpec(kind="fee", description="Call", amount_cents=5_000, timekeeper_id=attorney.pk),
        ],
    )
    assert list(
        invoice.lines.order_by("pk").values_list(
            "utbms_task_code", "utbms_activity_code", "utbms_expense_code"
        )
    ) == [("L160", "A109", ""), ("", "", "")]


FEE_LINE = {"kind": "fee", "description": "Intake", "amount_cents": 9_000}


@pytest.mark.parametrize(
    ("line", "message", "field"),
    [
        (
            {**FEE_LINE, "utbms_task_code": "L999"},
            "line 2: task code 'L999' is not in the UTBMS litigation code set (L110 to L530)",
            "lines[1].utbms_task_code",
        ),
        (  # a phase heads its tasks and is not billed
            {**FEE_LINE, "utbms_task_code": "L300"},
            "line 2: task code 'L300' is not in the UTBMS litigation code set (L110 to L530)",
            "lines[1].utbms_task_code",
        ),
        (  # a task code of another code set (bankruptcy)
            {**FEE_LINE, "utbms_task_code": "B110"},
            "line 2: task code 'B110' is not in the UTBMS litigation code set (L110 to L530)",
            "lines[1].utbms_task_code",
        ),
        (
            {**FEE_LINE, "utbms_activity_code": "A112"},
            "line 2: activity code 'A112' is not a UTBMS activity code (A101 to A111)",
            "lines[1].utbms_activity_code",
        ),
        (
            {**FEE_LINE, "utbms_expense_code": "E101"},
            "line 2: a fee line takes a UTBMS task and activity code, not an expense code",
            "lines[1].utbms_expense_code",
        ),
        (
            {
                "kind": "cost",
                "description": "Copies",
                "amount_cents": 900,
                "utbms_expense_code": "E125",
            },
            "line 2: expense code 'E125' is not a UTBMS expense code (E101 to E124)",
            "lines[1].utbms_expense_code",
        ),
        (
            {
                "kind": "cost",
                "description": "Copies",
                "amount_cents": 900,
                "utbms_task_code": "L110",
            },
            "line 2: a cost line takes a UTBMS expense code, not a task or activity code",
            "lines[1].utbms_task_code",
        ),
        (
            {
                "kind": "cost",
                "description": "Copies",
                "amount_cents": 900,
                "utbms_activity_code": "A101",
            },
            "line 2: a cost line takes a UTBMS expense code, not a task or activity code",
            "lines[1].utbms_activity_code",
        ),
    ],
)
def test_an_unknown_code_or_one_of_the_other_kind_is_refused_naming_the_line_and_field(
    firm, admin, attorney, client_file, line, message, field
):
    copying = ActivityCode.objects.get(firm=firm, code="E101")
    who = {"timekeeper_id": attorney.pk} if line["kind"] == "fee" else {}
    what = {"activity_code_id": copying.pk} if line["kind"] == "cost" else {}
    with refused(ValidationFailed, code="validation_error") as info:
        invoices.invoice_create(
            firm=firm,
            actor=admin,
            file_id=client_file.pk,
            invoice_date=D,
            lines=[
                LineSpec(**FEE_LINE, timekeeper_id=attorney.pk, utbms_task_code="L110"),
                LineSpec(**line, **who, **what),
            ],
        )
    assert (info.value.message, info.value.field) == (message, field)


def test_a_lines_codes_are_set_afterwards_and_the_export_follows(
    ledes_ready, firm, admin, attorney, client_file
):
    invoice = worked_invoice(firm, admin, attorney, client_file)
    invoices.invoice_finalise(firm=firm, actor=admin, invoice_id=invoice.pk)
    fee, copies = (
        invoice.lines.get(kind="fee"),
        invoice.lines.get(description="Medical records copies"),
    )
    invoices.invoice_line_codes_set(
        firm=firm,
        actor=admin,
        invoice_id=invoice.pk,
        line_id=fee.pk,
        utbms_task_code="L160",
        utbms_activity_code="a103",
    )
    invoices.invoice_line_codes_set(
        firm=firm, actor=admin, invoice_id=invoice.pk, line_id=copies.pk, utbms_expense_code="E102"
    )

    def codes():
        rows = ledes.parse(
            ledes_service.invoices_ledes_export(
                firm=firm, actor=admin, invoice_ids=[invoice.pk]
            ).text
        )
        return [
            (r["LINE_ITEM_TASK_CODE"], r["LINE_ITEM_ACTIVITY_CODE"], r["LINE_ITEM_EXPENSE_CODE"])
            for r in rows
        ]

    assert codes() == [("", "", "E102"), ("L160", "A103", ""), ("", "", "E112")]
    changes = AuditEvent.objects.filter(entity_type="invoice", summary__contains="billed under")
    assert [(e.summary, e.before, e.after) for e in changes.order_by("pk")] == [
        (
            "Invoice 1001, line 2 (Demand package | medical summary): billed under L160 / A103",
            {
                "line": fee.pk,
                "utbms_task_code": "",
                "utbms_activity_code": "",
                "utbms_expense_code": "",
            },
            {
                "line": fee.pk,
                "utbms_task_code": "L160",
                "utbms_activity_code": "A103",
                "utbms_expense_code": "",
            },
        ),
        (
            "Invoice 1001, line 1 (Medical records copies): billed under E102",
            {
                "line": copies.pk,
                "utbms_task_code": "",
                "utbms_activity_code": "",
                "utbms_expense_code": "",
            },
            {
                "line": copies.pk,
                "utbms_task_code": "",
                "utbms_activity_code": "",
                "utbms_expense_code": "E102",
            },
        ),
    ]
    # the same codes again: nothing written
    invoices.invoice_line_codes_set(
        firm=firm, actor=admin, invoice_id=invoice.pk, line_id=copies.pk, utbms_expense_code="E102"
    )
    assert changes.count() == 2
    # cleared: the defaults again
    invoices.invoice_line_codes_set(firm=firm, actor=admin, invoice_id=invoice.pk, line_id=fee.pk)
    assert codes() == [("", "", "E102"), ("L120", "A103", ""), ("", "", "E112")]
    assert changes.order_by("-pk").first().summary == (
        "Invoice 1001, line 2 (Demand package | medical summary): billed under the defaults"
    )


def test_setting_a_lines_codes_is_refused_naming_the_field_and_writes_nothing(
    firm, admin, attorney, client_file, other_firm
):
    invoice = worked_invoice(firm, admin, attorney, client_file)
    copies = invoice.lines.get(description="Medical records copies")
    kept = list(
        InvoiceLine.objects.values_list(
            "pk", "utbms_task_code", "utbms_activity_code", "utbms_expense_code"
        )
    )
    with refused(ValidationFailed, code="validation_error") as info:
        invoices.invoice_line_codes_set(
            firm=firm,
            actor=admin,
            invoice_id=invoice.pk,
            line_id=copies.pk,
            utbms_task_code="L110",
            utbms_expense_code="E101",
        )
    assert (info.value.message, info.value.field) == (
        "Invoice 1001, line 1 (Medical records copies): a cost line takes a UTBMS expense "
        "code, not a task or activity code",
        "utbms_task_code",
    )
    with refused(ValidationFailed, code="validation_error") as info:
        invoices.invoice_line_codes_set(
            firm=firm,
            actor=admin,
            invoice_id=invoice.pk,
            line_id=copies.pk,
            utbms_expense_code="E99",
        )
    assert (info.value.message, info.value.field) == (
        "Invoice 1001, line 1 (Medical records copies): expense code 'E99' is not a UTBMS "
        "expense code (E101 to E124)",
        "utbms_expense_code",
    )
    with refused(ValidationFailed, code="validation_error") as info:
        invoices.invoice_line_codes_set(
            firm=other_firm, actor=None, invoice_id=invoice.pk, line_id=copies.pk
        )
    assert info.value.field == "invoice"
    second = worked_invoice(firm, admin, attorney, client_file)
    with refused(ValidationFailed, code="validation_error") as info:
        invoices.invoice_line_codes_set(
            firm=firm,
            actor=admin,
            invoice_id=second.pk,
            line_id=copies.pk,
            utbms_expense_code="E102",
        )
    assert (info.value.message, info.value.field) == (
        f"invoice 1002 has no line {copies.pk}",
        "line",
    )
    invoices.invoice_void(firm=firm, actor=admin, invoice_id=invoice.pk, reason="Wrong file")
    with refused(Conflict, code="conflict") as info:
        invoices.invoice_line_codes_set(
            firm=firm,
            actor=admin,
            invoice_id=invoice.pk,
            line_id=copies.pk,
            utbms_expense_code="E102",
        )
    assert info.value.message == (
        "Invoice 1001, line 1 (Medical records copies): the invoice is void; its lines' codes "
        "no longer change"
    )
    assert [
        row
        for row in InvoiceLine.objects.values_list(
            "pk", "utbms_task_code", "utbms_activity_code", "utbms_expense_code"
        )
        if row[0] in {r[0] for r in kept}
    ] == kept


@pytest.mark.parametrize(
    ("kind", "codes"),
    [
        ("fee", {"utbms_task_code": "L999"}),
        ("fee", {"utbms_activity_code": "A000"}),
        ("fee", {"utbms_expense_code": "E101"}),
        ("cost", {"utbms_expense_code": "E125"}),
        ("cost", {"utbms_task_code": "L110"}),
        ("cost", {"utbms_activity_code": "A101"}),
    ],
)
def test_the_database_refuses_a_code_outside_its_set_or_of_the_other_kind(
    firm, admin, attorney, client_file, kind, codes
):
    invoice = worked_invoice(firm, admin, attorney, client_file)
    line = invoice.lines.filter(kind=kind).first()
    with pytest.raises(IntegrityError), transaction.atomic():
        InvoiceLine.objects.filter(pk=line.pk).update(**codes)
    assert InvoiceLine.objects.filter(pk=line.pk).values_list(
        "utbms_task_code", "utbms_activity_code", "utbms_expense_code"
    ).get() == ("", "", "")
