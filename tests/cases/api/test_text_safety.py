"""Issue 10, item 13, over the cases API: a payee, contact, case or client's check payee
that would read differently is a 422 naming the field and the character; nothing is
written."""

from __future__ import annotations

import pytest

from tests.cases.api.conftest import db_state, refused
from tests.cases.conftest import cost_code

RLO = "\u202e"


@pytest.fixture
def requests_(case, payee, cfirm) -> dict[str, tuple[str, str, dict[str, object]]]:
    """(method, path, a valid body) per endpoint."""
    return {
        "contact": ("post", "/contacts", {"name": "Valley Records"}),
        "case": ("post", "/cases", {"name": "Lopez v. Beta", "client_id": case.client_id}),
        "case renamed": ("patch", f"/cases/{case.pk}", {"name": "Lopez v. Gamma"}),
        "cost": (
            "post",
            "/costs",
            {
                "case_id": case.pk,
                "payee_id": payee.pk,
                "amount": "10.00",
                "cost_code_id": cost_code(cfirm, "E112").pk,
                "memo": "Filing fee",
            },
        ),
        "client's check": ("post", f"/cases/{case.pk}/push-to-client-trust", {"payee_name": "R"}),
    }


SPOILED = [
    ("contact", "name", "name", "name"),
    ("contact", "address", "address", "address"),
    ("case", "name", "name", "case name"),
    ("case renamed", "name", "name", "case name"),
    ("cost", "memo", "memo", "memo"),
    ("client's check", "payee_name", "payee_name", "payee"),
]


CHARACTERS = [
    (RLO, "an invisible or direction-changing character"),
    ("\u2066", "an invisible or direction-changing character"),
    ("\ufeff", "an invisible or direction-changing character"),
    ("\n", "a control character"),
]


@pytest.mark.parametrize(
    ("endpoint", "key", "field", "label", "char", "kind"),
    [
        (*spoiled, char, kind)
        for spoiled in SPOILED
        for char, kind in CHARACTERS
        if not (spoiled[1] == "address" and char == "\n")  # an address is several lines
    ],
)
def test_a_spoofing_name_is_a_422_naming_the_field(
    api, requests_, endpoint, key, field, label, char, kind
):
    method, path, body = requests_[endpoint]
    body = {**body, key: f"Acme{char}Inc"}
    before = db_state()
    send = getattr(api, method)
    reply = send(path, body)
    refused(
        reply,
        422,
        "validation_error",
        f"{label} contains {kind} (U+{ord(char):04X})",
        field=field,
    )
    assert db_state() == before


def test_the_clean_contact_is_created(api):
    reply = api.post("/contacts", {"name": "Ñúñez Clínica", "address": "1 Main St\nSpringfield"})
    assert reply.status == 201, reply.body
