"""Client Trust Management: every case with money staged ("Staged"), pushed on for checks
and the fee invoice ("To Be Disbursed"), or paid out ("Disbursed"), with its items, amounts
and payees. An integration adds each case's figures in the books, each payment's state
there and buttons (:func:`casebridge.cases.extensions.trust_case_extras`)."""

from __future__ import annotations

from collections import defaultdict
from urllib.parse import urlencode

from django.db.models import Count, Q, Sum
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from casebridge.cases import extensions
from casebridge.cases.auth import cases_login_required, cases_user
from casebridge.cases.models import Case, Deposit, Firm, TrustItem, TrustItemStatus
from casebridge.web.paging import PER_PAGE_SHORT, first_tab_with_work, paginate_numbered

TABS = (
    (TrustItemStatus.STAGED, "Staged"),
    (TrustItemStatus.TO_BE_DISBURSED, "To Be Disbursed"),
    (TrustItemStatus.DISBURSED, "Disbursed"),
)
#: The tabs with something still to do, in order.
WORK_TABS = (TrustItemStatus.STAGED, TrustItemStatus.TO_BE_DISBURSED)


def trust_tab(request: HttpRequest, firm: Firm) -> tuple[TrustItemStatus, dict[str, int]]:
    """The tab asked for (``?tab=``) and each tab's count of cases; without a tab asked
    for, the first with work (Disbursed is done, so never opened on). The screen and its
    export read the tab alike."""
    counts = TrustItem.objects.filter(firm=firm).aggregate(
        **{status: Count("case", distinct=True, filter=Q(status=status)) for status, _ in TABS}
    )
    tab = request.GET.get("tab") or first_tab_with_work(
        counts, WORK_TABS, default=TrustItemStatus.STAGED
    )
    if tab not in dict(TABS):
        tab = TrustItemStatus.STAGED
    return TrustItemStatus(tab), counts


@cases_login_required
@require_GET
def client_trust_view(request: HttpRequest) -> HttpResponse:
    firm = cases_user(request).firm
    tab, counts = trust_tab(request, firm)
    cases = (
        Case.objects.filter(firm=firm, trust_items__status=tab)
        .distinct()
        .select_related("client", "responsible_attorney", "settlement")
        .order_by("-pk")
    )
    page_cases, pager = paginate_numbered(
        request, cases, per_page=PER_PAGE_SHORT, label="Case pages"
    )
    items_by_case: dict[int, list[TrustItem]] = defaultdict(list)
    for item in (
        TrustItem.objects.filter(firm=firm, case__in=[c.pk for c in page_cases], status=tab)
        .select_related("lien")
        .order_by("case_id", "pk")
    ):
        items_by_case[item.case_id].append(item)
    held = _held_in_trust([c.pk for c in page_cases])
    extras = (
        extensions.trust_case_extras(cases_user(request), page_cases, held)
        if tab != TrustItemStatus.STAGED
        else {}
    )
    rows = []
    for case in page_cases:
        items = items_by_case[case.pk]
        extra = extras.get(case.pk)
        rows.append(
            {
                "case": case,
                "items": [(i, extra.item_notes.get(i.pk) if extra else None) for i in items],
                "from_trust_cents": sum(i.amount_cents for i in items if not i.paid_direct),
                "paid_direct_cents": sum(i.amount_cents for i in items if i.paid_direct),
                "pushed": case.settlement.pushed_to_client_trust_at is not None,
                "held_cents": held.get(case.pk, 0),
                "extra": extra,
            }
        )
    return render(
        request,
        "cases/client_trust/list.html",
        {
            "nav": "trust",
            "tab": tab,
            "export_query": urlencode({"tab": tab}),
            "tabs": [(value, label, counts[value]) for value, label in TABS],
            "rows": rows,
            "pager": pager,
            "page_links": extensions.trust_page_links(cases_user(request)),
        },
    )


def _held_in_trust(case_ids: list[int]) -> dict[int, int]:
    """What the cases side counts in trust per case: deposits less what trust paid out."""
    deposited = dict(
        Deposit.objects.filter(case_id__in=case_ids, voided_on__isnull=True)
        .values_list("case_id")
        .annotate(s=Sum("amount_cents"))
        .values_list("case_id", "s")
    )
    paid_out = dict(
        TrustItem.objects.filter(
            case_id__in=case_ids, status=TrustItemStatus.DISBURSED, paid_direct=False
        )
        .values_list("case_id")
        .annotate(s=Sum("amount_cents"))
        .values_list("case_id", "s")
    )
    return {cid: int(deposited.get(cid) or 0) - int(paid_out.get(cid) or 0) for cid in case_ids}
