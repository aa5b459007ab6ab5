"""The cases side's nightly check of its case digests (ADR 0032): the books' ledger
integrity check reports a drift of the file digests; this reports a drift of the case
digests, as a failed whole-firm reconciliation run (where an administrator sees the
reconciliation) and in the log. A clean firm gets nothing."""

from __future__ import annotations

import logging

import pytest
from django.db import connection
from huey.contrib.djhuey import HUEY

from casebridge.bridge.models import CaseDigest, CostLink, ReconciliationRun, RunState, SyncTrigger
from casebridge.bridge.selectors.reconciliation import last_reconciliation, reconciliation_summary
from casebridge.bridge.services import reconciliation
from casebridge.bridge.tasks import case_digests_check_firm, case_digests_check_nightly
from casebridge.cases.models import Cost, CostStatus
from casebridge.core.digest import digest_of, digest_row

from .conftest import add_cost


@pytest.fixture(autouse=True)
def _tasks_run_at_once():
    """The nightly job enqueues one task per firm: run here, as the worker would."""
    HUEY.immediate = True
    yield
    HUEY.immediate = False


def _sent(cases, cents: int) -> Cost:
    """A cost as the Send leaves it: Pending, with its link."""
    cost = add_cost(cases, cents)
    Cost.objects.filter(pk=cost.pk).update(status=CostStatus.PENDING)
    CostLink.objects.create(
        firm=cases.firm, cost=cost, external_ref=f"cases-cost-{cost.pk}", bank_account_id=1
    )
    return cost


def test_clean_digests_record_nothing(cases, caplog):
    _sent(cases, 12_500)
    reconciliation.case_digests_compact()  # the kept row alone (ADR 0035)
    assert CaseDigest.objects.get(firm=cases.firm, case=cases.case).documents == 1

    with caplog.at_level(logging.ERROR):
        case_digests_check_nightly.call_local()

    assert ReconciliationRun.objects.count() == 0
    assert case_digests_check_firm.call_local(cases.firm.pk) is True
    assert [r for r in caplog.records if r.levelno >= logging.ERROR] == []


def test_a_tampered_digest_is_recorded_as_a_failed_run_and_logged(cases, caplog):
    cost = _sent(cases, 12_500)
    hash_of_one = digest_of([digest_row("C", f"cases-cost-{cost.pk}", 12_500, "queued")])
    reconciliation.case_digests_compact()  # the kept row alone (ADR 0035)
    with connection.cursor() as cursor:  # what no trigger would write
        cursor.execute(
            "UPDATE bridge_casedigest SET documents = documents + 1, cents = cents + 100 "
            "WHERE firm_id = %s AND case_id = %s",
            [cases.firm.pk, cases.case.pk],
        )

    with caplog.at_level(logging.ERROR):
        case_digests_check_nightly.call_local()

    [run] = ReconciliationRun.objects.all()
    assert (run.firm_id, run.case_id, run.trigger, run.state) == (
        cases.firm.pk,
        None,
        SyncTrigger.SCHEDULED,
        RunState.FAILED,
    )
    assert run.finished_at is not None
    assert run.error == (
        "Integrity check: the reconciliation digest of 1 case no longer matches its documents "
        f"(case {cases.case.number}: kept 2 documents, $126.00, hash {hash_of_one}, its "
        f"documents give 1 document, $125.00, hash {hash_of_one}). A whole-firm "
        "reconciliation may miss a difference there: report this to your Casebridge "
        "administrator."
    )
    assert last_reconciliation(cases.firm) == run
    assert reconciliation_summary(run) == f"Reconciliation failed: {run.error}"
    [record] = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert record.getMessage().startswith(f"case digest drift in firm {cases.firm.code}: case ")
    assert record.drifted_cases == [cases.case.pk]  # type: ignore[attr-defined]

    # the digests are left as they were: the next night reports it again
    case_digests_check_nightly.call_local()
    assert ReconciliationRun.objects.filter(state=RunState.FAILED).count() == 2
