"""What Costs Management's attorney filter and payee sort read (migration 0016): each cost
carries its case's responsible attorney, and a contact is marked a payee once a cost names
it, both kept by triggers whoever writes (a service, raw SQL, a stale ``save()``)."""

from __future__ import annotations

import datetime as dt
import threading
import time

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from casebridge.cases.models import Contact, Cost, CostStatus
from casebridge.cases.selectors.costs import CostFilters, costs_management_page
from casebridge.cases.services import cases as case_services
from casebridge.cases.services import costs as cost_services
from casebridge.cases.services import firms
from tests.cases.conftest import PASSWORD, cost_code
from tests.clockwork import PATIENCE


@pytest.fixture
def other_attorney(cfirm):
    return firms.user_create(
        firm=cfirm,
        actor=None,
        email="rita.reyes@lopez.test",
        password=PASSWORD,
        first_name="Rita",
        last_name="Reyes",
        is_attorney=True,
    )


@pytest.fixture
def payee(cfirm, cadmin):
    return case_services.contact_create(firm=cfirm, actor=cadmin, name="Acme Records")


def add(firm, actor, case, payee, cents: int, on: dt.date | None = None) -> Cost:
    return cost_services.cost_create(
        firm=firm,
        actor=actor,
        case_id=case.pk,
        payee_id=payee.pk,
        amount_cents=cents,
        cost_code_id=cost_code(firm, "E101").pk,
        cost_date=on,
    )


def attorneys(*costs: Cost) -> list[int | None]:
    return [Cost.objects.get(pk=c.pk).attorney_id for c in costs]


def raw_insert(case, payee, cents: int) -> int:
    """A cost written round the services, with no attorney given."""
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO cases_cost (firm_id, case_id, payee_id, amount_cents, "
            "invoice_reference, priority, cost_code_id, memo, cost_date, status, "
            "payment_method, payment_reference, void_reason, created_at) "
            "VALUES (%s, %s, %s, %s, '', 'normal', %s, '', %s, 'open', '', '', '', %s)",
            [
                case.firm_id,
                case.pk,
                payee.pk,
                cents,
                cost_code(case.firm, "E101").pk,
                dt.date(2026, 1, 5),
                dt.datetime(2026, 1, 5, tzinfo=dt.UTC),
            ],
        )
    return Cost.objects.get(firm_id=case.firm_id, amount_cents=cents).pk


def test_a_cost_carries_its_cases_attorney_and_moves_with_it(
    cfirm, cadmin, case, cattorney, other_attorney, payee, client_contact
):
    first = add(cfirm, cadmin, case, payee, 1_000)
    second = Cost.objects.get(pk=raw_insert(case, payee, 2_000))
    assert attorneys(first, second) == [cattorney.pk, cattorney.pk]

    case_services.case_update(case=case, actor=cadmin, responsible_attorney_id=other_attorney.pk)
    assert attorneys(first, second) == [other_attorney.pk, other_attorney.pk]

    # a stale instance saved, and a raw write of another attorney, are put right
    first.memo = "Records"
    first.attorney_id = cattorney.pk
    first.save()
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE cases_cost SET attorney_id = %s WHERE id = %s", [cattorney.pk, second.pk]
        )
    assert attorneys(first, second) == [other_attorney.pk, other_attorney.pk]

    # moved to a case without an attorney: none
    bare = case_services.case_create(
        firm=cfirm, actor=cadmin, name="Lopez v. Beta", client_id=client_contact.pk
    )
    Cost.objects.filter(pk=second.pk).update(case=bare)
    assert attorneys(first, second) == [other_attorney.pk, None]


def test_the_attorney_filter_follows_a_case_handed_to_another_attorney(
    cfirm, cadmin, case, cattorney, other_attorney, payee, client_contact
):
    theirs = case_services.case_create(
        firm=cfirm,
        actor=cadmin,
        name="Lopez v. Gamma",
        client_id=client_contact.pk,
        responsible_attorney_id=other_attorney.pk,
    )
    mine = [add(cfirm, cadmin, case, payee, 1_000 * n, dt.date(2026, 3, n)) for n in (1, 2)]
    other = add(cfirm, cadmin, theirs, payee, 7_000, dt.date(2026, 3, 3))

    def shown(attorney, **dates) -> tuple[list[int], int, int]:
        page = costs_management_page(
            firm=cfirm, filters=CostFilters(attorney_id=attorney.pk, **dates)
        )
        return [c.pk for c in page.items], page.count, page.total_cents

    assert shown(cattorney) == ([mine[1].pk, mine[0].pk], 2, 3_000)
    assert shown(other_attorney) == ([other.pk], 1, 7_000)
    assert shown(cattorney, date_from=dt.date(2026, 3, 2)) == ([mine[1].pk], 1, 2_000)

    case_services.case_update(case=case, actor=cadmin, responsible_attorney_id=other_attorney.pk)
    assert shown(cattorney) == ([], 0, 0)
    assert shown(other_attorney) == ([other.pk, mine[1].pk, mine[0].pk], 3, 10_000)


def test_a_contact_is_a_payee_once_a_cost_names_it_and_stays_one(
    cfirm, cadmin, case, payee, client_contact
):
    later = case_services.contact_create(firm=cfirm, actor=cadmin, name="Beta Imaging")
    raw = case_services.contact_create(firm=cfirm, actor=cadmin, name="Gamma Couriers")

    def marked() -> set[str]:
        return set(Contact.objects.filter(firm=cfirm, is_payee=True).values_list("name", flat=True))

    assert marked() == set()
    cost = add(cfirm, cadmin, case, payee, 1_000)
    raw_insert(case, raw, 2_000)
    assert marked() == {"Acme Records", "Gamma Couriers"}

    # a cost given another payee marks it; the first stays a payee with no cost left
    cost_services.cost_update(firm=cfirm, actor=cadmin, cost_id=cost.pk, payee_id=later.pk)
    assert marked() == {"Acme Records", "Beta Imaging", "Gamma Couriers"}

    # a contact read before its first cost and saved after it keeps the mark
    stale = Contact.objects.get(pk=raw.pk)
    stale.is_payee = None
    stale.phone = "555-0199"
    stale.save()
    with connection.cursor() as cursor:
        cursor.execute("UPDATE cases_contact SET is_payee = NULL WHERE id = %s", [payee.pk])
    assert marked() == {"Acme Records", "Beta Imaging", "Gamma Couriers"}
    assert Contact.objects.get(pk=client_contact.pk).is_payee is None


def test_sorted_by_payee_the_walk_reads_payees_only(cfirm, cadmin, case, payee):
    """Clients sort first here ("Aaron ..." before "Acme ..."); the walk passes none of them."""
    for n in range(30):
        case_services.contact_create(firm=cfirm, actor=cadmin, name=f"Aaron Client {n:02d}")
    costs = [
        add(cfirm, cadmin, case, payee, 100 * (n + 1), dt.date(2026, 2, n + 1)) for n in range(3)
    ]
    with CaptureQueriesContext(connection) as ctx:
        page = costs_management_page(firm=cfirm, status=CostStatus.OPEN, sort="payee")
    assert [c.pk for c in page.items] == [c.pk for c in reversed(costs)]
    walks = [q["sql"] for q in ctx.captured_queries if 'FROM "cases_contact"' in q["sql"]]
    assert walks
    assert all('"is_payee"' in sql for sql in walks)


def test_the_triggers_are_in_place(db):
    """A migration that rebuilds these tables on SQLite drops their triggers: this says so."""
    if connection.vendor == "postgresql":
        sql = "SELECT tgname FROM pg_trigger WHERE NOT tgisinternal"
        expected = {
            "cases_cost_attorney_insert",
            "cases_cost_attorney_update",
            "cases_case_attorney",
            "cases_cost_payee",
            "cases_contact_payee_kept",
        }
    else:
        sql = "SELECT name FROM sqlite_master WHERE type = 'trigger'"
        expected = {
            "cases_cost_attorney_insert",
            "cases_cost_attorney_update",
            "cases_case_attorney",
            "cases_cost_payee_insert",
            "cases_cost_payee_update",
            "cases_contact_payee_kept",
        }
    with connection.cursor() as cursor:
        cursor.execute(sql)
        assert expected <= {row[0] for row in cursor.fetchall()}


@pytest.mark.postgres_only
@pytest.mark.skipif(
    connection.vendor != "postgresql", reason="SQLite has one writer: nothing to race"
)
@pytest.mark.django_db(transaction=True)
def test_a_cost_written_while_its_case_changes_attorney_gets_the_new_one(
    cfirm, cadmin, case, cattorney, other_attorney, payee
):
    """The case's attorney changes in one transaction while another writes a cost of the
    case: the cost waits for the change and carries the new attorney (without the lock the
    cost read the old one and the change's update never saw the uncommitted cost)."""
    changed, written = threading.Event(), threading.Event()
    pids: dict[str, int] = {}
    errors: list[BaseException] = []
    made: list[int] = []

    def pid() -> int:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_backend_pid()")
            return cursor.fetchone()[0]

    def waiting(name: str) -> bool:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT count(*) FROM pg_locks WHERE pid = %s AND NOT granted", [pids[name]]
            )
            return bool(cursor.fetchone()[0])

    def change() -> None:
        try:
            with transaction.atomic():
                case_services.case_update(
                    case=case, actor=cadmin, responsible_attorney_id=other_attorney.pk
                )
                changed.set()
                for _ in range(int(PATIENCE * 100)):  # the writer waits on us, or is done
                    if written.is_set() or ("write" in pids and waiting("write")):
                        break
                    time.sleep(0.01)
        except BaseException as exc:  # reported to the test
            errors.append(exc)
        finally:
            changed.set()
            connection.close()

    def write() -> None:
        try:
            assert changed.wait(PATIENCE)
            with transaction.atomic():
                pids["write"] = pid()
                made.append(add(cfirm, cadmin, case, payee, 4_200).pk)
                written.set()
        except BaseException as exc:  # reported to the test
            errors.append(exc)
        finally:
            written.set()
            connection.close()

    threads = [threading.Thread(target=change), threading.Thread(target=write)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(PATIENCE)
    assert not any(t.is_alive() for t in threads), "a transaction hung"
    assert errors == []
    assert attorneys(Cost(pk=made[0])) == [other_attorney.pk]
