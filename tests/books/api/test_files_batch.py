"""``POST /files/batch``: files and their clients found or created by ``external_ref``,
all or nothing, in the request's order; refusals name ``items[i].<field>``."""

from __future__ import annotations

import datetime as dt

import pytest

from casebridge.books.models import BankAccount, Contact, File, Firm
from casebridge.books.services import files, setup
from casebridge.core import clock
from casebridge.core.models import AuditEvent
from tests.books.api.conftest import row_counts


@pytest.fixture
def today(monkeypatch) -> dt.date:
    monkeypatch.setattr(clock, "today", lambda: dt.date(2026, 4, 1))
    return dt.date(2026, 4, 1)


@pytest.fixture
def area(firm, admin):
    return setup.area_of_practice_create(firm=firm, actor=admin, name="PI", description="")


@pytest.fixture
def batch(area, attorney) -> dict[str, object]:
    return {
        "items": [
            {
                "external_ref": "case-10",
                "name": "Lopez v. Beta Freight",
                "area_of_practice_id": area.pk,
                "responsible_attorney_id": attorney.pk,
                "opened_on": "2026-03-15",
                "client": {
                    "external_ref": "client-10",
                    "name": "Maria Lopez",
                    "email": "maria@example.test",
                    "phone": "555-0100",
                    "address": "1 Main St",
                },
            },
            {
                "external_ref": "case-11",
                "name": "Chen v. Gamma Bus",
                "number": "PI-77",
                "client": {"external_ref": "client-11", "name": "Wei Chen"},
            },
            {
                "external_ref": "case-12",
                "name": "Lopez v. Delta Cab",
                "client": {"external_ref": "client-10", "name": "Maria Lopez"},
            },
        ]
    }


def file_out(file: File, trust: BankAccount) -> dict[str, object]:
    area, attorney = file.area_of_practice, file.responsible_attorney
    return {
        "id": file.pk,
        "number": file.number,
        "name": file.name,
        "client": {
            "id": file.client.pk,
            "name": file.client.name,
            "external_ref": file.client.external_ref,
        },
        "area_of_practice": {"id": area.pk, "name": area.name} if area else None,
        "responsible_attorney": (
            {"id": attorney.pk, "email": attorney.email, "initials": attorney.initials}
            if attorney
            else None
        ),
        "external_ref": file.external_ref,
        "opened_on": file.opened_on.isoformat(),
        "is_closed": False,
        "trust_balances": [
            {
                "bank_account_id": trust.pk,
                "bank_account_name": "Client Trust (IOLTA)",
                "balance": "0.00",
            }
        ],
    }


def test_a_batch_opens_files_with_their_clients_then_finds_them(
    api, firm, trust, area, attorney, batch, today
):
    before = row_counts()
    reply = api.post("/files/batch", batch)
    assert reply.status == 201
    files = [File.objects.get(external_ref=f"case-{n}") for n in (10, 11, 12)]
    assert reply.body == {
        "items": [file_out(f, trust) for f in files],
        "count": 3,
        "created": 3,
    }
    assert [(f.number, f.name, f.client.external_ref, f.opened_on) for f in files] == [
        ("2026-00001", "Lopez v. Beta Freight", "client-10", dt.date(2026, 3, 15)),
        ("PI-77", "Chen v. Gamma Bus", "client-11", today),
        ("2026-00002", "Lopez v. Delta Cab", "client-10", today),
    ]
    assert (files[0].area_of_practice, files[0].responsible_attorney) == (area, attorney)
    maria = Contact.objects.get(external_ref="client-10")
    assert (maria.name, maria.email, maria.phone, maria.address) == (
        "Maria Lopez",
        "maria@example.test",
        "555-0100",
        "1 Main St",
    )
    assert files[2].client == maria  # one client, two files
    after = row_counts()
    assert (after["File"], after["Contact"]) == (before["File"] + 3, before["Contact"] + 2)

    again = api.post("/files/batch", batch)
    assert again.status == 200
    assert again.body == {**reply.body, "created": 0}
    assert [item["id"] for item in again.body["items"]] == [f.pk for f in files]
    assert row_counts() == after


def test_a_known_file_is_returned_unchanged_and_its_client_untouched(api, trust, client_file):
    before = row_counts()
    reply = api.post(
        "/files/batch",
        {
            "items": [
                {
                    "external_ref": "case-1",  # the client_file
                    "name": "Renamed",
                    "client": {"external_ref": "someone-else", "name": "Someone Else"},
                },
                {
                    "external_ref": "case-2",
                    "name": "Lopez v. Beta Freight",
                    "client": {"external_ref": "case-client-1", "name": "Maria L."},
                },
            ]
        },
    )
    assert reply.status == 201
    new = File.objects.get(external_ref="case-2")
    assert reply.body["items"] == [file_out(client_file, trust), file_out(new, trust)]
    assert (reply.body["count"], reply.body["created"]) == (2, 1)
    assert new.client == client_file.client  # found by its external_ref, name unchanged
    assert new.client.name == "Maria Lopez"
    assert not Contact.objects.filter(external_ref="someone-else").exists()
    after = row_counts()
    assert (after["File"], after["Contact"]) == (before["File"] + 1, before["Contact"])


def refused(api, body, status, code, field, message=None):
    before = row_counts()
    reply = api.post("/files/batch", body)
    assert (reply.status, reply.error["code"], reply.error["field"]) == (status, code, field)
    if message is not None:
        assert reply.error["message"] == message
    assert row_counts() == before
    assert not File.objects.filter(external_ref__in=["case-10", "case-11", "case-12"]).exists()
    return reply


def item(batch, i, **change):
    return {**batch["items"][i], **change}


def test_a_ref_used_twice_in_a_batch_is_refused(api, batch):
    refused(
        api,
        {"items": [*batch["items"], item(batch, 1)]},
        422,
        "validation_error",
        "items[3].external_ref",
        "items[3].external_ref: 'case-11' repeats items[1].external_ref; each file in a "
        "batch needs its own",
    )


def test_a_file_number_taken_refuses_the_whole_batch(api, client_file, batch):
    refused(
        api,
        {"items": [batch["items"][0], item(batch, 1, number=client_file.number)]},
        422,
        "validation_error",
        "items[1].number",
        f"items[1]: file number {client_file.number} is taken",
    )
    assert not Contact.objects.filter(external_ref__in=["client-10", "client-11"]).exists()


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"external_ref": ""}, "items[1].external_ref"),
        ({"name": "  "}, "items[1].name"),
        ({"client": {"name": "No Ref"}}, "items[1].client.external_ref"),
        ({"client": {"external_ref": "c-1", "name": ""}}, "items[1].client.name"),
        (
            {"client": {"external_ref": "c-1", "name": "X", "email": "nope"}},
            "items[1].client.email",
        ),
        ({"client_id": 1}, "items[1].client_id"),
        ({"opened_on": "2026-02-30"}, "items[1].opened_on"),
    ],
)
def test_bad_items_are_refused_naming_the_field(api, batch, change, field):
    refused(
        api,
        {"items": [batch["items"][0], item(batch, 1, **change)]},
        422,
        "validation_error",
        field,
    )


def test_a_missing_client_is_named(api, batch):
    no_client = {k: v for k, v in batch["items"][1].items() if k != "client"}
    refused(api, {"items": [no_client]}, 422, "validation_error", "items[0].client")


@pytest.mark.parametrize("field", ["area_of_practice_id", "responsible_attorney_id"])
def test_ids_from_another_firm_are_not_found(api, batch, other_firm, other_user, field):
    theirs = (
        setup.area_of_practice_create(firm=other_firm, actor=None, name="Theirs").pk
        if field == "area_of_practice_id"
        else other_user.pk
    )
    refused(
        api,
        {"items": [batch["items"][1], item(batch, 0, **{field: theirs})]},
        404,
        "not_found",
        f"items[1].{field}",
    )


def test_the_batch_size_is_bounded(api, batch):
    refused(api, {"items": []}, 422, "validation_error", "items")
    many = [
        {"external_ref": f"case-{n}", "name": "x", "client": {"external_ref": "c", "name": "c"}}
        for n in range(1001)
    ]
    refused(api, {"items": many}, 422, "validation_error", "items")


def test_a_replayed_key_writes_nothing(api, batch):
    first = api.post("/files/batch", batch, key="files-1")
    assert first.status == 201
    before = row_counts()
    again = api.post("/files/batch", batch, key="files-1")
    assert (again.status, again.body, again.headers["Idempotent-Replayed"]) == (
        201,
        first.body,
        "true",
    )
    assert row_counts() == before


def test_a_batch_of_200_new_and_50_known_files(api, firm, admin, trust, today):
    known_batch = {
        "items": [
            {
                "external_ref": f"old-{n}",
                "name": f"Old case {n}",
                "client": {"external_ref": f"old-client-{n % 25}", "name": f"Old client {n}"},
            }
            for n in range(50)
        ]
    }
    first = api.post("/files/batch", known_batch)
    assert (first.status, first.body["created"]) == (201, 50)
    known = {item["external_ref"]: item for item in first.body["items"]}
    # a file numbered by hand in the firm's own sequence, which auto numbering skips over
    hand = files.file_find_or_create(
        firm=firm,
        actor=admin,
        name="By hand",
        client=Contact.objects.get(external_ref="old-client-0"),
        number="2026-00060",
    )[0]
    before = row_counts()
    audit_before = AuditEvent.objects.filter(entity_type__in=["file", "contact"]).count()

    items = []
    for n in range(250):
        if n % 5 == 0:  # every fifth is known: sent again with another name and client
            items.append(
                {
                    "external_ref": f"old-{n // 5}",
                    "name": "Renamed",
                    "client": {"external_ref": "someone-new", "name": "Someone New"},
                }
            )
            continue
        client_ref = f"old-client-{n % 25}" if n % 4 == 0 else f"new-client-{n % 60}"
        item = {
            "external_ref": f"new-{n}",
            "name": f"New case {n}",
            "client": {"external_ref": client_ref, "name": f"Client of {n}"},
        }
        if n % 50 == 1:
            item["number"] = f"HAND-{n}"
        items.append(item)
    reply = api.post("/files/batch", {"items": items})

    assert reply.status == 201
    assert (reply.body["count"], reply.body["created"]) == (250, 200)
    out = reply.body["items"]
    assert [f["external_ref"] for f in out] == [i["external_ref"] for i in items]
    for item, got in zip(items, out, strict=True):
        if item["external_ref"].startswith("old-"):
            assert got == known[item["external_ref"]]  # unchanged, client untouched
    assert not Contact.objects.filter(external_ref="someone-new").exists()

    # numbers: typed ones kept, the rest the firm's next ones in request order, skipping
    # the number taken by hand; the firm's sequence continues after the last one given
    new = [(i, f) for i, f in zip(items, out, strict=True) if i["external_ref"].startswith("new-")]
    typed = [f["number"] for i, f in new if "number" in i]
    assert typed == [i["number"] for i, _ in new if "number" in i]
    auto = [f["number"] for i, f in new if "number" not in i]
    expected = [f"2026-{s:05d}" for s in range(51, 51 + len(auto) + 1) if s != 60]
    assert auto == expected[: len(auto)]
    assert Firm.objects.get(pk=firm.pk).next_file_number == int(auto[-1][-5:]) + 1
    assert hand.number not in auto

    # clients: known ones found, each new one created once however many files name it
    new_clients = {i["client"]["external_ref"] for i, _ in new} - {
        f"old-client-{n}" for n in range(25)
    }
    for item, got in new:
        client = Contact.objects.get(pk=got["client"]["id"])
        assert client.external_ref == item["client"]["external_ref"]
        if item["client"]["external_ref"].startswith("old-client-"):
            assert client.name.startswith("Old client")
    after = row_counts()
    assert after["File"] == before["File"] + 200
    assert after["Contact"] == before["Contact"] + len(new_clients)
    assert AuditEvent.objects.filter(
        entity_type__in=["file", "contact"]
    ).count() == audit_before + 200 + len(new_clients)
    assert {
        e.entity_id
        for e in AuditEvent.objects.filter(entity_type="file", action="create", actor_id=admin.pk)
    } >= {str(f["id"]) for _, f in new}

    again = api.post("/files/batch", {"items": items})
    assert (again.status, again.body) == (200, {**reply.body, "created": 0})
    assert row_counts() == after
