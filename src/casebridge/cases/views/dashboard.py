"""The cases side's home page: what needs someone today, by what each user may act on
(costs for the Costs management permission; settlements and trust for everyone; what an
integration adds, e.g. the last reconciliation's differences), and two charts drawn on
the server (casebridge.web.charts)."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_GET

from casebridge.cases import extensions
from casebridge.cases.auth import cases_login_required, cases_user
from casebridge.cases.models import CostStatus, Permission, TrustItemStatus
from casebridge.cases.selectors import dashboard
from casebridge.cases.selectors import deadlines as deadline_selectors
from casebridge.core import clock
from casebridge.core.words import format_day
from casebridge.web.charts import bar_chart


@cases_login_required
@require_GET
def dashboard_view(request: HttpRequest) -> HttpResponse:
    user = cases_user(request)
    firm, today = user.firm, clock.today()
    costs_url = reverse("cases:costs_management")
    trust_url = reverse("cases:client_trust")
    can_costs = user.has_permission(Permission.COSTS_MANAGEMENT)
    items = dashboard.trust_items(firm)
    to_stage, to_stage_cases = dashboard.settlements_to_stage(firm)
    due_soon, overdue = deadline_selectors.due_within(firm, today)
    unread, reminders = deadline_selectors.unread_reminders(user)
    context: dict[str, object] = {
        "nav": "home",
        "can_costs": can_costs,
        "to_stage": to_stage,
        "to_stage_cases": to_stage_cases,
        "staged": items[TrustItemStatus.STAGED],
        "to_be_disbursed": items[TrustItemStatus.TO_BE_DISBURSED],
        "staged_url": f"{trust_url}?tab={TrustItemStatus.STAGED}",
        "to_be_disbursed_url": f"{trust_url}?tab={TrustItemStatus.TO_BE_DISBURSED}",
        "deadlines_due": due_soon,
        "deadlines_overdue": overdue,
        "deadlines_url": f"{reverse('cases:deadlines')}?within={deadline_selectors.HORIZON_DAYS}",
        "unread_reminders": unread,
        "reminders": reminders,
        "cards": extensions.dashboard_cards(user),
        "notices": extensions.home_notices(request, user),
        "trust_chart": bar_chart(
            "trust",
            "Money held in trust at each month's end",
            "Deposits less payments made from trust, at the end of each of the last twelve "
            f"months (this month as of {format_day(today)}).",
            [(f"{end:%b %y}", cents) for end, cents in dashboard.trust_held_by_month(firm, today)],
            label_heading="Month end",
            value_heading="Held in trust",
        ),
    }
    if can_costs:
        tabs = dashboard.cost_tabs(firm)
        ages = dashboard.costs_by_age(firm, today)
        context.update(
            to_send=tabs[CostStatus.OPEN],
            pending=tabs[CostStatus.PENDING],
            to_send_url=f"{costs_url}?status={CostStatus.OPEN}",
            pending_url=f"{costs_url}?status={CostStatus.PENDING}",
            ages=ages,
            age_chart=bar_chart(
                "ages",
                "Costs outstanding by age",
                "Open and pending costs by the age of their date, in dollars.",
                [(label, tally.cents) for label, tally in ages],
                label_heading="Age",
                value_heading="Outstanding",
            ),
        )
    return render(request, "cases/dashboard.html", context)
