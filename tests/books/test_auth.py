"""The books' users, the security question, integration tokens and login throttling."""

from __future__ import annotations

import datetime as dt
import hashlib

import pytest
from django.contrib.auth.hashers import check_password as django_check_password
from django.db import IntegrityError, transaction

from casebridge.books.errors import (
    InvalidToken,
    ReauthenticationRequired,
    SecurityQuestionNotEnrolled,
    SignInRefused,
    TooManyAttempts,
    ValidationFailed,
)
from casebridge.books.models import IntegrationToken, LoginAttempt, User
from casebridge.books.services import auth
from casebridge.core import signin
from casebridge.core.models import AuditEvent
from tests.books.ledger_helpers import refused, snapshot
from tests.conftest import PASSWORD
from tests.twofactor import fresh_code

T = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)
FIRM = "smith-pi"


def login(email="Sam.Smith@smith.test", password=PASSWORD, firm_code=FIRM, at=T, **kw):
    """The API login, with a fresh code of the fixed secret for a user who has a TOTP."""
    user = User.objects.filter(
        firm__code=firm_code.strip().lower(), email__iexact=email.strip()
    ).first()
    if user is not None and user.has_totp and "totp" not in kw:
        kw["totp"] = fresh_code(user, at=at)
    return auth.integration_session_create(
        firm_code=firm_code, email=email, password=password, now=at, **kw
    )


def assert_only_the_attempt_was_recorded(before, *, audited: bool = True):
    """A refused login writes its LoginAttempt (and an audit event), nothing else."""
    after = snapshot()
    assert after["login_attempts"] == before["login_attempts"] + 1
    assert after["audit"] == before["audit"] + (1 if audited else 0)
    for key in set(before) - {"login_attempts", "audit"}:
        assert after[key] == before[key], key


# --- users ---------------------------------------------------------------------------------


def test_emails_are_unique_per_firm_ignoring_case(firm, other_firm, attorney):
    with refused(ValidationFailed, code="validation_error") as info:
        auth.user_create(firm=firm, email="sam.smith@SMITH.test", password=PASSWORD)
    assert (
        info.value.message == "a user with email sam.smith@SMITH.test already exists in this firm"
    )
    assert info.value.field == "email"
    # the same person may be a user of another firm's books
    other = auth.user_create(firm=other_firm, email="sam.smith@smith.test", password=PASSWORD)
    assert other.firm == other_firm


def test_the_database_also_keeps_emails_unique_per_firm(firm, attorney):
    with pytest.raises(IntegrityError), transaction.atomic():
        User.objects.create(firm=firm, email="SAM.SMITH@smith.test", password="x")


def test_changing_an_email_to_a_colleagues_is_refused(firm, admin, attorney):
    with refused(ValidationFailed, code="validation_error", match="already exists"):
        auth.user_update(user=admin, actor=admin, email="SAM.smith@smith.test")
    assert User.objects.get(pk=admin.pk).email == "admin@smith.test"


@pytest.mark.parametrize(("password", "ok"), [("123456789", False), ("1234567890", True)])
def test_a_password_has_at_least_ten_characters(firm, password, ok):
    if ok:
        user = auth.user_create(firm=firm, email="new@smith.test", password=password)
        assert user.password != password
        assert user.password.startswith(("md5$", "pbkdf2_sha256$"))
        return
    with refused(ValidationFailed, code="validation_error") as info:
        auth.user_create(firm=firm, email="new@smith.test", password=password)
    assert info.value.message == "password must be at least 10 characters"
    assert info.value.field == "password"


@pytest.mark.parametrize("email", ["not-an-email", "a@b", "two words@x.test", ""])
def test_an_email_must_look_like_one(firm, email):
    with refused(ValidationFailed, code="validation_error", match="is not a valid email"):
        auth.user_create(firm=firm, email=email, password=PASSWORD)


def test_user_create_is_audited_and_derives_initials(firm, admin):
    user = auth.user_create(
        firm=firm,
        email="pat@smith.test",
        password=PASSWORD,
        first_name="pat",
        last_name="lee",
        actor=admin,
    )
    assert user.initials == "PL"
    event = AuditEvent.objects.get(entity_type="user", entity_id=str(user.pk), action="create")
    assert (event.actor_id, event.after) == (
        admin.pk,
        {
            "email": "pat@smith.test",
            "is_admin": False,
            "role": "accountant",
            "records_time": False,
        },
    )


# --- the security question -----------------------------------------------------------------


def test_the_answer_is_compared_ignoring_case_and_spacing(firm):
    user = auth.user_create(firm=firm, email="pat@smith.test", password=PASSWORD)
    auth.security_question_enroll(
        user=user, question="Name of your first pet?", answer="  FLUFFY   the cat "
    )
    user = User.objects.get(pk=user.pk)
    assert user.is_enrolled
    assert auth.security_answer_matches(user=user, answer="fluffy the cat")
    assert auth.security_answer_matches(user=user, answer="Fluffy\tThe  Cat")
    assert not auth.security_answer_matches(user=user, answer="fluffy the dog")
    assert not auth.security_answer_matches(user=user, answer="fluffythecat")


def test_the_answer_is_stored_hashed(firm):
    user = auth.user_create(firm=firm, email="pat@smith.test", password=PASSWORD)
    auth.security_question_enroll(
        user=user, question="Name of your first pet?", answer="Fluffy the Cat"
    )
    row = User.objects.filter(pk=user.pk).values().get()
    assert row["security_answer_hash"]
    for value in row.values():
        assert "fluffy" not in str(value).lower()


@pytest.mark.parametrize(
    ("question", "answer", "message"),
    [
        ("Pet?", "Rex the dog", "choose or write a security question"),
        ("Name of your first pet?", " a ", "the answer must be at least 3 characters"),
        ("Was your first pet Rex?", "rex", "the answer must not appear in the question"),
    ],
)
def test_a_weak_question_or_answer_is_refused(firm, question, answer, message):
    user = auth.user_create(firm=firm, email="pat@smith.test", password=PASSWORD)
    with refused(ValidationFailed, code="validation_error") as info:
        auth.security_question_enroll(user=user, question=question, answer=answer)
    assert info.value.message == message
    assert not User.objects.get(pk=user.pk).is_enrolled


# --- integration sessions ------------------------------------------------------------------


def test_a_session_issues_a_30_day_token_stored_only_as_its_hash(firm, attorney):
    issued = login(ip_address="10.1.2.3")

    assert issued.token.startswith("cbb_")
    assert issued.expires_at == T + dt.timedelta(days=30)
    assert issued.user_id == attorney.pk
    row = IntegrationToken.objects.get()
    assert row.token_hash == hashlib.sha256(issued.token.encode()).hexdigest()
    assert (row.issued_at, row.expires_at) == (T, T + dt.timedelta(days=30))
    assert issued.token not in str(IntegrationToken.objects.values().get())
    assert auth.integration_token_resolve(token=issued.token, now=T).pk == row.pk


def test_a_session_is_refused_before_enrolling_a_security_question(firm):
    auth.user_create(firm=firm, email="new@smith.test", password=PASSWORD)
    before = snapshot()
    with pytest.raises(SecurityQuestionNotEnrolled) as info:
        login(email="new@smith.test")
    assert info.value.code == "security_question_not_enrolled"
    assert info.value.http_status == 403
    assert info.value.message.startswith("new@smith.test has not enrolled a security question")
    assert not IntegrationToken.objects.exists()
    assert_only_the_attempt_was_recorded(before)  # the password was right: a "login" event
    assert LoginAttempt.objects.get().succeeded


def refusal(info: pytest.ExceptionInfo[SignInRefused]) -> tuple[object, ...]:
    exc = info.value
    return (type(exc), exc.code, exc.http_status, exc.message, exc.field, exc.details)


GENERIC = (
    SignInRefused,
    "invalid_credentials",
    401,
    "firm ID, email or password is not right",
    "password",
    {},
)


@pytest.mark.parametrize(
    ("case", "kwargs", "audit_summary"),
    [
        ("wrong password", {"password": "not the password"}, "Wrong password"),
        ("unknown user", {"email": "nobody@smith.test"}, "Unknown user nobody@smith.test"),
        ("unknown firm", {"firm_code": "no-such-firm"}, None),  # no firm to audit under
        ("deactivated user", {}, "Deactivated user"),
    ],
)
def test_every_refused_login_reads_the_same_and_only_the_audit_says_why(
    firm, admin, attorney, case, kwargs, audit_summary
):
    if case == "deactivated user":
        auth.user_update(user=attorney, actor=admin, is_active=False)
    before = snapshot()
    with pytest.raises(SignInRefused) as info:
        login(ip_address="10.9.9.9", **kwargs)
    assert refusal(info) == GENERIC
    assert_only_the_attempt_was_recorded(before, audited=audit_summary is not None)
    attempt = LoginAttempt.objects.get()
    assert (attempt.succeeded, attempt.ip_address) == (False, "10.9.9.9")
    if audit_summary is not None:
        event = AuditEvent.objects.get(action="login_failed")
        assert (event.summary, event.ip_address, event.firm_id) == (
            audit_summary,
            "10.9.9.9",
            firm.pk,
        )
    assert User.objects.get(pk=attorney.pk).last_login_at is None


@pytest.mark.parametrize(
    ("kwargs", "whose_hash"),
    [
        ({"password": "not the password"}, "the user's"),
        ({"email": "nobody@smith.test"}, "the dummy"),
        ({"firm_code": "no-such-firm"}, "the dummy"),
        ({"email": "leaving@smith.test"}, "the deactivated user's"),
    ],
)
def test_every_refused_login_hashes_the_password_exactly_once(
    monkeypatch, firm, admin, attorney, kwargs, whose_hash
):
    """The same work whichever part was wrong: an unknown user's password is checked
    against the dummy hash, so the refusal takes as long as a wrong password's."""
    leaving = auth.user_create(firm=firm, email="leaving@smith.test", password=PASSWORD)
    auth.user_update(user=leaving, actor=admin, is_active=False)
    expected = {
        "the user's": attorney.password,
        "the dummy": signin.dummy_password_hash(),
        "the deactivated user's": leaving.password,
    }[whose_hash]
    checked: list[str] = []

    def counting(password: str, encoded: str, *args: object, **kw: object) -> bool:
        checked.append(encoded)
        return django_check_password(password, encoded)

    monkeypatch.setattr(signin, "check_password", counting)
    with pytest.raises(SignInRefused):
        login(**kwargs)
    assert checked == [expected]


def test_login_is_case_insensitive_on_firm_and_email(firm, attorney):
    assert login(email="  SAM.SMITH@SMITH.TEST ", firm_code=" Smith-PI ").user_id == attorney.pk


def test_the_token_lapses_exactly_30_days_after_issue(firm, attorney):
    issued = login()
    almost = T + dt.timedelta(days=30) - dt.timedelta(seconds=1)
    assert auth.integration_token_resolve(token=issued.token, now=almost).user == attorney

    with pytest.raises(ReauthenticationRequired) as info:
        auth.integration_token_resolve(token=issued.token, now=T + dt.timedelta(days=30))
    assert info.value.code == "reauthentication_required"
    assert info.value.http_status == 401
    assert info.value.message.startswith("the integration session lapsed on 2026-04-01")


def test_a_revoked_or_unknown_token_is_invalid(firm, admin, attorney):
    issued = login()
    token = auth.integration_token_resolve(token=issued.token, now=T)
    auth.integration_token_revoke(token=token, actor=admin)
    for bearer in (issued.token, "cbb_made-up", ""):
        with pytest.raises(InvalidToken) as info:
            auth.integration_token_resolve(token=bearer, now=T)
        assert info.value.code == "invalid_token"


def test_changing_the_password_revokes_live_tokens(firm, admin, attorney):
    issued = login()
    auth.user_set_password(user=attorney, password="a brand new password", actor=admin)
    with pytest.raises(InvalidToken):
        auth.integration_token_resolve(token=issued.token, now=T)
    assert login(password="a brand new password").user_id == attorney.pk


def test_using_a_token_records_when_at_most_every_five_minutes(firm, attorney):
    issued = login()
    auth.integration_token_resolve(token=issued.token, now=T)
    auth.integration_token_resolve(token=issued.token, now=T + dt.timedelta(minutes=4))
    assert IntegrationToken.objects.get().last_used_at == T
    auth.integration_token_resolve(token=issued.token, now=T + dt.timedelta(minutes=6))
    assert IntegrationToken.objects.get().last_used_at == T + dt.timedelta(minutes=6)


# --- throttling (casebridge.core.throttle; the thresholds' own tests: tests/core) ---------


def fail_five_times(start=T, **kw):
    for i in range(5):
        with pytest.raises(SignInRefused):
            login(password="wrong password", at=start + dt.timedelta(seconds=i), **kw)


def test_after_five_failures_even_the_right_password_waits(firm, attorney):
    fail_five_times(ip_address="203.0.113.66")
    before = snapshot()

    with pytest.raises(TooManyAttempts) as info:
        login(at=T + dt.timedelta(seconds=5), ip_address="198.51.100.1")

    assert info.value.code == "too_many_attempts"
    assert info.value.http_status == 429
    # the fifth failure (at T + 4 s) makes the next attempt wait 30 seconds
    assert info.value.details == {"retry_after": 29}
    assert info.value.message == "too many failed sign-ins; try again in 29 seconds"
    assert snapshot() == before  # a refused attempt is not recorded and issues nothing


def test_once_the_wait_has_passed_the_login_works(firm, attorney):
    fail_five_times()
    with pytest.raises(TooManyAttempts) as info:
        login(at=T + dt.timedelta(seconds=33))
    assert info.value.details == {"retry_after": 1}
    assert login(at=T + dt.timedelta(seconds=34)).user_id == attorney.pk


def test_failed_attempts_persist_although_the_login_raised(firm, attorney):
    fail_five_times()
    attempts = LoginAttempt.objects.order_by("at")
    assert [(a.firm_code, a.username, a.succeeded) for a in attempts] == [
        ("smith-pi", "sam.smith@smith.test", False)
    ] * 5
    assert attempts[0].at == T


def test_a_success_resets_the_count_of_failures(firm, attorney):
    for i in range(4):
        with pytest.raises(SignInRefused):
            login(password="wrong password", at=T + dt.timedelta(seconds=i))
    login(at=T + dt.timedelta(seconds=10))
    for i in range(4):
        with pytest.raises(SignInRefused):
            login(password="wrong password", at=T + dt.timedelta(seconds=20 + i))
    assert login(at=T + dt.timedelta(seconds=30)).user_id == attorney.pk


def test_throttling_is_per_user(firm, admin, attorney):
    fail_five_times()
    assert login(email="admin@smith.test", at=T + dt.timedelta(seconds=6)).user_id == admin.pk


def test_unknown_users_are_throttled_too(firm):
    for i in range(5):
        with pytest.raises(SignInRefused):
            login(email="ghost@smith.test", at=T + dt.timedelta(seconds=i))
    with pytest.raises(TooManyAttempts):
        login(email="ghost@smith.test", at=T + dt.timedelta(seconds=5))


def test_a_stranger_cannot_lock_the_integration_user_out(firm, admin):
    """Five bad passwords used to lock any user for 15 minutes, again and again: the
    integration user's monthly re-authentication could be kept out by anyone."""
    bridge = auth.user_create(
        firm=firm, email="integration@smith.test", password=PASSWORD, is_integration_user=True
    )
    auth.security_question_enroll(user=bridge, question="First car?", answer="Volvo")
    login(email=bridge.email, ip_address="192.0.2.10")  # the bridge's address, last month
    later = T + dt.timedelta(days=30)
    for i in range(8):
        at = later + dt.timedelta(minutes=20 * i)  # past each wait, the stranger fails again
        with pytest.raises(SignInRefused):
            login(email=bridge.email, password="guess", at=at, ip_address="203.0.113.66")
    with pytest.raises(TooManyAttempts) as info:
        login(email=bridge.email, at=at, ip_address="203.0.113.66", security_answer="Volvo")
    assert info.value.details == {"retry_after": 240}

    # the renewal asks the security question again (two factors), and goes through
    again = login(email=bridge.email, at=at, ip_address="192.0.2.10", security_answer="Volvo")
    assert again.user_id == bridge.pk


def test_one_password_across_many_usernames_is_throttled_by_address(firm, attorney):
    for n in range(20):
        with pytest.raises(SignInRefused):
            login(email=f"user{n}@smith.test", password="Summer2026!", ip_address="203.0.113.66")
    with pytest.raises(TooManyAttempts) as info:
        login(email="user20@smith.test", password="Summer2026!", ip_address="203.0.113.66")
    assert info.value.details == {"retry_after": 30}
    assert LoginAttempt.objects.count() == 20
    # the real user elsewhere is not held back
    assert login(ip_address="198.51.100.1").user_id == attorney.pk


def test_logins_failures_and_tokens_are_audited(firm, attorney):
    with pytest.raises(SignInRefused):
        login(password="wrong password", ip_address="10.9.9.9")
    with pytest.raises(SignInRefused):
        login(email="ghost@smith.test", ip_address="10.9.9.9")
    issued = login(at=T + dt.timedelta(seconds=1), ip_address="10.9.9.9")

    events = list(
        AuditEvent.objects.filter(
            firm_id=firm.pk, action__in=["login", "login_failed", "token_issue"]
        )
        .order_by("pk")
        .values_list("action", "entity_id", "actor_label", "ip_address")
    )
    assert events == [
        ("login_failed", str(attorney.pk), attorney.email, "10.9.9.9"),
        ("login_failed", "", "ghost@smith.test", "10.9.9.9"),
        ("login", str(attorney.pk), attorney.email, "10.9.9.9"),
        ("token_issue", str(attorney.pk), attorney.email, "10.9.9.9"),
    ]
    token_event = AuditEvent.objects.get(action="token_issue")
    assert list(token_event.after) == ["expires_at"]
    assert dt.datetime.fromisoformat(token_event.after["expires_at"]) == issued.expires_at
    assert issued.token not in str(token_event.summary)
    assert User.objects.get(pk=attorney.pk).last_login_at == T + dt.timedelta(seconds=1)
