"""``manage.py rotate_keys [--dry-run]``: after a new Fernet key was put first in
``CASEBRIDGE_BRIDGE_KEYS`` (the old ones kept after it), re-encrypt every stored books
token and every password a queued sign-in still carries with the new key; then the old
keys can be dropped (docs/operations.md, "Rotating the bridge's key").

Exits 1 when a firm's token can be read with none of the keys (a lost key: that firm
re-authenticates the integration); everything else is still rotated.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from casebridge.bridge.services.keys import secrets_rotate


class Command(BaseCommand):
    help = "Re-encrypt the stored books tokens with the first key of CASEBRIDGE_BRIDGE_KEYS."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--dry-run", action="store_true", help="count what would be re-encrypted, write nothing"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        done = secrets_rotate(dry_run=options["dry_run"])
        verb = "Would re-encrypt" if options["dry_run"] else "Re-encrypted"
        self.stdout.write(
            f"{verb} {done.tokens} books token(s) and {done.secrets} queued sign-in "
            f"password(s) with the first key; {done.current} already used it."
        )
        if done.unreadable:
            raise CommandError(
                "no key reads the books token of "
                + ", ".join(done.unreadable)
                + ": re-authenticate the integration there",
                returncode=1,
            )
