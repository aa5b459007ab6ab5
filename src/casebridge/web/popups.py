"""The pop-up kit both sides' screens (and the bridge's) are built on: one ``MoneyField``, one
way to show a service's refusal next to the right field, the htmx pop-up and its plain-page
twin, the "after a successful write" answer, and :func:`popup_form`, the GET/POST skeleton
every form screen repeats.

Pop-ups: a button does ``hx-get`` into ``#modal-root`` and the view answers with a
``<dialog>`` (``web/_modal.html``); the page script opens it. The form inside posts with
htmx and swaps itself: a refusal re-renders just the form (status 422, which the page's
htmx config swaps), success answers ``HX-Redirect`` (or out-of-band updates). Without
htmx the same URLs render a full page (``web/_modal_page.html`` in the side's frame) and
redirect after a POST, so every screen also works from a plain link.

This module imports neither side: what is a side's (its signed-in user, its frame) stays
with the side; the frame is found from the URL namespace the request resolved in.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from django import forms
from django.contrib import messages
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.utils.http import url_has_allowed_host_and_scheme

from casebridge.core.errors import DomainError, TooManyAttempts, ValidationFailed
from casebridge.core.money import cents_to_decimal, parse_amount

#: Status of a form re-rendered with a refusal (htmx swaps it: see the htmx-config meta tag).
INVALID = 422

#: What a person types as money: an optional sign and "$", digits with commas, a point.
#: ASCII digits only: Python's ``\d`` would also take "١٢٣" (which parse_amount then refused
#: with a less helpful message).
AMOUNT_RE = re.compile(r"^[-+]?\$?[-+]?[0-9,]*\.?[0-9]*\Z")
#: Longest amount a person may type (also the input's ``maxlength``).
AMOUNT_MAX_LENGTH = 24

#: The frame a plain-page pop-up is drawn in, by the URL namespace its view resolved in (the
#: bridge's screens live under /cases/ and wear the cases side's frame).
PAGE_BASES = {
    "books": "books/base.html",
    "cases": "cases/base.html",
    "bridge": "cases/base.html",
}

F = TypeVar("F", bound=forms.Form)


# --- Money ------------------------------------------------------------------------------


def parse_money(text: str, *, label: str = "amount", negative: bool = False) -> int:
    """Typed money to integer cents, or a form error saying what is wrong (naming
    ``label``, as typed: "COPP charges has more than two decimal places")."""
    if len(text) > AMOUNT_MAX_LENGTH or not AMOUNT_RE.match(text):
        raise forms.ValidationError("Enter an amount such as 1,234.56.")
    try:
        cents = parse_amount(text, field=label)
    except ValidationFailed as exc:
        raise forms.ValidationError(message_of(exc)) from None
    if cents < 0 and not negative:
        raise forms.ValidationError("Enter a positive amount.")
    return cents


class MoneyField(forms.Field):
    """An amount typed as "1,234.56" (a "$" is allowed), cleaned to integer cents with
    :func:`casebridge.core.money.parse_amount`; an initial value in cents shows as
    "1234.56"."""

    widget = forms.TextInput

    def __init__(self, *, allow_negative: bool = False, **kwargs: Any) -> None:
        self.allow_negative = allow_negative
        super().__init__(**kwargs)

    def widget_attrs(self, widget: forms.Widget) -> dict[str, Any]:
        attrs = super().widget_attrs(widget)
        attrs.update(
            {"inputmode": "decimal", "autocomplete": "off", "maxlength": str(AMOUNT_MAX_LENGTH)}
        )
        return attrs

    def to_python(self, value: Any) -> int | None:
        if value is None:
            return None
        if isinstance(value, int) and not isinstance(value, bool):
            return value  # already cents (an initial value)
        text = str(value).strip()
        if not text:
            return None
        return parse_money(text, label=str(self.label or "amount"), negative=self.allow_negative)

    def prepare_value(self, value: Any) -> Any:
        if isinstance(value, int) and not isinstance(value, bool):
            return str(cents_to_decimal(value))
        return value


class ConfirmForm(forms.Form):
    """A pop-up that only asks "are you sure?"."""


# --- Refusals ---------------------------------------------------------------------------


def message_of(exc: DomainError) -> str:
    """A refusal's message as a sentence starts."""
    return exc.message[:1].upper() + exc.message[1:]


def apply_domain_error(
    form: forms.Form, exc: DomainError, field_map: Mapping[str, str] | None = None
) -> None:
    """Show a service's refusal next to the field it names (through ``field_map`` where the
    form calls it otherwise), else above the form: also when the field is disabled, since
    a person cannot change what it shows. Runs what the refusal must record outside its
    transaction (``DomainError.outlive``)."""
    exc.record_outliving()
    name = exc.field
    if name is not None and field_map is not None:
        name = field_map.get(name, name)
    if name is not None and name in form.fields and not form.fields[name].disabled:
        form.add_error(name, message_of(exc))
    else:
        form.add_error(None, message_of(exc))


# --- Requests and answers ---------------------------------------------------------------


def is_htmx(request: HttpRequest) -> bool:
    return request.headers.get("HX-Request") == "true"


#: A control character (C0 or DEL): never in an address a form of ours sends.
CONTROL_RE = re.compile(r"[\x00-\x1f\x7f]")


def safe_next(request: HttpRequest, candidate: str | None, default: str) -> str:
    """``candidate`` when it is a path on this site (``/...``), else ``default``: a bare
    word would be read by ``redirect`` as a URL name (a 500), and a full address is never
    what a form of ours sends. A control character refuses it too: Django's host check
    reads the address without its tabs and newlines (as a browser does), so ``/cases/``, a
    newline and more passed it, and a newline in the ``Location`` or ``HX-Redirect``
    header is a 500 after the write was saved."""
    if (
        candidate
        and candidate.startswith("/")
        and not CONTROL_RE.search(candidate)
        and url_has_allowed_host_and_scheme(
            candidate, allowed_hosts={request.get_host()}, require_https=request.is_secure()
        )
    ):
        return candidate
    return default


def throttled(
    request: HttpRequest, template: str, context: Mapping[str, Any], exc: TooManyAttempts
) -> HttpResponse:
    """A sign-in form refused for backing off: 429, the wait in ``Retry-After`` and on the
    page (the refusal's message, already on the form)."""
    response = render(request, template, context, status=429)
    response["Retry-After"] = str(int(exc.details["retry_after"]))
    return response


def page_base(request: HttpRequest) -> str:
    """The frame of the side the request's view belongs to."""
    match = request.resolver_match
    namespace = match.namespaces[0] if match is not None and match.namespaces else ""
    try:
        return PAGE_BASES[namespace]
    except KeyError:
        raise LookupError(f"no page frame for the URL namespace {namespace!r}") from None


def render_modal(
    request: HttpRequest,
    body_template: str,
    context: Mapping[str, Any],
    *,
    title: str,
    status: int = 200,
    back_url: str = "",
    wide: bool = False,
    opening: bool | None = None,
) -> HttpResponse:
    """A form in a pop-up (htmx) or on its own page (a plain request). The pop-up opens on
    a GET; a POST swaps just the form in the open pop-up, unless ``opening`` says that this
    POST opens it (a bulk action's confirmation)."""
    ctx = {
        **context,
        "modal_title": title,
        "body_template": body_template,
        "in_modal": is_htmx(request),
        "back_url": back_url,
        "modal_wide": wide,
    }
    if is_htmx(request):
        if opening is None:
            opening = request.method != "POST"
        if not opening:  # the dialog is open: swap just the form
            return render(request, body_template, ctx, status=status)
        return render(request, "web/_modal.html", ctx, status=status)
    ctx["page_base"] = page_base(request)
    return render(request, "web/_modal_page.html", ctx, status=status)


def finish(request: HttpRequest, url: str, message: str = "") -> HttpResponse:
    """After a successful write: a flash message, then the page at ``url``."""
    if message:
        messages.success(request, message)
    if is_htmx(request):
        response = HttpResponse("")
        response["HX-Redirect"] = url
        return response
    return HttpResponseRedirect(url)


def close_modal_headers(response: HttpResponse) -> HttpResponse:
    """For a pop-up answered with out-of-band updates: swap nothing else, then close it."""
    response["HX-Reswap"] = "none"
    response["HX-Trigger-After-Swap"] = json.dumps({"casebridge:close-modal": True})
    return response


# --- The skeleton -----------------------------------------------------------------------

#: What ``on_valid`` answers: the response itself, a flash message for :func:`finish` to
#: ``success`` with, or ``None`` when it added its own errors to the form (re-render, 422).
Outcome = HttpResponse | str | None
ContextArg = Mapping[str, Any] | Callable[[F], Mapping[str, Any]]


def popup_form(
    request: HttpRequest,
    form_class: Callable[..., F],
    *,
    on_valid: Callable[[F], Outcome],
    template: str,
    title: str = "",
    success: str = "",
    back_url: str | None = None,
    context: ContextArg[F] | None = None,
    initial: Mapping[str, Any] | None = None,
    form_kwargs: Mapping[str, Any] | None = None,
    field_map: Mapping[str, str] | None = None,
    wide: bool = False,
    modal: bool = True,
) -> HttpResponse:
    """The GET/POST skeleton of a form screen.

    GET: ``form_class(initial=initial, **form_kwargs)`` rendered (``form_class``: a form
    class or anything that makes one so). POST: ``form_class(request.POST, **form_kwargs)``
    (``initial`` only where ``form_kwargs`` says) validated; when valid, ``on_valid(form)``
    calls the service and answers (see :data:`Outcome`); a :class:`DomainError` it raises
    is shown on the form (:func:`apply_domain_error` with ``field_map``) and the form is
    re-rendered with 422, as is an invalid form.

    ``template`` is the form's body inside a pop-up (:func:`render_modal`, titled ``title``,
    its Cancel going to ``back_url``, by default ``success``), or with ``modal=False`` a
    whole page rendered as it is. ``context`` (or a callable of the form giving it, called
    only when the form is drawn, so after a refused write) is added to the form's.
    """
    kwargs = dict(form_kwargs or {})
    status = 200
    refused: int | None = None  # a throttle's refusal keeps its 429
    if request.method == "POST":
        form = form_class(request.POST, **kwargs)
        if form.is_valid():
            try:
                outcome = on_valid(form)
            except DomainError as exc:
                apply_domain_error(form, exc, field_map)
                refused = exc.http_status if exc.http_status == 429 else None
            else:
                if isinstance(outcome, HttpResponse):
                    return outcome
                if isinstance(outcome, str):
                    if not success:
                        raise ValueError("popup_form: on_valid gave a message but no success")
                    return finish(request, success, outcome)
                if not form.errors:
                    raise ValueError(
                        "popup_form: on_valid neither answered nor added an error to the form"
                    )
        status = refused or INVALID
    else:
        if initial is not None:
            kwargs.setdefault("initial", initial)
        form = form_class(**kwargs)
    extra = context(form) if callable(context) else (context or {})
    ctx = {**extra, "form": form}
    if not modal:
        return render(request, template, ctx, status=status)
    return render_modal(
        request,
        template,
        ctx,
        title=title,
        status=status,
        back_url=success if back_url is None else back_url,
        wide=wide,
    )
