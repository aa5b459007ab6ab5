"""Production behind a TLS proxy (issue 13), at the HTTP level: with the forwarded
protocol trusted, a request the proxy marks https is answered (with HSTS) and a form whose
Origin is https://... passes the origin check; a plain-HTTP request is redirected to HTTPS.
Without the proxy setting, the same form is refused 403 (the origin is https, Django
believes it serves http). The browser test (tests/browser/test_tls_proxy.py) goes through
a real TLS-terminating proxy."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from casebridge.books.auth import PENDING_KEY, SESSION_KEY
from tests.conftest import PASSWORD

#: What the proxy passes: the browser's Host and the protocol it used.
HTTPS = {"HTTP_X_FORWARDED_PROTO": "https", "HTTP_HOST": "testserver"}
ORIGIN = {"HTTP_ORIGIN": "https://testserver", "HTTP_REFERER": "https://testserver/books/login/"}


@pytest.fixture
def production(settings):
    settings.SECURE_SSL_REDIRECT = True
    settings.SECURE_HSTS_SECONDS = 31_536_000
    settings.SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    settings.SECURE_HSTS_PRELOAD = True
    settings.SESSION_COOKIE_SECURE = True
    settings.CSRF_COOKIE_SECURE = True
    return settings


def signed_in_post(client: Client, admin) -> int:
    page = client.get(reverse("books:login"), **HTTPS)
    assert page.status_code == 200
    token = client.cookies["csrftoken"].value
    response = client.post(
        reverse("books:login"),
        {
            "firm": "smith-pi",
            "email": admin.email,
            "password": PASSWORD,
            "csrfmiddlewaretoken": token,
        },
        **HTTPS,
        **ORIGIN,
    )
    return response.status_code


def test_behind_the_proxy_https_requests_are_served_with_hsts_and_forms_accepted(
    production, firm, admin
):
    production.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    client = Client(enforce_csrf_checks=True)
    page = client.get(reverse("books:login"), **HTTPS)
    assert page.status_code == 200
    assert page["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains; preload"
    assert client.cookies["csrftoken"]["secure"] is True
    assert signed_in_post(client, admin) == 302
    # the password was taken (CSRF passed): an administrator's second factor comes next
    assert client.session[PENDING_KEY]["user_id"] == admin.pk
    assert client.cookies["sessionid"]["secure"] is True


def test_a_plain_http_request_is_redirected_to_https(production, db):
    production.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    response = Client().get("/books/login/?next=/books/")
    assert response.status_code == 301
    assert response["Location"] == "https://testserver/books/login/?next=/books/"


def test_without_the_proxy_setting_the_form_is_refused(settings, firm, admin):
    settings.SECURE_PROXY_SSL_HEADER = None
    client = Client(enforce_csrf_checks=True)
    assert signed_in_post(client, admin) == 403
    assert SESSION_KEY not in client.session
