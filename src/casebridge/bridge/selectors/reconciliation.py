"""Reconciliation with the books: the firm-wide run last finished, and a run as a sentence."""

from __future__ import annotations

from casebridge.bridge.models import ReconciliationRun
from casebridge.cases.models import Firm


def last_reconciliation(firm: Firm) -> ReconciliationRun | None:
    """The firm-wide reconciliation last finished."""
    return (
        ReconciliationRun.objects.filter(firm=firm, case__isnull=True, finished_at__isnull=False)
        .select_related("case")
        .order_by("-started_at", "-pk")
        .first()
    )


def reconciliation_summary(run: ReconciliationRun) -> str:
    """What a reconciliation found, as a sentence."""
    if run.error:
        return f"Reconciliation failed: {run.error}"
    scope = f"case {run.case.number}" if run.case else f"{run.cases_compared} cases"
    flight = f"; {run.in_flight} item(s) still on their way" if run.in_flight else ""
    if run.differences == 0:
        return (
            f"Reconciliation clean: {scope}, {run.documents_compared} documents compared, "
            f"no difference{flight}."
        )
    return (
        f"Reconciliation found {run.differences} difference{'s' if run.differences != 1 else ''}"
        f" ({scope}, {run.documents_compared} documents compared{flight})."
    )
