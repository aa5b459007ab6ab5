"""The cases side's shared response pieces; the generic ones (decimal-string amounts,
percentages, ids, paging, the error shape) are in :mod:`casebridge.core.api.schemas`."""

from __future__ import annotations

from pydantic import BaseModel, Field

from casebridge.cases.models import Case, Contact, Firm, User
from casebridge.core.api import schemas as core
from casebridge.core.api.schemas import ErrorOut, FirmOut, In, Out

#: Responses every authenticated endpoint may give besides its own: the books' set and
#: 403 ``permission_denied`` (the services check permissions and name the one missing).
ERRORS: dict[int, type[BaseModel]] = {**core.ERRORS, 403: ErrorOut}

#: Column widths the request schemas respect, so no input overflows a column.
NAME_LENGTH = 200
NOTE_LENGTH = 255
EMAIL_PATTERN = r"^$|^[^@\s]+@[^@\s]+\.[^@\s]+$"


class ContactRef(Out):
    id: int
    name: str

    @classmethod
    def of(cls, contact: Contact) -> ContactRef:
        return cls(id=contact.pk, name=contact.name)


class UserRef(Out):
    id: int
    name: str
    email: str

    @classmethod
    def of(cls, user: User) -> UserRef:
        return cls(id=user.pk, name=user.display_name, email=user.email)


class CaseRef(Out):
    id: int
    number: str
    name: str

    @classmethod
    def of(cls, case: Case) -> CaseRef:
        return cls(id=case.pk, number=case.number, name=case.name)


def firm_out(firm: Firm) -> FirmOut:
    return FirmOut(id=firm.pk, code=firm.code, name=firm.name)


class ReasonIn(In):
    """Void a cost or a deposit, with an optional reason."""

    reason: str = Field(default="", max_length=NOTE_LENGTH)


#: The body of a void sent without one.
REASON_DEFAULTS = ReasonIn()
