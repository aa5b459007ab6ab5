"""Contacts (clients, payees, insurers, lienholders), the firm's users and case types."""

from __future__ import annotations

import datetime as dt

from django.db.models import Q
from django.http import HttpRequest
from ninja import Query, Router, Status
from pydantic import Field

from casebridge.cases.api.idempotency import idempotent
from casebridge.cases.api.schemas import EMAIL_PATTERN, ERRORS, NAME_LENGTH
from casebridge.cases.api.security import context
from casebridge.cases.api.session import UserOut
from casebridge.cases.models import CaseType, Contact, User
from casebridge.cases.services import cases as case_service
from casebridge.core.api.lookups import get_or_404
from casebridge.core.api.schemas import Clean, CountedPage, Id, In, Out, Page, PageIn, keyset_page

router = Router(tags=["contacts and users"])


class ContactOut(Out):
    id: int
    name: str
    address: str
    date_of_birth: dt.date | None
    phone: str
    email: str
    is_medical_provider: bool

    @classmethod
    def of(cls, contact: Contact) -> ContactOut:
        return cls(
            id=contact.pk,
            name=contact.name,
            address=contact.address,
            date_of_birth=contact.date_of_birth,
            phone=contact.phone,
            email=contact.email,
            is_medical_provider=contact.is_medical_provider,
        )


class ContactIn(In):
    name: str = Field(min_length=1, max_length=NAME_LENGTH)
    address: str = Field(default="", max_length=2000)
    date_of_birth: dt.date | None = None
    phone: str = Field(default="", max_length=40)
    email: str = Field(default="", max_length=254, pattern=EMAIL_PATTERN)
    is_medical_provider: bool = False


class ContactFilter(Clean):
    q: str | None = Field(
        None, max_length=NAME_LENGTH, description="Part of the name, email or phone."
    )


@router.get("/contacts", response={200: Page[ContactOut], **ERRORS})
def contact_list(
    request: HttpRequest, page: Query[PageIn], filters: Query[ContactFilter]
) -> Page[ContactOut]:
    """The firm's contacts by name; ``q`` searches name, email and phone."""
    qs = Contact.objects.filter(firm=context(request).firm).order_by("name", "pk")
    if filters.q:
        qs = qs.filter(
            Q(name__icontains=filters.q)
            | Q(email__icontains=filters.q)
            | Q(phone__icontains=filters.q)
        )
    rows, next_cursor = keyset_page(qs, page)
    return Page[ContactOut](items=[ContactOut.of(c) for c in rows], next=next_cursor)


@router.get("/contacts/{int:contact_id}", response={200: ContactOut, **ERRORS})
def contact_get(request: HttpRequest, contact_id: Id) -> ContactOut:
    return ContactOut.of(get_or_404(Contact.objects.filter(firm=context(request).firm), contact_id))


@router.post("/contacts", response={201: ContactOut, **ERRORS})
@idempotent
def contact_create(request: HttpRequest, payload: ContactIn) -> Status[ContactOut]:
    ctx = context(request)
    contact = case_service.contact_create(
        firm=ctx.firm,
        actor=ctx.user,
        name=payload.name,
        address=payload.address,
        date_of_birth=payload.date_of_birth,
        phone=payload.phone,
        email=payload.email,
        is_medical_provider=payload.is_medical_provider,
    )
    return Status(201, ContactOut.of(contact))


class UserFilter(Clean):
    is_attorney: bool | None = Field(default=None, description="true: attorneys only.")
    include_inactive: bool = False


@router.get("/users", response={200: CountedPage[UserOut], **ERRORS})
def user_list(
    request: HttpRequest, page: Query[PageIn], filters: Query[UserFilter]
) -> CountedPage[UserOut]:
    """The firm's users, e.g. the attorneys a case can be assigned to."""
    qs = User.objects.filter(firm=context(request).firm).order_by(
        "last_name", "first_name", "email", "pk"
    )
    if filters.is_attorney is not None:
        qs = qs.filter(is_attorney=filters.is_attorney)
    if not filters.include_inactive:
        qs = qs.filter(is_active=True)
    rows, next_cursor = keyset_page(qs, page)
    return CountedPage[UserOut](
        items=[UserOut.of(u) for u in rows], next=next_cursor, count=qs.count()
    )


class CaseTypeOut(Out):
    id: int
    name: str
    is_default: bool


@router.get("/case-types", response={200: CountedPage[CaseTypeOut], **ERRORS})
def case_type_list(request: HttpRequest, page: Query[PageIn]) -> CountedPage[CaseTypeOut]:
    qs = CaseType.objects.filter(firm=context(request).firm).order_by("name", "pk")
    rows, next_cursor = keyset_page(qs, page)
    return CountedPage[CaseTypeOut](
        items=[CaseTypeOut(id=t.pk, name=t.name, is_default=t.is_default) for t in rows],
        next=next_cursor,
        count=qs.count(),
    )
