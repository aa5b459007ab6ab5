"""API test helpers: a JSON client over Django's test client (``api``), the same over real
HTTP against ``live_server`` (``live``), tokens, and a second firm for scoping tests."""

from __future__ import annotations

import datetime as dt
import json
import urllib.error
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import pytest
from django.test import Client

from casebridge.books.models import (
    Check,
    Contact,
    File,
    IdempotencyRecord,
    Invoice,
    JournalEntry,
    Posting,
    TrustReceipt,
    User,
)
from casebridge.books.services import auth, checks, files, two_factor
from casebridge.core.models import AuditEvent
from tests.conftest import PASSWORD
from tests.twofactor import enrol, fresh_code

BASE = "/books/api/v1"


@dataclass
class Reply:
    status: int
    body: Any
    headers: Mapping[str, str] = field(default_factory=dict)

    @property
    def error(self) -> dict[str, Any]:
        assert isinstance(self.body, dict), self.body
        assert "error" in self.body, self.body
        return dict(self.body["error"])


def _decode(raw: bytes) -> Any:
    return json.loads(raw) if raw else None


class ApiClient:
    """JSON requests through Django's test client (same process, same transaction)."""

    def __init__(self, client: Client, token: str | None = None) -> None:
        self.client = client
        self.token = token

    def _headers(self, key: str | None, extra: Mapping[str, str] | None) -> dict[str, str]:
        headers = dict(extra or {})
        if self.token:
            headers.setdefault("Authorization", f"Bearer {self.token}")
        if key is not None:
            headers["Idempotency-Key"] = key
        return headers

    def _reply(self, response: Any) -> Reply:
        assert response.status_code < 500, response.content
        return Reply(response.status_code, _decode(response.content), dict(response.headers))

    def get(self, path: str, params: Mapping[str, Any] | None = None, **headers: str) -> Reply:
        response = self.client.get(BASE + path, params or {}, headers=self._headers(None, headers))
        return self._reply(response)

    def post(
        self,
        path: str,
        body: Any = None,
        *,
        key: str | None = None,
        raw: str | bytes | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> Reply:
        data = raw if raw is not None else ("" if body is None else json.dumps(body))
        response = self.client.post(
            BASE + path,
            data=data,
            content_type="application/json",
            headers=self._headers(key, headers),
        )
        return self._reply(response)

    def delete(self, path: str) -> Reply:
        return self._reply(self.client.delete(BASE + path, headers=self._headers(None, None)))

    def patch(self, path: str, body: Any) -> Reply:
        return self._send(self.client.patch, path, body)

    def put(self, path: str, body: Any) -> Reply:
        return self._send(self.client.put, path, body)

    def _send(self, method: Any, path: str, body: Any) -> Reply:
        response = method(
            BASE + path,
            data=json.dumps(body),
            content_type="application/json",
            headers=self._headers(None, None),
        )
        return self._reply(response)


class LiveClient:
    """The same over real HTTP (urllib) against pytest-django's live server."""

    def __init__(self, url: str, token: str | None = None) -> None:
        self.url = url + BASE
        self.token = token

    def request(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        key: str | None = None,
        raw: bytes | None = None,
        token: str | None = None,
    ) -> Reply:
        data = raw if raw is not None else (None if body is None else json.dumps(body).encode())
        req = urllib.request.Request(self.url + path, data=data, method=method)  # noqa: S310
        req.add_header("Content-Type", "application/json")
        bearer = token or self.token
        if bearer:
            req.add_header("Authorization", f"Bearer {bearer}")
        if key is not None:
            req.add_header("Idempotency-Key", key)
        try:
            with urllib.request.urlopen(req, timeout=30) as resp:  # noqa: S310 - loopback
                return Reply(resp.status, _decode(resp.read()), dict(resp.headers))
        except urllib.error.HTTPError as err:
            reply = Reply(err.code, _decode(err.read()), dict(err.headers))
            assert reply.status < 500, reply.body
            return reply

    def get(self, path: str, **kw: Any) -> Reply:
        return self.request("GET", path, **kw)

    def post(self, path: str, body: Any = None, **kw: Any) -> Reply:
        return self.request("POST", path, body, **kw)

    def delete(self, path: str, **kw: Any) -> Reply:
        return self.request("DELETE", path, **kw)


def issue_token(firm_code: str, email: str, **kw: Any) -> str:
    """A token for a user of the test password, past the second factor: a fresh code for a
    user who has a TOTP (or must: enrolled with the fixed secret first)."""
    user = User.objects.filter(firm__code=firm_code, email__iexact=email).first()
    if user is not None and two_factor.totp_applies(user) and "totp" not in kw:
        kw["totp"] = fresh_code(enrol(user), at=kw.get("now"))
    return auth.integration_session_create(
        firm_code=firm_code, email=email, password=PASSWORD, **kw
    ).token


@pytest.fixture
def token(admin) -> str:
    return issue_token("smith-pi", admin.email)


@pytest.fixture
def api(client, token) -> ApiClient:
    return ApiClient(client, token)


@pytest.fixture
def anonymous(client) -> ApiClient:
    return ApiClient(client)


@pytest.fixture
def live(live_server) -> LiveClient:
    return LiveClient(live_server.url)


@pytest.fixture
def other_user(other_firm):
    user = auth.user_create(
        firm=other_firm, email="pat@jones.test", password=PASSWORD, records_time=True
    )
    return auth.security_question_enroll(user=user, question="Favourite colour?", answer="Teal")


@pytest.fixture
def other_file(other_firm, other_user) -> File:
    client, _ = files.contact_find_or_create(
        firm=other_firm, actor=other_user, name="Jones Client", external_ref="jones-client"
    )
    file, _ = files.file_find_or_create(
        firm=other_firm,
        actor=other_user,
        name="Jones v. Somebody",
        client=client,
        external_ref="jones-case-1",
        opened_on=dt.date(2026, 1, 2),
    )
    return file


@pytest.fixture
def funded_file(firm, admin, trust, client_file) -> File:
    """The client file with 1,000.00 in trust."""
    checks.trust_receipt_record(
        firm=firm,
        actor=admin,
        bank_account_id=trust.pk,
        file_id=client_file.pk,
        payer="Acme Insurance",
        amount_cents=100_000,
        received_on=dt.date(2026, 3, 2),
        reference="88123",
    )
    return client_file


def row_counts() -> dict[str, int]:
    """How many rows the writing endpoints could have added, to assert nothing was."""
    return {
        model.__name__: model.objects.count()
        for model in (
            Check,
            Contact,
            File,
            IdempotencyRecord,
            Invoice,
            JournalEntry,
            Posting,
            TrustReceipt,
            AuditEvent,
        )
    }
