"""Bearer-token helpers shared by the APIs: making a token (shown once, only its SHA-256
stored), hashing one for lookup, reading the authenticated context off a request, and the
peer address for audit trails."""

from __future__ import annotations

import hashlib
import secrets
from typing import TypeVar

from django.http import HttpRequest

from casebridge.core.throttle import client_address

C = TypeVar("C")


def new_bearer_token(prefix: str) -> str:
    """``prefix`` + 32 random bytes, URL-safe (43 characters)."""
    return prefix + secrets.token_urlsafe(32)


def token_hash(token: str) -> str:
    """What is stored and looked up: the token's SHA-256, hex."""
    return hashlib.sha256(token.encode()).hexdigest()


def request_context(request: HttpRequest, kind: type[C]) -> C:
    """The context the API's bearer authentication attached as ``request.auth``."""
    ctx = getattr(request, "auth", None)
    if not isinstance(ctx, kind):
        raise RuntimeError("endpoint reached without bearer authentication")
    return ctx


def client_ip(request: HttpRequest) -> str:
    """The client's address: the peer's, unless ``CASEBRIDGE_TRUSTED_PROXIES`` names the
    reverse proxies whose ``X-Forwarded-For`` may be believed (any client can send the
    header, and the sign-in throttle and audit trail must not be spoofable)."""
    return client_address(request)
