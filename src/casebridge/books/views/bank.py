"""Reconciling a bank account with its statements (issue 11): the statement lines with
their status (a filter and pages), Auto-match with its counts, and per line the pop-ups
Match by hand (one books item or a split, the chosen total against the line's amount),
Unmatch, Set aside and Record; beside them the outstanding items (check aging and
deposits in transit as of a day). Thin: the forms parse, ``services.matching`` writes,
``selectors.bank`` reads; a refusal is shown next to its field and writes nothing."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from django import forms
from django.contrib import messages
from django.db.models import Count
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from casebridge.books.auth import books_login_required, books_user
from casebridge.books.forms import DateInput
from casebridge.books.models import (
    BankAccount,
    BankAccountKind,
    ClearedItem,
    File,
    Firm,
    GLAccount,
    StatementLine,
    StatementLineStatus,
    User,
)
from casebridge.books.roles import CORRECTIONS
from casebridge.books.selectors import bank as bank_selectors
from casebridge.books.selectors.bank import BankItem
from casebridge.books.services import matching
from casebridge.core import clock
from casebridge.core.errors import DomainError, ValidationFailed
from casebridge.core.money import format_cents
from casebridge.web.paging import paginate
from casebridge.web.popups import popup_form, safe_next

#: The status filter's tabs, in the order a person works through them.
STATUS_TABS = (
    ("", "All"),
    (StatementLineStatus.UNMATCHED.value, "Unmatched"),
    (StatementLineStatus.PROPOSED.value, "Match proposed"),
    (StatementLineStatus.MATCHED.value, "Matched"),
    (StatementLineStatus.RECONCILING.value, "Reconciling items"),
)
#: Most open items listed in the Match by hand pop-up (the closest to the line first).
MATCH_LIST_LIMIT = 100
_OPEN = (StatementLineStatus.UNMATCHED, StatementLineStatus.PROPOSED)


def reconcile_url(bank: BankAccount) -> str:
    return reverse("books:bank_reconcile", args=[bank.pk])


def _bank(firm: Firm, pk: int) -> BankAccount:
    return get_object_or_404(BankAccount, firm=firm, pk=pk)


def _line(firm: Firm, pk: int) -> StatementLine:
    return get_object_or_404(StatementLine.objects.select_related("bank_account"), firm=firm, pk=pk)


def _back(request: HttpRequest, bank: BankAccount) -> str:
    """Where a line's pop-up returns: the reconcile page as it was (filter, page)."""
    candidate = request.POST.get("next") or request.GET.get("next")
    default = reconcile_url(bank)
    url = safe_next(request, candidate, default)
    return url if url.startswith(default) else default


def _describe(line: StatementLine) -> str:
    return f"line of {line.posted_on.isoformat()} for {format_cents(line.amount_cents)}"


def _is_closed(bank: BankAccount, line: StatementLine) -> bool:
    return bank.closed_through is not None and line.posted_on <= bank.closed_through


# --- The reconcile page ------------------------------------------------------------------


@dataclass(frozen=True)
class Candidate:
    """One proposed match of a line: its items and their total."""

    items: list[BankItem]

    @property
    def posting_ids(self) -> list[int]:
        return [i.posting_id for i in self.items]

    @property
    def total_cents(self) -> int:
        return sum(i.amount_cents for i in self.items)


@dataclass(frozen=True)
class LineRow:
    line: StatementLine
    cleared: list[BankItem]
    candidates: list[Candidate]
    closed: bool

    @property
    def is_open(self) -> bool:
        return self.line.status in _OPEN


def line_rows(firm: Firm, bank: BankAccount, lines: list[StatementLine]) -> list[LineRow]:
    """The page's lines, each with the items it cleared and its proposed candidates."""
    cleared: dict[int, list[int]] = {}
    for line_id, posting_id in (
        ClearedItem.objects.filter(line_id__in=[ln.pk for ln in lines])
        .order_by("pk")
        .values_list("line_id", "posting_id")
    ):
        cleared.setdefault(line_id, []).append(posting_id)
    proposed = {
        ln.pk: [[int(i) for i in ids] for ids in (ln.proposals or []) if isinstance(ids, list)]
        for ln in lines
    }
    wanted = {pid for ids in cleared.values() for pid in ids}
    wanted |= {pid for sets in proposed.values() for ids in sets for pid in ids}
    items = bank_selectors.items_by_posting(firm=firm, bank_account_id=bank.pk, posting_ids=wanted)
    rows = []
    for ln in lines:
        candidates = [
            Candidate([items[i] for i in ids if i in items])
            for ids in (proposed[ln.pk] if ln.status == StatementLineStatus.PROPOSED else [])
        ]
        rows.append(
            LineRow(
                line=ln,
                cleared=[items[i] for i in cleared.get(ln.pk, []) if i in items],
                candidates=[c for c in candidates if c.items],
                closed=_is_closed(bank, ln),
            )
        )
    return rows


class AsOfForm(forms.Form):
    as_of = forms.DateField(
        label="Outstanding as of", required=False, widget=DateInput, help_text="Blank: today."
    )


@dataclass(frozen=True)
class Bucket:
    name: str
    count: int
    total_cents: int


@books_login_required()
@require_GET
def bank_reconcile_view(request: HttpRequest, pk: int) -> HttpResponse:
    """The bank account's statement lines by status, and its outstanding items."""
    user = books_user(request)
    bank = _bank(user.firm, pk)
    status = request.GET.get("status", "")
    if status not in StatementLineStatus.values:
        status = ""
    lines = StatementLine.objects.filter(bank_account=bank)
    counts = dict(lines.values_list("status").annotate(n=Count("id")).order_by())
    if status:
        lines = lines.filter(status=status)
    page = paginate(request, lines.order_by("-posted_on", "-pk"))

    as_of_form = AsOfForm(request.GET if "as_of" in request.GET else None)
    as_of = clock.today()
    if as_of_form.is_bound and as_of_form.is_valid() and as_of_form.cleaned_data["as_of"]:
        as_of = as_of_form.cleaned_data["as_of"]
    aging = bank_selectors.outstanding_aging(firm=user.firm, bank_account_id=bank.pk, as_of=as_of)
    buckets = [
        Bucket(name, len(items), -sum(i.amount_cents for i in items))
        for name, items in aging.checks.items()
    ]
    outstanding = [i for items in aging.checks.values() for i in items]
    outstanding.sort(key=lambda i: (i.date, i.posting_id))
    return render(
        request,
        "books/bank/reconcile.html",
        {
            "nav": "dashboard",
            "bank": bank,
            "status": status,
            "tabs": [(value, label, counts.get(value, 0)) for value, label in STATUS_TABS[1:]],
            "total_count": sum(counts.values()),
            "page": page,
            "rows": line_rows(user.firm, bank, list(page)),
            "here": request.get_full_path(),
            "next_query": urlencode({"next": request.get_full_path()}),
            "as_of_form": as_of_form,
            "aging": aging,
            "buckets": buckets,
            "outstanding_cents": sum(b.total_cents for b in buckets),
            "transit_cents": sum(i.amount_cents for i in aging.deposits_in_transit),
            "outstanding_page": paginate(request, outstanding, param="opage"),
            "transit_page": paginate(request, aging.deposits_in_transit, param="tpage"),
            "month": _last_complete_month(),
        },
    )


def _last_complete_month() -> str:
    first = clock.today().replace(day=1)
    return (first - dt.timedelta(days=1)).strftime("%Y-%m")


def auto_match_summary(result: matching.AutoMatchResult) -> str:
    def n(count: int, word: str) -> str:
        return f"{count} {word}{'' if count == 1 else 's'}"

    text = (
        f"Auto-match: {n(result.lines_matched, 'line')} matched "
        f"({n(result.items_cleared, 'item')} cleared), {result.lines_proposed} proposed, "
        f"{result.lines_left} left unmatched"
    )
    if result.skipped_closed:
        text += f"; {n(result.skipped_closed, 'line')} in closed months left as they were"
    return text + "."


@books_login_required()
@require_POST
def bank_auto_match_view(request: HttpRequest, pk: int) -> HttpResponse:
    user = books_user(request)
    bank = _bank(user.firm, pk)
    try:
        result = matching.statement_auto_match(firm=user.firm, actor=user, bank_account_id=bank.pk)
    except DomainError as exc:
        messages.error(request, exc.message[:1].upper() + exc.message[1:])
    else:
        messages.success(request, auto_match_summary(result))
    return redirect(reconcile_url(bank))


# --- Match by hand -----------------------------------------------------------------------


class PostingIdsField(forms.Field):
    """The books items ticked: a list of posting ids."""

    widget = forms.MultipleHiddenInput

    def to_python(self, value: Any) -> list[int]:
        values = value if isinstance(value, list | tuple) else ([value] if value else [])
        ids = []
        for raw in values:
            text = str(raw).strip()
            if not (text.isascii() and text.isdigit()) or len(text) > 18:
                raise forms.ValidationError("Choose the items from the list.")
            ids.append(int(text))
        return ids


class MatchForm(forms.Form):
    postings = PostingIdsField(label="Books items", required=False)


def _posted_ids(values: list[str]) -> list[int]:
    return [int(v) for v in values if v.isascii() and v.isdigit() and len(v) <= 18]


def _open_items(
    firm: Firm, line: StatementLine, *, show_all: bool, chosen: set[int]
) -> tuple[list[BankItem], int]:
    """The open items a person may match the line to (the same direction of money unless
    ``show_all``): those ticked first, then the same amount, then the nearest in date;
    and how many more there are than the pop-up lists."""
    bank = line.bank_account
    far = clock.today() + dt.timedelta(days=3660)  # every open item, however dated
    items = bank_selectors.outstanding_items(firm=firm, bank_account_id=bank.pk, as_of=far)
    listed = {i.posting_id for i in items}
    proposed = {
        int(pid) for ids in (line.proposals or []) if isinstance(ids, list) for pid in ids
    } - listed
    if proposed:  # a void and its original are not outstanding, but may be proposed
        proposed -= set(
            ClearedItem.objects.filter(posting_id__in=proposed).values_list("posting_id", flat=True)
        )
        items += bank_selectors.items_by_posting(
            firm=firm, bank_account_id=bank.pk, posting_ids=proposed
        ).values()
    if not show_all:
        items = [
            i
            for i in items
            if (i.amount_cents > 0) == (line.amount_cents > 0) or i.posting_id in chosen
        ]
    items.sort(
        key=lambda i: (
            i.posting_id not in chosen,
            i.amount_cents != line.amount_cents,
            abs((i.date - line.posted_on).days),
            i.posting_id,
        )
    )
    return items[:MATCH_LIST_LIMIT], max(len(items) - MATCH_LIST_LIMIT, 0)


@books_login_required()
@require_http_methods(["GET", "POST"])
def line_match_view(request: HttpRequest, pk: int) -> HttpResponse:
    """Match a line by hand to one open item or several (a split)."""
    user = books_user(request)
    line = _line(user.firm, pk)
    bank = line.bank_account
    back = _back(request, bank)
    if "show" in request.GET:  # the pop-up's toggle (with the ticks so far)
        show_all = request.GET["show"] == "all"
    else:
        show_all = (request.POST.get("all") or request.GET.get("all")) == "1"

    chosen: list[int] = []

    def match(form: MatchForm) -> str:
        chosen[:] = form.cleaned_data["postings"]  # kept ticked if the service refuses
        cleared = matching.line_match(
            firm=user.firm, actor=user, line_id=line.pk, posting_ids=chosen
        )
        count = len(cleared)
        return f"The {_describe(line)} matched to {count} item{'s' if count != 1 else ''}."

    def draw(form: MatchForm) -> dict[str, Any]:
        if not form.is_bound:
            chosen[:] = _posted_ids(request.GET.getlist("postings"))
        chosen_set = set(chosen)
        items, more = _open_items(user.firm, line, show_all=show_all, chosen=chosen_set)
        return {
            "line": line,
            "bank": bank,
            "items": items,
            "more": more,
            "show_all": show_all,
            "chosen": chosen_set,
            "next": back,
            **_chosen_total(user.firm, line, chosen),
        }

    return popup_form(
        request,
        MatchForm,
        on_valid=match,
        template="books/bank/_match_form.html",
        title=f"Match by hand · {_describe(line)}",
        success=back,
        context=draw,
        field_map={"items": "postings", "line": "postings"},
        wide=True,
    )


def _chosen_total(firm: Firm, line: StatementLine, ids: list[int]) -> dict[str, Any]:
    items = bank_selectors.items_by_posting(
        firm=firm, bank_account_id=line.bank_account_id, posting_ids=ids
    )
    total = sum(i.amount_cents for i in items.values())
    return {
        "chosen_count": len(items),
        "chosen_cents": total,
        "difference_cents": line.amount_cents - total,
    }


@books_login_required()
@require_GET
def line_match_total_view(request: HttpRequest, pk: int) -> HttpResponse:
    """The running total of the ticked items against the line (the pop-up asks on each
    tick)."""
    user = books_user(request)
    line = _line(user.firm, pk)
    return render(
        request,
        "books/bank/_match_total.html",
        {
            "line": line,
            **_chosen_total(user.firm, line, _posted_ids(request.GET.getlist("postings"))),
        },
    )


# --- Unmatch, set aside, record ----------------------------------------------------------


class UnmatchForm(forms.Form):
    reason = forms.CharField(
        label="Reason", max_length=500, required=False, help_text="Optional; kept on the line."
    )


class SetAsideForm(forms.Form):
    note = forms.CharField(
        label="Note",
        max_length=500,
        required=False,  # the service says what is missing
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="Why the bank's line is not in the books (e.g. a fee charged in error, "
        "a refund asked). The reconciliation lists it with this note.",
    )


class RecordForm(forms.Form):
    account = forms.ModelChoiceField(
        label="Account",
        queryset=GLAccount.objects.none(),
        required=False,  # the service says what is missing
        empty_label="Choose an account…",
        help_text="An expense for a bank fee, income for interest.",
    )
    file = forms.CharField(
        label="File number",
        max_length=40,
        required=False,
        widget=forms.TextInput(attrs={"list": "record-file-numbers", "autocomplete": "off"}),
        help_text="The client ledger the line belongs to.",
    )
    memo = forms.CharField(label="Memo", max_length=500, required=False)

    def __init__(self, *args: Any, bank: BankAccount, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["account"]
        assert isinstance(field, forms.ModelChoiceField)
        field.queryset = (
            GLAccount.objects.filter(firm_id=bank.firm_id, is_active=True, is_client_trust=False)
            .exclude(pk__in=BankAccount.objects.values("gl_account_id"))
            .order_by("number")
        )


_Act = Callable[[User, StatementLine, forms.Form], None]
_Extra = Callable[[Firm, BankAccount], dict[str, Any]]


def _line_form_view(
    request: HttpRequest,
    pk: int,
    *,
    form_class: type[forms.Form],
    template: str,
    title: str,
    act: _Act,
    done: str,
    extra: _Extra | None = None,
) -> HttpResponse:
    """One pop-up of a line: GET the form, POST it to ``act(user, line, form)`` (one
    service call); a refusal is shown next to its field, success returns to the page."""
    user = books_user(request)
    line = _line(user.firm, pk)
    bank = line.bank_account
    back = _back(request, bank)
    kwargs: dict[str, Any] = {"bank": bank} if issubclass(form_class, RecordForm) else {}

    def on_valid(form: forms.Form) -> str:
        act(user, line, form)
        message = done.format(line=_describe(line))
        return message[:1].upper() + message[1:]

    def draw(form: forms.Form) -> dict[str, Any]:
        return {
            "line": line,
            "bank": bank,
            "next": back,
            **(extra(user.firm, bank) if extra else {}),
        }

    return popup_form(
        request,
        form_class,
        on_valid=on_valid,
        template=template,
        title=f"{title} · {_describe(line)}",
        success=back,
        form_kwargs=kwargs,
        context=draw,
        field_map={"line": "__all__"},
    )


@books_login_required(role=CORRECTIONS, doing="Unmatching a statement line")
@require_http_methods(["GET", "POST"])
def line_unmatch_view(request: HttpRequest, pk: int) -> HttpResponse:
    def act(user: User, line: StatementLine, form: forms.Form) -> None:
        matching.line_unmatch(
            firm=user.firm, actor=user, line_id=line.pk, reason=form.cleaned_data["reason"]
        )

    return _line_form_view(
        request,
        pk,
        form_class=UnmatchForm,
        template="books/bank/_unmatch_form.html",
        title="Unmatch",
        act=act,
        done="the {line} is unmatched; its items are open again.",
    )


@books_login_required()
@require_http_methods(["GET", "POST"])
def line_set_aside_view(request: HttpRequest, pk: int) -> HttpResponse:
    def act(user: User, line: StatementLine, form: forms.Form) -> None:
        matching.line_set_aside(
            firm=user.firm, actor=user, line_id=line.pk, note=form.cleaned_data["note"]
        )

    return _line_form_view(
        request,
        pk,
        form_class=SetAsideForm,
        template="books/bank/_set_aside_form.html",
        title="Set aside",
        act=act,
        done="the {line} is set aside as a reconciling item.",
    )


def _record_extra(firm: Firm, bank: BankAccount) -> dict[str, Any]:
    if bank.kind != BankAccountKind.TRUST:
        return {"is_trust": False}
    files = (
        File.objects.filter(firm=firm, is_closed=False)
        .order_by("-pk")
        .values_list("number", "name")[:50]
    )
    rule = matching.IOLTA_INTEREST_RULE
    return {"is_trust": True, "files": list(files), "iolta_rule": rule[:1].upper() + rule[1:]}


@books_login_required(role=CORRECTIONS, doing="Recording a statement line")
@require_http_methods(["GET", "POST"])
def line_record_view(request: HttpRequest, pk: int) -> HttpResponse:
    def act(user: User, line: StatementLine, form: forms.Form) -> None:
        data = form.cleaned_data
        bank = line.bank_account
        account_id = file_id = None
        if bank.kind == BankAccountKind.TRUST:
            number = (data["file"] or "").strip()
            if number:
                found = (
                    File.objects.filter(firm=user.firm, number__iexact=number)
                    .values_list("pk", flat=True)
                    .first()
                )
                if found is None:
                    raise ValidationFailed(f"no file numbered {number} in this firm", field="file")
                file_id = found
        else:
            account = data["account"]
            account_id = account.pk if account is not None else None
        matching.line_record(
            firm=user.firm,
            actor=user,
            line_id=line.pk,
            account_id=account_id,
            file_id=file_id,
            memo=data["memo"],
        )

    return _line_form_view(
        request,
        pk,
        form_class=RecordForm,
        template="books/bank/_record_form.html",
        title="Record",
        act=act,
        done="the {line} is recorded in the books and matched.",
        extra=_record_extra,
    )
