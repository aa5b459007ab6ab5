"""``manage.py digests_rebuild --side books|cases --firm CODE``: one firm's maintained
reconciliation digests recomputed from their documents, in one transaction (ADR 0035): the
repair when the books' ledger integrity check (``--side books``: the file digests) or the
nightly case digest check (``--side cases``: the case digests) reported a drift. Writers
may keep writing meanwhile. Prints how many groups were corrected and records the drift
it repaired in the audit log; exits 1 if the digests still differ from their documents
afterwards (which would be a bug)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from casebridge.books.models import Firm as BooksFirm
from casebridge.books.selectors.digests import file_digests_drift
from casebridge.books.services.maintenance import file_digests_rebuild
from casebridge.bridge.services.reconciliation import case_digests_drift, case_digests_rebuild
from casebridge.cases.models import Firm as CasesFirm
from casebridge.core import words


class Command(BaseCommand):
    help = "Recompute one firm's reconciliation digests from their documents."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--side",
            required=True,
            choices=["books", "cases"],
            help="books: the file digests; cases: the case digests",
        )
        parser.add_argument("--firm", required=True, help="the firm ID")

    def handle(self, *args: Any, **options: Any) -> None:
        code = options["firm"].strip().lower()
        if options["side"] == "books":
            books_firm = BooksFirm.objects.filter(code=code).first()
            if books_firm is None:
                raise CommandError(f"no firm {options['firm']!r} in the books")
            corrected = file_digests_rebuild(firm=books_firm)
            left = len(file_digests_drift(firm=books_firm))
            what = "file"
        else:
            cases_firm = CasesFirm.objects.filter(code=code).first()
            if cases_firm is None:
                raise CommandError(f"no firm {options['firm']!r} on the cases side")
            corrected = case_digests_rebuild(firm=cases_firm)
            left = len(case_digests_drift(firm=cases_firm))
            what = "case"
        self.stdout.write(f"{code}: {words.plural(corrected, what + ' digest')} corrected")
        if left:
            raise CommandError(f"{words.plural(left, what + ' digest')} still differ", returncode=1)
