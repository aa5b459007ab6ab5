"""The bridge's screens under /cases/integrations/books/, in the cases side's look and with
its pop-ups (``casebridge.cases.views._common``): activation (the seed's two pop-ups),
deactivation and re-authentication, the readiness check, the sync queue, cost code
mapping, and a cost row's Send, Split and send and Sync check status.

Every view is thin: parse, call a service, render. A service's refusal (a
:class:`~casebridge.core.errors.DomainError`) is shown in the form with status 422.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils.http import urlencode
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_http_methods, require_POST

from casebridge.bridge import selectors
from casebridge.bridge.errors import NotReadYet
from casebridge.bridge.forms import (
    MAPPING_DEFAULT,
    ActivateForm,
    AddressForm,
    DefaultsForm,
    DifferenceFilterForm,
    MappingForm,
    QueueFilterForm,
    ReauthenticateForm,
    SendForm,
    SplitSendForm,
    ThreeWayForm,
)
from casebridge.bridge.models import (
    PENDING,
    BooksJob,
    Connection,
    InvoiceRelease,
    JobKind,
    OutboxItem,
    OutboxState,
    ReconciliationDifference,
    RunState,
    SyncRun,
)
from casebridge.bridge.services import connection as conn_services
from casebridge.bridge.services import mappings as mapping_services
from casebridge.bridge.services import outbox, readiness, reconciliation, snapshot
from casebridge.bridge.services import settlement as settlement_services
from casebridge.bridge.services.readiness import Check, Readiness, readiness_last
from casebridge.bridge.services.status_sync import sync_request
from casebridge.cases.auth import cases_permission_required, cases_settings_required
from casebridge.cases.forms import ConfirmForm
from casebridge.cases.models import Case, Cost, CostCode, Permission, TrustItem, User
from casebridge.cases.services import costs as cost_services
from casebridge.cases.views._common import (
    INVALID,
    apply_domain_error,
    cases_user,
    confirm_form,
    finish,
    is_htmx,
    message_of,
    paginate,
    render_modal,
    safe_next,
)
from casebridge.cases.views.costs import split_sum
from casebridge.core.errors import DomainError
from casebridge.core.money import format_cents

#: The settings-area pages: Account Settings' sub-navigation shows "Integrations".
SETTINGS_NAV = {"nav": "settings", "section": "integrations"}
QUEUE_PER_PAGE = 50


def _integrations_url() -> str:
    return reverse("cases:settings_integrations")


def _plural(n: int, noun: str, plural: str = "") -> str:
    return f"{n} {noun if n == 1 else (plural or noun + 's')}"


def _refusal_status(request: HttpRequest) -> int:
    """A refusal found before the form: the pop-up still opens on a GET."""
    return INVALID if request.method == "POST" else 200


# --- Activation: the seed's two pop-ups ------------------------------------------------------


@sensitive_post_parameters("password", "security_answer")
@cases_settings_required
@require_http_methods(["GET", "POST"])
def activate_view(request: HttpRequest) -> HttpResponse:
    """Pop-up 1: the books' address and firm ID, and the integration user's username and
    password. Saving queues the sign-in for the worker (a web request never waits on the
    books: ADR 0008); the pop-up shows it pending, then opens pop-up 2."""
    me = cases_user(request)
    conn = conn_services.connection_of(me.firm)
    status = 200
    if request.method == "POST":
        form = ActivateForm(request.POST)
        if form.is_valid():
            data = form.cleaned_data
            try:
                job = conn_services.connection_activate(
                    firm=me.firm,
                    actor=me,
                    books_url=data["books_url"],
                    books_firm_code=data["books_firm_code"],
                    username=data["username"],
                    password=data["password"],
                    security_answer=data["security_answer"],
                )
            except DomainError as exc:
                apply_domain_error(form, exc)
            else:
                return _sign_in_answer(request, me, job)
        status = INVALID
    else:
        pending = conn_services.sign_in_pending(me.firm)
        if pending is not None and pending.params.get("purpose") == "activate":
            return _sign_in_answer(request, me, pending)
        form = ActivateForm(
            initial={
                "books_url": conn.books_url
                if conn
                else request.build_absolute_uri("/books/api/v1"),
                "books_firm_code": conn.books_firm_code if conn else me.firm.code,
                "username": conn.username if conn else "",
            }
        )
    return _activate_modal(request, form, status)


def _activate_modal(
    request: HttpRequest, form: ActivateForm, status: int, *, opening: bool | None = None
) -> HttpResponse:
    return render_modal(
        request,
        "bridge/_activate_form.html",
        {"form": form},
        title="Activate the books integration",
        status=status,
        back_url=_integrations_url(),
        opening=opening,
    )


def _reauthenticate_modal(
    request: HttpRequest,
    me: User,
    form: ReauthenticateForm,
    status: int,
    *,
    opening: bool | None = None,
) -> HttpResponse:
    return render_modal(
        request,
        "bridge/_reauthenticate_form.html",
        {
            "form": form,
            "conn": conn_services.connection_of(me.firm),
            "counts": selectors.queue_counts(me.firm),
        },
        title="Re-authenticate the books integration",
        status=status,
        back_url=_integrations_url(),
        opening=opening,
    )


def _job_refusal(job: BooksJob) -> DomainError:
    """A refused job's answer, as the refusal the forms show next to its field."""
    refusal = DomainError(job.error_message or "The books refused.", field=job.error_field or None)
    refusal.code = job.error_code or "refused"
    return refusal


def _refused_form(form: forms.Form, job: BooksJob) -> None:
    """``form`` (bound to what the user gave, never the password) with the job's refusal;
    the password is typed again, without a second error for it."""
    form.is_valid()
    form.errors.pop("password", None)
    form.errors.pop("security_answer", None)
    apply_domain_error(form, _job_refusal(job))


def _sign_in_answer(request: HttpRequest, me: User, job: BooksJob) -> HttpResponse:
    """Where a sign-in stands, as the pop-up shows it: pending (polling), refused (the
    form again, the refusal next to its field, the password to be typed again), or done
    (pop-up 2 after an activation; the Integrations card after a re-authentication)."""
    activating = job.params.get("purpose") == "activate"
    poll = reverse("bridge:sign_in", args=[job.pk])
    # the first answer opens or fills the pop-up; a poll swaps just its body
    opening = False if request.GET.get("poll") else None
    if job.state in PENDING:
        if request.method == "POST" and not is_htmx(request):
            return HttpResponseRedirect(poll)
        username = job.params.get("username", "")
        return render_modal(
            request,
            "bridge/_pending.html",
            {
                "poll_url": f"{poll}?poll=1",
                "pending_message": f"Signing in to the books as {username}…",
                "pending_note": "The worker signs in; this goes on by itself. The password "
                "is kept only encrypted until then, and erased once used.",
            },
            title="Activate the books integration"
            if activating
            else "Re-authenticate the books integration",
            back_url=_integrations_url(),
            opening=opening,
        )
    status = INVALID  # a refusal re-renders the form with 422, polled or not
    if job.state == RunState.FAILED:
        if activating:
            form = ActivateForm(
                {k: job.params.get(k, "") for k in ("books_url", "books_firm_code", "username")}
            )
            _refused_form(form, job)
            return _activate_modal(request, form, status, opening=opening)
        reauth = ReauthenticateForm({})
        _refused_form(reauth, job)
        return _reauthenticate_modal(request, me, reauth, status, opening=opening)
    if activating:
        return _open_defaults(request, me)
    conn = conn_services.connection_of(me.firm)
    queued = selectors.queue_counts(me.firm)[OutboxState.QUEUED]
    return finish(
        request,
        _integrations_url(),
        f"Re-authenticated as {conn.username if conn else ''}. "
        f"{_plural(queued, 'queued item')} will now go to the books.",
    )


@cases_settings_required
@require_http_methods(["GET"])
def sign_in_view(request: HttpRequest, pk: int) -> HttpResponse:
    """A sign-in's answer (polled by the pop-up while the worker signs in)."""
    me = cases_user(request)
    job = conn_services.sign_in_of(me.firm, pk)
    if job is None:
        raise Http404("No such sign-in.")
    return _sign_in_answer(request, me, job)


def _open_defaults(request: HttpRequest, me: User) -> HttpResponse:
    """After pop-up 1: pop-up 2 in place of pop-up 1 (htmx), or its page."""
    if not is_htmx(request):
        return HttpResponseRedirect(reverse("bridge:defaults"))
    response = _defaults_modal(request, me, form=None, opening=True)
    response["HX-Retarget"] = "#modal-root"
    response["HX-Reswap"] = "innerHTML"
    return response


def _defaults_initial(conn: Connection, form_kwargs: dict[str, Any]) -> dict[str, Any]:
    operating, trust = form_kwargs["operating"], form_kwargs["trust"]
    ids = {a.id for a in operating}
    trust_ids = {a.id for a in trust}
    posting_ids = {a.id for a in form_kwargs["cost_posting"]}
    return {
        "cost_posting_code": conn.cost_posting_code_id
        if conn.cost_posting_code_id in posting_ids
        else form_kwargs["suggested_cost_posting"],
        "operating_account": conn.operating_account_id
        if conn.operating_account_id in ids
        else (operating[0].id if operating else None),
        "trust_account": conn.trust_account_id
        if conn.trust_account_id in trust_ids
        else (trust[0].id if trust else None),
        "invoice_release": conn.invoice_release,
        "check_sync_hour": conn.check_sync_hour,
    }


def _defaults_modal(
    request: HttpRequest,
    me: User,
    *,
    form: DefaultsForm | None,
    status: int = 200,
    opening: bool | None = None,
) -> HttpResponse:
    conn = conn_services.connection_of(me.firm)
    context: dict[str, Any] = {"conn": conn}
    if conn is None or not conn.token_ciphertext:
        context["refusal"] = (
            "Sign in with the integration user first: Account Settings -> Integrations -> "
            "Books -> Activate."
        )
    elif form is None:
        try:
            choices = conn_services.default_choices(conn)
        except NotReadYet:  # the worker is reading the books' accounts: wait for it here
            return render_modal(
                request,
                "bridge/_pending.html",
                {
                    "poll_url": reverse("bridge:defaults") + "?poll=1",
                    "pending_message": "Reading the books' bank accounts…",
                    "pending_note": conn.refresh_error,
                },
                title="Books integration defaults",
                back_url=_integrations_url(),
                opening=opening,
            )
        except DomainError as exc:
            context["refusal"] = message_of(exc)
            status = max(status, _refusal_status(request))
        else:
            kwargs = {
                "operating": choices.operating,
                "trust": choices.trust,
                "cost_posting": choices.cost_posting,
            }
            initial = _defaults_initial(
                conn, {**kwargs, "suggested_cost_posting": choices.suggested_cost_posting}
            )
            form = DefaultsForm(initial=initial, **kwargs)
    context["form"] = form
    return render_modal(
        request,
        "bridge/_defaults_form.html",
        context,
        title="Books integration defaults",
        status=status,
        back_url=_integrations_url(),
        opening=opening,
    )


@cases_settings_required
@require_http_methods(["GET", "POST"])
def defaults_view(request: HttpRequest) -> HttpResponse:
    """Pop-up 2: the default cost posting reference, operating and client trust accounts,
    and whether invoices are released automatically or reviewed. Saving connects."""
    me = cases_user(request)
    if request.method != "POST":
        # a poll (while the worker reads the books' accounts) swaps just the pop-up's body
        return _defaults_modal(
            request, me, form=None, opening=False if request.GET.get("poll") else None
        )
    conn = conn_services.connection_of(me.firm)
    if conn is None or not conn.token_ciphertext:
        return _defaults_modal(request, me, form=None, status=INVALID)
    try:
        choices = conn_services.default_choices(conn)
    except DomainError as exc:
        return render_modal(
            request,
            "bridge/_defaults_form.html",
            {"conn": conn, "form": None, "refusal": message_of(exc)},
            title="Books integration defaults",
            status=INVALID,
            back_url=_integrations_url(),
        )
    form = DefaultsForm(
        request.POST,
        operating=choices.operating,
        trust=choices.trust,
        cost_posting=choices.cost_posting,
    )
    if form.is_valid():
        data = form.cleaned_data
        try:
            conn_services.connection_defaults_save(
                firm=me.firm,
                actor=me,
                cost_posting_code_id=data["cost_posting_code"],
                operating_account_id=data["operating_account"],
                trust_account_id=data["trust_account"],
                invoice_release=data["invoice_release"],
                check_sync_hour=data["check_sync_hour"],
            )
        except DomainError as exc:
            apply_domain_error(form, exc)
        else:
            return finish(request, _integrations_url(), "The books are connected.")
    return _defaults_modal(request, me, form=form, status=INVALID)


@cases_settings_required
@require_http_methods(["GET", "POST"])
def deactivate_view(request: HttpRequest) -> HttpResponse:
    me = cases_user(request)
    form = confirm_form(request)
    status = 200
    if request.method == "POST":
        try:
            conn_services.connection_deactivate(firm=me.firm, actor=me)
        except DomainError as exc:
            apply_domain_error(form, exc)
            status = INVALID
        else:
            return finish(
                request,
                _integrations_url(),
                "The books integration is deactivated. Nothing queued is lost: it goes to the "
                "books once the integration is activated again.",
            )
    return render_modal(
        request,
        "bridge/_deactivate_form.html",
        {"form": form, "counts": selectors.queue_counts(me.firm)},
        title="Deactivate the books integration",
        status=status,
        back_url=_integrations_url(),
    )


@sensitive_post_parameters("password", "security_answer")
@cases_settings_required
@require_http_methods(["GET", "POST"])
def reauthenticate_view(request: HttpRequest) -> HttpResponse:
    """The monthly re-authentication: the integration user's password again, signed in by
    the worker like pop-up 1 (the pop-up shows it pending)."""
    me = cases_user(request)
    status = 200
    if request.method == "POST":
        form = ReauthenticateForm(request.POST)
        if form.is_valid():
            try:
                job = conn_services.connection_reauthenticate(
                    firm=me.firm,
                    actor=me,
                    password=form.cleaned_data["password"],
                    security_answer=form.cleaned_data["security_answer"],
                )
            except DomainError as exc:
                apply_domain_error(form, exc)
            else:
                return _sign_in_answer(request, me, job)
        status = INVALID
    else:
        pending = conn_services.sign_in_pending(me.firm)
        if pending is not None and pending.params.get("purpose") == "reauthenticate":
            return _sign_in_answer(request, me, pending)
        form = ReauthenticateForm()
    return _reauthenticate_modal(request, me, form, status)


# --- The firm's allowed books addresses (issue 13) ------------------------------------------


@cases_settings_required
@require_http_methods(["GET", "POST"])
def address_confirm_view(request: HttpRequest) -> HttpResponse:
    """A firm administrator confirms a books host and port the bridge may reach (the
    service refuses anyone else, and metadata and loopback addresses)."""
    me = cases_user(request)
    status = 200
    if request.method == "POST":
        form = AddressForm(request.POST)
        if form.is_valid():
            try:
                confirmation = conn_services.books_address_confirm(
                    firm=me.firm, actor=me, address=form.cleaned_data["address"]
                )
            except DomainError as exc:
                apply_domain_error(form, exc)
            else:
                return finish(
                    request,
                    _integrations_url(),
                    f"{confirmation} is confirmed: the bridge may reach it.",
                )
        status = INVALID
    else:
        form = AddressForm()
    return render_modal(
        request,
        "bridge/_address_form.html",
        {"form": form, "is_admin": me.is_firm_admin},
        title="Confirm a books address",
        status=status,
        back_url=_integrations_url(),
    )


@cases_settings_required
@require_http_methods(["GET", "POST"])
def address_remove_view(request: HttpRequest, pk: int) -> HttpResponse:
    me = cases_user(request)
    confirmation = get_object_or_404(conn_services.books_addresses_of(me.firm), pk=pk)
    form = confirm_form(request)
    status = 200
    if request.method == "POST":
        try:
            conn_services.books_address_remove(firm=me.firm, actor=me, confirmation_id=pk)
        except DomainError as exc:
            apply_domain_error(form, exc)
            status = INVALID
        else:
            return finish(
                request,
                _integrations_url(),
                f"{confirmation} is no longer confirmed: the bridge does not reach it.",
            )
    return render_modal(
        request,
        "bridge/_address_remove_form.html",
        {"form": form, "confirmation": confirmation},
        title="Remove a confirmed books address",
        status=status,
        back_url=_integrations_url(),
    )


# --- Readiness ----------------------------------------------------------------------------


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


# --- The sync queue -------------------------------------------------------------------------


def _queue_page(
    request: HttpRequest, me: User, *, error: str = "", status: int = 200
) -> HttpResponse:
    form = QueueFilterForm(request.GET)
    filters = form.cleaned_data if form.is_valid() else {}
    items, pager = paginate(
        request,
        selectors.queue_items(
            me.firm,
            state=filters.get("state", ""),
            kind=filters.get("kind", ""),
            case_number=filters.get("case", ""),
        ),
        per_page=QUEUE_PER_PAGE,
        label="Queue pages",
    )
    counts = selectors.queue_counts(me.firm)
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
            **SETTINGS_NAV,
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


def _item_id(raw: str) -> int:
    if not (raw.isascii() and raw.isdigit() and len(raw) < 19):
        raise Http404("No such item.")
    return int(raw)


@cases_permission_required(Permission.COSTS_MANAGEMENT)
@require_POST
def queue_retry_view(request: HttpRequest) -> HttpResponse:
    """Retry one failed item (``item``) or, without one, every failed item."""
    me = cases_user(request)
    raw = str(request.POST.get("item", "")).strip()
    item_ids = [_item_id(raw)] if raw else None
    try:
        count = outbox.items_retry(firm=me.firm, actor=me, item_ids=item_ids)
    except DomainError as exc:
        return _queue_page(request, me, error=message_of(exc), status=INVALID)
    back = safe_next(request, request.POST.get("next"), reverse("bridge:queue"))
    if count == 0:
        return finish(request, back, "No failed items to retry.")
    return finish(request, back, f"{_plural(count, 'failed item')} queued again.")


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
    form = confirm_form(request)
    status = 200
    if request.method == "POST":
        try:
            job = outbox.item_withdraw(firm=me.firm, actor=me, item_id=item.pk)
        except DomainError as exc:
            apply_domain_error(form, exc)
            status = INVALID
        else:
            return _withdraw_answer(request, job, item, back)
    return _withdraw_modal(request, form, item, back, status)


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
        "bridge/_withdraw_form.html",
        {"form": form, "item": item, "next": back},
        title="Withdraw a failed send",
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
            title="Withdraw a failed send",
            back_url=back,
            opening=opening,
        )
    if job.state == RunState.FAILED:
        form = ConfirmForm({})
        form.is_valid()
        apply_domain_error(form, _job_refusal(job))
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


# --- Cost code mapping ----------------------------------------------------------------------


@cases_settings_required
@require_http_methods(["GET"])
def mappings_view(request: HttpRequest) -> HttpResponse:
    me = cases_user(request)
    conn = conn_services.connection_of(me.firm)
    return render(
        request,
        "bridge/mappings.html",
        {
            **SETTINGS_NAV,
            "conn": conn,
            "rows": mapping_services.mapping_rows(me.firm, conn),
        },
    )


@cases_settings_required
@require_http_methods(["GET", "POST"])
def mapping_edit_view(request: HttpRequest, pk: int) -> HttpResponse:
    """A cost code's books activity code, chosen among the books' codes that post to
    Advanced client costs (as the last readiness run read them), or the default."""
    me = cases_user(request)
    code = get_object_or_404(CostCode, firm=me.firm, pk=pk)
    mapping = mapping_services.mapping_of(me.firm, code)
    back = reverse("bridge:mappings")
    context: dict[str, Any] = {"code": code, "mapping": mapping}
    title = f"Books activity code of {code.code}"
    try:
        conn = conn_services.require_connection(me.firm)
    except DomainError as exc:
        context.update(refusal=message_of(exc), form=None)
        return render_modal(
            request,
            "bridge/_mapping_form.html",
            context,
            title=title,
            status=_refusal_status(request),
            back_url=back,
        )
    codes = mapping_services.advance_codes(conn)
    labels = {c.id: mapping_services.activity_code_label(c) for c in codes}
    choices = list(labels.items())
    status = 200
    if request.method == "POST":
        form = MappingForm(request.POST, codes=choices)
        if form.is_valid():
            raw = form.cleaned_data["activity_code"]
            code_id = None if raw == MAPPING_DEFAULT else int(raw)
            try:
                mapping_services.cost_code_mapping_save(
                    firm=me.firm, actor=me, cost_code_id=code.pk, activity_code_id=code_id
                )
            except DomainError as exc:
                apply_domain_error(form, exc)
            else:
                target = labels[code_id] if code_id is not None else "the default"
                return finish(
                    request, back, f"Cost code {code.code} goes to the books as {target}."
                )
        status = INVALID
    else:
        form = MappingForm(
            codes=choices,
            initial={
                "activity_code": str(mapping.activity_code_id) if mapping else MAPPING_DEFAULT
            },
        )
    context["form"] = form
    return render_modal(
        request, "bridge/_mapping_form.html", context, title=title, status=status, back_url=back
    )


# --- A cost's row: Send, Split and send, Sync check status -------------------------------


def _cost_of(request: HttpRequest, pk: int) -> Cost:
    return get_object_or_404(
        Cost.objects.select_related("case", "payee", "cost_code"),
        firm=cases_user(request).firm,
        pk=pk,
    )


def _costs_url(cost: Cost) -> str:
    return reverse("cases:case_costs", args=[cost.case_id])


def _operating_choices(me: User) -> tuple[Connection, list[conn_services.AccountChoice]]:
    """The connection and the books' operating accounts (refusals: not connected, the books
    cannot be reached)."""
    conn = conn_services.require_connection(me.firm)
    return conn, conn_services.default_choices(conn).operating


@cases_permission_required(Permission.COSTS_MANAGEMENT)
@require_http_methods(["GET", "POST"])
def cost_send_view(request: HttpRequest, pk: int) -> HttpResponse:
    """Send one cost to the books as a check request; it is Pending at once."""
    me = cases_user(request)
    cost = _cost_of(request, pk)
    back = _costs_url(cost)
    context: dict[str, Any] = {"cost": cost}
    title = f"Send cost to the books · {cost.case.number}"
    try:
        conn, operating = _operating_choices(me)
    except DomainError as exc:
        context.update(refusal=message_of(exc), form=None)
        return render_modal(
            request,
            "bridge/_send_form.html",
            context,
            title=title,
            status=_refusal_status(request),
            back_url=back,
        )
    status = 200
    if request.method == "POST":
        form = SendForm(request.POST, operating=operating)
        if form.is_valid():
            try:
                outbox.costs_send(
                    firm=me.firm,
                    actor=me,
                    cost_ids=[cost.pk],
                    bank_account_id=form.cleaned_data["bank_account"],
                )
            except DomainError as exc:
                apply_domain_error(form, exc)
            else:
                return finish(
                    request,
                    back,
                    f"Cost of {format_cents(cost.amount_cents)} to {cost.payee.name} sent to the "
                    "books; it is Pending until its check is printed.",
                )
        status = INVALID
    else:
        form = SendForm(operating=operating, initial={"bank_account": conn.operating_account_id})
    context["form"] = form
    return render_modal(
        request, "bridge/_send_form.html", context, title=title, status=status, back_url=back
    )


def _split_cases(me: User, cost: Cost) -> tuple[list[Case], dict[int, int]]:
    proposal = cost_services.cost_split_proposal(firm=me.firm, cost_id=cost.pk)
    by_id = {
        c.pk: c for c in Case.objects.filter(firm=me.firm, pk__in=[p.case_id for p in proposal])
    }
    return [by_id[p.case_id] for p in proposal], {p.case_id: p.amount_cents for p in proposal}


@cases_permission_required(Permission.COSTS_MANAGEMENT)
@require_http_methods(["GET", "POST"])
def cost_split_send_view(request: HttpRequest, pk: int) -> HttpResponse:
    """The cases side's Split, then Send of every part, in one transaction: a refusal of
    either writes nothing."""
    me = cases_user(request)
    cost = _cost_of(request, pk)
    back = _costs_url(cost)
    context: dict[str, Any] = {"cost": cost}
    try:
        cases, proposal = _split_cases(me, cost)
        conn, operating = _operating_choices(me)
    except DomainError as exc:
        context["refusal"] = message_of(exc)
        return render_modal(
            request,
            "bridge/_split_send_form.html",
            context,
            title="Split and send cost",
            status=_refusal_status(request),
            back_url=back,
        )
    status = 200
    if request.method == "POST":
        form = SplitSendForm(request.POST, cases=cases, proposal=proposal, operating=operating)
        if form.is_valid():
            parts = [cost_services.SplitPart(cid, cents) for cid, cents in form.parts()]
            try:
                # the books are asked before the transaction, never while it holds locks
                ready = readiness.require_ready(conn=conn, purpose=readiness.COSTS)
                with transaction.atomic():
                    result = cost_services.cost_split(
                        firm=me.firm, actor=me, cost_id=cost.pk, parts=parts
                    )
                    sent = outbox.costs_send(
                        firm=me.firm,
                        actor=me,
                        cost_ids=[c.pk for c in result],
                        bank_account_id=form.cleaned_data["bank_account"],
                        checked=ready,
                    )
            except DomainError as exc:
                apply_domain_error(form, exc)
            else:
                return finish(
                    request,
                    back,
                    f"Cost of {format_cents(cost.amount_cents)} split across "
                    f"{_plural(len(result), 'case')}; {_plural(sent.count, 'part')} sent to the "
                    "books, Pending until their checks are printed.",
                )
        status = INVALID
        values = [str(request.POST.get(f"part_{c.pk}", "")) for c in cases]
    else:
        form = SplitSendForm(
            cases=cases,
            proposal=proposal,
            operating=operating,
            initial={
                **{f"part_{cid}": cents for cid, cents in proposal.items()},
                "bank_account": conn.operating_account_id,
            },
        )
        values = [format_cents(proposal[c.pk], symbol="") for c in cases]
    context.update(form=form, **split_sum(cost, values))
    return render_modal(
        request,
        "bridge/_split_send_form.html",
        context,
        title=f"Split and send cost of {format_cents(cost.amount_cents)}",
        status=status,
        back_url=back,
        wide=True,
    )


def _finish_sync(request: HttpRequest, url: str, run: SyncRun) -> HttpResponse:
    """After asking for a sync: its result if the worker has answered already, else that
    it started (the Integrations card shows it running, then its result)."""
    run.refresh_from_db()
    if run.error:
        messages.error(request, selectors.sync_run_summary(run))
        return finish(request, url)
    return finish(request, url, selectors.sync_run_summary(run))


@cases_permission_required(Permission.COSTS_MANAGEMENT)
@require_http_methods(["GET"])
def sync_run_view(request: HttpRequest, pk: int) -> HttpResponse:
    """A sync run's line on the Integrations card (polled while the worker runs it)."""
    me = cases_user(request)
    run = get_object_or_404(SyncRun, firm=me.firm, pk=pk)
    return render(request, "bridge/_last_sync.html", {"last_sync": run})


@cases_permission_required(Permission.COSTS_MANAGEMENT)
@require_http_methods(["GET", "POST"])
def cost_sync_view(request: HttpRequest, pk: int) -> HttpResponse:
    """Bring one cost's check number and status back from the books now."""
    me = cases_user(request)
    cost = _cost_of(request, pk)
    back = _costs_url(cost)
    form = confirm_form(request)
    status = 200
    if request.method == "POST":
        try:
            run = sync_request(firm=me.firm, actor=me, cost_ids=[cost.pk])
        except DomainError as exc:
            apply_domain_error(form, exc)
            status = INVALID
        else:
            return _finish_sync(request, back, run)
    return render_modal(
        request,
        "bridge/_cost_sync_form.html",
        {"form": form, "cost": cost},
        title="Sync check status",
        status=status,
        back_url=back,
    )


@cases_permission_required(Permission.COSTS_MANAGEMENT)
@require_POST
def sync_view(request: HttpRequest) -> HttpResponse:
    """Check status sync for the whole firm, now: every sent cost's check, and the trust
    checks and fee invoices of payments pushed to disbursement."""
    me = cases_user(request)
    back = safe_next(request, request.POST.get("next"), _integrations_url())
    try:
        run = sync_request(firm=me.firm, actor=me)
    except DomainError as exc:
        messages.error(request, message_of(exc))
        return finish(request, back)
    return _finish_sync(request, back, run)


# --- Settlement: fee invoices and trust checks -------------------------------------------------


_NOT_VOID = selectors.PaymentState("")


def _client_trust_url() -> str:
    return reverse("cases:client_trust") + "?tab=to_be_disbursed"


@cases_permission_required(Permission.DEPOSIT_SETTLEMENT)
@require_http_methods(["GET", "POST"])
def fee_invoice_create_view(request: HttpRequest, pk: int) -> HttpResponse:
    """Create fee invoice: shows the lines the books will get, then queues the invoice."""
    me = cases_user(request)
    get_object_or_404(Case, firm=me.firm, pk=pk)
    back = _client_trust_url()
    form = confirm_form(request)
    context: dict[str, Any] = {"form": form, "case_id": pk}
    try:
        plan = settlement_services.fee_invoice_plan(firm=me.firm, actor=me, case_id=pk)
    except DomainError as exc:
        context["refusal"] = message_of(exc)
        return render_modal(
            request,
            "bridge/_fee_invoice_form.html",
            context,
            title="Create fee invoice",
            status=_refusal_status(request),
            back_url=back,
        )
    context["plan"] = plan
    status = 200
    if request.method == "POST":
        try:
            invoice = settlement_services.fee_invoice_create(firm=me.firm, actor=me, case_id=pk)
        except DomainError as exc:
            apply_domain_error(form, exc)
            status = INVALID
        else:
            then = (
                "it is released to final at once"
                if invoice.release == InvoiceRelease.AUTOMATIC
                else "it waits in the books for the accountant to review and release it"
            )
            return finish(
                request,
                back,
                f"Fee invoice of {format_cents(invoice.total_cents)} for case "
                f"{plan.case.number} sent to the books; {then}.",
            )
    return render_modal(
        request,
        "bridge/_fee_invoice_form.html",
        context,
        title=f"Create fee invoice · {plan.case.number}",
        status=status,
        back_url=back,
    )


@cases_permission_required(Permission.DEPOSIT_SETTLEMENT)
@require_http_methods(["GET", "POST"])
def trust_check_send_again_view(request: HttpRequest, pk: int) -> HttpResponse:
    """Request a new trust check for a payment whose check the books voided."""
    me = cases_user(request)
    back = _client_trust_url()
    item = get_object_or_404(TrustItem.objects.select_related("case"), firm=me.firm, pk=pk)
    form = confirm_form(request)
    status = 200
    if not selectors.payment_states([item.case_id]).get(item.pk, _NOT_VOID).can_send_again:
        return render_modal(
            request,
            "bridge/_send_again_form.html",
            {
                "form": form,
                "item": item,
                "refusal": "Only a payment whose check was voided in the books can be sent again",
            },
            title="Send the trust check again",
            status=_refusal_status(request),
            back_url=back,
        )
    if request.method == "POST":
        try:
            settlement_services.trust_check_send_again(firm=me.firm, actor=me, trust_item_id=pk)
        except DomainError as exc:
            apply_domain_error(form, exc)
            status = INVALID
        else:
            return finish(
                request,
                back,
                f"A new trust check for {item.payee_name} ({format_cents(item.amount_cents)}) "
                "was requested from the books.",
            )
    return render_modal(
        request,
        "bridge/_send_again_form.html",
        {"form": form, "item": item},
        title="Send the trust check again",
        status=status,
        back_url=back,
    )


# --- Reconciliation -----------------------------------------------------------------------------

DIFFERENCES_PER_PAGE = 50


def _case_param(request: HttpRequest, me: User) -> Case | None:
    """The case named by ``?case=`` (None: no case named, the whole firm). A value that is
    not one of this firm's cases is 404, exactly like a case that does not exist: it never
    falls back to the whole firm."""
    raw = request.GET.get("case") or request.POST.get("case") or ""
    if not raw:
        return None
    if not (raw.isascii() and raw.isdigit() and len(raw) < 19):
        raise Http404("no such case")
    return get_object_or_404(Case, firm=me.firm, pk=int(raw))


@cases_settings_required
@require_http_methods(["GET"])
def reconciliation_view(request: HttpRequest) -> HttpResponse:
    """The last reconciliation (of the firm, or of the case in ``?case=``) and what it
    found; one the worker is running shows as such, and the page reloads when it is done."""
    me = cases_user(request)
    case = _case_param(request, me)
    run = reconciliation.last_run(me.firm, case)
    form = DifferenceFilterForm(request.GET)
    kind = form.cleaned_data.get("kind", "") if form.is_valid() else ""
    found = run.found.select_related("case", "fixed_by") if run else None
    if found is not None and kind:
        found = found.filter(kind=kind)
    rows, pager = (
        paginate(request, found, per_page=DIFFERENCES_PER_PAGE, label="Difference pages")
        if found is not None
        else ([], None)
    )
    return render(
        request,
        "bridge/reconciliation.html",
        {
            **SETTINGS_NAV,
            "case": case,
            "run": run,
            "pending": reconciliation.pending_run(me.firm, case),
            "rows": rows,
            "pager": pager,
            "form": form,
            "here": request.get_full_path(),
        },
    )


@cases_settings_required
@require_POST
def reconciliation_run_view(request: HttpRequest) -> HttpResponse:
    """Run the reconciliation now (the firm, or one case): queued for the worker."""
    me = cases_user(request)
    case = _case_param(request, me)
    back = reverse("bridge:reconciliation") + (f"?case={case.pk}" if case else "")
    try:
        run = reconciliation.reconciliation_request(
            firm=me.firm, actor=me, case_id=case.pk if case else None
        )
    except DomainError as exc:
        messages.error(request, message_of(exc))
        return finish(request, back)
    run.refresh_from_db()
    if run.state in PENDING:
        return finish(
            request,
            back,
            "The reconciliation is running: the worker is comparing both sides; this page "
            "shows the result when it is done.",
        )
    if run.error:
        messages.error(request, f"The reconciliation could not run: {run.error}")
        return finish(request, back)
    return finish(request, back, selectors.reconciliation_summary(run))


@cases_settings_required
@require_http_methods(["GET"])
def reconciliation_run_status_view(request: HttpRequest, pk: int) -> HttpResponse:
    """A running reconciliation's notice (polled); once done, the page reloads."""
    me = cases_user(request)
    run = reconciliation.run_of(me.firm, pk)
    if run is None:
        raise Http404("No such reconciliation.")
    if run.state in PENDING:
        return render(request, "bridge/_reconciliation_pending.html", {"pending": run})
    response = HttpResponse("")
    response["HX-Refresh"] = "true"
    return response


@cases_settings_required
@require_http_methods(["GET", "POST"])
def reconciliation_fix_view(request: HttpRequest, pk: int) -> HttpResponse:
    """Apply a difference's fix (send, retry, sync, send again) after a confirmation."""
    me = cases_user(request)
    diff = get_object_or_404(
        ReconciliationDifference.objects.select_related("run"), run__firm=me.firm, pk=pk
    )
    back = safe_next(request, request.POST.get("next"), reverse("bridge:reconciliation"))
    form = confirm_form(request)
    status = 200
    if request.method == "POST":
        try:
            reconciliation.difference_fix(firm=me.firm, actor=me, difference_id=diff.pk)
        except DomainError as exc:
            apply_domain_error(form, exc)
            status = INVALID
        else:
            return finish(
                request,
                back,
                f"{diff.get_fix_display()}: done for {diff.subject}. Run the reconciliation "
                "again once the books have answered.",
            )
    return render_modal(
        request,
        "bridge/_fix_form.html",
        {"form": form, "diff": diff, "next": back},
        title=diff.get_fix_display() or "Fix",
        status=status,
        back_url=back,
    )


@cases_settings_required
@require_http_methods(["GET", "POST"])
def three_way_view(request: HttpRequest) -> HttpResponse:
    """The books' three-way reconciliation of the default client trust account: the bank
    statement's figures typed here, the trust journal and the client ledgers from the
    books. Asking (POST) queues it for the worker; ``?job=`` shows it pending (polling)
    or its answer."""
    me = cases_user(request)
    result = None
    error = ""
    status = 200
    job: BooksJob | None = None
    if request.method == "POST":
        form = ThreeWayForm(request.POST)
        if form.is_valid():
            data = form.cleaned_data
            try:
                job = reconciliation.three_way_request(
                    firm=me.firm,
                    actor=me,
                    statement_cents=data["statement_balance"],
                    deposits_in_transit_cents=data["deposits_in_transit"] or 0,
                    outstanding_checks_cents=data["outstanding_checks"],
                    as_of=data["as_of"],
                )
            except DomainError as exc:
                error = message_of(exc)
                status = INVALID
            else:
                return HttpResponseRedirect(reverse("bridge:three_way") + f"?job={job.pk}")
        else:
            status = INVALID
    else:
        raw = request.GET.get("job", "")
        if raw:
            job = get_object_or_404(
                BooksJob, firm=me.firm, kind=JobKind.THREE_WAY, pk=_item_id(raw)
            )
        form = ThreeWayForm(_three_way_initial(job))
        if job is None:
            form = ThreeWayForm()
    if job is not None and job.state == RunState.DONE:
        result = reconciliation.three_way_of(job)
    elif job is not None and job.state == RunState.FAILED:
        error = job.error_message
    context = {**SETTINGS_NAV, "form": form, "result": result, "error": error, "job": job}
    if request.GET.get("fragment"):
        return render(request, "bridge/_three_way_result.html", context)
    return render(request, "bridge/three_way.html", context, status=status)


def _three_way_initial(job: BooksJob | None) -> dict[str, str]:
    """The form as it was filled in for ``job`` (the figures it asked about)."""
    if job is None:
        return {}
    p = job.params

    def amount(key: str) -> str:
        cents = p.get(key)
        return "" if cents is None else format_cents(int(cents), symbol="")

    return {
        "statement_balance": amount("statement_cents"),
        "deposits_in_transit": amount("deposits_in_transit_cents"),
        "outstanding_checks": amount("outstanding_checks_cents"),
        "as_of": str(p.get("as_of") or ""),
    }


@cases_permission_required(Permission.DEPOSIT_SETTLEMENT)
@require_http_methods(["GET", "POST"])
def settlement_sync_view(request: HttpRequest) -> HttpResponse:
    """Bring statuses back from the books now, from Client Trust Management: trust checks
    printed or voided, fee invoices released (and the costs' checks with them)."""
    me = cases_user(request)
    back = _client_trust_url()
    form = confirm_form(request)
    status = 200
    if request.method == "POST":
        try:
            run = sync_request(firm=me.firm, actor=me)
        except DomainError as exc:
            apply_domain_error(form, exc)
            status = INVALID
        else:
            return _finish_sync(request, back, run)
    return render_modal(
        request,
        "bridge/_settlement_sync_form.html",
        {"form": form},
        title="Sync from the books",
        status=status,
        back_url=back,
    )
