"""A side's web sessions: who is signed in, the pending sign-in between the password and
the code, and the end of every other session when the password changes.

The books and the cases side each have their own user table and their own keys in the one
Django session (a browser may be signed in to both), so each builds one
:class:`SideSessions` with its prefix and its way of loading a user; their ``auth`` modules
keep the rules of who may see which page.

- ``<side>_user_id``: the signed-in user.
- ``<side>_auth``: a keyed hash of the user's password hash when the session started
  (Django's ``get_session_auth_hash`` idea). A session whose hash no longer matches, because
  the password was changed or reset since (by the user elsewhere, an administrator, or a
  reset link), is signed out at its next request: a password change ends every other
  session of the user. The session that changed it is carried over (:meth:`renew`). A
  session without the hash (one started before this rule) is signed out too: fail closed.
- ``<side>_pending_signin``: the user's id, since when, where to go next and the same hash
  (a password change meanwhile ends it too), for
  :data:`~casebridge.core.twofactor.PENDING_SECONDS`, between a right password and the code.
- ``<side>_totp_setup``: the secret being set up (encrypted), until a code confirms it.
"""

from __future__ import annotations

import hmac
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, Protocol, TypeVar

from django.http import HttpRequest
from django.utils.crypto import salted_hmac

from casebridge.core import clock, twofactor


class SessionUser(Protocol):
    pk: Any
    password: Any


U = TypeVar("U", bound=SessionUser)


@dataclass(frozen=True)
class SideSessions(Generic[U]):
    """The session keys of one side (``prefix``: ``books`` or ``cases``)."""

    prefix: str
    #: The active user of that id (with its firm), or None.
    load: Callable[[int], U | None]
    #: Signing out ends the whole browser session (the books) or only this side's keys
    #: (the cases side: a books session in the same browser stays).
    flush_on_logout: bool = False
    #: Told the request's user whenever it changes (a side that keeps its user on the
    #: request: the cases side's capabilities).
    remember: Callable[[HttpRequest, U | None], None] | None = None

    def _remember(self, request: HttpRequest, user: U | None) -> None:
        if self.remember is not None:
            self.remember(request, user)

    @property
    def user_key(self) -> str:
        return f"{self.prefix}_user_id"

    @property
    def auth_key(self) -> str:
        return f"{self.prefix}_auth"

    @property
    def pending_key(self) -> str:
        return f"{self.prefix}_pending_signin"

    @property
    def setup_key(self) -> str:
        return f"{self.prefix}_totp_setup"

    def auth_hash(self, user: U) -> str:
        """Changes whenever the user's password does (the stored hash is salted anew)."""
        return salted_hmac(
            f"casebridge.web.sessions.{self.prefix}", user.password, algorithm="sha256"
        ).hexdigest()

    # -- the signed-in user ----------------------------------------------------------------

    def user(self, request: HttpRequest) -> U | None:
        """The session's user: active, and with the password the session started with;
        else None, and a session whose password changed forgets its user."""
        session = getattr(request, "session", None)
        if session is None:
            return None
        user_id = session.get(self.user_key)
        if not isinstance(user_id, int):
            return None
        user = self.load(user_id)
        if user is None:
            return None
        stored = session.get(self.auth_key)
        if not isinstance(stored, str) or not hmac.compare_digest(stored, self.auth_hash(user)):
            session.pop(self.user_key, None)
            session.pop(self.auth_key, None)
            return None
        return user

    def values(self, user: U) -> dict[str, object]:
        """The keys a signed-in session of ``user`` holds (what :meth:`login` writes; for a
        test or a bench that builds a session without the sign-in screens)."""
        return {self.user_key: user.pk, self.auth_key: self.auth_hash(user)}

    def login(self, request: HttpRequest, user: U) -> None:
        request.session.cycle_key()
        self.pending_clear(request)
        request.session[self.user_key] = user.pk
        request.session[self.auth_key] = self.auth_hash(user)
        self._remember(request, user)

    def renew(self, request: HttpRequest, user: U) -> None:
        """After the signed-in user changed their own password: this session goes on (with
        a new key), every other one of theirs is signed out at its next request."""
        request.session.cycle_key()
        request.session[self.auth_key] = self.auth_hash(user)
        self._remember(request, user)

    def logout(self, request: HttpRequest) -> None:
        if self.flush_on_logout:
            request.session.flush()
        else:
            request.session.pop(self.user_key, None)
            request.session.pop(self.auth_key, None)
            request.session.cycle_key()
        self._remember(request, None)

    # -- a sign-in waiting for its code ------------------------------------------------------

    def pending_start(self, request: HttpRequest, user: U, next_url: str) -> None:
        """The password was right; the code is still to come. Not signed in."""
        request.session.cycle_key()
        request.session.pop(self.user_key, None)
        request.session.pop(self.auth_key, None)
        request.session[self.pending_key] = {
            "user_id": user.pk,
            "at": clock.now().timestamp(),
            "next": next_url,
            # a password change before the code comes ends the pending sign-in too
            "auth": self.auth_hash(user),
        }
        self._remember(request, None)

    def pending_user(self, request: HttpRequest) -> U | None:
        """The user of a pending sign-in still within its time, else None (and forgotten)."""
        pending = request.session.get(self.pending_key)
        if not isinstance(pending, dict):
            return None
        age = clock.now().timestamp() - float(pending.get("at", 0))
        user_id = pending.get("user_id")
        user = None
        if 0 <= age <= twofactor.PENDING_SECONDS and isinstance(user_id, int):
            user = self.load(user_id)
        stored = pending.get("auth")
        if user is not None and (
            not isinstance(stored, str) or not hmac.compare_digest(stored, self.auth_hash(user))
        ):
            user = None
        if user is None:
            self.pending_clear(request)
        return user

    def pending_next(self, request: HttpRequest) -> str:
        pending = request.session.get(self.pending_key)
        return str(pending.get("next", "")) if isinstance(pending, dict) else ""

    def pending_clear(self, request: HttpRequest) -> None:
        request.session.pop(self.pending_key, None)
        request.session.pop(self.setup_key, None)
