"""The shared sign-in throttle (ADR 0017): back-off per account, per address and per known
pair, counted in the shared cache, time read through ``casebridge.core.clock``; the client
address behind trusted proxies; the dummy hash that makes every refusal cost one hash."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from config import settings as project_settings
from django.contrib.auth.hashers import check_password as django_check_password
from django.core.exceptions import ImproperlyConfigured
from django.test import RequestFactory, override_settings

from casebridge.core import clock, signin
from casebridge.core.errors import TooManyAttempts
from casebridge.core.throttle import (
    Limits,
    SignInAttempt,
    backoff_seconds,
    client_address,
    wait_phrase,
)

T = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)
ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.django_db


@pytest.fixture
def clock_at(monkeypatch) -> Callable[[float], None]:
    """``clock_at(s)``: the clock reads T + s seconds from now on."""

    def move(seconds: float) -> None:
        moment = T + dt.timedelta(seconds=seconds)
        monkeypatch.setattr(clock, "now", lambda: moment)

    move(0)
    return move


def attempt(username="sam@smith.test", address="203.0.113.7", firm="smith-pi", scope="books"):
    return SignInAttempt(scope=scope, firm_code=firm, username=username, address=address)


def wait_of(a: SignInAttempt) -> int:
    """0 when the attempt may go, else the Retry-After it is refused with."""
    try:
        a.check()
    except TooManyAttempts as exc:
        refusal = exc
    else:
        return 0
    assert (refusal.code, refusal.http_status) == ("too_many_attempts", 429)
    return int(refusal.details["retry_after"])


def fail(a: SignInAttempt, times: int) -> None:
    for _ in range(times):
        assert wait_of(a) == 0
        a.failed()


# --- the back-off ----------------------------------------------------------------------------


def test_the_backoff_doubles_after_the_free_failures_up_to_the_cap():
    limits = Limits(free=5, base=30, cap=900, forget=86400)
    assert [backoff_seconds(n, limits) for n in range(12)] == [
        0, 0, 0, 0, 0, 30, 60, 120, 240, 480, 900, 900,
    ]  # fmt: skip
    assert backoff_seconds(10_000, limits) == 900  # no overflow however many


def test_five_failures_for_an_account_make_the_sixth_wait_30_seconds(clock_at):
    sam = attempt()
    fail(sam, 5)
    with pytest.raises(TooManyAttempts) as info:
        sam.check()
    assert info.value.message == "too many failed sign-ins; try again in 30 seconds"
    assert info.value.details == {"retry_after": 30}

    clock_at(29)
    assert wait_of(sam) == 1
    clock_at(30)
    assert wait_of(sam) == 0


def test_each_further_failure_doubles_the_wait_up_to_15_minutes(clock_at):
    sam = attempt()
    fail(sam, 5)
    moment = 0
    for expected in (30, 60, 120, 240, 480, 900, 900):
        assert wait_of(sam) == expected
        moment += expected
        clock_at(moment)
        sam.failed()
    assert wait_of(sam) == 900


def test_attempts_refused_while_waiting_are_not_counted(clock_at):
    sam = attempt()
    fail(sam, 5)
    for second in range(10):
        clock_at(second)
        assert wait_of(sam) == 30 - second  # hammering does not lengthen the wait
    clock_at(30)
    assert wait_of(sam) == 0


def test_the_throttle_is_per_account_firm_and_side(clock_at):
    fail(attempt(), 5)
    assert wait_of(attempt()) == 30
    assert wait_of(attempt(username="SAM@smith.test ")) == 30  # as typed, lower-cased
    # another address is not spared: the account is backing off for every stranger
    assert wait_of(attempt(address="198.51.100.9")) == 30
    assert wait_of(attempt(username="ada@smith.test")) == 0
    assert wait_of(attempt(firm="jones-law")) == 0
    assert wait_of(attempt(scope="cases")) == 0


def test_one_password_across_many_usernames_backs_the_address_off(clock_at):
    for n in range(20):  # each username fails once: no account is backing off
        a = attempt(username=f"user{n}@smith.test")
        assert wait_of(a) == 0
        a.failed()
    assert wait_of(attempt(username="user21@smith.test")) == 30
    assert wait_of(attempt(username="user0@smith.test")) == 30
    # another firm's accounts from the same address too: the address is what is counted
    assert wait_of(attempt(username="boss@jones.test", firm="jones-law")) == 30
    # another address is not held back
    assert wait_of(attempt(username="user21@smith.test", address="198.51.100.9")) == 0


def test_an_ipv6_client_is_counted_by_its_64_network(clock_at):
    for n in range(20):
        attempt(username=f"user{n}@smith.test", address=f"2001:db8:1:2::{n + 1:x}").failed()
    assert wait_of(attempt(username="x@smith.test", address="2001:db8:1:2:ffff::1")) == 30
    assert wait_of(attempt(username="x@smith.test", address="2001:db8:1:3::1")) == 0


def test_failures_are_forgotten_a_day_after_the_last(clock_at):
    sam = attempt()
    fail(sam, 5)
    clock_at(86399)
    assert wait_of(sam) == 0  # the wait is long over, but the count stays:
    sam.failed()
    assert wait_of(sam) == 60
    clock_at(86399 + 86400)
    sam.failed()  # the count starts again
    assert wait_of(sam) == 0


# --- no lock a stranger can hold ---------------------------------------------------------------


def test_the_owner_at_a_known_address_signs_in_while_a_stranger_hammers(clock_at):
    owner = attempt(username="integration@smith.test", address="192.0.2.10")
    owner.succeeded()
    stranger = attempt(username="integration@smith.test", address="203.0.113.66")
    fail(stranger, 5)
    moment = 0
    for _ in range(10):  # the stranger keeps failing whenever the wait allows
        moment += wait_of(stranger)
        clock_at(moment)
        stranger.failed()
    assert wait_of(stranger) == 900
    assert wait_of(attempt(username="integration@smith.test", address="198.51.100.1")) == 900
    # the owner, from the address it signed in from, is not held back
    assert wait_of(owner) == 0
    # nor a month later (its monthly re-authentication), the stranger at it again
    clock_at(moment + 30 * 86400)
    fail(stranger, 5)
    assert wait_of(stranger) == 30
    assert wait_of(owner) == 0
    # and from its address the owner even survives a stranger's spray at other accounts there
    for n in range(25):
        attempt(username=f"u{n}@smith.test", address="192.0.2.10").failed()
    assert wait_of(attempt(username="x@smith.test", address="192.0.2.10")) == 900
    assert wait_of(owner) == 0


def test_a_known_address_still_backs_off_after_its_own_failures(clock_at):
    owner = attempt(address="192.0.2.10")
    owner.succeeded()
    fail(owner, 5)
    assert wait_of(owner) == 30


def test_a_success_clears_the_pairs_failures(clock_at):
    sam = attempt()
    fail(sam, 4)
    sam.succeeded()
    fail(sam, 4)  # not backing off: the count started again
    assert wait_of(sam) == 0
    sam.failed()
    assert wait_of(sam) == 30


def test_a_success_does_not_clear_what_strangers_did_to_the_account(clock_at):
    fail(attempt(address="203.0.113.66"), 5)
    attempt(address="192.0.2.10").succeeded()
    assert wait_of(attempt(address="198.51.100.1")) == 30


def test_a_known_address_is_forgotten_after_60_days(clock_at):
    owner = attempt(address="192.0.2.10")
    owner.succeeded()
    clock_at(60 * 86400 - 1)
    fail(attempt(address="203.0.113.66"), 5)
    assert wait_of(owner) == 0
    clock_at(60 * 86400)
    assert wait_of(owner) == 29  # unknown again: the account's back-off applies


@override_settings(SIGNIN_ACCOUNT_FREE_FAILURES=2, SIGNIN_BACKOFF_SECONDS=5)
def test_the_thresholds_are_settings(clock_at):
    sam = attempt()
    fail(sam, 2)
    assert wait_of(sam) == 5


def test_the_wait_is_said_in_seconds_then_minutes():
    assert [wait_phrase(s) for s in (1, 30, 119, 120, 121, 900)] == [
        "1 second",
        "30 seconds",
        "119 seconds",
        "2 minutes",
        "3 minutes",
        "15 minutes",
    ]


# --- the client's address ----------------------------------------------------------------------


def request_from(peer: str, forwarded: str | None = None):
    extra = {"REMOTE_ADDR": peer}
    if forwarded is not None:
        extra["HTTP_X_FORWARDED_FOR"] = forwarded
    return RequestFactory().post("/books/login/", **extra)


def test_x_forwarded_for_is_ignored_by_default():
    assert client_address(request_from("203.0.113.7", "10.1.1.1")) == "203.0.113.7"


@override_settings(CASEBRIDGE_TRUSTED_PROXIES=1)
def test_one_trusted_proxy_gives_the_address_it_saw():
    # the client put 6.6.6.6 in the header itself; the proxy appended what it saw
    request = request_from("10.0.0.2", "6.6.6.6, 198.51.100.4")
    assert client_address(request) == "198.51.100.4"
    assert client_address(request_from("10.0.0.2")) == "10.0.0.2"  # no header: the peer


@override_settings(CASEBRIDGE_TRUSTED_PROXIES=2)
def test_two_trusted_proxies_give_the_second_address_from_the_right():
    request = request_from("10.0.0.2", "6.6.6.6, 198.51.100.4, 10.0.0.9")
    assert client_address(request) == "198.51.100.4"
    assert client_address(request_from("10.0.0.2", "10.0.0.9")) == "10.0.0.2"  # too short


@override_settings(CASEBRIDGE_TRUSTED_PROXIES=["10.0.0.0/8"])
def test_listed_proxies_are_walked_past_from_the_right():
    request = request_from("10.0.0.2", "6.6.6.6, 198.51.100.4, 10.3.3.3")
    assert client_address(request) == "198.51.100.4"
    # a peer that is not a listed proxy sent the header itself: ignored
    assert client_address(request_from("203.0.113.7", "198.51.100.4")) == "203.0.113.7"
    # junk in the header gives the peer
    assert client_address(request_from("10.0.0.2", "not-an-address")) == "10.0.0.2"


def test_the_trusted_proxies_setting_is_a_count_or_networks():
    assert project_settings._trusted_proxies("") == 0
    assert project_settings._trusted_proxies(" 2 ") == 2
    assert project_settings._trusted_proxies("10.0.0.0/8, 192.168.1.5") == [
        "10.0.0.0/8",
        "192.168.1.5",
    ]
    with pytest.raises(ImproperlyConfigured, match=r"'proxy\.example' is neither a number"):
        project_settings._trusted_proxies("proxy.example")


def _settings_with(**env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", "import config.settings as s; print(s.SIGNIN_BACKOFF_CAP_SECONDS)"],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": f"{ROOT / 'src'}{os.pathsep}{ROOT}", **env},
        capture_output=True,
        text=True,
        check=False,
    )


def test_settings_refuse_failures_forgotten_before_their_wait_is_over():
    done = _settings_with(
        CASEBRIDGE_SIGNIN_BACKOFF_CAP_SECONDS="3600", CASEBRIDGE_SIGNIN_FORGET_SECONDS="600"
    )
    assert done.returncode != 0
    assert (
        "ImproperlyConfigured: CASEBRIDGE_SIGNIN_FORGET_SECONDS (600) must be at least "
        "CASEBRIDGE_SIGNIN_BACKOFF_CAP_SECONDS (3600)"
    ) in done.stderr
    bad = _settings_with(CASEBRIDGE_SIGNIN_ACCOUNT_FREE_FAILURES="0")
    assert (
        "CASEBRIDGE_SIGNIN_ACCOUNT_FREE_FAILURES must be a whole number of at least 1 (it is '0')"
    ) in bad.stderr
    assert _settings_with(CASEBRIDGE_SIGNIN_BACKOFF_CAP_SECONDS="1200").stdout.strip() == "1200"


# --- the same work for an unknown user ----------------------------------------------------------


def test_no_user_still_costs_one_hash_against_the_dummy(monkeypatch):
    checked: list[str] = []

    def counting(password: str, encoded: str, *args: object, **kwargs: object) -> bool:
        checked.append(encoded)
        return django_check_password(password, encoded)

    monkeypatch.setattr(signin, "check_password", counting)
    assert signin.password_matches("anything", None) is False
    assert signin.password_matches("anything", "!unusable") is False
    assert checked == [signin.dummy_password_hash()] * 2
    assert checked[0].startswith("md5$")  # the configured (test) hasher's
    assert signin.dummy_password_hash() is signin.dummy_password_hash()  # made once


def test_a_flood_of_other_counters_does_not_cull_an_accounts_backoff(clock_at):
    """The database cache culls a third of its rows past MAX_ENTRIES (Django's default:
    300): guesses at many usernames must not wipe the back-off of the account attacked."""
    target = attempt(address="203.0.113.66")
    fail(target, 5)
    for n in range(400):
        attempt(username=f"u{n}@smith.test", address=f"198.51.{n // 250}.{n % 250}").failed()
    assert wait_of(target) == 30
