"""A cases token is only as good as its user's standing now: a user given Deposit settlement
checks (who must then have a second factor) cannot use a token got without one, and an
administrator's reset of the second factor revokes the user's tokens."""

from __future__ import annotations

from casebridge.cases.models import ApiToken, User
from casebridge.cases.services import two_factor


def test_a_new_money_permission_needs_the_second_factor_before_the_token_works(
    paralegal_api, paralegal
):
    assert paralegal_api.get("/cases").status == 200
    User.objects.filter(pk=paralegal.pk).update(perm_deposit_settlement=True)
    reply = paralegal_api.get("/cases")
    assert reply.status == 403
    assert reply.body["error"]["code"] == "totp_not_enrolled"
    assert reply.body["error"]["message"] == (
        "pat@lopez.test must set up two-factor sign-in first: sign in on the screens and "
        "follow the steps"
    )


def test_a_reset_second_factor_revokes_the_tokens(attorney_api, cattorney, cadmin):
    assert attorney_api.get("/cases").status == 200
    two_factor.totp_reset(user=cattorney, actor=cadmin)
    assert ApiToken.objects.get(user=cattorney).revoked_at is not None
    assert attorney_api.get("/cases").status == 401
