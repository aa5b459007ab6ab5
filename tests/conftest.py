"""Shared fixtures: a firm with the PI chart of accounts and its people."""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Callable, Iterator

import pytest
from django.core.cache import cache
from huey.contrib.djhuey import HUEY
from huey.storage import MemoryStorage
from hypothesis import HealthCheck
from hypothesis import settings as hypothesis_settings

from casebridge.books.models import AccountRole, BankAccount, BankAccountKind, Firm, GLAccount, User
from casebridge.books.services import auth, files, setup
from casebridge.core import clock
from tests.clockwork import time_stands_still

PASSWORD = "correct horse battery"

# Property tests count examples, never milliseconds: no deadline per example (200 ms by
# default, which a loaded machine misses) and no health check that times data generation.
# Loaded before any test module builds its own settings, which inherit from it.
hypothesis_settings.register_profile(
    "casebridge", deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
hypothesis_settings.load_profile("casebridge")

# Each test process keeps the tasks it queues (a delivery asked for when a send commits) in
# memory: no consumer runs them in tests, and a queue file in the shared var dir was written
# by both xdist workers under Huey's exclusive lock (5 s busy timeout), and read by either.
HUEY.storage_class = MemoryStorage
HUEY.storage_kwargs = {}
HUEY.storage = HUEY.create_storage()


@pytest.fixture(autouse=True)
def _cache_starts_empty(request: pytest.FixtureRequest) -> None:
    """API rate limits (and sign-in throttles) count in the shared cache, the database's by
    default: an ordinary db test's counts roll back with it, a transactional or live-server
    test's stay behind. Such a test starts with the cache emptied, so counts left by earlier
    tests (every test client is 127.0.0.1) never throttle it."""
    marker = request.node.get_closest_marker("django_db")
    transactional = bool(marker and marker.kwargs.get("transaction")) or bool(
        {"transactional_db", "live_server"} & set(request.fixturenames)
    )
    if transactional:
        request.getfixturevalue("transactional_db")
        cache.clear()


@pytest.fixture
def today(monkeypatch) -> dt.date:
    """The day the test started, held for the whole test: a run across midnight (in the
    firm's time zone) gives the services and the test one and the same "today"."""
    day = clock.today()
    monkeypatch.setattr(clock, "today", lambda: day)
    return day


@pytest.fixture
def stopped_clock() -> Iterator[Callable[[], dt.datetime]]:
    """``stopped_clock()`` stops ``clock.now`` at that instant for the rest of the test
    (tests.clockwork.time_stands_still): what holds a lease keeps it until the test itself
    lets it run out."""
    with contextlib.ExitStack() as stack:
        yield lambda: stack.enter_context(time_stands_still())


@pytest.fixture
def firm(db) -> Firm:
    return setup.firm_create(code="smith-pi", name="Smith Personal Injury LLP")


@pytest.fixture
def other_firm(db) -> Firm:
    return setup.firm_create(code="jones-law", name="Jones Law", with_utbms_codes=False)


@pytest.fixture
def admin(firm) -> User:
    user = auth.user_create(
        firm=firm,
        email="admin@smith.test",
        password=PASSWORD,
        first_name="Ada",
        last_name="Admin",
        is_admin=True,
    )
    return auth.security_question_enroll(user=user, question="First pet's name?", answer="Rex")


@pytest.fixture
def attorney(firm) -> User:
    user = auth.user_create(
        firm=firm,
        email="Sam.Smith@smith.test",
        password=PASSWORD,
        first_name="Sam",
        last_name="Smith",
        records_time=True,
    )
    return auth.security_question_enroll(user=user, question="City of birth?", answer="Fresno")


@pytest.fixture
def operating(firm) -> BankAccount:
    return BankAccount.objects.get(firm=firm, kind=BankAccountKind.OPERATING)


@pytest.fixture
def trust(firm) -> BankAccount:
    return BankAccount.objects.get(firm=firm, kind=BankAccountKind.TRUST)


@pytest.fixture
def client_file(firm, admin, attorney):
    client, _ = files.contact_find_or_create(
        firm=firm, actor=admin, name="Maria Lopez", external_ref="case-client-1"
    )
    file, _ = files.file_find_or_create(
        firm=firm,
        actor=admin,
        name="Lopez v. Acme Trucking",
        client=client,
        external_ref="case-1",
        responsible_attorney=attorney,
        opened_on=dt.date(2026, 1, 5),
    )
    return file


def account(firm: Firm, role: AccountRole) -> GLAccount:
    return GLAccount.objects.get(firm=firm, role=role)
