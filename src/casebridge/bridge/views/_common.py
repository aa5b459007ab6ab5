"""What the bridge's screens share: the settings-area navigation, where the Integrations card
is, the status of a refusal found before the form, a sync's answer."""

from __future__ import annotations

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.urls import reverse

from casebridge.bridge.models import BooksJob, SyncRun
from casebridge.bridge.selectors.queue import sync_run_summary
from casebridge.core.errors import DomainError
from casebridge.web.popups import INVALID, finish

#: The settings-area pages: Account Settings' sub-navigation shows "Integrations".
SETTINGS_NAV = {"nav": "settings", "section": "integrations"}


def integrations_url() -> str:
    return reverse("cases:settings_integrations")


def counted(n: int, noun: str, plural: str = "") -> str:
    """``n`` and the noun, plural unless one: "1 cost", "3 costs"."""
    return f"{n} {noun if n == 1 else (plural or noun + 's')}"


def refusal_status(request: HttpRequest) -> int:
    """A refusal found before the form: the pop-up still opens on a GET."""
    return INVALID if request.method == "POST" else 200


def job_refusal(job: BooksJob) -> DomainError:
    """A refused job's answer, as the refusal the forms show next to its field."""
    refusal = DomainError(job.error_message or "The books refused.", field=job.error_field or None)
    refusal.code = job.error_code or "refused"
    return refusal


def parse_item_id(raw: str) -> int:
    """A queue item's id as a form sent it; anything else is 404."""
    if not (raw.isascii() and raw.isdigit() and len(raw) < 19):
        raise Http404("No such item.")
    return int(raw)


def finish_sync(request: HttpRequest, url: str, run: SyncRun) -> HttpResponse:
    """After asking for a sync: its result if the worker has answered already, else that
    it started (the Integrations card shows it running, then its result)."""
    run.refresh_from_db()
    if run.error:
        messages.error(request, sync_run_summary(run))
        return finish(request, url)
    return finish(request, url, sync_run_summary(run))
