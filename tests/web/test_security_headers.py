"""Every page carries the Content-Security-Policy (django-csp): only the site's own scripts
and styles, nothing inline; the screens are written to it (tests/browser/test_csp.py loads
them in Chromium and listens for violations)."""

from __future__ import annotations

POLICY = {
    "default-src 'self'",
    "base-uri 'none'",
    "connect-src 'self'",
    "font-src 'self'",
    "form-action 'self'",
    "frame-ancestors 'none'",
    "img-src 'self' data:",
    "object-src 'none'",
    "script-src 'self'",
    "style-src 'self'",
}


def test_every_page_carries_the_content_security_policy(db, client):
    for url in ("/", "/books/login/", "/cases/login/", "/books/no-such-page/"):
        response = client.get(url)
        assert set(response["Content-Security-Policy"].split("; ")) == POLICY, url


def test_pages_may_not_be_framed_nor_sniffed(db, client):
    response = client.get("/books/login/")
    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "same-origin"
