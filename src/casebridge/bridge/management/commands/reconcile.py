"""``manage.py reconcile --firm CODE``: compare both sides for a firm now (what the worker
runs nightly after the check-status sync; the screens queue it for the worker), print
what was found, and keep the run like any other (the home page and ``/metrics`` show it).

Runs in this process as the worker does: it reads the books over HTTP (a command is not
a web request, ADR 0008). Exits 0 when clean, 1 when a difference was found or the run
failed (the books unreachable, the token lapsed).
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from casebridge.bridge.client import worker
from casebridge.bridge.models import SyncTrigger
from casebridge.bridge.selectors.reconciliation import reconciliation_summary
from casebridge.bridge.services.reconciliation import reconciliation_run
from casebridge.cases.models import Firm
from casebridge.core.errors import DomainError
from casebridge.core.money import format_cents


class Command(BaseCommand):
    help = "Reconcile the cases side with the books for a firm and print the differences."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--firm", required=True, help="the cases side's firm ID")

    def handle(self, *args: Any, **options: Any) -> None:
        firm = Firm.objects.filter(code=options["firm"].strip().lower()).first()
        if firm is None:
            raise CommandError(f"no firm {options['firm']!r} on the cases side")
        try:
            with worker():
                run = reconciliation_run(firm=firm, trigger=SyncTrigger.MANUAL)
        except DomainError as exc:
            raise CommandError(exc.message) from None
        self.stdout.write(f"{firm.code}: {reconciliation_summary(run)}")
        for difference in run.found.select_related("case").order_by("pk"):
            figures = ""
            if difference.cases_cents is not None or difference.books_cents is not None:
                figures = " (cases {}, books {})".format(
                    "-" if difference.cases_cents is None else format_cents(difference.cases_cents),
                    "-" if difference.books_cents is None else format_cents(difference.books_cents),
                )
            case = f"case {difference.case.number}: " if difference.case else ""
            fix = f" [fix: {difference.fix}]" if difference.fix else ""
            self.stdout.write(
                f"  {difference.kind}: {case}{difference.subject}: {difference.cause}{figures}{fix}"
            )
        if run.error or run.differences:
            raise CommandError(f"reconciliation {run.pk} is not clean", returncode=1)
