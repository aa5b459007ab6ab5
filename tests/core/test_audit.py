"""The audit log: plain JSON before/after records, compact change sets, append-only rows."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.db import DatabaseError, transaction

from casebridge.core.audit import audit_record, changed_fields
from casebridge.core.models import AuditEvent


def test_audit_record_stores_plain_json(db):
    event = audit_record(
        system="books",
        firm_id=7,
        action="change",
        entity_type="invoice",
        entity_id=1042,
        actor_id=3,
        actor_label="ada@smith.test",
        summary="Invoice 1042 moved from draft to review",
        before={"stage": "draft", "total": Decimal("83325.00")},
        after={
            "stage": "review",
            "on": dt.date(2026, 3, 2),
            "at": dt.datetime(2026, 3, 2, 9, 30, tzinfo=dt.UTC),
            "lines": (1, Decimal("0.10")),
            5: "int keys become strings",
        },
        ip_address="10.0.0.8",
    )
    stored = AuditEvent.objects.get(pk=event.pk)
    assert stored.entity_id == "1042"
    assert stored.before == {"stage": "draft", "total": "83325.00"}
    at = stored.after.pop("at")
    assert dt.datetime.fromisoformat(at) == dt.datetime(2026, 3, 2, 9, 30, tzinfo=dt.UTC)
    assert stored.after == {
        "stage": "review",
        "on": "2026-03-02",
        "lines": [1, "0.10"],
        "5": "int keys become strings",
    }
    assert (stored.system, stored.firm_id, stored.actor_id, stored.ip_address) == (
        "books",
        7,
        3,
        "10.0.0.8",
    )
    assert stored.at is not None


def test_audit_record_without_before_or_after_stores_null_and_truncates_summary(db):
    event = audit_record(
        system="cases", firm_id=1, action="login", entity_type="user", summary="x" * 600
    )
    stored = AuditEvent.objects.get(pk=event.pk)
    assert stored.before is None
    assert stored.after is None
    assert stored.entity_id == ""
    assert len(stored.summary) == 500


def test_changed_fields_keeps_only_what_changed():
    before = {"name": "Ada", "is_admin": True, "records_time": False}
    after = {"name": "Ada", "is_admin": False, "records_time": True}
    assert changed_fields(before, after) == (
        {"is_admin": True, "records_time": False},
        {"is_admin": False, "records_time": True},
    )
    assert changed_fields({"a": 1}, {"a": 1}) == ({}, {})
    assert changed_fields({}, {"new": 2}) == ({"new": None}, {"new": 2})


def test_an_audit_event_cannot_be_rewritten_through_the_orm(db):
    event = audit_record(system="books", firm_id=1, action="void", entity_type="check")
    event.summary = "nothing happened here"
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        event.save()
    assert AuditEvent.objects.get(pk=event.pk).summary == ""
