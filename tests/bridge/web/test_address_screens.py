"""Issue 13 on the screens and the API: a refused books address shows at its field with its
code, and a firm administrator confirms (and removes) the books addresses the bridge may
reach on the Integrations screen; nobody else can."""

from __future__ import annotations

from django.test import Client
from django.urls import reverse

from casebridge.bridge.models import BooksAddressConfirmation, BooksJob, Connection
from casebridge.cases.services import firms
from casebridge.core.models import AuditEvent
from tests.bridge.conftest import INTEGRATION_EMAIL, PASSWORD
from tests.bridge.test_api import Api
from tests.bridge.test_outbound import ODD, loopback, metadata

from .conftest import HX, sign_in, text

INTEGRATIONS = "/cases/settings/integrations/"


def _office_client(cases) -> Client:
    """Account Settings, but not a firm administrator."""
    office = firms.user_create(
        firm=cases.firm,
        actor=None,
        email="office@lopez.test",
        password=PASSWORD,
        first_name="Olga",
        last_name="Office",
        perm_admin_settings=True,
    )
    return sign_in(Client(), office)


def test_an_odd_books_address_is_refused_at_its_field_and_nothing_is_queued(cases, admin_client):
    response = admin_client.post(
        reverse("bridge:activate"),
        {
            "books_url": "http://0x7f000001:8000/books/api/v1",
            "books_firm_code": "lopez-pi",
            "username": INTEGRATION_EMAIL,
            "password": PASSWORD,
        },
        **HX,
    )
    assert response.status_code == 422
    assert f'id="id_books_url_error"><p>{ODD.replace("&", "&amp;")}</p>' in text(response)
    assert not BooksJob.objects.exists()
    assert not Connection.objects.exists()


def test_the_api_refuses_a_metadata_address_with_its_code(cases):
    status, body = Api("admin@lopez.test").post(
        "/activate",
        {
            "books_url": "http://169.254.169.254/latest/meta-data",
            "books_firm_code": "lopez-pi",
            "username": INTEGRATION_EMAIL,
            "password": PASSWORD,
        },
    )
    assert (status, body) == (
        422,
        {
            "error": {
                "code": "books_address_metadata",
                "message": metadata("169.254.169.254:80"),
                "field": "books_url",
            }
        },
    )
    assert not BooksJob.objects.exists()


def test_a_firm_administrator_confirms_and_removes_an_address_on_the_integrations_screen(
    cases, admin_client
):
    page = text(admin_client.get(INTEGRATIONS))
    assert "Allowed books addresses" in page
    assert "None confirmed" in page
    assert ">Confirm a books address<" in page

    response = admin_client.post(
        reverse("bridge:address_confirm"), {"address": "Books.Lopez.Internal:8443"}, **HX
    )
    assert (response.status_code, response["HX-Redirect"]) == (200, INTEGRATIONS)
    confirmation = BooksAddressConfirmation.objects.get()
    assert (confirmation.firm, confirmation.host, confirmation.port) == (
        cases.firm,
        "books.lopez.internal",
        8443,
    )
    page = text(admin_client.get(INTEGRATIONS))
    assert "books.lopez.internal:8443 is confirmed: the bridge may reach it." in page
    assert 'data-address="books.lopez.internal:8443"' in page
    assert "confirmed by admin@lopez.test" in page

    response = admin_client.post(reverse("bridge:address_confirm"), {"address": "[::1]:8000"}, **HX)
    assert response.status_code == 422
    assert f'id="id_address_error"><p>{loopback("[::1]:8000")}</p>' in text(response)

    response = admin_client.post(
        reverse("bridge:address_remove", args=[confirmation.pk]), {"confirm": "on"}, **HX
    )
    assert (response.status_code, response["HX-Redirect"]) == (200, INTEGRATIONS)
    assert not BooksAddressConfirmation.objects.exists()
    assert list(
        AuditEvent.objects.filter(entity_type="books_address")
        .order_by("pk")
        .values_list("action", "actor_id")
    ) == [("confirm_address", cases.admin.pk), ("remove_address", cases.admin.pk)]


def test_someone_with_account_settings_but_not_a_firm_administrator_cannot_confirm(cases):
    client = _office_client(cases)
    page = text(client.get(INTEGRATIONS))
    assert "Allowed books addresses" in page
    assert ">Confirm a books address<" not in page
    response = client.post(
        reverse("bridge:address_confirm"), {"address": "books.lopez.internal:8443"}, **HX
    )
    assert response.status_code == 422
    assert "Confirming needs a firm administrator." in text(response)
    assert "<p>Only a firm administrator can confirm a books address</p>" in text(response)
    assert not BooksAddressConfirmation.objects.exists()
    assert not AuditEvent.objects.filter(entity_type="books_address").exists()


def test_someone_with_account_settings_but_not_a_firm_administrator_cannot_remove(
    cases, admin_client
):
    admin_client.post(reverse("bridge:address_confirm"), {"address": "books.lopez.internal:8443"})
    confirmation = BooksAddressConfirmation.objects.get()
    client = _office_client(cases)
    assert 'aria-label="Remove books.lopez.internal:8443"' not in text(client.get(INTEGRATIONS))
    response = client.post(
        reverse("bridge:address_remove", args=[confirmation.pk]), {"confirm": "on"}, **HX
    )
    assert response.status_code == 422
    assert "<p>Only a firm administrator can remove a confirmed books address</p>" in text(response)
    assert BooksAddressConfirmation.objects.count() == 1


def test_another_firms_confirmation_is_not_found(cases, admin_client):
    other = firms.firm_create(code="jones", name="Jones Law")
    admin = firms.user_create(
        firm=other,
        actor=None,
        email="admin@jones.test",
        password=PASSWORD,
        first_name="J",
        last_name="Jones",
        is_firm_admin=True,
    )
    from casebridge.bridge.services import connection as conn_services

    theirs = conn_services.books_address_confirm(
        firm=other, actor=admin, address="books.jones.internal:443"
    )
    response = admin_client.post(
        reverse("bridge:address_remove", args=[theirs.pk]), {"confirm": "on"}, **HX
    )
    assert response.status_code == 404
    assert BooksAddressConfirmation.objects.count() == 1
