"""The New file pop-up's composition, now a service (issue 14): the client and the file,
both or neither."""

from __future__ import annotations

import datetime as dt

import pytest

from casebridge.books.errors import DomainError
from casebridge.books.models import Contact, File
from casebridge.books.services import auth, files


def test_file_open_adds_the_client_and_the_file(firm, admin, attorney):
    file = files.file_open(
        firm=firm,
        actor=admin,
        client_name="Ana Ruiz",
        client_email="ana@example.test",
        client_phone="555-0199",
        name="Ruiz v. Acme",
        number="2026-00042",
        responsible_attorney=attorney,
        opened_on=dt.date(2026, 2, 3),
    )
    assert (file.number, file.name, file.opened_on) == (
        "2026-00042",
        "Ruiz v. Acme",
        dt.date(2026, 2, 3),
    )
    assert (file.client.name, file.client.email, file.client.phone) == (
        "Ana Ruiz",
        "ana@example.test",
        "555-0199",
    )
    assert file.responsible_attorney == attorney


def test_a_refused_file_leaves_no_stray_client(firm, other_firm, admin):
    stranger = auth.user_create(
        firm=other_firm, email="x@other.test", password="correct horse battery staple"
    )
    with pytest.raises(DomainError) as info:
        files.file_open(
            firm=firm,
            actor=admin,
            client_name="Ana Ruiz",
            name="Ruiz v. Acme",
            responsible_attorney=stranger,
        )
    assert info.value.field == "responsible_attorney"
    assert not Contact.objects.filter(firm=firm, name="Ana Ruiz").exists()
    assert not File.objects.filter(firm=firm).exists()


@pytest.mark.parametrize(
    ("given", "field"),
    [
        ({"client_name": "Acme\u202eCorp"}, "client_name"),
        ({"client_phone": "555\u202e0199"}, "client_phone"),
    ],
)
def test_a_refusal_of_the_clients_details_names_the_clients_field(firm, admin, given, field):
    """The client's name, email and phone are the pop-up's client_* fields; a refusal of
    them must not land on the file's own Name."""
    kwargs = {"client_name": "Ana Ruiz", **given}
    with pytest.raises(DomainError) as info:
        files.file_open(firm=firm, actor=admin, name="Ruiz v. Acme", **kwargs)
    assert info.value.field == field
    assert not Contact.objects.filter(firm=firm).exists()
    assert not File.objects.filter(firm=firm).exists()
