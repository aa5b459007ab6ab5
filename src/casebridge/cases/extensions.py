"""The sockets an integration plugs into, so that the cases side never imports one (ADR 0005).

The cases side knows nothing of the books. An integration (the bridge) registers an object
satisfying :class:`Integration` at start-up (``AppConfig.ready``); the cases side then calls
it, explicitly and in the open, at the few places where an integration has a say:

- :meth:`Integration.cost_voided`: inside the transaction of
  :func:`casebridge.cases.services.costs.cost_void`, so that voiding a sent cost and
  queueing the void of its check commit together or not at all;
- :meth:`Integration.cost_edit_refusal`: before a cost is edited, so that a cost already
  sent keeps what the books hold;
- :meth:`Integration.deposit_recorded` / :meth:`Integration.deposit_voided`: inside the
  transactions of ``deposit_record`` / ``deposit_void``, so that the trust receipt (or its
  reversal) is queued with the deposit;
- :meth:`Integration.disbursement_pushed`: inside ``push_to_disbursement``'s transaction,
  so that the payments to be made by check are queued with the push;
- :meth:`Integration.panel_html`, :meth:`Integration.banners`,
  :meth:`Integration.cost_extras`, :meth:`Integration.trust_figures`,
  :meth:`Integration.trust_case_extras`: what the screens show (the Integrations card, a
  warning banner, a cost row's state and buttons, the books' trust balance beside the
  case's own, and a case's state and buttons on Client Trust Management);
- :meth:`Integration.home_notices`, :meth:`Integration.trust_page_links`: a line of status
  on the home page (the case list), links at the top of Client Trust Management;
- :meth:`Integration.nav_links`, :meth:`Integration.costs_progress_html`: links in the main
  navigation, and a live count above the costs lists while work on them is under way;
- :meth:`Integration.dashboard_cards`: figures on the dashboard (e.g. the differences the
  last reconciliation with the books found).

With nothing registered every call is a no-op, which is how the cases side runs alone.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from django.http import HttpRequest

from casebridge.cases.models import Case, Cost, Deposit, TrustItem, User


@dataclass(frozen=True)
class Banner:
    """A notice across the top of every cases page for the users it concerns."""

    level: str  # "ok", "warning" or "error"
    message: str
    link_url: str = ""
    link_label: str = ""


@dataclass(frozen=True)
class RowAction:
    """A button on a cost's row: a pop-up (``hx-get`` of ``url``) or a plain link."""

    label: str
    url: str
    aria_label: str = ""
    popup: bool = True


@dataclass(frozen=True)
class CostExtras:
    """What an integration adds to a cost's row: a line under its status, and buttons."""

    note: str = ""
    problem: bool = False
    actions: tuple[RowAction, ...] = field(default_factory=tuple)


@dataclass(frozen=True)
class FigureRow:
    """A line an integration adds to a case's trust figures (e.g. the books' balance)."""

    label: str
    cents: int | None  # None: could not be read; ``note`` says why
    note: str = ""
    problem: bool = False


@dataclass(frozen=True)
class TrustCaseExtras:
    """What an integration adds to a case's row on Client Trust Management: figures (the
    books' trust balance), a line of state per payment, and buttons."""

    figures: tuple[FigureRow, ...] = ()
    item_notes: dict[int, CostExtras] = field(default_factory=dict)
    note: str = ""
    problem: bool = False
    actions: tuple[RowAction, ...] = ()


@dataclass(frozen=True)
class DashboardCard:
    """A figure on the dashboard: how many of something need a look, and where to look."""

    label: str
    count: int | None  # None: not known yet; ``note`` says why
    note: str
    url: str
    problem: bool = False


class Integration(Protocol):
    key: str

    def cost_voided(self, *, cost: Cost, actor: User | None) -> None: ...

    def cost_edit_refusal(self, *, cost: Cost, fields: Iterable[str]) -> str | None: ...

    def deposit_recorded(self, *, deposit: Deposit, actor: User | None) -> None: ...

    def deposit_voided(self, *, deposit: Deposit, actor: User | None) -> None: ...

    def disbursement_pushed(
        self, *, case: Case, items: Sequence[TrustItem], actor: User | None
    ) -> None: ...

    def panel_html(self, request: HttpRequest, user: User) -> str: ...

    def banners(self, request: HttpRequest, user: User) -> list[Banner]: ...

    def cost_extras(self, user: User, costs: Sequence[Cost]) -> dict[int, CostExtras]: ...

    def trust_figures(self, user: User, case: Case, held_cents: int) -> list[FigureRow]: ...

    def trust_case_extras(
        self, user: User, cases: Sequence[Case], held_cents: dict[int, int]
    ) -> dict[int, TrustCaseExtras]: ...

    def home_notices(self, request: HttpRequest, user: User) -> list[Banner]: ...

    def trust_page_links(self, user: User) -> list[RowAction]: ...

    def nav_links(self, user: User) -> list[RowAction]: ...

    def costs_progress_html(self, request: HttpRequest, user: User) -> str: ...

    def dashboard_cards(self, user: User) -> list[DashboardCard]: ...


_registered: dict[str, Integration] = {}


def register_integration(integration: Integration) -> None:
    """Plug ``integration`` in (once per key; a second registration replaces the first)."""
    _registered[integration.key] = integration


def integrations() -> list[Integration]:
    return list(_registered.values())


def cost_voided(*, cost: Cost, actor: User | None) -> None:
    for integration in integrations():
        integration.cost_voided(cost=cost, actor=actor)


def deposit_recorded(*, deposit: Deposit, actor: User | None) -> None:
    for integration in integrations():
        integration.deposit_recorded(deposit=deposit, actor=actor)


def deposit_voided(*, deposit: Deposit, actor: User | None) -> None:
    for integration in integrations():
        integration.deposit_voided(deposit=deposit, actor=actor)


def disbursement_pushed(*, case: Case, items: Sequence[TrustItem], actor: User | None) -> None:
    for integration in integrations():
        integration.disbursement_pushed(case=case, items=items, actor=actor)


def cost_edit_refusal(*, cost: Cost, fields: Iterable[str]) -> str | None:
    names = list(fields)
    for integration in integrations():
        reason = integration.cost_edit_refusal(cost=cost, fields=names)
        if reason:
            return reason
    return None


def panels_html(request: HttpRequest, user: User) -> list[str]:
    return [i.panel_html(request, user) for i in integrations()]


def banners(request: HttpRequest, user: User) -> list[Banner]:
    return [b for i in integrations() for b in i.banners(request, user)]


def home_notices(request: HttpRequest, user: User) -> list[Banner]:
    """Status lines for the home page (the case list), e.g. the last reconciliation."""
    return [n for i in integrations() for n in i.home_notices(request, user)]


def dashboard_cards(user: User) -> list[DashboardCard]:
    """Figures integrations add to the dashboard for ``user``."""
    return [c for i in integrations() for c in i.dashboard_cards(user)]


def trust_page_links(user: User) -> list[RowAction]:
    """Links at the top of Client Trust Management (e.g. the books' reconciliations)."""
    return [a for i in integrations() for a in i.trust_page_links(user)]


def nav_links(user: User) -> list[RowAction]:
    """Links integrations add to the main navigation (e.g. the books' sync queue)."""
    return [a for i in integrations() for a in i.nav_links(user)]


def costs_progress_html(request: HttpRequest, user: User) -> list[str]:
    """What integrations show above a list of costs while work on them is under way (e.g.
    the live count of costs queued for the books); empty strings are left out."""
    return [html for i in integrations() if (html := i.costs_progress_html(request, user))]


def trust_figures(user: User, case: Case, held_cents: int) -> list[FigureRow]:
    """Rows integrations add under a case's trust figures; ``held_cents`` is what the
    cases side counts as still in trust for the case."""
    return [row for i in integrations() for row in i.trust_figures(user, case, held_cents)]


def trust_case_extras(
    user: User, cases: Sequence[Case], held_cents: dict[int, int]
) -> dict[int, TrustCaseExtras]:
    """Each case's extras on Client Trust Management (one call per integration for the
    whole page); ``held_cents`` is what the cases side counts in trust per case."""
    merged: dict[int, TrustCaseExtras] = {}
    for integration in integrations():
        for case_id, extra in integration.trust_case_extras(user, cases, held_cents).items():
            seen = merged.get(case_id)
            merged[case_id] = (
                extra
                if seen is None
                else TrustCaseExtras(
                    figures=seen.figures + extra.figures,
                    item_notes={**seen.item_notes, **extra.item_notes},
                    note="; ".join(n for n in (seen.note, extra.note) if n),
                    problem=seen.problem or extra.problem,
                    actions=seen.actions + extra.actions,
                )
            )
    return merged


def cost_extras(user: User, costs: Sequence[Cost]) -> dict[int, CostExtras]:
    """Each cost's extras from every integration, merged (notes joined, actions added)."""
    merged: dict[int, CostExtras] = {}
    for integration in integrations():
        for cost_id, extra in integration.cost_extras(user, costs).items():
            seen = merged.get(cost_id)
            if seen is None:
                merged[cost_id] = extra
            else:
                merged[cost_id] = CostExtras(
                    note="; ".join(n for n in (seen.note, extra.note) if n),
                    problem=seen.problem or extra.problem,
                    actions=seen.actions + extra.actions,
                )
    return merged
