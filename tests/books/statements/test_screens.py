"""The bank statements screens: upload, the result, the statement with its lines, the CSV
columns remembered, and refusals shown with nothing imported."""

from __future__ import annotations

from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from casebridge.books.models import BankStatement, CsvColumnMapping, StatementImport, StatementLine
from tests.books.statements.test_parsers import read
from tests.books.web.conftest import text


def page(bank):
    return reverse("books:bank_statements", args=[bank.pk])


def post_file(client, bank, name, fmt=""):
    return client.post(
        page(bank), {"file": SimpleUploadedFile(name, read(name)), "format": fmt}, follow=True
    )


def test_the_dashboard_links_each_bank_accounts_statements(admin_client, trust, operating):
    html = text(admin_client.get(reverse("books:dashboard")))
    assert page(trust) in html
    assert page(operating) in html


def test_a_clerk_uploads_a_statement_and_sees_its_result_and_lines(clerk_client, trust):
    response = post_file(clerk_client, trust, "trust_march.camt053.xml")

    html = text(response)
    assert response.status_code == 200
    assert "imported: 3 new lines, 0 already known" in html
    statement = BankStatement.objects.get()
    detail = text(clerk_client.get(reverse("books:statement_detail", args=[statement.pk])))
    assert "$97,487.50" in detail  # closing balance
    assert "Acme Insurance Co - Settlement Lopez v Acme Trucking" in detail
    assert "-$2,500.00" in detail
    assert detail.count("Unmatched") == 3


def test_the_same_file_again_says_nothing_new(clerk_client, trust):
    post_file(clerk_client, trust, "trust_prior_day.bai")

    html = text(post_file(clerk_client, trust, "trust_prior_day.bai", fmt="bai2"))

    assert "imported: 0 new lines, 3 already known" in html
    assert StatementLine.objects.count() == 3


def test_a_malformed_file_is_refused_on_screen_and_listed(clerk_client, trust):
    html = text(post_file(clerk_client, trust, "malformed_control_total.bai"))

    assert "was refused at line 8" in html
    assert "Nothing was imported" in html
    assert (BankStatement.objects.count(), StatementLine.objects.count()) == (0, 0)
    assert StatementImport.objects.get().status == "refused"


def test_no_file_is_a_form_error(clerk_client, trust):
    response = clerk_client.post(page(trust), {"format": ""})
    assert response.status_code == 422
    assert StatementImport.objects.count() == 0


def test_csv_columns_are_saved_then_used(clerk_client, operating):
    response = clerk_client.post(
        reverse("books:csv_mapping", args=[operating.pk]),
        {
            "date_column": 1,
            "description_column": 2,
            "debit_column": 3,
            "credit_column": 4,
            "check_number_column": 5,
            "reference_column": 6,
            "date_format": "%m/%d/%Y",
            "decimal_separator": ".",
            "delimiter": ",",
            "skip_rows": 1,
        },
        follow=True,
    )
    assert "CSV columns saved" in text(response)
    assert CsvColumnMapping.objects.get().debit_column == 3

    html = text(post_file(clerk_client, operating, "operating_export.csv"))

    assert "imported: 7 new lines" in html


def test_an_incomplete_csv_mapping_is_shown_next_to_the_field(clerk_client, operating):
    response = clerk_client.post(
        reverse("books:csv_mapping", args=[operating.pk]),
        {
            "date_column": 1,
            "debit_column": 3,
            "date_format": "%m/%d/%Y",
            "decimal_separator": ".",
            "delimiter": ",",
            "skip_rows": 1,
        },
    )
    assert response.status_code == 422
    assert "Give an amount column, or both a debit and a credit column" in text(response)
    assert CsvColumnMapping.objects.count() == 0


def test_another_firms_bank_account_is_not_found(other_client, trust):
    assert other_client.get(page(trust)).status_code == 404
