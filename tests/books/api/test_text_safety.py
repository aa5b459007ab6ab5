"""Issue 10, item 13, over the books' API: a name that hides or reorders text is a 422 that
names the field and the character, and nothing is written."""

from __future__ import annotations

import pytest

from casebridge.books.models import ActivityCode
from tests.books.api.conftest import row_counts

RLO = "\u202e"


@pytest.fixture
def bodies(firm, operating, trust, client_file) -> dict[str, tuple[str, dict[str, object]]]:
    e101 = ActivityCode.objects.get(firm=firm, code="E101").pk
    check = {
        "bank_account_id": operating.pk,
        "payee": "Records Inc",
        "amount": "12.00",
        "file_id": client_file.pk,
        "activity_code_id": e101,
    }
    return {
        "contact": ("/contacts", {"name": "Ann Lee", "external_ref": "c-1"}),
        "file": (
            "/files",
            {"name": "Lee v. Bus", "client_id": client_file.client_id, "external_ref": "f-1"},
        ),
        "batch": (
            "/files/batch",
            {
                "items": [
                    {
                        "external_ref": "f-2",
                        "name": "Kim v. Bus",
                        "client": {"external_ref": "cl-2", "name": "Jo Kim"},
                    }
                ]
            },
        ),
        "check": ("/checks", check),
        "check batch": ("/checks/batch", {"items": [check]}),
        "receipt": (
            "/trust-receipts",
            {
                "bank_account_id": trust.pk,
                "file_id": client_file.pk,
                "payer": "Acme Insurance",
                "amount": "12.00",
            },
        ),
    }


#: (endpoint, the body's field to spoil, the field the refusal names, how it is named)
SPOILED = [
    ("contact", ("name",), "name", "name"),
    ("contact", ("address",), "address", "address"),
    ("file", ("name",), "name", "name"),
    ("batch", ("items", 0, "client", "name"), "items[0].client.name", "name"),
    ("batch", ("items", 0, "name"), "items[0].name", "name"),
    ("check", ("payee",), "payee", "payee"),
    ("check", ("memo",), "memo", "memo"),
    ("check batch", ("items", 0, "payee"), "items[0].payee", "payee"),
    ("receipt", ("payer",), "payer", "payer"),
]


def spoil(body: dict[str, object], path: tuple[object, ...], char: str) -> None:
    target: object = body
    for key in path[:-1]:
        target = target[key]  # type: ignore[index]
    last = path[-1]
    current = target.get(last, "") if isinstance(target, dict) else ""  # type: ignore[union-attr]
    target[last] = f"Acme{char}{current or 'Inc'}"  # type: ignore[index]


@pytest.mark.parametrize(("endpoint", "path", "field", "label"), SPOILED)
@pytest.mark.parametrize(
    ("char", "kind"),
    [
        (RLO, "an invisible or direction-changing character"),
        ("\u2069", "an invisible or direction-changing character"),
        ("\u200d", "an invisible or direction-changing character"),
        ("\t", "a control character"),
    ],
)
def test_a_spoofing_name_is_a_422_naming_the_field(
    api, bodies, endpoint, path, field, label, char, kind
):
    url, body = bodies[endpoint]
    spoil(body, path, char)
    before = row_counts()
    reply = api.post(url, body)
    assert reply.status == 422, reply.body
    assert reply.error["code"] == "validation_error"
    assert reply.error["field"] == field
    assert reply.error["message"].endswith(f"{label} contains {kind} (U+{ord(char):04X})")
    assert row_counts() == before


@pytest.mark.parametrize("endpoint", ["contact", "file", "batch", "check", "receipt"])
def test_the_same_requests_without_the_character_pass(api, bodies, endpoint):
    url, body = bodies[endpoint]
    reply = api.post(url, body)
    assert reply.status == 201, reply.body
