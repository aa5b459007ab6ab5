"""Review of issue 16: a limitation rule's change moves the computed deadlines of every
case it concerns in a few statements, not a case at a time (minutes at 100,000 cases in
the request), keeping what the case-at-a-time recompute kept: satisfied deadlines stay,
a date set by hand keeps its date (its computed date moves), a deadline no rule covers any
more keeps its date without a rule and follows a rule that applies again. One audit event
sums the change up with counts."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from casebridge.cases.models import Deadline, DeadlineKind, LimitationRule
from casebridge.cases.services import cases as case_services
from casebridge.cases.services import deadlines
from casebridge.core.models import AuditEvent

D = dt.date


def open_case(firm, actor, client, incident, state="FL", claim="negligence"):
    return case_services.case_create(
        firm=firm,
        actor=actor,
        name=f"Case of {incident}",
        client_id=client.pk,
        incident_date=incident,
        jurisdiction_state=state,
        claim_type=claim,
        status="open",
    )


def statute(case) -> tuple:
    d = Deadline.objects.get(case=case, kind=DeadlineKind.STATUTE)
    return (d.due_date, d.computed_due_date, d.rule_id, d.set_by_hand, d.status, d.title)


def two_year_rule(firm) -> LimitationRule:
    return LimitationRule.objects.get(firm=firm, state="FL", effective_from=D(2023, 3, 25))


def recompute_events():
    return list(
        AuditEvent.objects.filter(entity_type="limitation_rule", action="recompute")
        .order_by("pk")
        .values_list("after", flat=True)
    )


def test_a_rule_change_takes_as_many_statements_for_40_cases_as_for_4(
    cfirm, cadmin, client_contact
):
    rule = two_year_rule(cfirm)

    def queries_for_a_change(period: int) -> int:
        with CaptureQueriesContext(connection) as seen:
            deadlines.limitation_rule_update(
                firm=cfirm, actor=cadmin, rule_id=rule.pk, period_count=period
            )
        return len(seen.captured_queries)

    for day in range(4):
        open_case(cfirm, cadmin, client_contact, D(2024, 1, 1) + dt.timedelta(days=day))
    few = queries_for_a_change(3)
    for day in range(36):
        open_case(cfirm, cadmin, client_contact, D(2024, 3, 1) + dt.timedelta(days=day))
    many = queries_for_a_change(5)
    assert many == few
    assert Deadline.objects.filter(due_date__year=2029).count() == 40


def test_a_longer_period_moves_open_dates_keeps_hand_dates_and_satisfied_ones(
    cfirm, cadmin, client_contact
):
    plain = open_case(cfirm, cadmin, client_contact, D(2024, 6, 1))
    leap = open_case(cfirm, cadmin, client_contact, D(2024, 2, 29))
    by_hand = open_case(cfirm, cadmin, client_contact, D(2024, 2, 29))
    deadlines.deadline_change(
        firm=cfirm,
        actor=cadmin,
        deadline_id=Deadline.objects.get(case=by_hand).pk,
        due_date=D(2026, 1, 15),
        reason="Counsel: file early",
    )
    done = open_case(cfirm, cadmin, client_contact, D(2024, 7, 1))
    deadlines.deadline_satisfy(
        firm=cfirm,
        actor=cadmin,
        deadline_id=Deadline.objects.get(case=done).pk,
        satisfied_on=D(2025, 1, 15),
    )
    older = open_case(cfirm, cadmin, client_contact, D(2023, 3, 20))  # the 4-year rule's
    texas = open_case(cfirm, cadmin, client_contact, D(2024, 6, 1), state="TX")
    rule = two_year_rule(cfirm)
    older_before = statute(older)

    deadlines.limitation_rule_update(firm=cfirm, actor=cadmin, rule_id=rule.pk, period_count=3)

    title = "Statute of limitations: FL negligence, 3 years"
    assert statute(plain) == (D(2027, 6, 1), D(2027, 6, 1), rule.pk, False, "open", title)
    assert statute(leap) == (D(2027, 2, 28), D(2027, 2, 28), rule.pk, False, "open", title)
    assert statute(by_hand) == (D(2026, 1, 15), D(2027, 2, 28), rule.pk, True, "open", title)
    assert statute(done)[:2] == (D(2026, 7, 1), D(2026, 7, 1))
    assert statute(done)[4] == "satisfied"
    assert statute(older) == older_before
    assert not Deadline.objects.filter(case=texas).exists()
    assert recompute_events() == [{"moved": 2, "kept_by_hand": 1, "created": 0, "without_rule": 0}]
    event = AuditEvent.objects.get(action="recompute")
    assert event.summary == (
        "Limitation rule FL Negligence 3 years (§ 95.11(4)(a), Fla. Stat., as amended by "
        "ch. 2023-15, Laws of Fla. (HB 837)) changed: 2 deadlines moved, 1 set by hand kept "
        "their date, 0 computed, 0 without a rule now"
    )


def test_months_past_the_end_of_a_short_month_end_on_its_last_day(cfirm, cadmin, client_contact):
    end_of_august = open_case(cfirm, cadmin, client_contact, D(2025, 8, 31))
    end_of_january = open_case(cfirm, cadmin, client_contact, D(2025, 1, 31))
    rule = two_year_rule(cfirm)
    deadlines.limitation_rule_update(
        firm=cfirm, actor=cadmin, rule_id=rule.pk, period_count=18, period_unit="months"
    )
    assert statute(end_of_august)[:2] == (D(2027, 2, 28), D(2027, 2, 28))
    assert statute(end_of_january)[:2] == (D(2026, 7, 31), D(2026, 7, 31))
    deadlines.limitation_rule_update(
        firm=cfirm, actor=cadmin, rule_id=rule.pk, period_count=400, period_unit="days"
    )
    assert statute(end_of_august)[:2] == (D(2026, 10, 5), D(2026, 10, 5))


def test_a_deactivated_rule_leaves_dates_without_a_rule_and_one_reactivated_moves_them(
    cfirm, cadmin, client_contact
):
    plain = open_case(cfirm, cadmin, client_contact, D(2024, 6, 1))
    by_hand = open_case(cfirm, cadmin, client_contact, D(2024, 6, 2))
    deadlines.deadline_change(
        firm=cfirm,
        actor=cadmin,
        deadline_id=Deadline.objects.get(case=by_hand).pk,
        due_date=D(2026, 5, 1),
        reason="Counsel: file early",
    )
    rule = two_year_rule(cfirm)
    deadlines.limitation_rule_update(firm=cfirm, actor=cadmin, rule_id=rule.pk, is_active=False)
    assert statute(plain)[:4] == (D(2026, 6, 1), None, None, False)
    assert statute(by_hand)[:4] == (D(2026, 5, 1), None, None, True)
    replacement = deadlines.limitation_rule_create(
        firm=cfirm,
        actor=cadmin,
        state="FL",
        claim_type="negligence",
        rule_type="statute",
        period_count=1,
        period_unit="years",
        effective_from=D(2024, 1, 1),
        citation="Test § 1",
    )
    assert statute(plain)[:4] == (D(2025, 6, 1), D(2025, 6, 1), replacement.pk, False)
    assert statute(by_hand)[:4] == (D(2026, 5, 1), D(2025, 6, 2), replacement.pk, True)
    assert recompute_events() == [
        {"moved": 0, "kept_by_hand": 0, "created": 0, "without_rule": 2},
        {"moved": 1, "kept_by_hand": 1, "created": 0, "without_rule": 0},
    ]


def test_a_rule_moved_to_another_state_follows_the_cases_of_both(cfirm, cadmin, client_contact):
    florida = open_case(cfirm, cadmin, client_contact, D(2024, 6, 1))
    georgia = open_case(cfirm, cadmin, client_contact, D(2024, 6, 1), state="GA")
    assert not Deadline.objects.filter(case=georgia).exists()
    rule = two_year_rule(cfirm)
    deadlines.limitation_rule_update(firm=cfirm, actor=cadmin, rule_id=rule.pk, state="GA")
    assert statute(florida)[:4] == (D(2026, 6, 1), None, None, False)
    assert statute(georgia) == (
        D(2026, 6, 1),
        D(2026, 6, 1),
        rule.pk,
        False,
        "open",
        "Statute of limitations: GA negligence, 2 years",
    )
    created = Deadline.objects.get(case=georgia)
    assert (created.verify_with_counsel, created.created_by_id) == (True, cadmin.pk)
    assert recompute_events() == [{"moved": 0, "kept_by_hand": 0, "created": 1, "without_rule": 1}]


def test_a_new_notice_rule_computes_the_notice_deadline_of_the_cases_it_covers(
    cfirm, cadmin, client_contact
):
    covered = open_case(cfirm, cadmin, client_contact, D(2025, 8, 31), state="ZZ")
    before = open_case(cfirm, cadmin, client_contact, D(2019, 5, 1), state="ZZ")
    deadlines.limitation_rule_create(
        firm=cfirm,
        actor=cadmin,
        state="ZZ",
        claim_type="negligence",
        rule_type="government_notice",
        period_count=6,
        period_unit="months",
        effective_from=D(2020, 1, 1),
        verify_with_counsel=False,
        citation="Test code § 1",
    )
    notice = Deadline.objects.get(case=covered, kind=DeadlineKind.NOTICE)
    assert (notice.due_date, notice.computed_due_date, notice.verify_with_counsel) == (
        D(2026, 2, 28),
        D(2026, 2, 28),
        False,
    )
    assert notice.title == "Notice of claim: ZZ negligence, 6 months"
    assert not Deadline.objects.filter(case=before).exists()


def _raw_rule_insert(firm, *, state="FL", effective_from, effective_until, active=True):
    from django.utils import timezone

    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO cases_limitationrule (firm_id, state, claim_type, rule_type, "
            "period_count, period_unit, effective_from, effective_until, citation, "
            "verify_with_counsel, note, is_active, created_at, updated_at) "
            "VALUES (%s, %s, 'negligence', 'statute', 3, 'years', %s, %s, 'Raw § 1', "
            "%s, '', %s, %s, %s)",
            [firm.pk, state, effective_from, effective_until, True, active] + [timezone.now()] * 2,
        )


def test_the_database_refuses_a_raw_rule_that_overlaps_an_active_one(cfirm):
    """The service names the field; a write that goes round it is refused by the database
    (a trigger on both databases)."""
    from django.db import IntegrityError, transaction

    rules = LimitationRule.objects.count()
    for start, end in [
        (D(2024, 1, 1), None),
        (None, D(2023, 3, 25)),
        (D(2023, 3, 24), D(2023, 3, 24)),
    ]:
        try:
            with transaction.atomic():
                _raw_rule_insert(cfirm, effective_from=start, effective_until=end)
        except IntegrityError:
            continue
        raise AssertionError(f"an overlapping rule {start}..{end} was inserted")
    assert LimitationRule.objects.count() == rules
    # another state, an inactive rule, or a rule after the last one ends are allowed
    _raw_rule_insert(cfirm, state="GA", effective_from=None, effective_until=None)
    _raw_rule_insert(cfirm, effective_from=D(2024, 1, 1), effective_until=None, active=False)
    assert LimitationRule.objects.count() == rules + 2
    # and a raw update that makes two active rules overlap is refused too
    inactive = LimitationRule.objects.get(citation="Raw § 1", state="FL")
    try:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(
                "UPDATE cases_limitationrule SET is_active = %s WHERE id = %s", [True, inactive.pk]
            )
    except IntegrityError:
        pass
    else:
        raise AssertionError("a raw update made two active rules overlap")
    inactive.refresh_from_db()
    assert inactive.is_active is False


def test_a_rule_for_every_incident_date_keeps_its_deadlines_when_it_changes(
    cfirm, cadmin, client_contact
):
    rule = deadlines.limitation_rule_create(
        firm=cfirm,
        actor=cadmin,
        state="ZZ",
        claim_type="negligence",
        rule_type="statute",
        period_count=2,
        period_unit="years",
        citation="Test code § 2",
    )
    case = open_case(cfirm, cadmin, client_contact, D(2024, 6, 1), state="ZZ")
    deadlines.limitation_rule_update(firm=cfirm, actor=cadmin, rule_id=rule.pk, period_count=3)
    assert statute(case)[:4] == (D(2027, 6, 1), D(2027, 6, 1), rule.pk, False)
    assert recompute_events() == [{"moved": 1, "kept_by_hand": 0, "created": 0, "without_rule": 0}]


def test_an_overlap_saved_meanwhile_is_a_conflict_not_a_server_error(cfirm, cadmin, monkeypatch):
    """Two administrators saving overlapping rules at once both pass the service's check;
    the database's trigger refuses the second, which is a 409 naming the dates."""
    from casebridge.cases.errors import Conflict

    monkeypatch.setattr(deadlines, "_check_rule", lambda rule: None)  # the other one's moment
    rules = LimitationRule.objects.count()
    audits = AuditEvent.objects.count()
    with pytest.raises(Conflict) as refused:
        deadlines.limitation_rule_create(
            firm=cfirm,
            actor=cadmin,
            state="FL",
            claim_type="negligence",
            rule_type="statute",
            period_count=3,
            period_unit="years",
            citation="Fla. Stat. § 95.11 (typed twice)",
            effective_from=D(2024, 1, 1),
        )
    assert refused.value.field == "effective_from"
    assert "saved meanwhile" in refused.value.message
    assert LimitationRule.objects.count() == rules
    assert AuditEvent.objects.count() == audits
