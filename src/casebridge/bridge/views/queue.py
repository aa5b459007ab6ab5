"""The sync queue: its items by state, Retry, and withdrawing a failed send (the worker asks
the books whether they hold it after all; the pop-up polls the job for the answer)."""

from __future__ import annotations

from django import forms
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils.http import urlencode
from django.views.decorators.http import require_http_methods, require_POST

from casebridge.bridge.forms import QueueFilterForm
from casebridge.bridge.models import PENDING, BooksJob, JobKind, OutboxItem, OutboxState, RunState
from casebridge.bridge.selectors.queue import queue_counts, queue_items, send_progress
from casebridge.bridge.services import outbox
from casebridge.bridge.views._common import counted, job_refusal, parse_item_id
from casebridge.cases.auth import cases_permission_required, cases_user
from casebridge.cases.models import Permission, User
from casebridge.core.errors import DomainError
from casebridge.web.paging import paginate_numbered as paginate
from casebridge.web.popups import (
    INVALID,
    ConfirmForm,
    apply_domain_error,
    finish,
    is_htmx,
    message_of,
    popup_form,
    render_modal,
    safe_next,
)

QUEUE_PER_PAGE = 50
WITHDRAW_FORM = "bridge/_withdraw_form.html"
WITHDRAW_TITLE = "Withdraw a failed send"


def _queue_page(
    request: HttpRequest, me: User, *, error: str = "", status: int = 200
) -> HttpResponse:
    form = QueueFilterForm(request.GET)
    filters = form.cleaned_data if form.is_valid() else {}
    items, pager = paginate(
        request,
        queue_items(
            me.firm,
            state=filters.get("state", ""),
            kind=filters.get("kind", ""),
            case_number=filters.get("case", ""),
        ),
        per_page=QUEUE_PER_PAGE,
        label="Queue pages",
    )
    counts = queue_counts(me.firm)
    state_links = []
    for value, label in OutboxState.choices:
        query = request.GET.copy()
        query["state"] = value
        query.pop("page", None)
        state_links.append(
            {
                "value": value,
                "label": label,
                "count": counts.get(value, 0),
                "url": f"?{query.urlencode()}",
                "current": filters.get("state") == value,
            }
        )
    return render(
        request,
        "bridge/queue.html",
        {
            # in the main navigation of everyone with Costs management (not Account Settings,
            # which most of them cannot open)
            "nav": "queue",
            "form": form,
            "items": items,
            "pager": pager,
            "counts": counts,
            "state_links": state_links,
            "failed": counts.get(OutboxState.FAILED, 0),
            "filtered": any(filters.get(k) for k in ("state", "kind", "case")),
            "here": request.get_full_path(),
            "query": request.GET.urlencode(),
            "error": error,
        },
        status=status,
    )


@cases_permission_required(Permission.COSTS_MANAGEMENT)
@require_http_methods(["GET"])
def queue_view(request: HttpRequest) -> HttpResponse:
    return _queue_page(request, cases_user(request))


@cases_permission_required(Permission.COSTS_MANAGEMENT)
@require_http_methods(["GET"])
def send_progress_view(request: HttpRequest) -> HttpResponse:
    """The live count of costs on their way to the books, polled by itself every 3 s while
    any is queued or sending (while all wait for a retry: at the retry's time); the answer
    once none is stops the polling."""
    me = cases_user(request)
    return render(
        request,
        "bridge/_send_progress.html",
        {"progress": send_progress(me.firm), "done": True},
    )


@cases_permission_required(Permission.COSTS_MANAGEMENT)
@require_POST
def queue_retry_view(request: HttpRequest) -> HttpResponse:
    """Retry one failed item (``item``) or, without one, every failed item."""
    me = cases_user(request)
    raw = str(request.POST.get("item", "")).strip()
    item_ids = [parse_item_id(raw)] if raw else None
    try:
        count = outbox.items_retry(firm=me.firm, actor=me, item_ids=item_ids)
    except DomainError as exc:
        return _queue_page(request, me, error=message_of(exc), status=INVALID)
    back = safe_next(request, request.POST.get("next"), reverse("bridge:queue"))
    if count == 0:
        return finish(request, back, "No failed items to retry.")
    return finish(request, back, f"{counted(count, 'failed item')} queued again.")


@cases_permission_required(Permission.COSTS_MANAGEMENT)
@require_http_methods(["GET", "POST"])
def item_withdraw_view(request: HttpRequest, pk: int) -> HttpResponse:
    """Withdraw a failed send: its cost goes back to Open, or its fee invoice is set aside
    (settings access needed). Whether the books hold it after all the worker asks them:
    the pop-up shows that pending, then the answer."""
    me = cases_user(request)
    item = get_object_or_404(
        OutboxItem.objects.select_related("case", "cost", "cost__payee", "fee_invoice"),
        firm=me.firm,
        pk=pk,
    )
    back = safe_next(request, request.POST.get("next") or request.GET.get("next"), "")
    back = back or reverse("bridge:queue")

    def withdraw(form: ConfirmForm) -> HttpResponse:
        job = outbox.item_withdraw(firm=me.firm, actor=me, item_id=item.pk)
        return _withdraw_answer(request, job, item, back)

    return popup_form(
        request,
        ConfirmForm,
        on_valid=withdraw,
        template=WITHDRAW_FORM,
        title=WITHDRAW_TITLE,
        success=back,
        context={"item": item, "next": back},
    )


def _withdraw_modal(
    request: HttpRequest,
    form: forms.Form,
    item: OutboxItem,
    back: str,
    status: int,
    *,
    opening: bool | None = None,
) -> HttpResponse:
    return render_modal(
        request,
        WITHDRAW_FORM,
        {"form": form, "item": item, "next": back},
        title=WITHDRAW_TITLE,
        status=status,
        back_url=back,
        opening=opening,
    )


def _withdraw_answer(
    request: HttpRequest, job: BooksJob, item: OutboxItem, back: str
) -> HttpResponse:
    poll = reverse("bridge:job", args=[job.pk]) + "?" + urlencode({"next": back, "poll": "1"})
    opening = False if request.GET.get("poll") else None
    if job.state in PENDING:
        if request.method == "POST" and not is_htmx(request):
            return HttpResponseRedirect(poll)
        return render_modal(
            request,
            "bridge/_pending.html",
            {
                "poll_url": poll,
                "pending_message": "Asking the books whether they hold it after all…",
            },
            title=WITHDRAW_TITLE,
            back_url=back,
            opening=opening,
        )
    if job.state == RunState.FAILED:
        form = ConfirmForm({})
        form.is_valid()
        apply_domain_error(form, job_refusal(job))
        return _withdraw_modal(request, form, item, back, INVALID, opening=opening)
    return finish(request, back, str((job.result or {}).get("summary", "Withdrawn.")))


@cases_permission_required(Permission.COSTS_MANAGEMENT)
@require_http_methods(["GET"])
def job_view(request: HttpRequest, pk: int) -> HttpResponse:
    """A withdrawal's answer (polled by its pop-up while the worker asks the books)."""
    me = cases_user(request)
    job = get_object_or_404(BooksJob, firm=me.firm, kind=JobKind.WITHDRAW, pk=pk)
    item = get_object_or_404(
        OutboxItem.objects.select_related("case", "cost", "cost__payee", "fee_invoice"),
        firm=me.firm,
        pk=int(job.params.get("item_id", 0)),
    )
    back = safe_next(request, request.GET.get("next"), reverse("bridge:queue"))
    return _withdraw_answer(request, job, item, back)
