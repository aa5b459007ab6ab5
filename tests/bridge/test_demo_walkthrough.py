"""The README's walkthrough on the demo firm of `make run`, ending with the trial balance an
accountant would sign (issue 10, item 1): both demos loaded, the seed's set-up done in the
books as the README says, the bridge activated with its suggested defaults, and every open
cost of the demo sent and posted."""

from __future__ import annotations

from io import StringIO

from django.core.management import call_command

from casebridge.books.models import AccountType, ActivityCode, GLAccount, JournalEntry
from casebridge.books.models import Firm as BooksFirm
from casebridge.books.models import User as BooksUser
from casebridge.books.selectors.reports import trial_balance
from casebridge.books.services import auth as books_auth
from casebridge.books.services import setup as books_setup
from casebridge.bridge.services import connection as conn_services
from casebridge.bridge.services import jobs, outbox
from casebridge.bridge.services.delivery import outbox_deliver
from casebridge.cases.models import Cost, CostStatus
from casebridge.cases.models import Firm as CasesFirm
from casebridge.cases.models import User as CasesUser

DEMO_PASSWORD = "demo-password-1"


def _books_seed_set_up(firm: BooksFirm) -> None:
    """What the README asks of the books' administrator (seed S2-S8)."""
    admin = BooksUser.objects.get(firm=firm, email="admin@demo.test")
    integration = BooksUser.objects.get(firm=firm, email="integration@demo.test")
    books_auth.security_question_enroll(user=integration, question="First car?", answer="Civic")
    sam = BooksUser.objects.get(firm=firm, email="sam@demo.test")
    books_auth.user_update(user=sam, actor=admin, records_time=True)
    books_setup.firm_features_update(firm=firm, actor=admin, release_invoice_stage_enabled=True)
    books_setup.area_of_practice_create(
        firm=firm, actor=admin, name="PI", description="Personal Injury"
    )
    for code, name, number in (
        ("COPP", "COPP charges", "4100"),
        ("PD", "Property Damage", "4200"),
    ):
        books_setup.activity_code_create(
            firm=firm,
            actor=admin,
            code=code,
            name=name,
            description=name,
            gl_account_id=GLAccount.objects.get(firm=firm, number=number).pk,
        )


def test_the_demo_walkthrough_ends_with_a_trial_balance_an_accountant_signs(
    transactional_db, live_server
):
    call_command("demo_load", stdout=StringIO())
    call_command("cases_demo_load", stdout=StringIO())
    books_firm = BooksFirm.objects.get(code="demo")
    # the books open on the day of their first entry: every date loaded is in the window
    first = JournalEntry.objects.filter(firm=books_firm).order_by("date").first()
    assert first is not None
    assert books_firm.opening_date == first.date
    _books_seed_set_up(books_firm)

    firm = CasesFirm.objects.get(code="demo")
    admin = CasesUser.objects.get(firm=firm, email="admin@demo.test")
    conn_services.connection_activate(
        firm=firm,
        actor=admin,
        books_url=f"{live_server.url}/books/api/v1",
        books_firm_code="demo",
        username="integration@demo.test",
        password=DEMO_PASSWORD,
    )
    jobs.run_pending(firm_id=firm.pk)  # the worker signs in and reads the books (ADR 0008)
    operating, trust = (
        books_firm.bank_accounts.get(kind=kind).pk for kind in ("operating", "trust")
    )
    conn = conn_services.connection_defaults_save(
        firm=firm,
        actor=admin,
        operating_account_id=operating,
        trust_account_id=trust,
        invoice_release="review",
    )
    jobs.run_pending(firm_id=firm.pk)  # the readiness of the defaults chosen
    assert conn.cost_posting_code_id == ActivityCode.objects.get(firm=books_firm, code="E124").pk

    open_costs = list(Cost.objects.filter(firm=firm, status=CostStatus.OPEN).order_by("pk"))
    assert len(open_costs) > 5
    advanced = sum(c.amount_cents for c in open_costs)
    before = {a.number: a.balance_cents for a in GLAccount.objects.filter(firm=books_firm)}
    outbox.costs_send(firm=firm, actor=admin, cost_ids=[c.pk for c in open_costs])
    report = outbox_deliver(firm_id=firm.pk)
    assert (report.sent, report.failed) == (len(open_costs), 0)

    accounts = {a.number: a for a in GLAccount.objects.filter(firm=books_firm)}
    # every advance went Dr 1300 Advanced Client Costs / Cr 1000 Operating
    assert accounts["1300"].balance_cents - before["1300"] == advanced
    assert accounts["1000"].balance_cents - before["1000"] == -advanced
    tb = trial_balance(firm=books_firm)
    assert tb.total_debit_cents == tb.total_credit_cents
    rows = {r.number: (r.debit_cents, r.credit_cents) for r in tb.rows}
    # no income account in debit: no cost advance landed on COPP's income
    assert [r.number for r in tb.rows if r.type == AccountType.INCOME] == []
    # operating: the opening capital less the demo's three filing fees and the advances
    assert rows["1000"] == (5_000_000 - 3 * 43_500 - advanced, 0)
    assert rows["1300"] == (3 * 43_500 + advanced, 0)
    assert rows["3000"] == (0, 5_000_000)
