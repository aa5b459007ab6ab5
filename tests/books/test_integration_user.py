"""The designated integration user: the user case management signs in as, at most one per
firm (the service refuses a second naming the current one; the database keeps it so)."""

from __future__ import annotations

import pytest
from django.db import IntegrityError, transaction

from casebridge.books.errors import ValidationFailed
from casebridge.books.models import User
from casebridge.books.services import auth
from casebridge.core.models import AuditEvent
from tests.conftest import PASSWORD
from tests.twofactor import fresh_code


def test_a_user_is_made_the_integration_user_and_it_is_audited(firm, admin, attorney):
    assert attorney.is_integration_user is False
    auth.user_update(user=attorney, actor=admin, is_integration_user=True)
    attorney.refresh_from_db()
    assert attorney.is_integration_user is True
    event = AuditEvent.objects.filter(action="change", entity_type="user").get()
    assert (event.before, event.after, event.actor_id) == (
        {"is_integration_user": False},
        {"is_integration_user": True},
        admin.pk,
    )


def test_a_second_integration_user_is_refused_naming_the_current_one(firm, admin, attorney):
    auth.user_update(user=attorney, actor=admin, is_integration_user=True)
    events = AuditEvent.objects.count()

    with pytest.raises(ValidationFailed) as info:
        auth.user_update(user=admin, actor=admin, is_integration_user=True)
    assert info.value.message == (
        "Sam.Smith@smith.test is already the designated integration user of this firm; only "
        "one user per firm can be: turn it off for them first"
    )
    assert info.value.field == "is_integration_user"
    assert list(
        User.objects.filter(firm=firm, is_integration_user=True).values_list("pk", flat=True)
    ) == [attorney.pk]
    assert AuditEvent.objects.count() == events

    with pytest.raises(ValidationFailed, match=r"Sam\.Smith@smith\.test is already"):
        auth.user_create(
            firm=firm, email="bridge@smith.test", password=PASSWORD, is_integration_user=True
        )
    assert not User.objects.filter(email="bridge@smith.test").exists()


def test_the_flag_moves_once_the_current_one_is_turned_off(firm, admin, attorney):
    auth.user_update(user=attorney, actor=admin, is_integration_user=True)
    auth.user_update(user=attorney, actor=admin, is_integration_user=False)
    auth.user_update(user=admin, actor=admin, is_integration_user=True)
    # saving the current one again is not "a second one"
    auth.user_update(user=admin, actor=admin, is_integration_user=True, initials="AA")
    assert list(
        User.objects.filter(firm=firm, is_integration_user=True).values_list("email", flat=True)
    ) == ["admin@smith.test"]


def test_one_integration_user_per_firm_not_per_installation(firm, other_firm, attorney):
    bridge = auth.user_create(
        firm=firm, email="bridge@smith.test", password=PASSWORD, is_integration_user=True
    )
    theirs = auth.user_create(
        firm=other_firm, email="bridge@jones.test", password=PASSWORD, is_integration_user=True
    )
    assert (bridge.is_integration_user, theirs.is_integration_user) == (True, True)
    event = AuditEvent.objects.get(action="create", entity_type="user", entity_id=str(bridge.pk))
    assert event.after == {
        "email": "bridge@smith.test",
        "is_admin": False,
        "role": "accountant",
        "records_time": False,
        "is_integration_user": True,
    }


def test_the_database_also_keeps_one_per_firm(firm, admin, attorney):
    User.objects.filter(pk=attorney.pk).update(is_integration_user=True)
    with pytest.raises(IntegrityError), transaction.atomic():
        User.objects.filter(pk=admin.pk).update(is_integration_user=True)
    assert User.objects.filter(firm=firm, is_integration_user=True).count() == 1


def test_the_flag_does_not_restrict_who_may_get_a_token(firm, admin, attorney):
    auth.user_update(user=attorney, actor=admin, is_integration_user=True)
    issued = auth.integration_session_create(
        firm_code="smith-pi", email=admin.email, password=PASSWORD, totp=fresh_code(admin)
    )
    assert issued.user_id == admin.pk
