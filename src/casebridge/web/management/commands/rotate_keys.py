"""``manage.py rotate_keys [--dry-run]``: after a new Fernet key was put first in
``CASEBRIDGE_BRIDGE_KEYS`` and/or ``CASEBRIDGE_DATA_KEYS`` (the old ones kept after it),
re-encrypt with the first key everything kept encrypted:

- the bridge: every stored books token and every password a queued sign-in still carries;
- the books: every column of ``casebridge.books.crypto.ENCRYPTED_COLUMNS`` (payee TINs,
  bank account numbers).

Then the old keys can be dropped (docs/operations.md, "Rotating the keys"). It lives in
``web`` because it covers both the books and the bridge, which never import each other.

Exits 1 when a value can be read with none of the keys (a lost key: a firm's token means
re-authenticating the integration; a books value must be typed again); everything else is
still rotated.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from casebridge.books.services.keys import data_rotate
from casebridge.bridge.services.keys import secrets_rotate


class Command(BaseCommand):
    help = (
        "Re-encrypt the stored books tokens (CASEBRIDGE_BRIDGE_KEYS) and the books' encrypted "
        "data (CASEBRIDGE_DATA_KEYS) with the first key of each."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--dry-run", action="store_true", help="count what would be re-encrypted, write nothing"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        done = secrets_rotate(dry_run=options["dry_run"])
        data = data_rotate(dry_run=options["dry_run"])
        verb = "Would re-encrypt" if options["dry_run"] else "Re-encrypted"
        self.stdout.write(
            f"{verb} {done.tokens} books token(s) and {done.secrets} queued sign-in "
            f"password(s) with the first key; {done.current} already used it."
        )
        self.stdout.write(
            f"{verb} {data.rotated} encrypted books value(s) with the first data key; "
            f"{data.current} already used it."
        )
        problems = []
        if done.unreadable:
            problems.append(
                "no key reads the books token of "
                + ", ".join(done.unreadable)
                + ": re-authenticate the integration there"
            )
        if data.unreadable:
            problems.append(
                "no data key reads " + ", ".join(data.unreadable) + ": type those values again"
            )
        if problems:
            raise CommandError("; ".join(problems), returncode=1)
