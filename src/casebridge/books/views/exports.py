"""Reports -> Beancount export: the books as a Beancount file (issue 15), the same
generator as ``GET /books/api/v1/exports/beancount``, streamed to the browser.

The page shows a From/To form (both optional: the whole ledger); submitted, it answers
the file as an attachment, or the form again with 422 and the refusal beside its field.
Accountant role or above (403 naming the role for staff)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import render
from django.utils.cache import patch_cache_control

from casebridge.books.auth import books_login_required, books_user
from casebridge.books.exports.beancount import beancount_export, chunked, download_name
from casebridge.books.forms import DateInput
from casebridge.books.models import Role
from casebridge.core.errors import DomainError
from casebridge.web.popups import INVALID, apply_domain_error


class BeancountForm(forms.Form):
    """``from`` and ``to``, as the API names them (``from`` is a Python keyword, so the
    fields are added by name)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["from"] = forms.DateField(
            label="From", required=False, widget=DateInput, help_text="Blank: the first entry."
        )
        self.fields["to"] = forms.DateField(
            label="To", required=False, widget=DateInput, help_text="Blank: the last entry."
        )


@books_login_required(role=Role.ACCOUNTANT, doing="Exporting the books")
def beancount_export_view(request: HttpRequest) -> HttpResponse | StreamingHttpResponse:
    user = books_user(request)
    form = BeancountForm(request.GET or None)
    status = 200
    if form.is_bound:
        if form.is_valid():
            start, end = form.cleaned_data["from"], form.cleaned_data["to"]
            try:
                lines = beancount_export(firm=user.firm, actor=user, start=start, end=end)
            except DomainError as exc:
                apply_domain_error(form, exc)
                status = INVALID
            else:
                response = StreamingHttpResponse(
                    chunked(lines), content_type="text/plain; charset=utf-8"
                )
                name = download_name(user.firm, start, end)
                response["Content-Disposition"] = f'attachment; filename="{name}"'
                patch_cache_control(response, private=True, no_store=True)
                return response
        else:
            status = INVALID
    return render(
        request, "books/reports/beancount.html", {"nav": "reports", "form": form}, status=status
    )
