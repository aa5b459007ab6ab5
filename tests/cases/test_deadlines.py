"""Statutes of limitations and critical deadlines (issue 16): the rules a firm starts with,
the statute date computed from the incident date, deadlines that cannot be deleted, and
changes that need a reason."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import DatabaseError, connection, transaction

from casebridge.cases.errors import Conflict, PermissionDenied, ValidationFailed
from casebridge.cases.models import (
    Deadline,
    DeadlineKind,
    DeadlineStatus,
    LimitationRule,
    PeriodUnit,
)
from casebridge.cases.services import cases as case_services
from casebridge.cases.services import deadlines
from casebridge.core.models import AuditEvent


def open_case(firm, actor, client, *, incident: dt.date | None, state="FL", claim="negligence"):
    return case_services.case_create(
        firm=firm,
        actor=actor,
        name="Lopez v. Acme Trucking",
        client_id=client.pk,
        incident_date=incident,
        jurisdiction_state=state,
        claim_type=claim,
        status="open",
    )


def statute_of(case) -> Deadline:
    return Deadline.objects.get(case=case, kind=DeadlineKind.STATUTE)


def test_a_new_firm_starts_with_the_florida_and_california_rules_to_verify(cfirm):
    rules = list(
        LimitationRule.objects.filter(firm=cfirm)
        .order_by("state", "effective_from")
        .values_list(
            "state",
            "claim_type",
            "period_count",
            "period_unit",
            "effective_from",
            "effective_until",
            "verify_with_counsel",
        )
    )
    assert rules == [
        ("CA", "negligence", 2, "years", dt.date(2003, 1, 1), None, True),
        ("FL", "negligence", 4, "years", None, dt.date(2023, 3, 24), True),
        ("FL", "negligence", 2, "years", dt.date(2023, 3, 25), None, True),
    ] or rules == [  # nulls sort first on SQLite, last on PostgreSQL
        ("CA", "negligence", 2, "years", dt.date(2003, 1, 1), None, True),
        ("FL", "negligence", 2, "years", dt.date(2023, 3, 25), None, True),
        ("FL", "negligence", 4, "years", None, dt.date(2023, 3, 24), True),
    ]


def test_florida_negligence_on_the_act_s_effective_date_keeps_four_years(
    cfirm, cadmin, client_contact
):
    """HB 837 applies to causes of action accruing *after* 24 March 2023."""
    case = open_case(cfirm, cadmin, client_contact, incident=dt.date(2023, 3, 24))
    statute = statute_of(case)
    assert statute.due_date == dt.date(2027, 3, 24)
    assert statute.computed_due_date == dt.date(2027, 3, 24)
    assert statute.rule is not None
    assert statute.rule.period_count == 4
    assert statute.verify_with_counsel is True


def test_florida_negligence_the_day_after_has_two_years(cfirm, cadmin, client_contact):
    case = open_case(cfirm, cadmin, client_contact, incident=dt.date(2023, 3, 25))
    statute = statute_of(case)
    assert statute.due_date == dt.date(2025, 3, 25)
    assert statute.rule is not None
    assert statute.rule.period_count == 2
    assert statute.title == "Statute of limitations: FL negligence, 2 years"


def test_years_from_a_leap_day_end_on_the_28th_of_february():
    assert deadlines.add_period(dt.date(2024, 2, 29), 2, PeriodUnit.YEARS) == dt.date(2026, 2, 28)
    assert deadlines.add_period(dt.date(2024, 2, 29), 4, PeriodUnit.YEARS) == dt.date(2028, 2, 29)
    assert deadlines.add_period(dt.date(2025, 1, 31), 1, PeriodUnit.MONTHS) == dt.date(2025, 2, 28)
    assert deadlines.add_period(dt.date(2025, 11, 30), 3, PeriodUnit.MONTHS) == dt.date(2026, 2, 28)
    assert deadlines.add_period(dt.date(2025, 12, 20), 30, PeriodUnit.DAYS) == dt.date(2026, 1, 19)


def test_a_case_from_a_leap_day_gets_the_28th(cfirm, cadmin, client_contact):
    case = open_case(cfirm, cadmin, client_contact, incident=dt.date(2024, 2, 29))
    assert statute_of(case).due_date == dt.date(2026, 2, 28)


def test_no_rule_for_the_state_makes_no_deadline(cfirm, cadmin, client_contact):
    case = open_case(cfirm, cadmin, client_contact, incident=dt.date(2025, 1, 10), state="TX")
    assert not Deadline.objects.filter(case=case).exists()
    assert (
        deadlines.rule_in_effect(
            firm_id=cfirm.pk,
            state="TX",
            claim_type="negligence",
            rule_type="statute",
            on=dt.date(2025, 1, 10),
        )
        is None
    )


def test_changing_the_incident_date_moves_the_open_statute_deadline(cfirm, cadmin, client_contact):
    case = open_case(cfirm, cadmin, client_contact, incident=dt.date(2023, 3, 25))
    two_years = statute_of(case).rule_id
    case_services.case_update(case=case, actor=cadmin, incident_date=dt.date(2023, 3, 20))
    statute = statute_of(case)
    assert (statute.due_date, statute.rule.period_count) == (dt.date(2027, 3, 20), 4)
    event = AuditEvent.objects.filter(entity_type="deadline", action="change").get()
    assert event.before == {
        "title": "Statute of limitations: FL negligence, 2 years",
        "due_date": "2025-03-25",
        "computed_due_date": "2025-03-25",
        "rule": two_years,
    }
    assert event.after["due_date"] == "2027-03-20"
    assert event.after["reason"] == "the case's incident date, state or claim type changed"


def test_a_state_set_later_computes_the_deadline(cfirm, cadmin, client_contact):
    case = open_case(cfirm, cadmin, client_contact, incident=dt.date(2025, 5, 1), state="")
    assert not Deadline.objects.filter(case=case).exists()
    case_services.case_update(case=case, actor=cadmin, jurisdiction_state="ca")
    assert statute_of(case).due_date == dt.date(2027, 5, 1)


def test_rule_changes_do_not_rewrite_satisfied_deadlines(cfirm, cadmin, client_contact):
    satisfied = open_case(cfirm, cadmin, client_contact, incident=dt.date(2024, 6, 1))
    still_open = open_case(cfirm, cadmin, client_contact, incident=dt.date(2024, 7, 1))
    deadlines.deadline_satisfy(
        firm=cfirm,
        actor=cadmin,
        deadline_id=statute_of(satisfied).pk,
        satisfied_on=dt.date(2025, 1, 15),
        note="Complaint filed",
    )
    rule = LimitationRule.objects.get(firm=cfirm, state="FL", effective_from=dt.date(2023, 3, 25))
    deadlines.limitation_rule_update(firm=cfirm, actor=cadmin, rule_id=rule.pk, period_count=3)
    assert statute_of(satisfied).due_date == dt.date(2026, 6, 1)
    assert statute_of(satisfied).status == DeadlineStatus.SATISFIED
    assert statute_of(still_open).due_date == dt.date(2027, 7, 1)


def test_a_deadline_set_by_hand_keeps_its_date_when_the_facts_change(cfirm, cadmin, client_contact):
    case = open_case(cfirm, cadmin, client_contact, incident=dt.date(2024, 6, 1))
    deadlines.deadline_change(
        firm=cfirm,
        actor=cadmin,
        deadline_id=statute_of(case).pk,
        due_date=dt.date(2026, 5, 1),
        reason="Discovery rule: counsel says a month earlier to be safe",
    )
    case_services.case_update(case=case, actor=cadmin, incident_date=dt.date(2024, 6, 10))
    statute = statute_of(case)
    assert (statute.due_date, statute.computed_due_date) == (
        dt.date(2026, 5, 1),
        dt.date(2026, 6, 10),
    )


def test_a_change_without_a_reason_is_refused_and_writes_nothing(cfirm, cadmin, client_contact):
    case = open_case(cfirm, cadmin, client_contact, incident=dt.date(2024, 6, 1))
    events = AuditEvent.objects.count()
    with pytest.raises(ValidationFailed) as refused:
        deadlines.deadline_change(
            firm=cfirm,
            actor=cadmin,
            deadline_id=statute_of(case).pk,
            due_date=dt.date(2026, 7, 1),
            reason="   ",
        )
    assert refused.value.field == "reason"
    statute = statute_of(case)
    assert (statute.due_date, statute.set_by_hand) == (dt.date(2026, 6, 1), False)
    assert AuditEvent.objects.count() == events


def test_a_change_is_audited_with_before_after_and_reason(cfirm, cadmin, client_contact):
    case = open_case(cfirm, cadmin, client_contact, incident=dt.date(2024, 6, 1))
    deadline = deadlines.deadline_create(
        firm=cfirm,
        actor=cadmin,
        case_id=case.pk,
        title="Expert disclosure",
        due_date=dt.date(2026, 9, 1),
    )
    deadlines.deadline_change(
        firm=cfirm,
        actor=cadmin,
        deadline_id=deadline.pk,
        due_date=dt.date(2026, 10, 1),
        reason="Court extended the deadline",
    )
    event = AuditEvent.objects.filter(entity_type="deadline", entity_id=str(deadline.pk)).last()
    assert event is not None
    assert (event.action, event.before, event.after) == (
        "change",
        {"due_date": "2026-09-01"},
        {"due_date": "2026-10-01", "reason": "Court extended the deadline"},
    )


def test_a_satisfied_deadline_cannot_change_or_be_satisfied_again(cfirm, cadmin, client_contact):
    case = open_case(cfirm, cadmin, client_contact, incident=dt.date(2024, 6, 1))
    pk = statute_of(case).pk
    deadlines.deadline_satisfy(firm=cfirm, actor=cadmin, deadline_id=pk)
    with pytest.raises(Conflict):
        deadlines.deadline_change(
            firm=cfirm, actor=cadmin, deadline_id=pk, due_date=dt.date(2027, 1, 1), reason="x"
        )
    with pytest.raises(Conflict):
        deadlines.deadline_satisfy(firm=cfirm, actor=cadmin, deadline_id=pk)


def test_the_database_refuses_to_delete_a_deadline(cfirm, cadmin, client_contact):
    case = open_case(cfirm, cadmin, client_contact, incident=dt.date(2024, 6, 1))
    pk = statute_of(case).pk
    with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("DELETE FROM cases_deadline WHERE id = %s", [pk])
    assert Deadline.objects.filter(pk=pk).exists()


def test_the_database_refuses_to_delete_a_rule(cfirm):
    rule = LimitationRule.objects.filter(firm=cfirm).first()
    assert rule is not None
    with pytest.raises(DatabaseError), transaction.atomic():
        LimitationRule.objects.filter(pk=rule.pk).delete()
    assert LimitationRule.objects.filter(pk=rule.pk).exists()


def test_a_rule_that_overlaps_an_active_one_is_refused(cfirm, cadmin):
    with pytest.raises(ValidationFailed) as refused:
        deadlines.limitation_rule_create(
            firm=cfirm,
            actor=cadmin,
            state="FL",
            claim_type="negligence",
            rule_type="statute",
            period_count=3,
            period_unit="years",
            effective_from=dt.date(2024, 1, 1),
            citation="Nothing",
        )
    assert refused.value.field == "effective_from"
    assert LimitationRule.objects.filter(firm=cfirm).count() == 3


def test_only_settings_holders_change_rules(cfirm, cattorney):
    rule = LimitationRule.objects.filter(firm=cfirm).first()
    assert rule is not None
    with pytest.raises(PermissionDenied):
        deadlines.limitation_rule_update(
            firm=cfirm, actor=cattorney, rule_id=rule.pk, is_active=False
        )
    rule.refresh_from_db()
    assert rule.is_active


def test_a_government_notice_rule_adds_a_notice_deadline(cfirm, cadmin, client_contact):
    deadlines.limitation_rule_create(
        firm=cfirm,
        actor=cadmin,
        state="ZZ",
        claim_type="negligence",
        rule_type="government_notice",
        period_count=6,
        period_unit="months",
        citation="Test code § 1",
    )
    case = open_case(cfirm, cadmin, client_contact, incident=dt.date(2025, 8, 31), state="ZZ")
    notice = Deadline.objects.get(case=case, kind=DeadlineKind.NOTICE)
    assert notice.due_date == dt.date(2026, 2, 28)
    assert not Deadline.objects.filter(case=case, kind=DeadlineKind.STATUTE).exists()


@pytest.mark.django_db(transaction=True)
def test_the_test_flush_still_empties_the_deadlines(client_contact, cadmin, cfirm):
    """Django's flush between transactional tests (TRUNCATE on PostgreSQL, DELETE on SQLite
    while ``casebridge_flushing()`` says so) gets past the trigger; nothing else does."""
    case = open_case(cfirm, cadmin, client_contact, incident=dt.date(2024, 6, 1))
    pk = statute_of(case).pk
    with pytest.raises(DatabaseError), transaction.atomic():
        Deadline.objects.filter(pk=pk).delete()
    assert Deadline.objects.filter(pk=pk).exists()
    # the flush after this test must succeed, or the next transactional test would fail


def test_a_rule_that_applies_again_moves_a_date_no_person_changed(cfirm, cadmin, client_contact):
    """The case loses its rule (no state), then gets another: the statute moves to the new
    rule's date (here an earlier one, already past), not kept at the old rule's."""
    case = open_case(cfirm, cadmin, client_contact, incident=dt.date(2023, 3, 20))
    assert statute_of(case).due_date == dt.date(2027, 3, 20)
    case_services.case_update(case=case, actor=cadmin, jurisdiction_state="")
    kept = statute_of(case)
    assert (kept.due_date, kept.rule_id, kept.set_by_hand) == (dt.date(2027, 3, 20), None, False)
    case_services.case_update(case=case, actor=cadmin, jurisdiction_state="CA")
    statute = statute_of(case)
    assert (statute.due_date, statute.computed_due_date) == (
        dt.date(2025, 3, 20),
        dt.date(2025, 3, 20),
    )
    assert statute.title == "Statute of limitations: CA negligence, 2 years"
