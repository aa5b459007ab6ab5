"""``manage.py firm_create --code smith-pi --name "Smith PI" --email admin@smith.test``:
a new firm on both sides (the books: PI chart, banks, UTBMS codes; the cases side: case
type and cost codes) with its first administrator on each, in one transaction.

The password is never an argument (it would stay in the shell's history and in ``ps``):
it is read from ``CASEBRIDGE_ADMIN_PASSWORD`` when set, else asked for twice at the
terminal. A refusal (a taken firm ID, a short password, a bad email) writes nothing.
"""

from __future__ import annotations

import getpass
import os
import sys
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction

from casebridge.books.services import auth as books_auth
from casebridge.books.services import setup as books_setup
from casebridge.cases.services import firms as cases_firms
from casebridge.core.errors import DomainError

ADMIN_LOGIN_ENV = "CASEBRIDGE_ADMIN_PASSWORD"


def read_password() -> str:
    password = os.environ.get(ADMIN_LOGIN_ENV, "")
    if password:
        return password
    if not sys.stdin.isatty():
        raise CommandError(f"no password: set {ADMIN_LOGIN_ENV} or run the command at a terminal")
    first = getpass.getpass("Administrator's password: ")
    if getpass.getpass("Again: ") != first:
        raise CommandError("the two passwords differ; nothing was created")
    return first


class Command(BaseCommand):
    help = "Create a firm in the books and on the cases side, with its first administrator."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--code", required=True, help="the firm ID (letters, digits, dashes)")
        parser.add_argument("--name", required=True, help="the firm's name")
        parser.add_argument("--email", required=True, help="the administrator's email")
        parser.add_argument("--first-name", default="", help="the administrator's first name")
        parser.add_argument("--last-name", default="", help="the administrator's last name")

    def handle(self, *args: Any, **options: Any) -> None:
        password = read_password()
        names = {"first_name": options["first_name"], "last_name": options["last_name"]}
        try:
            with transaction.atomic():
                books_firm = books_setup.firm_create(code=options["code"], name=options["name"])
                books_auth.user_create(
                    firm=books_firm,
                    email=options["email"],
                    password=password,
                    is_admin=True,
                    **names,
                )
                cases_firm = cases_firms.firm_create(code=options["code"], name=options["name"])
                cases_firms.user_create(
                    firm=cases_firm,
                    actor=None,
                    email=options["email"],
                    password=password,
                    is_firm_admin=True,
                    perm_admin_settings=True,
                    perm_costs_management=True,
                    perm_deposit_settlement=True,
                    **names,
                )
        except DomainError as exc:
            field = f" ({exc.field})" if exc.field else ""
            raise CommandError(f"{exc.message}{field}; nothing was created") from None
        self.stdout.write(
            f"Firm {books_firm.code} ({books_firm.name}) created in the books and on the "
            f"cases side; administrator {options['email'].strip()} on both.\n"
            f"Sign in at /books/ and at /cases/ with firm ID {books_firm.code}."
        )
