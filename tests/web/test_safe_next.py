"""Where a pop-up goes back to after saving (``next``): a path on this site, else the
screen's default; never another site, never a bare word ``redirect`` would take for a
URL name (that was a 500), never one with a control character (a newline in the redirect
header was a 500 too)."""

from __future__ import annotations

import pytest
from django.test import RequestFactory

from casebridge.web.popups import safe_next


@pytest.mark.parametrize(
    ("candidate", "expected"),
    [
        ("/books/invoices/?tab=review", "/books/invoices/?tab=review"),
        ("a b", "/default/"),
        ("invoices", "/default/"),
        ("//evil.example/x", "/default/"),
        ("/\\evil.example/x", "/default/"),
        ("https://evil.example/", "/default/"),
        ("http://testserver/books/", "/default/"),
        ("", "/default/"),
        (None, "/default/"),
        # a control character: Django's host check reads past tabs and newlines, and a
        # newline in the redirect header is a 500 after the write was saved
        ("/books/invoices/\nSet-Cookie: x=1", "/default/"),
        ("/books/invoices/\r", "/default/"),
        ("/\t/evil.example/", "/default/"),
        ("/books/\x00invoices/", "/default/"),
        ("/books/\x1finvoices/", "/default/"),
        ("/books/\x7finvoices/", "/default/"),
        ("/books/invoices/?q=caf%C3%A9 %0A", "/books/invoices/?q=caf%C3%A9 %0A"),
    ],
)
def test_next_is_a_path_on_this_site_or_the_default(candidate, expected):
    request = RequestFactory().post("/books/invoices/1/advance/")
    assert safe_next(request, candidate, "/default/") == expected
