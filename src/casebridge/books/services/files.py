"""Contacts and files (matters). Another system finds its records again by
``external_ref``: the find-or-create services are idempotent on it."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from django.db import IntegrityError, transaction

from casebridge.books.audit import books_audit, books_audit_many
from casebridge.books.errors import DomainError, ValidationFailed
from casebridge.books.models import AreaOfPractice, Contact, File, Firm, User
from casebridge.core import clock
from casebridge.core.text import plain_line, plain_text


def _audit(
    firm: Firm, actor: User | None, entity: str, obj_id: int, summary: str, after: dict[str, Any]
) -> None:
    books_audit(
        firm_id=firm.pk,
        action="create",
        entity_type=entity,
        entity_id=obj_id,
        actor=actor,
        summary=summary,
        after=after,
    )


def _check_contact_details(email: str, phone: str, address: str) -> None:
    """What prints beside a contact's name: one line each, the address several lines."""
    plain_line(email, field="email")
    plain_line(phone, field="phone")
    plain_text(address, field="address")


@transaction.atomic
def contact_find_or_create(
    *,
    firm: Firm,
    actor: User | None,
    name: str,
    external_ref: str | None = None,
    email: str = "",
    phone: str = "",
    address: str = "",
) -> tuple[Contact, bool]:
    name = plain_line(name.strip(), field="name")
    if not name:
        raise ValidationFailed("contact name is required", field="name")
    _check_contact_details(email, phone, address)
    external_ref = (external_ref or "").strip() or None
    if external_ref:
        found = Contact.objects.filter(firm=firm, external_ref=external_ref).first()
        if found:
            return found, False
    try:
        with transaction.atomic():
            contact = Contact.objects.create(
                firm=firm,
                name=name[:200],
                email=email.strip(),
                phone=phone.strip()[:40],
                address=address.strip(),
                external_ref=external_ref,
            )
    except IntegrityError:  # a concurrent request created it first
        return Contact.objects.get(firm=firm, external_ref=external_ref), False
    _audit(
        firm,
        actor,
        "contact",
        contact.pk,
        f"Contact {name} added",
        {"name": name, "external_ref": external_ref},
    )
    return contact, True


@transaction.atomic
def file_find_or_create(
    *,
    firm: Firm,
    actor: User | None,
    name: str,
    client: Contact,
    external_ref: str | None = None,
    number: str = "",
    area_of_practice: AreaOfPractice | None = None,
    responsible_attorney: User | None = None,
    opened_on: dt.date | None = None,
) -> tuple[File, bool]:
    name = plain_line(name.strip(), field="name")
    if not name:
        raise ValidationFailed("file name is required", field="name")
    plain_line(number, field="number")
    if client.firm_id != firm.pk:
        raise ValidationFailed("client is not in this firm", field="client")
    if area_of_practice is not None and area_of_practice.firm_id != firm.pk:
        raise ValidationFailed("area of practice is not in this firm", field="area_of_practice")
    if responsible_attorney is not None and responsible_attorney.firm_id != firm.pk:
        raise ValidationFailed(
            "responsible attorney is not in this firm", field="responsible_attorney"
        )
    external_ref = (external_ref or "").strip() or None
    if external_ref:
        found = File.objects.filter(firm=firm, external_ref=external_ref).first()
        if found:
            return found, False
    number = number.strip()[:40]
    if not number:
        # The firm row is the numbering lock (FOR NO KEY UPDATE, ADR 0012: postings'
        # foreign-key checks on the firm row pass); numbers typed by hand are skipped over.
        locked = Firm.objects.select_for_update(no_key=True).get(pk=firm.pk)
        seq = locked.next_file_number
        while File.objects.filter(firm=firm, number=f"{clock.today():%Y}-{seq:05d}").exists():
            seq += 1
        number = f"{clock.today():%Y}-{seq:05d}"
        locked.next_file_number = seq + 1
        locked.save(update_fields=["next_file_number"])
    elif File.objects.filter(firm=firm, number=number).exists():
        raise ValidationFailed(f"file number {number} is taken", field="number")
    try:
        with transaction.atomic():
            file = File.objects.create(
                firm=firm,
                number=number[:40],
                name=name[:200],
                client=client,
                area_of_practice=area_of_practice,
                responsible_attorney=responsible_attorney,
                external_ref=external_ref,
                opened_on=opened_on or clock.today(),
            )
    except IntegrityError:
        # Created concurrently: the same external_ref is the same file; the same number
        # typed by two people at once is a refusal.
        found = (
            File.objects.filter(firm=firm, external_ref=external_ref).first()
            if external_ref
            else None
        )
        if found is not None:
            return found, False
        raise ValidationFailed(
            f"file number {number} was just taken; choose another", field="number"
        ) from None
    _audit(
        firm,
        actor,
        "file",
        file.pk,
        f"File {number} {name} opened",
        {"number": number, "name": name, "client": client.name, "external_ref": external_ref},
    )
    return file, True


# --- many at once -------------------------------------------------------------------------


@transaction.atomic
def file_open(
    *,
    firm: Firm,
    actor: User | None,
    client_name: str,
    client_email: str = "",
    client_phone: str = "",
    name: str,
    number: str = "",
    area_of_practice: AreaOfPractice | None = None,
    responsible_attorney: User | None = None,
    opened_on: dt.date | None = None,
) -> File:
    """The New file pop-up: the client (found again or added) and the file, both or
    neither, so a refused file leaves no stray contact."""
    try:
        client, _ = contact_find_or_create(
            firm=firm, actor=actor, name=client_name, email=client_email, phone=client_phone
        )
    except DomainError as exc:  # the client's details are the pop-up's client_* fields
        if exc.field in ("name", "email", "phone"):
            exc.field = f"client_{exc.field}"
        raise
    file, _ = file_find_or_create(
        firm=firm,
        actor=actor,
        name=name,
        client=client,
        number=number,
        area_of_practice=area_of_practice,
        responsible_attorney=responsible_attorney,
        opened_on=opened_on,
    )
    return file


@dataclass(frozen=True)
class ClientRequest:
    """A file's client, as :func:`contact_find_or_create` takes it."""

    name: str
    external_ref: str | None = None
    email: str = ""
    phone: str = ""
    address: str = ""


@dataclass(frozen=True)
class FileRequest:
    """One file and its client, as :func:`file_find_or_create` takes them."""

    name: str
    client: ClientRequest
    external_ref: str | None = None
    number: str = ""
    area_of_practice: AreaOfPractice | None = None
    responsible_attorney: User | None = None
    opened_on: dt.date | None = None


def _ref(external_ref: str | None) -> str | None:
    return (external_ref or "").strip() or None


def _at(index: int, exc: DomainError, part: str = "") -> DomainError:
    """``exc`` with ``details["index"]`` naming the request (and ``field`` prefixed with
    ``part``, e.g. ``client.name``)."""
    field = f"{part}.{exc.field}" if part and exc.field else (part or exc.field)
    located = type(exc)(exc.message, field=field, **exc.details)
    located.details.setdefault("index", index)
    return located


class _FileNumbers:
    """The firm's next file numbers for a batch, handed out in order under the firm row's
    lock (the numbering lock :func:`file_find_or_create` takes): a number already in the
    firm or given to an earlier file of the batch is skipped over, as there. Numbers in the
    firm are read a window at a time (one query for a whole batch, as a rule)."""

    def __init__(self, firm: Firm, today: dt.date, wanted: int) -> None:
        self.firm = firm
        self.locked = Firm.objects.select_for_update(no_key=True).get(pk=firm.pk)
        self.year = f"{today:%Y}"
        self.seq = self.locked.next_file_number  # the next number to consider
        self.left = wanted
        self.window: dict[int, str] = {}
        self.taken: set[str] = set()
        self.last: int | None = None

    def _read_window(self) -> None:
        seqs = range(self.seq, self.seq + max(self.left, 1) + 16)
        self.window = {seq: f"{self.year}-{seq:05d}" for seq in seqs}
        self.taken = set(
            File.objects.filter(firm=self.firm, number__in=self.window.values()).values_list(
                "number", flat=True
            )
        )

    def take(self, used: set[str]) -> str:
        while True:
            if self.seq not in self.window:
                self._read_window()
            number = self.window[self.seq]
            self.seq += 1
            if number not in self.taken and number not in used:
                self.last = self.seq - 1
                self.left -= 1
                return number

    def save(self) -> None:
        if self.last is not None:
            self.locked.next_file_number = self.last + 1
            self.locked.save(update_fields=["next_file_number"])


def _files_find_or_create(
    firm: Firm, actor: User | None, requests: Sequence[FileRequest]
) -> list[tuple[File, bool]]:
    today = clock.today()
    refs = [_ref(r.external_ref) for r in requests]
    first: dict[str, int] = {}
    for i, ref in enumerate(refs):
        if ref is None:
            continue
        if ref in first:
            raise _at(
                i,
                ValidationFailed(
                    f"external_ref {ref!r} repeats that of request {first[ref]}; each file "
                    "in a batch needs its own",
                    field="external_ref",
                ),
            )
        first[ref] = i
    known: dict[str, File] = {
        f.external_ref: f
        for f in File.objects.filter(firm=firm, external_ref__in=first.keys())
        if f.external_ref is not None
    }
    new = [i for i, ref in enumerate(refs) if ref is None or ref not in known]
    client_refs = {ref for i in new if (ref := _ref(requests[i].client.external_ref))}
    contacts: dict[str, Contact] = {
        c.external_ref: c
        for c in Contact.objects.filter(firm=firm, external_ref__in=client_refs)
        if c.external_ref is not None
    }
    typed = {n for i in new if (n := requests[i].number.strip()[:40])}
    taken = set(
        File.objects.filter(firm=firm, number__in=typed).values_list("number", flat=True)
        if typed
        else ()
    )
    wanted = sum(1 for i in new if not requests[i].number.strip())
    numbers = _FileNumbers(firm, today, wanted) if wanted else None

    used: set[str] = set()  # numbers of the files this batch opens
    new_contacts: list[Contact] = []
    # (request, file, name as given, the client it created with its name as given)
    new_files: list[tuple[int, File, str, tuple[Contact, str] | None]] = []
    for i in new:
        request = requests[i]
        try:
            client_name = plain_line(request.client.name.strip(), field="name")
            if not client_name:
                raise ValidationFailed("contact name is required", field="name")
            asked = request.client
            _check_contact_details(asked.email, asked.phone, asked.address)
        except DomainError as exc:
            raise _at(i, exc, "client") from None
        client_ref = _ref(request.client.external_ref)
        client = contacts.get(client_ref) if client_ref else None
        created_client = None
        if client is None:
            client = Contact(
                firm=firm,
                name=client_name[:200],
                email=request.client.email.strip(),
                phone=request.client.phone.strip()[:40],
                address=request.client.address.strip(),
                external_ref=client_ref,
            )
            created_client = (client, client_name)
            new_contacts.append(client)
            if client_ref:
                contacts[client_ref] = client
        try:
            name = plain_line(request.name.strip(), field="name")
            if not name:
                raise ValidationFailed("file name is required", field="name")
            plain_line(request.number, field="number")
            area, attorney = request.area_of_practice, request.responsible_attorney
            if area is not None and area.firm_id != firm.pk:
                raise ValidationFailed(
                    "area of practice is not in this firm", field="area_of_practice"
                )
            if attorney is not None and attorney.firm_id != firm.pk:
                raise ValidationFailed(
                    "responsible attorney is not in this firm", field="responsible_attorney"
                )
            number = request.number.strip()[:40]
            if not number:
                assert numbers is not None  # made when any request has no number
                number = numbers.take(used)
            elif number in taken or number in used:
                raise ValidationFailed(f"file number {number} is taken", field="number")
        except DomainError as exc:
            raise _at(i, exc) from None
        used.add(number)
        file = File(
            firm=firm,
            number=number,
            name=name[:200],
            client=client,
            area_of_practice=area,
            responsible_attorney=attorney,
            external_ref=refs[i],
            opened_on=request.opened_on or today,
        )
        new_files.append((i, file, name, created_client))

    if numbers is not None:
        numbers.save()
    Contact.objects.bulk_create(new_contacts)
    # each file's client_id is taken from its client, saved just above
    File.objects.bulk_create([file for _, file, _, _ in new_files])
    events: list[dict[str, Any]] = []
    for _, file, name, created_client in new_files:  # in the order the single services write
        if created_client is not None:
            contact, contact_name = created_client
            events.append(
                {
                    "action": "create",
                    "entity_type": "contact",
                    "entity_id": contact.pk,
                    "summary": f"Contact {contact_name} added",
                    "after": {"name": contact_name, "external_ref": contact.external_ref},
                }
            )
        events.append(
            {
                "action": "create",
                "entity_type": "file",
                "entity_id": file.pk,
                "summary": f"File {file.number} {name} opened",
                "after": {
                    "number": file.number,
                    "name": name,
                    "client": file.client.name,
                    "external_ref": file.external_ref,
                },
            }
        )
    books_audit_many(firm_id=firm.pk, actor=actor, events=events)
    results: dict[int, tuple[File, bool]] = {i: (file, True) for i, file, _, _ in new_files}
    for i, ref in enumerate(refs):
        if ref is not None and ref in known:
            results[i] = (known[ref], False)
    return [results[i] for i in range(len(requests))]


@transaction.atomic
def files_find_or_create(
    *, firm: Firm, actor: User | None, requests: Sequence[FileRequest]
) -> list[tuple[File, bool]]:
    """Find or open many files with their clients, all or nothing: ``(file, created)`` per
    request, in order, each as :func:`contact_find_or_create` then
    :func:`file_find_or_create` would give it (a file found by its ``external_ref`` is
    returned unchanged and its client untouched; a client is found by its
    ``external_ref`` or created, once however many requests name it; blank numbers get
    the firm's next numbers). One query each for the files and clients known, one
    INSERT each for the new ones, one for their audit events.

    A refusal is the one the request would get alone (a client's named ``client.<field>``),
    with ``details["index"]`` naming the request; nothing is written. Two requests with
    the same ``external_ref`` are refused. If a concurrent request creates one of the
    same files or clients first, the batch is gone through again and finds them."""
    try:
        with transaction.atomic():
            return _files_find_or_create(firm, actor, requests)
    except IntegrityError:
        return _files_find_or_create(firm, actor, requests)
