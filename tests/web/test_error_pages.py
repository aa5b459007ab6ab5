"""The error pages are the site's own (issue 13): with DEBUG off a 404 is the branded page,
not Django's technical page listing every URL pattern; a failing view answers the branded
500 page, which needs no database (it is rendered without a request, possibly because the
database is down) and shows nothing of the failure. Each has a way back to both sides."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.test import Client
from django.urls import path

WAY_BACK = ('href="/cases/"', 'href="/books/"')


def text(response) -> str:
    return response.content.decode()


def assert_branded(body: str, heading: str) -> None:
    assert f"<h1>{heading}</h1>" in body
    assert '<span class="brand-text">Casebridge</span>' in body
    assert "casebridge/casebridge.css" in body
    for link in WAY_BACK:
        assert link in body


def test_debug_is_off_in_the_test_run_as_in_production():
    assert settings.DEBUG is False


def test_a_404_is_the_branded_page_and_lists_no_url_pattern(db, client):
    response = client.get("/books/no-such-page/")
    assert response.status_code == 404
    body = text(response)
    assert_branded(body, "This page does not exist")
    assert "Error 404" in body
    for leak in ("URLconf", "api/v1", "integrations/books", "Page not found at"):
        assert leak not in body


def test_a_404_from_the_api_is_not_the_technical_page_either(db, client):
    response = client.get("/cases/nothing-here/")
    assert response.status_code == 404
    assert "URLconf" not in text(response)


@pytest.mark.urls("tests.web.urls")
def test_a_failing_view_answers_the_branded_500_without_touching_the_database():
    """No ``db`` fixture: any query while handling the failure would raise here."""
    client = Client(raise_request_exception=False)
    response = client.get("/boom/")
    assert response.status_code == 500
    body = text(response)
    assert_branded(body, "Something went wrong on our side")
    assert "Error 500" in body
    assert "secret detail" not in body
    assert "RuntimeError" not in body
    assert "Traceback" not in body


def refused(request):
    raise PermissionDenied("internal reason")


urlpatterns = [path("refused/", refused)]


@pytest.mark.urls(__name__)
def test_a_permission_refusal_is_the_branded_403(db, client):
    response = client.get("/refused/")
    assert response.status_code == 403
    body = text(response)
    assert_branded(body, "You are not allowed to do this")
    assert "internal reason" not in body


def test_a_form_without_its_csrf_token_is_the_branded_403(db):
    client = Client(enforce_csrf_checks=True)
    response = client.post("/books/login/", {"firm": "x", "email": "a@b.c", "password": "p"})
    assert response.status_code == 403
    body = text(response)
    assert_branded(body, "This form could not be accepted")
    assert "CSRF verification failed" not in body  # Django's own page
    assert "Nothing was saved." in body


@pytest.mark.parametrize(
    ("template", "heading"),
    [("400.html", "The request could not be understood"), ("429.html", "Too many requests")],
)
def test_the_other_error_templates_are_branded(template, heading):
    from django.template.loader import render_to_string

    assert_branded(render_to_string(template), heading)
