"""Load the demo firm ("demo") used by `make run`. Safe to run again: it does nothing when
the firm exists.

The demo is set up as a firm that has just been onboarded: users, chart of accounts, bank
accounts, UTBMS codes, the partners' opening capital in the operating account (so that
the costs it advances never take it below zero) and a few files with trust money, but
with the seed's prerequisites
still to do (Records Time, the release stage, the PI area of practice, the COPP and
Property Damage activity codes), so the vendor walkthrough can be followed click by click.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.core.management.base import BaseCommand
from django.db import transaction

from casebridge.books.models import BankAccount, BankAccountKind, Firm, GLAccount
from casebridge.books.services import auth, checks, files, journal, setup, two_factor
from casebridge.core import clock, twofactor

DEMO_PASSWORD = "demo-password-1"  # noqa: S105 - published demo login, shown by `make run`
#: The operating account's opening balance ($50,000.00), Cr Owner's Equity.
OPENING_CAPITAL_CENTS = 5_000_000


class Command(BaseCommand):
    help = "Create the demo firm with users, files and some trust activity (idempotent)."

    def handle(self, *args: Any, **options: Any) -> None:
        if Firm.objects.filter(code="demo").exists():
            self.stdout.write("Demo firm already loaded.")
            return
        with transaction.atomic():
            self._load()
        self.stdout.write(self.style.SUCCESS("Demo firm loaded (firm ID: demo)."))

    def _load(self) -> None:
        firm = setup.firm_create(code="demo", name="Demo Injury Law Group")
        admin = auth.user_create(
            firm=firm,
            email="admin@demo.test",
            password=DEMO_PASSWORD,
            first_name="Alex",
            last_name="Admin",
            is_admin=True,
        )
        auth.security_question_enroll(
            user=admin, question="What was the name of your first pet?", answer="Biscuit"
        )
        accountant = auth.user_create(
            firm=firm,
            email="accountant@demo.test",
            password=DEMO_PASSWORD,
            first_name="Casey",
            last_name="Ledger",
            is_admin=True,
        )
        auth.security_question_enroll(
            user=accountant, question="In what city were you born?", answer="Sacramento"
        )
        sam = auth.user_create(
            firm=firm,
            email="sam@demo.test",
            password=DEMO_PASSWORD,
            first_name="Sam",
            last_name="Rivera",
            initials="SR",
            is_attorney=True,  # the demo's attorney signs its bank reconciliations
        )
        auth.security_question_enroll(user=sam, question="What was your first car?", answer="Civic")
        # the demo's people share one published TOTP secret (`make run` prints how to
        # compute a code); the integration user keeps its security question instead
        for person in (admin, accountant, sam):
            two_factor.totp_set_known_secret(user=person, secret=twofactor.DEMO_TOTP_KEY)
        auth.user_create(
            firm=firm,
            email="integration@demo.test",
            password=DEMO_PASSWORD,
            first_name="Casebridge",
            last_name="Integration",
            is_integration_user=True,  # the seed's designated integration user
        )
        trust = BankAccount.objects.get(firm=firm, kind=BankAccountKind.TRUST)
        operating = BankAccount.objects.get(firm=firm, kind=BankAccountKind.OPERATING)
        e112 = firm.activity_codes.get(code="E112")
        today = clock.today()
        opened = today - dt.timedelta(days=365)
        # the books open on the day of the partners' capital, the demo's first entry (ADR 0007)
        setup.firm_opening_date_set(firm=firm, actor=accountant, opening_date=opened)
        # the firm's own money in the operating account before any cost is advanced
        journal.journal_entry_post(
            firm=firm,
            date=opened,
            lines=[
                journal.Line(account=operating.gl_account, debit_cents=OPENING_CAPITAL_CENTS),
                journal.Line(
                    account=GLAccount.objects.get(firm=firm, number="3000"),
                    credit_cents=OPENING_CAPITAL_CENTS,
                ),
            ],
            memo="Opening balance: partners' capital contributed to the operating account",
            actor=accountant,
        )
        for n, (client, name, deposit) in enumerate(
            [
                ("Maria Lopez", "Lopez v. Acme Trucking", 25_000_000),
                ("James Chen", "Chen v. City Transit", 4_500_000),
                ("Aisha Patel", "Patel v. Northside Grocers", 0),
            ],
            start=1,
        ):
            contact, _ = files.contact_find_or_create(firm=firm, actor=admin, name=client)
            file, _ = files.file_find_or_create(
                firm=firm,
                actor=admin,
                name=name,
                client=contact,
                responsible_attorney=sam,
                opened_on=today - dt.timedelta(days=200 - n * 30),
            )
            checks.check_request_create(
                firm=firm,
                actor=accountant,
                bank_account_id=operating.pk,
                payee="Superior Court Clerk",
                amount_cents=43_500,
                file_id=file.pk,
                activity_code_id=e112.pk,
                memo="Filing fee",
                request_date=today - dt.timedelta(days=90),
            )
            if deposit:
                checks.trust_receipt_record(
                    firm=firm,
                    actor=accountant,
                    bank_account_id=trust.pk,
                    file_id=file.pk,
                    payer="Insurer settlement check",
                    amount_cents=deposit,
                    reference=f"77{n}01",
                    received_on=today - dt.timedelta(days=10),
                )
