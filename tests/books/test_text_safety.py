"""Issue 10, item 13, the books' side: a payee, payer, contact, file or user name that would
read differently on a screen, a check or a report (a direction override, an invisible
character, a control character or line break) is refused by the service, naming the field
and the character, and nothing is written."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from casebridge.books.errors import ValidationFailed
from casebridge.books.models import (
    ActivityCode,
    Check,
    Contact,
    File,
    JournalEntry,
    TrustReceipt,
    User,
)
from casebridge.books.services import auth, checks, files, setup
from casebridge.core.models import AuditEvent
from tests.conftest import PASSWORD

#: A right-to-left override: "Acme\u202eInc" shows as "AcmecnI".
RLO = "\u202e"


def state() -> dict[str, Any]:
    return {
        model.__name__: list(model.objects.order_by("pk").values_list())
        for model in (Contact, File, Check, TrustReceipt, JournalEntry, User, AuditEvent)
    }


def _contact(d: dict[str, Any], value: str) -> Any:
    return files.contact_find_or_create(firm=d["firm"], actor=d["admin"], name=value)


def _contact_address(d: dict[str, Any], value: str) -> Any:
    return files.contact_find_or_create(
        firm=d["firm"], actor=d["admin"], name="Ann Lee", address=f"1 Main St\n{value}"
    )


def _file(d: dict[str, Any], value: str) -> Any:
    return files.file_find_or_create(
        firm=d["firm"], actor=d["admin"], name=value, client=d["file"].client
    )


def _batch_client(d: dict[str, Any], value: str) -> Any:
    return files.files_find_or_create(
        firm=d["firm"],
        actor=d["admin"],
        requests=[
            files.FileRequest(name="Lee v. Bus", client=files.ClientRequest(name="Ann Lee")),
            files.FileRequest(name="Kim v. Bus", client=files.ClientRequest(name=value)),
        ],
    )


def _check(d: dict[str, Any], value: str) -> Any:
    return checks.check_request_create(
        firm=d["firm"],
        actor=d["admin"],
        bank_account_id=d["operating"].pk,
        payee=value,
        amount_cents=5_000,
        file_id=d["file"].pk,
        activity_code_id=ActivityCode.objects.get(firm=d["firm"], code="E101").pk,
    )


def _receipt(d: dict[str, Any], value: str) -> Any:
    return checks.trust_receipt_record(
        firm=d["firm"],
        actor=d["admin"],
        bank_account_id=d["trust"].pk,
        file_id=d["file"].pk,
        payer=value,
        amount_cents=5_000,
    )


def _user(d: dict[str, Any], value: str) -> Any:
    return auth.user_create(
        firm=d["firm"], email="new@smith.test", password=PASSWORD, last_name=value
    )


def _user_update(d: dict[str, Any], value: str) -> Any:
    return auth.user_update(user=d["attorney"], actor=d["admin"], first_name=value)


#: (service, field named in the refusal, how the message names it)
CASES: dict[str, tuple[Callable[[dict[str, Any], str], Any], str, str]] = {
    "contact name": (_contact, "name", "name"),
    "contact address": (_contact_address, "address", "address"),
    "file name": (_file, "name", "name"),
    "a batch's client name": (_batch_client, "client.name", "name"),
    "check payee": (_check, "payee", "payee"),
    "receipt payer": (_receipt, "payer", "payer"),
    "new user's name": (_user, "last_name", "last name"),
    "user's name changed": (_user_update, "first_name", "first name"),
}


@pytest.fixture
def desk(firm, admin, attorney, operating, trust, client_file) -> dict[str, Any]:
    return {
        "firm": firm,
        "admin": admin,
        "attorney": attorney,
        "operating": operating,
        "trust": trust,
        "file": client_file,
    }


@pytest.mark.parametrize("where", CASES)
@pytest.mark.parametrize(
    ("char", "kind"),
    [
        (RLO, "an invisible or direction-changing character"),
        ("\u2066", "an invisible or direction-changing character"),
        ("\u200b", "an invisible or direction-changing character"),
        ("\ufeff", "an invisible or direction-changing character"),
        ("\x1b", "a control character"),
    ],
)
def test_a_name_that_hides_or_reorders_text_is_refused_and_nothing_is_written(
    desk, where, char, kind
):
    act, field, label = CASES[where]
    before = state()
    with pytest.raises(ValidationFailed) as info:
        act(desk, f"Acme{char}Inc")
    assert info.value.message == f"{label} contains {kind} (U+{ord(char):04X})"
    assert info.value.field == field
    assert info.value.http_status == 422
    assert state() == before


@pytest.mark.parametrize("where", [w for w in CASES if w != "contact address"])
@pytest.mark.parametrize("char", ["\t", "\n", "\r"])
def test_a_tab_or_line_break_in_a_one_line_name_is_refused(desk, where, char):
    act, field, label = CASES[where]
    before = state()
    with pytest.raises(ValidationFailed) as info:
        act(desk, f"Acme{char}Inc")
    assert info.value.message == f"{label} contains a control character (U+{ord(char):04X})"
    assert info.value.field == field
    assert state() == before


def test_a_batch_refusal_names_the_request(desk):
    with pytest.raises(ValidationFailed) as info:
        _batch_client(desk, f"Kim{RLO}Lee")
    assert info.value.details == {"index": 1}


@pytest.mark.parametrize("where", CASES)
def test_names_in_any_script_still_pass(desk, where):
    act, _, _ = CASES[where]
    act(desk, "José Ñúñez-محمد 山田")


def test_the_firm_name_is_checked_too(db):
    with pytest.raises(ValidationFailed, match=r"^name contains .*\(U\+202E\)$"):
        setup.firm_create(code="evil-pi", name=f"Evil{RLO}Law")
