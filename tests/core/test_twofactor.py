"""The second factor's mechanics both sides share (casebridge.core.twofactor) and the
reset links (casebridge.core.passwords)."""

from __future__ import annotations

import datetime as dt
import re

import pyotp
import pytest
from django.test import override_settings

from casebridge.core import clock, passwords, twofactor

T = dt.datetime(2026, 3, 2, 17, 0, 10, tzinfo=dt.UTC)
KEY = twofactor.DEMO_TOTP_KEY


def test_a_code_matches_its_step_and_the_steps_either_side_only():
    totp = pyotp.TOTP(KEY)
    step = int(T.timestamp()) // 30
    assert twofactor.totp_match(KEY, totp.at(T), T) == step
    assert twofactor.totp_match(KEY, totp.generate_otp(step - 1), T) == step - 1
    assert twofactor.totp_match(KEY, totp.generate_otp(step + 1), T) == step + 1
    assert twofactor.totp_match(KEY, totp.generate_otp(step - 2), T) is None
    assert twofactor.totp_match(KEY, totp.generate_otp(step + 2), T) is None
    assert twofactor.totp_match(KEY, " " + totp.at(T)[:3] + " " + totp.at(T)[3:], T) == step
    for junk in ("", "12345", "1234567", "abcdef", "١٢٣٤٥٦"):
        assert twofactor.totp_match(KEY, junk, T) is None


def test_the_secret_at_rest_is_encrypted_and_read_back_with_the_key_or_a_fallback():
    secret = twofactor.new_secret()
    assert re.fullmatch(r"[A-Z2-7]{32}", secret)
    stored = twofactor.encrypt_secret(secret)
    assert secret not in stored
    assert twofactor.decrypt_secret(stored) == secret
    with override_settings(SECRET_KEY="a-new-key-" * 6, SECRET_KEY_FALLBACKS=[]):
        assert twofactor.decrypt_secret(stored) is None  # the user enrols again
    from django.conf import settings

    with override_settings(SECRET_KEY="a-new-key-" * 6, SECRET_KEY_FALLBACKS=[settings.SECRET_KEY]):
        assert twofactor.decrypt_secret(stored) == secret


def test_recovery_codes_are_ten_distinct_and_kept_as_hashes():
    codes = twofactor.new_recovery_codes()
    assert len(set(codes)) == twofactor.RECOVERY_CODE_COUNT == 10
    for code in codes:
        assert re.fullmatch(r"[a-z2-9]{5}-[a-z2-9]{5}", code)
    assert twofactor.recovery_hash(codes[0].upper().replace("-", " ")) == twofactor.recovery_hash(
        codes[0]
    )


def test_the_qr_code_is_an_inline_svg_of_the_otpauth_uri():
    uri = twofactor.provisioning_uri(KEY, "ana@lopez.test (lopez-pi, cases)")
    assert uri.startswith("otpauth://totp/Casebridge:ana%40lopez.test")
    assert f"secret={KEY}" in uri
    svg = twofactor.qr_svg(uri)
    assert svg.startswith("<svg")
    assert "<script" not in svg


def test_a_reset_token_names_its_user_until_it_expires(monkeypatch):
    monkeypatch.setattr(clock, "now", lambda: T)
    token = passwords.reset_token_make("books", 42, "pbkdf2$hash")
    user_id, fingerprint = passwords.reset_token_user_id("books", token)
    assert user_id == 42
    assert passwords.reset_token_matches(fingerprint, "pbkdf2$hash")
    assert not passwords.reset_token_matches(fingerprint, "pbkdf2$other")  # used: changed
    assert passwords.reset_token_user_id("cases", token) is None  # the other side's salt
    assert passwords.reset_token_user_id("books", token + "x") is None
    later = T + dt.timedelta(seconds=passwords.RESET_LINK_SECONDS)
    monkeypatch.setattr(clock, "now", lambda: later)
    assert passwords.reset_token_user_id("books", token) == (42, fingerprint)
    monkeypatch.setattr(clock, "now", lambda: later + dt.timedelta(seconds=1))
    assert passwords.reset_token_user_id("books", token) is None


@pytest.mark.django_db
def test_wrong_codes_lock_after_five_for_the_window():
    twofactor.failures_clear("books", 7)
    for n in range(1, 6):
        assert twofactor.failure_add("books", 7) == n
    with pytest.raises(twofactor.TooManyCodes) as info:
        twofactor.refuse_if_locked("books", 7)
    assert info.value.http_status == 429
    assert info.value.details == {"retry_after": twofactor.LOCK_SECONDS}
    twofactor.refuse_if_locked("cases", 7)  # the other side's user 7 is someone else
    twofactor.failures_clear("books", 7)
    twofactor.refuse_if_locked("books", 7)


@pytest.mark.django_db
def test_guesses_sent_together_each_take_a_place_in_the_count(firm, admin, monkeypatch):
    """Five guesses arriving while a sixth is being checked: each is counted before it is
    checked, so no more than five are ever checked per window (a count read first and added
    after would let every one of them through)."""
    from casebridge.books.models import RecoveryCode
    from tests.twofactor import enrol

    enrol(admin)
    twofactor.failures_clear("books", admin.pk)
    checked: list[str] = []
    refused: list[int] = []
    real_match = twofactor.totp_match

    def match_while_others_arrive(secret, code, now):
        checked.append(code)
        if len(checked) == 1:  # the others arrive while this one is being checked
            for _ in range(5):
                try:
                    twofactor.verify(admin, "000001", recovery_model=RecoveryCode, now=now)
                except twofactor.TooManyCodes:
                    refused.append(1)
                except twofactor.CodeInvalid:
                    pass
        return real_match(secret, code, now)

    monkeypatch.setattr(twofactor, "totp_match", match_while_others_arrive)
    with pytest.raises(twofactor.CodeInvalid):
        twofactor.verify(admin, "000000", recovery_model=RecoveryCode, now=clock.now())
    assert (len(checked), len(refused)) == (5, 1)
    assert twofactor.failure_count("books", admin.pk) == 5
