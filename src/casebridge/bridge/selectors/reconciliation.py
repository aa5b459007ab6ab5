"""Reconciliation with the books: the firm-wide run last finished, and a run as a sentence."""

from __future__ import annotations

from casebridge.bridge.models import ReconciliationRun
from casebridge.cases.models import Firm
from casebridge.core import words


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
    scope = f"case {run.case.number}" if run.case else words.plural(run.cases_compared, "case")
    flight = f"; {words.plural(run.in_flight, 'item')} still on the way" if run.in_flight else ""
    documents = words.plural(run.documents_compared, "document")
    if run.differences == 0:
        return f"Reconciliation clean: {scope}, {documents} compared, no difference{flight}."
    return (
        f"Reconciliation found {words.plural(run.differences, 'difference')}"
        f" ({scope}, {documents} compared{flight})."
    )
