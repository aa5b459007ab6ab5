"""update_rows: a different value per row in one statement, on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt

from django.db import connection

from casebridge.cases.models import Firm
from casebridge.cases.services import firms
from casebridge.core.db import update_rows


def test_each_row_gets_its_own_values_and_others_are_untouched(db):
    made = [firms.firm_create(code=f"firm-{n}", name=f"Firm {n}") for n in range(3)]
    update_rows(
        Firm,
        [("name", "varchar"), ("default_copp_cents", "bigint")],
        [(made[0].pk, "Alpha LLP", 1_250), (made[2].pk, "Gamma & Sons", 0)],
    )
    assert list(Firm.objects.order_by("pk").values_list("name", "default_copp_cents")) == [
        ("Alpha LLP", 1_250),
        ("Firm 1", 0),
        ("Gamma & Sons", 0),
    ]


def test_more_rows_than_one_statement_holds(db):
    made = [firms.firm_create(code=f"f{n}", name=f"F{n}") for n in range(1_203)]
    update_rows(Firm, [("default_copp_cents", "bigint")], [(f.pk, i) for i, f in enumerate(made)])
    assert list(Firm.objects.order_by("pk").values_list("default_copp_cents", flat=True)) == list(
        range(1_203)
    )


def test_dates_nulls_and_quotes_are_bound_not_spliced(db):
    from casebridge.cases.models import Case
    from casebridge.cases.services import cases as case_services

    firm = firms.firm_create(code="d", name="D")
    client = case_services.contact_create(firm=firm, actor=None, name="Maria Lopez")
    one, two = (
        case_services.case_create(
            firm=firm,
            actor=None,
            name=f"Case {n}",
            client_id=client.pk,
            incident_date=dt.date(2025, 1, 1),
        )
        for n in (1, 2)
    )
    update_rows(
        Case,
        [("incident_date", "date"), ("name", "varchar")],
        [
            (one.pk, connection.ops.adapt_datefield_value(dt.date(2026, 11, 2)), "it's; DROP x"),
            (two.pk, None, 'a "b"'),
        ],
    )
    assert list(Case.objects.order_by("pk").values_list("incident_date", "name")) == [
        (dt.date(2026, 11, 2), "it's; DROP x"),
        (None, 'a "b"'),
    ]
