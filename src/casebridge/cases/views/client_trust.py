"""Client Trust Management: every case with money staged ("Staged") or pushed on for
checks ("To Be Disbursed"), with its items, amounts and payees."""

from __future__ import annotations

from collections import defaultdict

from django.db.models import Count, Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from casebridge.cases.auth import cases_login_required
from casebridge.cases.models import Case, TrustItem, TrustItemStatus

from ._common import cases_user, paginate

TABS = (
    (TrustItemStatus.STAGED, "Staged"),
    (TrustItemStatus.TO_BE_DISBURSED, "To Be Disbursed"),
)


@cases_login_required
@require_GET
def client_trust_view(request: HttpRequest) -> HttpResponse:
    firm = cases_user(request).firm
    tab = request.GET.get("tab", TrustItemStatus.STAGED)
    if tab not in dict(TABS):
        tab = TrustItemStatus.STAGED
    counts = TrustItem.objects.filter(firm=firm).aggregate(
        **{status: Count("case", distinct=True, filter=Q(status=status)) for status, _ in TABS}
    )
    cases = (
        Case.objects.filter(firm=firm, trust_items__status=tab)
        .distinct()
        .select_related("client", "responsible_attorney", "settlement")
        .order_by("-pk")
    )
    page_cases, pager = paginate(request, cases, label="Case pages")
    items_by_case: dict[int, list[TrustItem]] = defaultdict(list)
    for item in (
        TrustItem.objects.filter(firm=firm, case__in=[c.pk for c in page_cases], status=tab)
        .select_related("lien")
        .order_by("case_id", "pk")
    ):
        items_by_case[item.case_id].append(item)
    rows = []
    for case in page_cases:
        items = items_by_case[case.pk]
        rows.append(
            {
                "case": case,
                "items": items,
                "from_trust_cents": sum(i.amount_cents for i in items if not i.paid_direct),
                "paid_direct_cents": sum(i.amount_cents for i in items if i.paid_direct),
                "pushed": case.settlement.pushed_to_client_trust_at is not None,
            }
        )
    return render(
        request,
        "cases/client_trust/list.html",
        {
            "nav": "trust",
            "tab": tab,
            "tabs": [(value, label, counts[value]) for value, label in TABS],
            "rows": rows,
            "pager": pager,
        },
    )
