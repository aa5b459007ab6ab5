"""``manage.py books_export_beancount --firm CODE [--from YYYY-MM-DD] [--to YYYY-MM-DD]
[--output FILE]``: a firm's books as a Beancount file (``books.exports.beancount``, the
same text as ``GET /books/api/v1/exports/beancount``), streamed to FILE or standard
output: for an auditor's ``bean-check``, or a benchmark. The firm is its ID (code) or its
number in the database. Run as the system (no user): no role is asked."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from casebridge.books.exports.beancount import beancount_export
from casebridge.books.models import Firm
from casebridge.core.errors import DomainError


def _day(value: str) -> dt.date:
    try:
        return dt.date.fromisoformat(value)
    except ValueError as exc:
        raise CommandError(f"{value!r} is not a date (YYYY-MM-DD)") from exc


class Command(BaseCommand):
    help = "Export a firm's books as a Beancount file."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--firm", required=True, help="the firm ID (code) or its id")
        parser.add_argument("--from", dest="start", type=_day, help="the first day (YYYY-MM-DD)")
        parser.add_argument("--to", dest="end", type=_day, help="the last day, included")
        parser.add_argument("--output", default="-", help="the file to write (default: stdout)")

    def handle(self, *args: Any, **options: Any) -> None:
        key = str(options["firm"]).strip()
        firm = Firm.objects.filter(code=key.lower()).first()
        if firm is None and key.isdigit():
            firm = Firm.objects.filter(pk=int(key)).first()
        if firm is None:
            raise CommandError(f"no firm {key!r} in the books")
        try:
            lines = beancount_export(
                firm=firm, actor=None, start=options["start"], end=options["end"]
            )
        except DomainError as exc:
            raise CommandError(f"{exc.field}: {exc.message}") from exc
        count = 0
        if options["output"] == "-":
            for line in lines:
                self.stdout.write(line, ending="")
        else:
            with open(options["output"], "w", encoding="utf-8") as out:
                for line in lines:
                    out.write(line)
                    count += 1
            self.stderr.write(f"{count} lines written to {options['output']}")
