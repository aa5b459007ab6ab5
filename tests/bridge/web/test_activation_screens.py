"""The Integrations card and the seed's two pop-ups, clicked through the screens, against
the books on a real port. The worker signs in (ADR 0008): the pop-up shows it pending and
polls; ``work`` plays the worker."""

from __future__ import annotations

import re

import pytest
from django.test import Client, RequestFactory
from django.urls import reverse

from casebridge.books.models import ActivityCode
from casebridge.bridge.integration import BooksIntegration
from casebridge.bridge.models import Connection, ConnectionStatus, InvoiceRelease
from casebridge.cases.auth import SESSIONS
from tests.bridge.conftest import INTEGRATION_EMAIL, PASSWORD, activate, work

from .conftest import HX, sign_in, text

INTEGRATIONS = "/cases/settings/integrations/"


def _select(page: str, name: str) -> str:
    match = re.search(rf'<select name="{name}".*?</select>', page, re.S)
    assert match, f"no select {name}"
    return match.group(0)


def _status(page: str) -> str:
    match = re.search(r'data-integration-status="books">([^<]*)<', page)
    assert match
    return match.group(1)


def _answer(client: Client, response, firm_id: int, *, username: str = INTEGRATION_EMAIL):
    """The pop-up after saving: the sign-in pending (polling), never the books' answer,
    which the worker gets (played here); then the poll's answer."""
    assert response.status_code == 200
    pending = text(response)
    assert not pending.startswith("<dialog")  # the open pop-up swaps just its form
    assert f"Signing in to the books as {username}…" in pending
    assert PASSWORD not in pending
    poll = re.search(r'hx-get="([^"]+)" hx-trigger="every 1s"', pending)
    assert poll, pending
    url = poll.group(1).replace("&amp;", "&")
    assert "Signing in to the books" in text(client.get(url, **HX))  # still waiting
    work(firm_id)
    return client.get(url, **HX)


def test_a_user_without_settings_access_sees_no_activate_button_and_is_refused(cases):
    client = sign_in(Client(), cases.paralegal)
    for url in (reverse("bridge:activate"), reverse("bridge:defaults"), INTEGRATIONS):
        response = client.get(url, **HX)
        assert response.status_code == 403
        page = text(response)
        assert "Administration settings page access" in page
        assert 'data-permission="admin_settings"' in page
        assert ">Activate<" not in page
    assert client.post(reverse("bridge:activate"), {"password": "x"}).status_code == 403
    assert not Connection.objects.exists()
    # the card itself, drawn for such a user, has no buttons at all
    request = RequestFactory().get(INTEGRATIONS)
    request.session = SESSIONS.values(cases.paralegal)  # type: ignore[attr-defined]
    card = BooksIntegration().panel_html(request, cases.paralegal)
    assert _status(card) == "Not connected"
    assert ">Activate<" not in card
    assert "bridge:activate" not in card
    assert reverse("bridge:activate") not in card


def test_the_administrator_sees_activate_on_the_not_connected_card(admin_client):
    page = text(admin_client.get(INTEGRATIONS))
    assert _status(page) == "Not connected"
    assert f'hx-get="{reverse("bridge:activate")}"' in page
    assert ">Activate</a>" in page
    assert ">Re-authenticate<" not in page
    assert ">Deactivate<" not in page


def test_the_two_pop_ups_connect_and_the_card_shows_connected(books, cases, admin_client):
    form = text(admin_client.get(reverse("bridge:activate"), **HX))
    assert form.startswith("<dialog")
    assert 'value="http://testserver/books/api/v1"' in form  # this server's books
    assert 'name="books_firm_code" value="lopez-pi"' in form  # the cases firm's code
    assert 'type="password"' in form

    response = admin_client.post(
        reverse("bridge:activate"),
        {
            "books_url": books.url,
            "books_firm_code": "lopez-pi",
            "username": INTEGRATION_EMAIL,
            "password": PASSWORD,
        },
        **HX,
    )
    assert Connection.objects.count() == 0  # the worker signs in
    card = text(admin_client.get(INTEGRATIONS))
    assert f"Signing in to the books as {INTEGRATION_EMAIL}…" in card
    response = _answer(admin_client, response, cases.firm.pk)
    # pop-up 2 replaces pop-up 1
    assert response.status_code == 200
    assert response["HX-Retarget"] == "#modal-root"
    assert response["HX-Reswap"] == "innerHTML"
    popup2 = text(response)
    assert popup2.startswith("<dialog")
    assert "Books integration defaults" in popup2
    assert f"Signed in to the books as {INTEGRATION_EMAIL}." in popup2
    assert PASSWORD not in popup2
    operating = _select(popup2, "operating_account")
    trust = _select(popup2, "trust_account")
    assert f'value="{books.operating.pk}"' in operating
    assert f'value="{books.trust.pk}"' not in operating
    assert f'value="{books.trust.pk}"' in trust
    assert f'value="{books.operating.pk}"' not in trust
    # the cost posting reference: only codes that post to Advanced client costs, E124 preselected
    posting = _select(popup2, "cost_posting_code")
    e124 = ActivityCode.objects.get(firm=books.firm, code="E124")
    copp = ActivityCode.objects.get(firm=books.firm, code="COPP")
    assert f'<option value="{e124.pk}" selected>E124 Other → GL 1300 Advanced' in posting
    assert f'value="{copp.pk}"' not in posting
    assert "Released automatically" in popup2
    assert "Reviewed in the books" in popup2
    assert Connection.objects.get().status == ConnectionStatus.NEEDS_DEFAULTS
    assert _status(text(admin_client.get(INTEGRATIONS))) == "Needs defaults"

    response = admin_client.post(
        reverse("bridge:defaults"),
        {
            "cost_posting_code": str(ActivityCode.objects.get(firm=books.firm, code="E101").pk),
            "operating_account": str(books.operating.pk),
            "trust_account": str(books.trust.pk),
            "invoice_release": InvoiceRelease.AUTOMATIC,
            "check_sync_hour": "22",
        },
        **HX,
    )
    assert response.status_code == 200
    assert response["HX-Redirect"] == INTEGRATIONS
    conn = Connection.objects.get()
    assert (
        conn.status,
        conn.cost_posting_code_label,
        conn.operating_account_id,
        conn.trust_account_id,
        conn.invoice_release,
        conn.check_sync_hour,
    ) == (
        ConnectionStatus.CONNECTED,
        "E101 Copying -> GL 1300 Advanced Client Costs",
        books.operating.pk,
        books.trust.pk,
        InvoiceRelease.AUTOMATIC,
        22,
    )
    page = text(admin_client.get(INTEGRATIONS))
    assert _status(page) == "Connected"
    assert "The books are connected." in page
    assert books.url in page
    assert INTEGRATION_EMAIL in page
    assert books.operating.name in page
    assert books.trust.name in page
    assert "Released automatically" in page
    assert "Nightly at 22:00, and on demand" in page
    assert ">Activate</a>" not in page
    for label in ("Defaults", "Re-authenticate", "Deactivate"):
        assert f">{label}</a>" in page
    assert '<button type="submit" class="btn">Sync check status</button>' in page


def test_without_htmx_pop_up_one_leads_to_pop_up_two_page(books, cases, admin_client):
    response = admin_client.post(
        reverse("bridge:activate"),
        {
            "books_url": books.url,
            "books_firm_code": "lopez-pi",
            "username": INTEGRATION_EMAIL,
            "password": PASSWORD,
        },
    )
    assert response.status_code == 302
    assert re.fullmatch(r"/cases/integrations/books/sign-ins/\d+/", response["Location"])
    waiting = admin_client.get(response["Location"])
    assert waiting.status_code == 200
    assert f"Signing in to the books as {INTEGRATION_EMAIL}…" in text(waiting)
    work(cases.firm.pk)
    done = admin_client.get(response["Location"])
    assert done.status_code == 302
    assert done["Location"] == reverse("bridge:defaults")
    page = text(admin_client.get(done["Location"]))
    assert "<h1>Books integration defaults</h1>" in page
    response = admin_client.post(
        reverse("bridge:defaults"),
        {
            "cost_posting_code": str(ActivityCode.objects.get(firm=books.firm, code="E124").pk),
            "operating_account": str(books.operating.pk),
            "trust_account": str(books.trust.pk),
            "invoice_release": InvoiceRelease.REVIEW,
        },
    )
    assert response.status_code == 302
    assert response["Location"] == INTEGRATIONS
    assert Connection.objects.get().status == ConnectionStatus.CONNECTED


def test_a_wrong_password_is_shown_next_to_the_password_and_writes_nothing(
    books, cases, admin_client
):
    response = admin_client.post(
        reverse("bridge:activate"),
        {
            "books_url": books.url,
            "books_firm_code": "lopez-pi",
            "username": INTEGRATION_EMAIL,
            "password": "wrong password",
        },
        **HX,
    )
    response = _answer(admin_client, response, cases.firm.pk)
    assert response.status_code == 422
    page = text(response)
    assert (
        '<div class="field-error" id="id_password_error"><p>The books refused the sign-in of '
        f"{INTEGRATION_EMAIL} in firm lopez-pi: the firm ID, the username (the integration "
        "user&#x27;s email) or the password is not right, or the user is deactivated in the "
        "books. Check all three and type the password again.</p></div>"
    ) in page
    assert "wrong password" not in page  # never rendered back
    assert not page.startswith("<dialog")  # the open pop-up swaps just its form
    assert not Connection.objects.exists()


def test_an_unknown_user_is_refused_generically_and_an_unreachable_books_named(
    books, cases, admin_client
):
    base = {
        "books_url": books.url,
        "books_firm_code": "lopez-pi",
        "username": "nobody@lopez.test",
        "password": PASSWORD,
    }
    response = admin_client.post(reverse("bridge:activate"), base, **HX)
    page = text(_answer(admin_client, response, cases.firm.pk, username="nobody@lopez.test"))
    # the books do not say which part was wrong: neither does the pop-up
    assert (
        'id="id_password_error"><p>The books refused the sign-in of nobody@lopez.test in firm '
        "lopez-pi"
    ) in page
    assert 'value="nobody@lopez.test"' in page  # what was typed, but the password
    response = admin_client.post(
        reverse("bridge:activate"),
        {**base, "username": INTEGRATION_EMAIL, "books_url": "http://127.0.0.1:9/books/api/v1"},
        **HX,
    )
    response = _answer(admin_client, response, cases.firm.pk)
    assert response.status_code == 422
    assert (
        'id="id_books_url_error"><p>The books at http://127.0.0.1:9/books/api/v1 did not answer '
        "as a Casebridge books API."
    ) in text(response)
    response = admin_client.post(reverse("bridge:activate"), {**base, "password": ""}, **HX)
    assert response.status_code == 422
    assert 'id="id_password_error"><p>This field is required.</p>' in text(response)
    assert not Connection.objects.exists()


@pytest.mark.parametrize(
    ("books_url", "message"),
    [
        ("http://xn--/books/api/v1", "Enter the books&#x27; address, such as https://"),
        ("http://exa mple.test/books/api/v1", "Enter the books&#x27; address, such as https://"),
        ("ftp://books.test/books/api/v1", "The books address starts with http:// or https://"),
        ("", "This field is required."),
    ],
)
def test_a_junk_books_address_is_refused_at_its_field(cases, admin_client, books_url, message):
    response = admin_client.post(
        reverse("bridge:activate"),
        {
            "books_url": books_url,
            "books_firm_code": "lopez-pi",
            "username": INTEGRATION_EMAIL,
            "password": PASSWORD,
        },
        **HX,
    )
    assert response.status_code == 422
    assert f'id="id_books_url_error"><p>{message}' in text(response)
    assert not Connection.objects.exists()


def test_pop_up_two_offers_the_accounts_the_worker_read_without_asking_the_books(
    books, connected, admin_client
):
    Connection.objects.filter(pk=connected.pk).update(books_url="http://127.0.0.1:9/books/api/v1")
    response = admin_client.get(reverse("bridge:defaults"), **HX)
    assert response.status_code == 200
    page = text(response)
    assert f'value="{books.operating.pk}"' in _select(page, "operating_account")


def test_pop_up_two_waits_for_the_worker_to_read_the_accounts_and_says_why_it_cannot(
    connected, admin_client
):
    Connection.objects.filter(pk=connected.pk).update(
        books_url="http://127.0.0.1:9/books/api/v1", books_snapshot={}
    )
    response = admin_client.get(reverse("bridge:defaults"), **HX)
    assert response.status_code == 200
    page = text(response)
    assert "Reading the books&#x27; bank accounts…" in page
    assert 'name="operating_account"' not in page
    poll = reverse("bridge:defaults") + "?poll=1"
    assert f'hx-get="{poll}"' in page
    work(connected.firm_id)  # the worker cannot reach the books
    page = text(admin_client.get(poll, **HX))
    assert not page.startswith("<dialog")
    assert "Reading the books&#x27; bank accounts…" in page
    assert "The books at http://127.0.0.1:9/books/api/v1 could not be reached" in page
    response = admin_client.post(
        reverse("bridge:defaults"), {"operating_account": "1", "trust_account": "2"}, **HX
    )
    assert response.status_code == 422
    assert "have not been read yet" in text(response)
    assert "could not be reached" in text(response)


def test_a_defaults_choice_not_among_the_books_accounts_is_refused(books, connected, admin_client):
    response = admin_client.post(
        reverse("bridge:defaults"),
        {
            "cost_posting_code": str(ActivityCode.objects.get(firm=books.firm, code="COPP").pk),
            "operating_account": str(books.trust.pk),  # a trust account as operating
            "trust_account": str(books.trust.pk),
            "invoice_release": InvoiceRelease.REVIEW,
        },
        **HX,
    )
    assert response.status_code == 422
    assert (
        'id="id_operating_account_error"><p>Choose one of the books&#x27; accounts listed.</p>'
        in text(response)
    )
    assert "Choose one of the books&#x27; activity codes listed (they post to Advanced client " in (
        text(response)
    )
    assert Connection.objects.get().cost_posting_code_label == (
        "E124 Other -> GL 1300 Advanced Client Costs"
    )


def test_deactivate_and_activate_again(books, connected, admin_client):
    form = text(admin_client.get(reverse("bridge:deactivate"), **HX))
    assert ">Deactivate</button>" in form
    response = admin_client.post(reverse("bridge:deactivate"), {}, **HX)
    assert response["HX-Redirect"] == INTEGRATIONS
    assert Connection.objects.get().status == ConnectionStatus.DEACTIVATED
    page = text(admin_client.get(INTEGRATIONS))
    assert _status(page) == "Deactivated"
    assert ">Activate</a>" in page
    assert ">Deactivate</a>" not in page
    assert "The books integration is deactivated." in page
    # deactivating twice is a refusal in the pop-up, not a server error
    response = admin_client.post(reverse("bridge:deactivate"), {}, **HX)
    assert response.status_code == 422
    assert "The books integration is not active" in text(response)
    # Activate again: the saved address and user are offered, and the defaults are kept
    form = text(admin_client.get(reverse("bridge:activate"), **HX))
    assert f'value="{books.url}"' in form
    assert f'value="{INTEGRATION_EMAIL}"' in form


def test_re_authenticate_says_how_many_queued_items_go(connected, admin_client):
    form = text(admin_client.get(reverse("bridge:reauthenticate"), **HX))
    assert INTEGRATION_EMAIL in form
    assert ">Re-authenticate</button>" in form
    response = admin_client.post(reverse("bridge:reauthenticate"), {"password": "nope"}, **HX)
    response = _answer(admin_client, response, connected.firm_id)
    assert response.status_code == 422
    assert 'id="id_password_error"><p>The books refused the sign-in of' in text(response)
    # the books ask the integration user's security question again when it signs in again
    response = admin_client.post(reverse("bridge:reauthenticate"), {"password": PASSWORD}, **HX)
    response = _answer(admin_client, response, connected.firm_id)
    assert response.status_code == 422
    assert (
        'id="id_security_answer_error"><p>The books ask '
        f"{INTEGRATION_EMAIL}&#x27;s security question again when the integration signs in "
        "again: type its answer. The question: First car?"
    ) in text(response)
    response = admin_client.post(
        reverse("bridge:reauthenticate"), {"password": PASSWORD, "security_answer": "civic"}, **HX
    )
    response = _answer(admin_client, response, connected.firm_id)
    assert response["HX-Redirect"] == INTEGRATIONS
    page = text(admin_client.get(INTEGRATIONS))
    assert (
        f"Re-authenticated as {INTEGRATION_EMAIL}. 0 queued items will now go to the books." in page
    )


def test_activate_helper_still_matches_the_screens(books, cases):
    """The card of a connection made by the services reads the same."""
    activate(books, cases)
    client = sign_in(Client(), cases.admin)
    assert _status(text(client.get(INTEGRATIONS))) == "Connected"
