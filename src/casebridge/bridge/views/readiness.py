"""The readiness check: every prerequisite as the worker last checked it, and "Run checks now"."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_http_methods

from casebridge.bridge.services import connection as conn_services
from casebridge.bridge.services import snapshot
from casebridge.bridge.services.readiness import Check, Readiness, readiness_last
from casebridge.bridge.views._common import SETTINGS_NAV
from casebridge.cases.auth import cases_settings_required, cases_user


def verdict(check: Check) -> str:
    if not check.ok:
        return "Fail"
    return "Warning" if check.warning else "Pass"


NEEDED_FOR = {"costs": "sending costs", "invoices": "invoices"}


@cases_settings_required
@require_http_methods(["GET", "POST"])
def readiness_view(request: HttpRequest) -> HttpResponse:
    """The last readiness report the worker ran, with its age; "Run checks now" (POST)
    asks the worker to run it again (a web request never asks the books: ADR 0008), and
    the page shows "checking…" and polls (``?fragment=1``) until it has answered."""
    me = cases_user(request)
    conn = conn_services.connection_of(me.firm)
    if request.method == "POST":
        if conn is not None and conn.token_ciphertext:
            snapshot.refresh_request(conn, force=True)
            conn.refresh_from_db()
            if conn.refresh_requested_at is None:  # answered already (an inline worker)
                messages.success(request, "Checked against the books just now.")
            else:
                messages.success(
                    request,
                    "The worker is checking the books now; the results below change when "
                    "they have answered.",
                )
        return HttpResponseRedirect(reverse("bridge:readiness"))
    report: Readiness | None = None
    if conn is not None:
        if conn.token_ciphertext and snapshot.stale(conn):
            snapshot.refresh_request(conn)
        report = readiness_last(conn)
    rows = [
        {
            "check": c,
            "verdict": verdict(c),
            "needed_for": ", ".join(NEEDED_FOR.get(p, p) for p in c.needed_for),
        }
        for c in (report.checks if report else [])
    ]
    context = {
        **SETTINGS_NAV,
        "conn": conn,
        "report": report,
        "rows": rows,
        "checked_age": snapshot.age_label(report.checked_at) if report else "",
        "failing": sum(1 for r in rows if r["verdict"] == "Fail"),
    }
    if request.GET.get("fragment") and conn is not None:
        return render(request, "bridge/_readiness_checks.html", context)
    return render(request, "bridge/readiness.html", context)
