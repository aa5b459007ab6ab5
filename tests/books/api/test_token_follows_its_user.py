"""A token is only as good as its user's standing now: after an administrator resets the
password, or the second factor (a lost phone), the tokens the user had stop working; a user
who must have a second factor and has none (set since) cannot use an older token."""

from __future__ import annotations

from casebridge.books.models import IntegrationToken, User
from casebridge.books.services import two_factor
from tests.twofactor import enrol


def test_a_reset_second_factor_revokes_the_tokens(api, admin, firm):
    assert api.get("/users").status == 200
    two_factor.totp_reset(user=admin, actor=User.objects.get(pk=_other_admin(firm).pk))
    assert IntegrationToken.objects.get(user=admin).revoked_at is not None
    reply = api.get("/users")
    assert (reply.status, reply.error["code"]) == (401, "invalid_token")


def test_a_token_of_a_user_whose_password_was_reset_is_refused(api, admin):
    User.objects.filter(pk=admin.pk).update(must_change_password=True)
    reply = api.get("/users")
    assert reply.status == 403
    assert reply.error["code"] == "password_change_required"
    assert reply.error["message"] == (
        "an administrator reset the password of admin@smith.test: sign in again with it and "
        "choose a new one"
    )


def test_a_token_of_a_user_who_must_have_a_second_factor_and_has_none_is_refused(api, admin):
    User.objects.filter(pk=admin.pk).update(totp_secret="", totp_enabled_at=None)
    reply = api.get("/users")
    assert reply.status == 403
    assert reply.error["code"] == "totp_not_enrolled"
    assert reply.error["message"] == (
        "admin@smith.test must set up two-factor sign-in first: sign in on the books' screens "
        "and follow the steps"
    )


def _other_admin(firm) -> User:
    from casebridge.books.services import auth
    from tests.conftest import PASSWORD

    other = auth.user_create(firm=firm, email="boss@smith.test", password=PASSWORD, is_admin=True)
    return enrol(other)
