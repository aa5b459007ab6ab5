"""``manage.py ledger_check [--firm CODE] [--trial-balance]``: the ledger integrity check
(``maintenance.ledger_integrity_check``, which the worker runs nightly) now, for one firm
or every firm. Prints ``<firm>: OK`` or each problem; exits 1 when any firm has one (for
cron, a restore drill, or a deploy's last step).

``--trial-balance`` also prints each firm's trial balance as of today, one line per
account (number, debit, credit) and the totals: two databases that should hold the same
ledger (a backup and its restore) print the same lines.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from casebridge.books.models import Firm
from casebridge.books.selectors.reports import trial_balance
from casebridge.books.services.maintenance import ledger_integrity_check
from casebridge.core import words
from casebridge.core.money import format_cents


class Command(BaseCommand):
    help = "Check every maintained balance of the books against its postings (exit 1 on a problem)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--firm", default="", help="the firm ID (default: every firm)")
        parser.add_argument(
            "--trial-balance", action="store_true", help="also print the trial balance"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        firms = Firm.objects.order_by("code")
        if options["firm"]:
            firms = firms.filter(code=options["firm"].strip().lower())
            if not firms.exists():
                raise CommandError(f"no firm {options['firm']!r} in the books")
        failed = []
        for firm in firms:
            report = ledger_integrity_check(firm=firm)
            if report.ok:
                self.stdout.write(f"{firm.code}: OK")
            else:
                failed.append(firm.code)
                self.stdout.write(f"{firm.code}: {words.plural(len(report.problems), 'problem')}")
                for problem in report.problems:
                    self.stdout.write(f"  {problem}")
            if options["trial_balance"]:
                tb = trial_balance(firm=firm)
                self.stdout.write(f"{firm.code}: trial balance as of {tb.as_of.isoformat()}")
                for row in tb.rows:
                    self.stdout.write(
                        f"  {row.number} {row.name}: Dr {format_cents(row.debit_cents)} "
                        f"Cr {format_cents(row.credit_cents)}"
                    )
                self.stdout.write(
                    f"  total: Dr {format_cents(tb.total_debit_cents)} "
                    f"Cr {format_cents(tb.total_credit_cents)}"
                )
        if failed:
            raise CommandError(f"ledger problems in {', '.join(failed)}", returncode=1)
