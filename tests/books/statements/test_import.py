"""Importing statement files into a bank account: all or nothing, each line once."""

from __future__ import annotations

import threading

import pytest
from django.db import connection

from casebridge.books.models import (
    BankStatement,
    CsvColumnMapping,
    StatementImport,
    StatementLine,
)
from casebridge.books.services import statements as service
from casebridge.core.models import AuditEvent
from tests.books.statements.test_parsers import EXPORT_LAYOUT, read
from tests.clockwork import PATIENCE


def upload(firm, actor, bank, name, data=None, fmt=None):
    return service.statement_import(
        firm=firm,
        actor=actor,
        bank_account_id=bank.pk,
        data=read(name) if data is None else data,
        file_name=name,
        fmt=fmt,
    )


def counts():
    return (
        BankStatement.objects.count(),
        StatementLine.objects.count(),
        StatementImport.objects.count(),
    )


def test_an_ofx_statement_is_imported_with_its_balance_and_lines(firm, admin, trust):
    result = upload(firm, admin, trust, "ofx1_first_community.ofx")

    assert (result.status, result.new_count, result.known_count) == ("imported", 3, 0)
    statement = result.statement
    assert statement.bank_account == trust
    assert statement.source_format == "ofx"
    assert statement.closing_balance_cents == 97_487_50
    assert statement.opening_balance_cents is None
    lines = list(statement.lines.order_by("position"))
    assert [(x.amount_cents, x.check_number, x.status) for x in lines] == [
        (100_000_00, None, "unmatched"),
        (-2_500_00, "1001", "unmatched"),
        (-12_50, None, "unmatched"),
    ]
    assert (
        AuditEvent.objects.filter(action="statement_imported", entity_id=str(result.pk)).count()
        == 1
    )


def test_the_same_file_twice_adds_nothing_new(firm, admin, trust):
    upload(firm, admin, trust, "ofx1_first_community.ofx")

    again = upload(firm, admin, trust, "ofx1_first_community.ofx")

    assert (again.status, again.new_count, again.known_count) == ("imported", 0, 3)
    assert counts() == (1, 3, 2)


def test_the_same_lines_in_another_file_are_known_by_the_banks_transaction_id(firm, admin, trust):
    upload(firm, admin, trust, "ofx1_first_community.ofx")

    qfx = upload(firm, admin, trust, "first_community.qfx")  # the same account, other bytes

    assert (qfx.new_count, qfx.known_count) == (0, 3)
    assert StatementLine.objects.count() == 3


def test_an_overlapping_csv_adds_only_the_new_lines(firm, admin, operating):
    service.csv_mapping_save(
        firm=firm, actor=admin, bank_account_id=operating.pk, layout=EXPORT_LAYOUT
    )
    rows = read("operating_export.csv").decode().splitlines(keepends=True)
    first = "".join(rows[:6])  # header + 5 lines, up to and including both 03/15 fees
    later = rows[0] + "".join(rows[4:])  # 03/15 (both fees) to 03/31: overlaps two lines

    a = upload(firm, admin, operating, "a.csv", data=first.encode())
    b = upload(firm, admin, operating, "b.csv", data=later.encode())

    assert (a.new_count, a.known_count) == (5, 0)
    assert (b.new_count, b.known_count) == (2, 2)
    fees = StatementLine.objects.filter(bank_account=operating, amount_cents=-12_50)
    assert fees.count() == 2  # the two identical fees of 03/15 stay two lines
    assert sum(StatementLine.objects.values_list("amount_cents", flat=True)) == 15_931_17


def test_a_malformed_file_writes_only_the_refused_import(firm, admin, operating):
    service.csv_mapping_save(
        firm=firm, actor=admin, bank_account_id=operating.pk, layout=EXPORT_LAYOUT
    )

    result = upload(firm, admin, operating, "malformed_bad_amount_line7.csv")

    assert result.status == "refused"
    assert (result.where, result.reason) == ("line 7", "amount '15.250.7X' is not a number")
    assert result.statement is None
    assert counts() == (0, 0, 1)
    assert AuditEvent.objects.filter(action="statement_import_refused").count() == 1


@pytest.mark.parametrize(
    "name",
    ["malformed_truncated.ofx", "malformed_control_total.bai", "malformed_missing_amt.camt053.xml"],
)
def test_every_malformed_fixture_is_refused_whole(firm, admin, trust, name):
    result = upload(firm, admin, trust, name)

    assert result.status == "refused"
    assert result.where
    assert counts() == (0, 0, 1)


def test_a_csv_needs_its_mapping_first(firm, admin, operating):
    result = upload(firm, admin, operating, "operating_export.csv")

    assert result.status == "refused"
    assert "no CSV column mapping" in result.reason


def test_a_file_for_another_account_is_refused(firm, admin, trust):
    trust.account_number_last4 = "9999"
    trust.save()

    result = upload(firm, admin, trust, "trust_march.camt053.xml")

    assert result.status == "refused"
    assert (result.where, result.reason) == (
        "account",
        f"the file is for account ending 4321; {trust.name} ends 9999",
    )
    assert counts() == (0, 0, 1)


def test_a_file_for_this_account_is_accepted(firm, admin, trust):
    trust.account_number_last4 = "4321"
    trust.save()

    assert upload(firm, admin, trust, "trust_prior_day.bai").new_count == 3


def test_another_currency_is_refused(firm, admin, trust):
    data = read("trust_march.camt053.xml").replace(b"USD", b"EUR")

    result = upload(firm, admin, trust, "eur.xml", data=data)

    assert (result.status, result.where) == ("refused", "currency")


def test_the_csv_mapping_is_remembered_and_audited(firm, admin, operating):
    service.csv_mapping_save(
        firm=firm, actor=admin, bank_account_id=operating.pk, layout=EXPORT_LAYOUT
    )

    assert service.csv_layout_of(operating) == EXPORT_LAYOUT
    assert CsvColumnMapping.objects.count() == 1
    assert AuditEvent.objects.filter(action="csv_mapping_saved").count() == 1


def test_an_incomplete_csv_mapping_is_refused(firm, admin, operating):
    from casebridge.books.errors import ValidationFailed
    from casebridge.books.statements import CsvLayout

    with pytest.raises(ValidationFailed) as refused:
        service.csv_mapping_save(
            firm=firm,
            actor=admin,
            bank_account_id=operating.pk,
            layout=CsvLayout(amount_column=None, debit_column=3),
        )
    assert refused.value.field == "amount_column"
    assert CsvColumnMapping.objects.count() == 0


def test_another_firms_bank_account_is_not_found(firm, admin, other_firm):
    from casebridge.books.errors import ValidationFailed
    from casebridge.books.models import BankAccount

    theirs = BankAccount.objects.filter(firm=other_firm).first()
    with pytest.raises(ValidationFailed):
        upload(firm, admin, theirs, "ofx1_first_community.ofx")
    assert counts() == (0, 0, 0)


@pytest.mark.postgres_only
@pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="needs PostgreSQL: SQLite serialises every writer, so there is no race to test",
)
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("same_file", [True, False], ids=["same file", "overlapping files"])
def test_two_uploads_at_the_same_moment_add_each_line_once(firm, admin, trust, same_file):
    names = (
        ["ofx1_first_community.ofx"] * 2
        if same_file
        else ["ofx1_first_community.ofx", "first_community.qfx"]
    )
    barrier = threading.Barrier(2)
    results: list[object] = [None, None]

    def run(i: int) -> None:
        try:
            connection.ensure_connection()
            barrier.wait()
            results[i] = upload(firm, admin, trust, names[i])
        except Exception as exc:  # reported to the test
            barrier.abort()
            results[i] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(PATIENCE)

    assert all(isinstance(r, StatementImport) for r in results), results
    assert sorted((r.new_count, r.known_count) for r in results) == [(0, 3), (3, 0)]  # type: ignore[union-attr]
    assert StatementLine.objects.filter(bank_account=trust).count() == 3
    assert BankStatement.objects.count() == (1 if same_file else 2)
