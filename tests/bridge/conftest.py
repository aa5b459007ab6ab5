"""Fixtures for the bridge: the books served on a real port (pytest-django's live server),
set up as the seed asks, and a cases firm whose attorney has the same email.

The bridge reaches these books over real HTTP, as in production. Both sides live in the
same test database (they are separate apps of one project), so a test can look straight
into the books' tables to prove what landed there.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import pytest

from casebridge.books.models import BankAccount, BankAccountKind, GLAccount
from casebridge.books.models import Firm as BooksFirm
from casebridge.books.models import User as BooksUser
from casebridge.books.services import auth as books_auth
from casebridge.books.services import setup as books_setup
from casebridge.bridge.models import BooksJob, Connection, InvoiceRelease, RunState
from casebridge.bridge.services import connection as conn_services
from casebridge.bridge.services import jobs
from casebridge.cases.models import Case, CostCode, User
from casebridge.cases.models import Firm as CasesFirm
from casebridge.cases.services import cases as case_services
from casebridge.cases.services import costs as cost_services
from casebridge.cases.services import firms
from tests.twofactor import enrol

PASSWORD = "correct horse battery"
INTEGRATION_EMAIL = "integration@lopez.test"
D = dt.date(2026, 11, 2)
#: Both sides' opening date (ADR 0007): the tests record costs, deposits and payments out
#: of date order, which a firm without one refuses before its first record.
OPENED = dt.date(2026, 1, 1)


@dataclass
class Books:
    firm: BooksFirm
    admin: BooksUser
    integration: BooksUser
    attorney: BooksUser
    operating: BankAccount
    trust: BankAccount
    url: str


@dataclass
class Cases:
    firm: CasesFirm
    admin: User
    attorney: User
    paralegal: User
    case: Case


def books_firm_seeded(*, enrolled: bool = True, seeded: bool = True) -> dict[str, object]:
    firm = books_setup.firm_create(code="lopez-pi", name="Lopez Injury Attorneys")
    admin = books_auth.user_create(
        firm=firm,
        email="books.admin@lopez.test",
        password=PASSWORD,
        is_admin=True,
        first_name="Bea",
        last_name="Books",
    )
    admin = books_auth.security_question_enroll(user=admin, question="First pet?", answer="Rex")
    firm = books_setup.firm_opening_date_set(firm=firm, actor=admin, opening_date=OPENED)
    integration = books_auth.user_create(
        firm=firm,
        email=INTEGRATION_EMAIL,
        password=PASSWORD,
        first_name="Case",
        last_name="Bridge",
        is_integration_user=True,
    )
    if enrolled:
        integration = books_auth.security_question_enroll(
            user=integration, question="First car?", answer="Civic"
        )
    attorney = books_auth.user_create(
        firm=firm,
        email="Sam.Smith@lopez.test",
        password=PASSWORD,
        first_name="Sam",
        last_name="Smith",
        records_time=seeded,
    )
    if seeded:
        books_setup.firm_features_update(firm=firm, actor=admin, release_invoice_stage_enabled=True)
        books_setup.area_of_practice_create(
            firm=firm, actor=admin, name="PI", description="Personal Injury"
        )
        # COPP and the Property Damage Fee are charges the fee invoice bills: income
        # (cost advances post to Advanced client costs through the UTBMS codes and the
        # cost posting reference, never through COPP)
        copp_income = GLAccount.objects.get(firm=firm, number="4100")
        pd_income = GLAccount.objects.get(firm=firm, number="4200")
        books_setup.activity_code_create(
            firm=firm,
            actor=admin,
            code="COPP",
            name="COPP",
            description="Costs of preparing the case",
            gl_account_id=copp_income.pk,
        )
        books_setup.activity_code_create(
            firm=firm,
            actor=admin,
            code="PD",
            name="Property Damage",
            description="Property damage fee",
            gl_account_id=pd_income.pk,
        )
    return {
        "firm": firm,
        "admin": admin,
        "integration": integration,
        "attorney": attorney,
        "operating": BankAccount.objects.get(firm=firm, kind=BankAccountKind.OPERATING),
        "trust": BankAccount.objects.get(firm=firm, kind=BankAccountKind.TRUST),
    }


@pytest.fixture
def books(transactional_db, live_server) -> Books:
    return Books(**books_firm_seeded(), url=f"{live_server.url}/books/api/v1")  # type: ignore[arg-type]


@pytest.fixture
def cases(transactional_db) -> Cases:
    firm = firms.firm_create(code="lopez-pi", name="Lopez Injury Attorneys")
    admin = firms.user_create(
        firm=firm,
        actor=None,
        email="admin@lopez.test",
        password=PASSWORD,
        first_name="Ana",
        last_name="Admin",
        is_firm_admin=True,
    )
    enrol(admin)  # a firm administrator signs in with a TOTP code (the fixed secret)
    firm = firms.firm_opening_date_set(firm=firm, actor=admin, opening_date=OPENED)
    attorney = firms.user_create(
        firm=firm,
        actor=None,
        email="sam.smith@lopez.test",
        password=PASSWORD,
        first_name="Sam",
        last_name="Smith",
        is_attorney=True,
    )
    paralegal = firms.user_create(
        firm=firm,
        actor=None,
        email="pat@lopez.test",
        password=PASSWORD,
        first_name="Pat",
        last_name="Paralegal",
        perm_costs_management=True,
    )
    client = case_services.contact_create(firm=firm, actor=admin, name="Maria Lopez")
    case = case_services.case_create(
        firm=firm,
        actor=admin,
        name="Lopez v. Acme Trucking",
        client_id=client.pk,
        responsible_attorney_id=attorney.pk,
        status="open",
    )
    return Cases(firm=firm, admin=admin, attorney=attorney, paralegal=paralegal, case=case)


def work(firm_id: int) -> int:
    """Play the worker: do everything asked of it for the firm (sign-ins, readiness
    refreshes, syncs, reconciliations, jobs, trust reads), as its tasks would."""
    return jobs.run_pending(firm_id=firm_id)


def books_read_again(cases: Cases) -> None:
    """The worker's periodic refresh: the readiness checks and what the screens show from
    the books, read again (a change made in the books is seen from then on)."""
    jobs.refresh(firm_id=cases.firm.pk)


def pop_up_1(
    cases: Cases,
    *,
    books_url: str,
    books_firm_code: str = "lopez-pi",
    username: str = INTEGRATION_EMAIL,
    password: str = PASSWORD,
    security_answer: str = "Civic",
) -> BooksJob:
    """Pop-up 1 saved, and the worker's sign-in run: the job, done or refused. The books
    ask the security answer only when the integration user had a token before (and
    ignore it at the first sign-in)."""
    job = conn_services.connection_activate(
        firm=cases.firm,
        actor=cases.admin,
        books_url=books_url,
        books_firm_code=books_firm_code,
        username=username,
        password=password,
        security_answer=security_answer,
    )
    work(cases.firm.pk)
    job.refresh_from_db()
    return job


#: The integration user's security answer (``books_firm_seeded``), asked again by the books
#: when the integration signs in again.
SECURITY_ANSWER = "Civic"


def reauthenticate(
    cases: Cases, password: str = PASSWORD, security_answer: str = SECURITY_ANSWER
) -> BooksJob:
    """The monthly re-authentication, and the worker's sign-in run: the job."""
    job = conn_services.connection_reauthenticate(
        firm=cases.firm, actor=cases.admin, password=password, security_answer=security_answer
    )
    work(cases.firm.pk)
    job.refresh_from_db()
    return job


def activate(books: Books, cases: Cases, *, release: str = InvoiceRelease.REVIEW) -> Connection:
    """Both pop-ups, as an administrator would fill them in, and the worker's sign-in and
    readiness run in between (a web request never calls the books: ADR 0008)."""
    job = conn_services.connection_activate(
        firm=cases.firm,
        actor=cases.admin,
        books_url=books.url,
        books_firm_code="lopez-pi",
        username=INTEGRATION_EMAIL,
        password=PASSWORD,
    )
    work(cases.firm.pk)
    job.refresh_from_db()
    assert job.state == RunState.DONE, (job.error_code, job.error_message)
    conn = conn_services.connection_defaults_save(
        firm=cases.firm,
        actor=cases.admin,
        operating_account_id=books.operating.pk,
        trust_account_id=books.trust.pk,
        invoice_release=release,
    )
    work(cases.firm.pk)  # the readiness of the accounts chosen
    conn.refresh_from_db()
    return conn


@pytest.fixture
def connected(books: Books, cases: Cases) -> Connection:
    return activate(books, cases)


def add_cost(
    cases: Cases,
    cents: int,
    *,
    payee: str = "Records Inc",
    code: str = "E112",
    case: Case | None = None,
):
    payee_contact = case_services.contact_create(firm=cases.firm, actor=cases.admin, name=payee)
    return cost_services.cost_create(
        firm=cases.firm,
        actor=cases.admin,
        case_id=(case or cases.case).pk,
        payee_id=payee_contact.pk,
        amount_cents=cents,
        cost_code_id=CostCode.objects.get(firm=cases.firm, code=code).pk,
        cost_date=D,
        memo="Medical records",
    )
