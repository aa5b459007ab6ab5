"""Contacts and files (matters). Another system finds its records again by
``external_ref``: the find-or-create services are idempotent on it."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db import IntegrityError, transaction

from casebridge.books.audit import books_audit
from casebridge.books.errors import ValidationFailed
from casebridge.books.models import AreaOfPractice, Contact, File, Firm, User
from casebridge.core import clock


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
    name = name.strip()
    if not name:
        raise ValidationFailed("contact name is required", field="name")
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
    name = name.strip()
    if not name:
        raise ValidationFailed("file name is required", field="name")
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
        # The firm row is the numbering lock; numbers typed by hand are skipped over.
        locked = Firm.objects.select_for_update().get(pk=firm.pk)
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
