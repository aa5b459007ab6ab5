"""Activation (the seed's two pop-ups: sign in, then the defaults), the sign-in's progress,
deactivation and the monthly re-authentication."""

from __future__ import annotations

from typing import Any

from django import forms
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_http_methods

from casebridge.bridge.errors import NotReadYet
from casebridge.bridge.forms import ActivateForm, DefaultsForm, ReauthenticateForm
from casebridge.bridge.models import PENDING, BooksJob, Connection, OutboxState, RunState
from casebridge.bridge.selectors.queue import queue_counts
from casebridge.bridge.services import connection as conn_services
from casebridge.bridge.views._common import (
    counted,
    integrations_url,
    job_refusal,
    refusal_status,
)
from casebridge.cases.auth import cases_settings_required, cases_user
from casebridge.cases.models import User
from casebridge.core.errors import DomainError
from casebridge.web.popups import (
    INVALID,
    ConfirmForm,
    apply_domain_error,
    finish,
    is_htmx,
    message_of,
    popup_form,
    render_modal,
)


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
        back_url=integrations_url(),
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
            "counts": queue_counts(me.firm),
        },
        title="Re-authenticate the books integration",
        status=status,
        back_url=integrations_url(),
        opening=opening,
    )


def _refused_form(form: forms.Form, job: BooksJob) -> None:
    """``form`` (bound to what the user gave, never the password) with the job's refusal;
    the password is typed again, without a second error for it."""
    form.is_valid()
    form.errors.pop("password", None)
    form.errors.pop("security_answer", None)
    apply_domain_error(form, job_refusal(job))


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
            back_url=integrations_url(),
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
    queued = queue_counts(me.firm)[OutboxState.QUEUED]
    return finish(
        request,
        integrations_url(),
        f"Re-authenticated as {conn.username if conn else ''}. "
        f"{counted(queued, 'queued item')} will now go to the books.",
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
            "Sign in with the integration user first: Account Settings → Integrations → "
            "Books → Activate."
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
                back_url=integrations_url(),
                opening=opening,
            )
        except DomainError as exc:
            context["refusal"] = message_of(exc)
            status = max(status, refusal_status(request))
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
        back_url=integrations_url(),
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
            back_url=integrations_url(),
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
            return finish(request, integrations_url(), "The books are connected.")
    return _defaults_modal(request, me, form=form, status=INVALID)


@cases_settings_required
@require_http_methods(["GET", "POST"])
def deactivate_view(request: HttpRequest) -> HttpResponse:
    me = cases_user(request)

    def deactivate(form: ConfirmForm) -> str:
        conn_services.connection_deactivate(firm=me.firm, actor=me)
        return (
            "The books integration is deactivated. Nothing queued is lost: it goes to the "
            "books once the integration is activated again."
        )

    return popup_form(
        request,
        ConfirmForm,
        on_valid=deactivate,
        template="bridge/_deactivate_form.html",
        title="Deactivate the books integration",
        success=integrations_url(),
        context={"counts": queue_counts(me.firm)},
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
