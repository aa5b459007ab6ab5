"""Load the cases side's demo firm ("demo"), the case manager half of `make run`. Safe to
run again: it does nothing when the cases side already has a firm "demo".

Everything goes through the services, as a user would do it. The firm has three users
(password ``demo-password-1``):

- admin@demo.test, firm administrator;
- sam@demo.test, the attorney (the same email as the books' demo attorney, which the
  bridge matches), with the costs management and deposit permissions;
- paralegal@demo.test, costs management only: no deposit permission.

All three sign in with a TOTP code of the one demo secret
(``casebridge.core.twofactor.DEMO_TOTP_KEY``, printed by `make run`).

and twelve cases in every status with their costs (open, paid and one void), two linked
cases of one accident with a cost split between them, negotiations on several cases, and
"Lopez v. Acme Trucking", the worked settlement of domain.md: an accepted offer of
$250,000.00 deposited, $8,500.00 of costs, two liens accepted at $45,000.00 in all, and
nothing staged yet, so the Settlement tab can be walked from Stage Payment to Push to
Client Trust (the client's check comes to $113,175.00).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.core.management.base import BaseCommand
from django.db import transaction

from casebridge.cases.models import Case, Contact, CostCode, Firm, User
from casebridge.cases.services import cases as case_services
from casebridge.cases.services import costs, firms, settlement, two_factor
from casebridge.core import clock, twofactor

DEMO_CODE = "demo"
DEMO_PASSWORD = "demo-password-1"  # noqa: S105 - published demo login, shown by `make run`

#: (client, caption, status, days since the incident)
CASES: tuple[tuple[str, str, str, int], ...] = (
    ("Maria Lopez", "Lopez v. Acme Trucking", "settled", 540),
    ("James Chen", "Chen v. City Transit", "open", 300),
    ("Wei Chen", "Wei Chen v. City Transit", "open", 300),
    ("Aisha Patel", "Patel v. Northside Grocers", "open", 410),
    ("Marcus Johnson", "Johnson v. Rapid Rideshare", "open", 260),
    ("Sofia Garcia", "Garcia v. Sunset Apartments", "intake", 21),
    ("Linh Nguyen", "Nguyen v. Harbor Freight Lines", "open", 380),
    ("Tanya Williams", "Williams v. Metro Delivery", "settled", 620),
    ("Robert Brown", "Brown v. Lakeside Medical Center", "open", 700),
    ("Emily Davis", "Davis v. Coastal Cruise Lines", "closed", 1100),
    ("Carlos Martinez", "Martinez v. Valley Transit", "intake", 9),
    ("Grace Kim", "Kim v. Greenway Landscaping", "open", 150),
)

PAYEES = (
    "Superior Court Clerk",
    "Valley Medical Center",
    "Dr. Reyes Forensics",
    "Bay Court Reporters",
    "City Police Records",
    "FastServe Process Servers",
    "Copy Center Legal Print",
    "Harbor Imaging",
)

#: (caption, payee, amount in cents, cost code, memo, days ago, how it ends)
COSTS: tuple[tuple[str, str, int, str, str, int, str], ...] = (
    # Lopez: $8,500.00 of costs (and a void duplicate), the worked settlement
    ("Lopez v. Acme Trucking", "Dr. Reyes Forensics", 500_000, "E119",
     "Accident reconstruction report", 400, "paid"),
    ("Lopez v. Acme Trucking", "Bay Court Reporters", 250_000, "E115",
     "Deposition of the truck driver", 300, "open"),
    ("Lopez v. Acme Trucking", "Valley Medical Center", 65_000, "MEDREC",
     "Medical records and billing", 480, "paid"),
    ("Lopez v. Acme Trucking", "Superior Court Clerk", 35_000, "FILING",
     "Complaint filing fee", 450, "paid"),
    ("Lopez v. Acme Trucking", "Copy Center Legal Print", 12_000, "E101",
     "Duplicate entry", 200, "void"),
    ("Chen v. City Transit", "City Police Records", 4_500, "POLICE",
     "Traffic collision report", 280, "paid"),
    ("Chen v. City Transit", "Valley Medical Center", 18_000, "MEDREC",
     "ER records", 250, "open"),
    ("Wei Chen v. City Transit", "Valley Medical Center", 22_500, "MEDREC",
     "ER and follow-up records", 240, "open"),
    ("Patel v. Northside Grocers", "Harbor Imaging", 31_000, "MEDREC",
     "MRI films and report", 350, "open"),
    ("Patel v. Northside Grocers", "Superior Court Clerk", 43_500, "FILING",
     "Complaint filing fee", 200, "paid"),
    ("Patel v. Northside Grocers", "FastServe Process Servers", 9_500, "E113",
     "Service of summons", 190, "open"),
    ("Johnson v. Rapid Rideshare", "Valley Medical Center", 12_500, "MEDREC",
     "Records", 200, "open"),
    ("Garcia v. Sunset Apartments", "Copy Center Legal Print", 2_850, "E101",
     "Copies of the lease and notices", 10, "open"),
    ("Nguyen v. Harbor Freight Lines", "Dr. Reyes Forensics", 275_000, "E119",
     "Trucking safety expert retainer", 120, "open"),
    ("Nguyen v. Harbor Freight Lines", "Bay Court Reporters", 86_000, "E115",
     "Deposition transcripts", 60, "open"),
    ("Nguyen v. Harbor Freight Lines", "City Police Records", 4_500, "POLICE",
     "Collision report", 360, "paid"),
    ("Williams v. Metro Delivery", "Valley Medical Center", 47_500, "MEDREC",
     "Medical records", 500, "paid"),
    ("Williams v. Metro Delivery", "Superior Court Clerk", 43_500, "FILING",
     "Complaint filing fee", 480, "paid"),
    ("Brown v. Lakeside Medical Center", "Dr. Reyes Forensics", 450_000, "E119",
     "Standard of care expert review", 300, "open"),
    ("Brown v. Lakeside Medical Center", "Harbor Imaging", 18_500, "MEDREC",
     "Imaging records", 500, "paid"),
    ("Davis v. Coastal Cruise Lines", "Bay Court Reporters", 64_000, "E115",
     "Deposition of the ship's officer", 800, "paid"),
    ("Davis v. Coastal Cruise Lines", "Superior Court Clerk", 43_500, "FILING",
     "Complaint filing fee", 1000, "paid"),
    ("Kim v. Greenway Landscaping", "Valley Medical Center", 9_900, "MEDREC",
     "Urgent care records", 100, "open"),
    ("Kim v. Greenway Landscaping", "Copy Center Legal Print", 4_275, "E101",
     "Photo prints of the scene", 90, "open"),
)  # fmt: skip

#: A cost split evenly between the two Chen cases (the parts add up to the cent).
SPLIT_COST = ("Chen v. City Transit", "Dr. Reyes Forensics", 180_001, "E119",
              "Bus accident reconstruction (both passengers)", 200)  # fmt: skip


#: How many days ago the oldest cost is dated: the demo firm's opening date.
OLDEST_COST_DAYS = max(days for *_, days, _end in COSTS)


class Command(BaseCommand):
    help = "Create the cases side's demo firm with users, cases, costs and a settlement."

    def handle(self, *args: Any, **options: Any) -> None:
        if Firm.objects.filter(code=DEMO_CODE).exists():
            self.stdout.write("Cases demo firm already loaded.")
            return
        with transaction.atomic():
            load()
        self.stdout.write(self.style.SUCCESS("Cases demo firm loaded (firm ID: demo)."))


def load() -> Firm:
    firm = firms.firm_create(code=DEMO_CODE, name="Demo Injury Law Group")
    admin = firms.user_create(
        firm=firm,
        actor=None,
        email="admin@demo.test",
        password=DEMO_PASSWORD,
        first_name="Alex",
        last_name="Admin",
        is_firm_admin=True,
    )
    sam = firms.user_create(
        firm=firm,
        actor=admin,
        email="sam@demo.test",
        password=DEMO_PASSWORD,
        first_name="Sam",
        last_name="Rivera",
        is_attorney=True,
        perm_costs_management=True,
        perm_deposit_settlement=True,
    )
    paralegal = firms.user_create(
        firm=firm,
        actor=admin,
        email="paralegal@demo.test",
        password=DEMO_PASSWORD,
        first_name="Pat",
        last_name="Paralegal",
        perm_costs_management=True,
    )
    # the demo's people share one published TOTP secret (`make run` prints how to compute
    # a code); required for the administrator and Sam (deposits), optional for Pat
    for person in (admin, sam, paralegal):
        two_factor.totp_set_known_secret(user=person, secret=twofactor.DEMO_TOTP_KEY)
    today = clock.today()

    def ago(days: int) -> dt.date:
        return today - dt.timedelta(days=days)

    # the firm opens on the day of its oldest cost, so every date below is in its window
    # (ADR 0007): the costs come in no particular order
    firms.firm_opening_date_set(firm=firm, actor=admin, opening_date=ago(OLDEST_COST_DAYS))

    def contact(name: str, **fields: Any) -> Contact:
        return case_services.contact_create(firm=firm, actor=admin, name=name, **fields)

    cases: dict[str, Case] = {}
    for n, (client_name, caption, _status, incident_days) in enumerate(CASES):
        client = contact(
            client_name,
            address=f"{120 + 7 * n} Main Street\nSacramento, CA 958{10 + n}",
            date_of_birth=dt.date(1960 + 3 * n, 1 + n, 10 + n),
            phone=f"916-555-01{n:02d}",
            email=f"{client_name.split()[-1].lower()}{n}@example.test",
        )
        cases[caption] = case_services.case_create(
            firm=firm,
            actor=sam,
            name=caption,
            client_id=client.pk,
            responsible_attorney_id=sam.pk,
            incident_date=ago(incident_days),
            status="open",  # costs first; the final status is set below
            opened_on=ago(max(incident_days - 14, 1)),
        )
    payees = {name: contact(name) for name in PAYEES}
    codes = {c.code: c.pk for c in CostCode.objects.filter(firm=firm)}

    for check, (caption, payee, cents, code, memo, days, end) in enumerate(COSTS, start=5101):
        cost = costs.cost_create(
            firm=firm,
            actor=sam,
            case_id=cases[caption].pk,
            payee_id=payees[payee].pk,
            amount_cents=cents,
            cost_code_id=codes[code],
            cost_date=ago(days),
            memo=memo,
            invoice_reference=f"INV-{check * 7}",
        )
        if end == "paid":
            costs.cost_pay(
                firm=firm,
                actor=admin,
                cost_id=cost.pk,
                method="check",
                reference=str(check),
                paid_date=ago(max(days - 10, 0)),
            )
        elif end == "void":
            costs.cost_void(firm=firm, actor=sam, cost_id=cost.pk, reason="entered twice")

    chen, wei = cases["Chen v. City Transit"], cases["Wei Chen v. City Transit"]
    case_services.cases_link(case=chen, other_case_id=wei.pk, actor=sam)
    caption, payee, cents, code, memo, days = SPLIT_COST
    shared = costs.cost_create(
        firm=firm,
        actor=sam,
        case_id=cases[caption].pk,
        payee_id=payees[payee].pk,
        amount_cents=cents,
        cost_code_id=codes[code],
        cost_date=ago(days),
        memo=memo,
    )
    costs.cost_split(firm=firm, actor=sam, cost_id=shared.pk)

    _negotiations(firm, sam, cases, contact, ago)
    _worked_settlement(firm, sam, cases["Lopez v. Acme Trucking"], contact, ago)

    for caption, status in ((c[1], c[2]) for c in CASES):
        if status != "open":
            case_services.case_update(case=cases[caption], actor=sam, status=status)
    return firm


def _negotiations(firm: Firm, sam: User, cases: dict[str, Case], contact: Any, ago: Any) -> None:
    """Demands and offers on other cases; Williams has an accepted offer awaiting its check."""
    carriers = {
        "Patel v. Northside Grocers": contact("Northside Mutual Insurance"),
        "Johnson v. Rapid Rideshare": contact("Rideshare Casualty Co."),
        "Williams v. Metro Delivery": contact("Metro Fleet Insurance"),
        "Nguyen v. Harbor Freight Lines": contact("Harbor Commercial Insurance"),
    }
    script = [
        ("Patel v. Northside Grocers", "demand", 7_500_000, 60, False),
        ("Johnson v. Rapid Rideshare", "demand", 9_000_000, 45, False),
        ("Johnson v. Rapid Rideshare", "offer", 4_000_000, 20, False),
        ("Williams v. Metro Delivery", "demand", 12_000_000, 120, False),
        ("Williams v. Metro Delivery", "offer", 6_000_000, 90, False),
        ("Williams v. Metro Delivery", "offer", 8_500_000, 30, True),
        ("Nguyen v. Harbor Freight Lines", "demand", 35_000_000, 15, False),
    ]
    for caption, kind, cents, days, accept in script:
        neg = settlement.negotiation_record(
            firm=firm,
            actor=sam,
            case_id=cases[caption].pk,
            kind=kind,
            party_id=carriers[caption].pk,
            amount_cents=cents,
            made_on=ago(days),
        )
        if accept:
            settlement.offer_accept(firm=firm, actor=sam, negotiation_id=neg.pk, on=ago(days - 2))


def _worked_settlement(firm: Firm, sam: User, case: Case, contact: Any, ago: Any) -> None:
    """Lopez v. Acme Trucking: $250,000.00 accepted and deposited, two liens accepted at
    $45,000.00 in all, nothing staged (ready for Stage Payment)."""
    insurer = contact("Acme Insurance", phone="800-555-0199")
    settlement.negotiation_record(
        firm=firm,
        actor=sam,
        case_id=case.pk,
        kind="demand",
        party_id=insurer.pk,
        amount_cents=40_000_000,
        made_on=ago(120),
    )
    settlement.negotiation_record(
        firm=firm,
        actor=sam,
        case_id=case.pk,
        kind="offer",
        party_id=insurer.pk,
        amount_cents=17_500_000,
        made_on=ago(75),
        note="Initial offer",
    )
    offer = settlement.negotiation_record(
        firm=firm,
        actor=sam,
        case_id=case.pk,
        kind="offer",
        party_id=insurer.pk,
        amount_cents=25_000_000,
        made_on=ago(30),
        note="Final offer after mediation",
    )
    settlement.offer_accept(firm=firm, actor=sam, negotiation_id=offer.pk, on=ago(28))
    settlement.deposit_record(
        firm=firm,
        actor=sam,
        case_id=case.pk,
        offer_id=offer.pk,
        amount_cents=25_000_000,
        check_number="88123",
        deposited_on=ago(10),
    )
    for holder, kind, claimed, final in (
        ("Valley Medical Center", "medical", 3_100_000, 3_000_000),
        ("Blue Shield of California", "health_insurance", 1_600_000, 1_500_000),
    ):
        holder_contact = Contact.objects.filter(firm=firm, name=holder).first() or contact(holder)
        lien = settlement.lien_create(
            firm=firm,
            actor=sam,
            case_id=case.pk,
            kind=kind,
            holder_id=holder_contact.pk,
            claimed_cents=claimed,
        )
        settlement.lien_accept(firm=firm, actor=sam, lien_id=lien.pk, final_cents=final, on=ago(5))
