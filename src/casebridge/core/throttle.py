"""Sign-in throttling without lockout, counted in the shared cache (ADR 0017).

Both sides' sign-in services (screens and API token endpoints alike) call
:meth:`SignInAttempt.check` before they look at the password, then ``failed`` or
``succeeded``. Failures are counted in Django's cache (``django.core.cache``),
which every web process shares: the database cache by default, Redis when configured.

Three counters of failures, each with the time of its last failure:

- per **account** (the side, the firm ID and the username as typed, lower-cased; an unknown
  firm or user is counted exactly like a known one, so a 429 tells nothing either);
- per **client address** (IPv6 by its /64, which one client usually holds whole): catches
  one password tried across many usernames;
- per **account and address pair**.

After ``free`` failures a counter backs off: the next attempt waits
``SIGNIN_BACKOFF_SECONDS``, doubled for each further failure, at most
``SIGNIN_BACKOFF_CAP_SECONDS``. An attempt made while backing off is refused with 429 and
``Retry-After`` before the password is looked at, and is not counted (so hammering does not
lengthen the wait, and costs the server no hash). Nothing sleeps in the request. A counter
is forgotten ``SIGNIN_FORGET_SECONDS`` after its last failure.

No lock a stranger can hold: a sign-in that succeeds marks its (account, address) pair as
known for ``SIGNIN_KNOWN_ADDRESS_DAYS`` and clears the pair's counter. From a known
address, only the pair's own counter applies, not the account's nor the address's: the
bridge's integration user re-authenticating from the address it signed in from last month
is not held back by a stranger's failures elsewhere (nor by other sign-ins' failures at
its own address). A success does not clear the account's or the address's counters, which
a stranger's guesses fed: signing in to one's own account does not buy guesses at others.

The time is read through :mod:`casebridge.core.clock` (tests move it); the cache's own
expiry only tidies up behind the logical one. A count is read, then written (the database
cache has no atomic increment): failures sent at the same instant in parallel may count as
one, so a client with many connections gets a few more guesses per wait, never a lock.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import ipaddress
import logging
import math
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.http import HttpRequest

from casebridge.core import clock
from casebridge.core.errors import DomainError, TooManyAttempts

log = logging.getLogger("casebridge.signin")

#: Longest address kept (the audit trail's column).
ADDRESS_MAX = 64


# --- The client's address ------------------------------------------------------------------


def _valid_ip(value: str) -> str | None:
    value = value.strip()
    if value.startswith("[") and "]" in value:  # [v6]:port
        value = value[1 : value.index("]")]
    try:
        return str(ipaddress.ip_address(value))
    except ValueError:
        return None


Networks = list[ipaddress.IPv4Network | ipaddress.IPv6Network]


def _is_trusted_proxy(address: str, networks: Networks) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in network for network in networks)


def client_address(request: HttpRequest) -> str:
    """The address a request came from: ``REMOTE_ADDR``, unless ``CASEBRIDGE_TRUSTED_PROXIES``
    says a reverse proxy stands in front, when ``X-Forwarded-For`` is read as far as it is
    trustworthy (any client can send the header, so by default it is ignored).

    - a number N: N proxies append to ``X-Forwarded-For``; the client is the N-th address
      from its right (the one the outermost trusted proxy saw);
    - a list of addresses or networks: when the peer is one of them, walk
      ``X-Forwarded-For`` from the right past those proxies; the first other is the client.

    A header shorter than promised, or an entry that is not an address, gives the peer."""
    peer = str(request.META.get("REMOTE_ADDR", ""))[:ADDRESS_MAX]
    trusted = settings.CASEBRIDGE_TRUSTED_PROXIES
    if not trusted:
        return peer
    forwarded = [
        part.strip()
        for part in str(request.META.get("HTTP_X_FORWARDED_FOR", "")).split(",")
        if part.strip()
    ]
    if isinstance(trusted, int):
        if len(forwarded) < trusted:
            return peer
        return _valid_ip(forwarded[-trusted]) or peer
    networks: Networks = [ipaddress.ip_network(net, strict=False) for net in trusted]
    if not _is_trusted_proxy(peer, networks):
        return peer
    for hop in reversed(forwarded):
        address = _valid_ip(hop)
        if address is None:
            return peer
        if not _is_trusted_proxy(address, networks):
            return address
    return peer


def address_key(address: str) -> str:
    """What an address is counted by: an IPv6 address by its /64 network."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return address
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.IPv6Network((int(ip), 64), strict=False))
    return str(ip)


# --- Counting --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Limits:
    free: int
    base: int
    cap: int
    forget: int


def _limits(free: int) -> Limits:
    return Limits(
        free=free,
        base=settings.SIGNIN_BACKOFF_SECONDS,
        cap=settings.SIGNIN_BACKOFF_CAP_SECONDS,
        forget=settings.SIGNIN_FORGET_SECONDS,
    )


def _account_limits() -> Limits:
    return _limits(settings.SIGNIN_ACCOUNT_FREE_FAILURES)


def _address_limits() -> Limits:
    return _limits(settings.SIGNIN_ADDRESS_FREE_FAILURES)


def _digest(*parts: str) -> str:
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()


@dataclass(frozen=True)
class _Keys:
    account: str
    address: str
    pair: str
    known: str


def _keys(scope: str, firm_code: str, username: str, address: str) -> _Keys:
    account = (firm_code.strip().lower(), username.strip().lower())
    where = address_key(address)
    return _Keys(
        account="signin:acct:" + _digest(scope, *account),
        address="signin:addr:" + _digest(scope, where),
        pair="signin:pair:" + _digest(scope, *account, where),
        known="signin:known:" + _digest(scope, *account, where),
    )


def _stamp(now: dt.datetime) -> float:
    return now.timestamp()


def backoff_seconds(failures: int, limits: Limits) -> int:
    """How long the next attempt waits after ``failures`` failures (0: it may go at once)."""
    if failures < limits.free:
        return 0
    doublings = min(failures - limits.free, 32)  # the cap is reached long before
    return int(min(limits.cap, limits.base * 2**doublings))


def _wait(record: Any, limits: Limits, now: float) -> int:
    """Seconds until the counter in ``record`` lets an attempt through."""
    if not isinstance(record, dict):
        return 0
    failures, last = int(record.get("n", 0)), float(record.get("last", 0.0))
    if now - last >= limits.forget:
        return 0
    until = last + backoff_seconds(failures, limits)
    return math.ceil(until - now) if until > now else 0


def _count(key: str, limits: Limits, now: float) -> int:
    """One more failure on the counter at ``key``; the new count."""
    record = cache.get(key)
    failures = 0
    if isinstance(record, dict) and now - float(record.get("last", 0.0)) < limits.forget:
        failures = int(record.get("n", 0))
    failures += 1
    cache.set(key, {"n": failures, "last": now}, timeout=limits.forget)
    return failures


def _is_known(keys: _Keys, now: float) -> bool:
    marked = cache.get(keys.known)
    if not isinstance(marked, int | float):
        return False
    return now - float(marked) < settings.SIGNIN_KNOWN_ADDRESS_DAYS * 86400


def wait_phrase(seconds: int) -> str:
    """``30 seconds``, ``1 second``, ``4 minutes`` (rounded up): when to try again."""
    if seconds < 120:
        return f"{seconds} second{'s' if seconds != 1 else ''}"
    return f"{math.ceil(seconds / 60)} minutes"


@dataclass(frozen=True)
class SignInAttempt:
    """One sign-in as the throttle sees it. ``scope`` keeps each side's counters apart
    ("books", "cases"); ``firm_code`` and ``username`` as typed (compared lower-cased);
    ``address`` from :func:`client_address`."""

    scope: str
    firm_code: str
    username: str
    address: str

    @property
    def _keys(self) -> _Keys:
        return _keys(self.scope, self.firm_code, self.username, self.address)

    def check(self, now: dt.datetime | None = None) -> None:
        """Refuse (:class:`TooManyAttempts`, 429, ``retry_after`` seconds) a sign-in that
        must wait: called before any password is checked."""
        at = _stamp(now or clock.now())
        keys = self._keys
        if _is_known(keys, at):
            waits = [_wait(cache.get(keys.pair), _account_limits(), at)]
        else:
            records = cache.get_many([keys.account, keys.address])
            waits = [
                _wait(records.get(keys.account), _account_limits(), at),
                _wait(records.get(keys.address), _address_limits(), at),
            ]
        wait = max(waits)
        if wait > 0:
            raise TooManyAttempts(
                f"too many failed sign-ins; try again in {wait_phrase(wait)}", retry_after=wait
            )

    def failed(self, now: dt.datetime | None = None) -> None:
        """Count a refused sign-in on its account, its address and their pair."""
        at = _stamp(now or clock.now())
        keys = self._keys
        account_limits, address_limits = _account_limits(), _address_limits()
        on_account = _count(keys.account, account_limits, at)
        on_address = _count(keys.address, address_limits, at)
        _count(keys.pair, account_limits, at)
        if on_account == account_limits.free or on_address == address_limits.free:
            log.warning(
                "%s sign-ins backing off after failures: %d for one account, %d from %s",
                self.scope,
                on_account,
                on_address,
                address_key(self.address) or "an unknown address",
            )

    def failed_with(self, refusal: DomainError, now: dt.datetime | None = None) -> DomainError:
        """Count this failure and return ``refusal`` to raise. Inside a transaction (an API
        view's) the count is left on ``refusal.outlive``, for whoever answers the refusal
        once the transaction has rolled back: on the database cache a count written inside
        it would roll back with it."""
        if transaction.get_connection().in_atomic_block:
            refusal.outlive.append(lambda: self.failed(now))
        else:
            self.failed(now)
        return refusal

    def succeeded(self, now: dt.datetime | None = None) -> None:
        """Mark the (account, address) pair known and clear its counter."""
        at = _stamp(now or clock.now())
        keys = self._keys
        cache.delete(keys.pair)
        cache.set(keys.known, at, timeout=settings.SIGNIN_KNOWN_ADDRESS_DAYS * 86400)
