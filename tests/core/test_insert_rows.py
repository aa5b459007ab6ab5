"""casebridge.core.db.insert_rows: the set-based INSERT every bulk write of the services
goes through (COPY on PostgreSQL, the ids taken from the sequence first; one JSON
parameter on SQLite)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.db import IntegrityError, transaction

from casebridge.books.models import InvoiceLine
from casebridge.core import clock
from casebridge.core.db import insert_rows, inserted_instances
from casebridge.core.models import AuditEvent

pytestmark = pytest.mark.django_db

FIELDS = ("system", "firm_id", "action", "entity_type", "entity_id", "after", "at")


def _rows(count: int, at: dt.datetime) -> list[tuple[object, ...]]:
    return [
        (
            "books",
            7,
            "create",
            "check",
            str(n),
            {"on": dt.date(2026, 1, 1 + n % 28), "n": n} if n % 3 else None,
            at,
        )
        for n in range(count)
    ]


def test_rows_go_in_with_their_ids_in_order_and_the_other_columns_as_the_orm_fills_them():
    at = clock.now()
    # many rows in one statement keep their order
    rows = _rows(1_500, at)

    ids = insert_rows(AuditEvent, FIELDS, rows)

    assert len(ids) == 1_500
    assert ids == sorted(ids)
    stored = {e.pk: e for e in AuditEvent.objects.filter(pk__in=ids)}
    assert [stored[pk].entity_id for pk in ids] == [str(n) for n in range(1_500)]
    first, second = stored[ids[0]], stored[ids[1]]
    assert (first.after, first.at, first.summary, first.ip_address, first.actor_id) == (
        None,
        at,
        "",
        "",
        None,
    )
    assert second.after == {"on": "2026-01-02", "n": 1}  # the field's encoder: dates as ISO


def test_without_returning_nothing_is_read_back():
    assert insert_rows(AuditEvent, FIELDS, _rows(3, clock.now()), returning=False) == []
    assert AuditEvent.objects.count() == 3
    assert insert_rows(AuditEvent, FIELDS, []) == []
    assert AuditEvent.objects.count() == 3


def test_the_instances_are_the_rows_as_read():
    at = clock.now()
    rows = _rows(4, at)
    ids = insert_rows(AuditEvent, FIELDS, rows)

    made = inserted_instances(AuditEvent, FIELDS, rows, ids)

    read = list(AuditEvent.objects.filter(pk__in=ids).order_by("pk"))
    assert [(m.pk, m.entity_id, m.at, m.summary, m.before) for m in made] == [
        (r.pk, r.entity_id, r.at, r.summary, r.before) for r in read
    ]
    assert not made[0]._state.adding


def test_a_decimal_goes_in_as_the_column_holds_it(firm, admin, attorney, client_file):
    from casebridge.books.services.invoices import LineSpec, invoice_create

    invoice = invoice_create(
        firm=firm,
        actor=admin,
        file_id=client_file.pk,
        lines=[
            LineSpec(kind="fee", description="Time", amount_cents=100, timekeeper_id=attorney.pk)
        ],
    )
    fields = ("invoice", "kind", "description", "amount_cents", "timekeeper", "hours", "line_date")
    row = (invoice.pk, "fee", "More time", 250, attorney.pk, dt.date(2026, 3, 2))

    ids = insert_rows(InvoiceLine, fields, [(*row[:5], Decimal("1.25"), row[5])])

    assert InvoiceLine.objects.get(pk=ids[0]).hours == Decimal("1.25")


def test_a_refused_row_is_djangos_integrity_error_and_writes_nothing():
    bad = ("books", 7, "create", "check", "1", None, None)  # "at" is NOT NULL

    with pytest.raises(IntegrityError), transaction.atomic():
        insert_rows(AuditEvent, FIELDS, [*_rows(2, clock.now()), bad])

    assert AuditEvent.objects.count() == 0
