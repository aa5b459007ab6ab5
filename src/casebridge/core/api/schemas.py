"""Request/response building blocks shared by every API.

- Amounts travel as decimal strings ("1234.56"). :data:`Cents` and friends parse them with
  :func:`casebridge.core.money.parse_amount` into integer cents while the request is
  validated, so a float, a third decimal place or a non-positive amount is a 422 that
  names the field, before any service runs. Responses render cents with :func:`money`.
- Ids are positive 64-bit integers (:data:`Id`); anything larger is refused as input
  instead of overflowing a database column.
- Request bodies derive from :class:`In`: unknown fields are refused (a misspelt
  ``ammount`` must not be silently dropped from a money request), strings are stripped,
  and NUL characters and lone surrogates (which no database column stores) are refused;
  query parameter schemas derive from :class:`Clean`, which does the last two.
- Lists are paged with :class:`PageIn` and returned as :class:`Page` ``{"items", "count"}``.
"""

from __future__ import annotations

from typing import Annotated, Any, Generic, TypeVar

from django.db.models import Model, QuerySet
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationInfo,
    WithJsonSchema,
    field_validator,
)
from pydantic_core import PydanticCustomError

from casebridge.core.errors import ValidationFailed
from casebridge.core.money import cents_to_decimal, parse_amount

#: Largest id accepted (a signed 64-bit primary key).
MAX_ID = 2**63 - 1
DEFAULT_LIMIT = 100
MAX_LIMIT = 1000

Id = Annotated[int, Field(ge=1, le=MAX_ID)]


def money(cents: int) -> str:
    """Integer cents as the API's decimal string: 123456 -> "1234.56"."""
    return str(cents_to_decimal(cents))


def _to_cents(value: object, info: ValidationInfo) -> int:
    name = info.field_name or "amount"
    try:
        return parse_amount(value, field=name)
    except ValidationFailed as exc:
        reason = exc.message.removeprefix(f"{name} ")
        raise PydanticCustomError("invalid_amount", "{reason}", {"reason": reason}) from None


def _positive(cents: int) -> int:
    if cents <= 0:
        raise PydanticCustomError("amount_not_positive", "must be greater than zero")
    return cents


def _not_negative(cents: int) -> int:
    if cents < 0:
        raise PydanticCustomError("amount_negative", "cannot be negative")
    return cents


_AMOUNT_JSON = {
    "type": "string",
    "pattern": r"^-?\d+(\.\d{1,2})?$",
    "description": "A decimal string with at most two decimal places (never a float).",
    "examples": ["1234.56"],
}

#: Any amount (sign kept), e.g. a bank statement balance.
Cents = Annotated[int, BeforeValidator(_to_cents), WithJsonSchema(_AMOUNT_JSON)]
#: An amount that must be greater than zero (checks, receipts, invoice lines).
PositiveCents = Annotated[
    int, BeforeValidator(_to_cents), AfterValidator(_positive), WithJsonSchema(_AMOUNT_JSON)
]
#: Zero or more (one side of a journal line, deposits in transit).
NonNegativeCents = Annotated[
    int, BeforeValidator(_to_cents), AfterValidator(_not_negative), WithJsonSchema(_AMOUNT_JSON)
]

#: An amount in a response.
Money = Annotated[str, WithJsonSchema(_AMOUNT_JSON)]


def percent(basis_points: int) -> str:
    """Basis points as the API's percentage string: 3333 -> "33.33"."""
    return money(basis_points)


_PERCENT_JSON = {
    "type": "string",
    "pattern": r"^-?\d+(\.\d{1,2})?$",
    "description": "A percentage as a decimal string with at most two decimals.",
    "examples": ["33.33"],
}

#: A percentage with at most two decimals ("33.33"), parsed into basis points (3333): the
#: same hundredths as cents. Its range is the service's to check.
Percent = Annotated[int, BeforeValidator(_to_cents), WithJsonSchema(_PERCENT_JSON)]
#: A percentage in a response.
PercentOut = Annotated[str, WithJsonSchema(_PERCENT_JSON)]


class Out(BaseModel):
    """Base of every response: a plain pydantic model built explicitly by the endpoint
    (``XOut.of(obj)``), so nothing is read from an ORM object by attribute magic."""


class Clean(BaseModel):
    """Base of query parameter schemas: strings stripped, NUL and lone surrogates (which no
    database column can store) refused. A plain pydantic model, not a ninja ``Schema``:
    input never comes from ORM objects, and skipping ninja's attribute-resolving validator
    makes a 5,000-entry journal batch validate several times faster."""

    model_config = ConfigDict(str_strip_whitespace=True)

    @field_validator("*", mode="before")
    @classmethod
    def _storable_text(cls, value: Any) -> Any:
        if isinstance(value, str):
            if "\x00" in value:
                raise PydanticCustomError("nul_character", "must not contain NUL characters")
            try:
                value.encode("utf-8")
            except UnicodeEncodeError:
                raise PydanticCustomError("invalid_unicode", "must be valid Unicode text") from None
        return value


class In(Clean):
    """Base of every request body: also refuses fields it does not know."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class PatchIn(In):
    """Base of a PATCH body: only the fields sent change, so every field is optional and a
    ``null`` is refused (leave the field out to keep it)."""

    @field_validator("*", mode="before")
    @classmethod
    def _not_null(cls, value: object) -> object:
        if value is None:
            raise ValueError("cannot be null; leave the field out to keep it")
        return value

    def changes(self) -> dict[str, Any]:
        """The fields sent, by name."""
        return {name: getattr(self, name) for name in self.model_fields_set}


class PageIn(Clean):
    """``?limit=`` (default 100, at most 1000) and ``?offset=``."""

    limit: int = Field(DEFAULT_LIMIT, ge=1, le=MAX_LIMIT)
    offset: int = Field(0, ge=0, le=2**31)


T = TypeVar("T", bound=BaseModel)
M = TypeVar("M", bound=Model)


class Page(Out, Generic[T]):
    items: list[T]
    count: int


def page_of(queryset: QuerySet[M], page: PageIn) -> tuple[list[M], int]:
    """One page of ``queryset`` (which must be ordered) and the total count."""
    return list(queryset[page.offset : page.offset + page.limit]), queryset.count()


class Ref(Out):
    """A named reference to another record."""

    id: int
    name: str


class FirmOut(Out):
    id: int
    code: str
    name: str


class ErrorBody(Out):
    code: str
    message: str
    field: str | None = None
    details: dict[str, Any] | None = None


class ErrorOut(Out):
    """Every refusal: ``{"error": {"code", "message", "field"?, "details"?}}``."""

    error: ErrorBody


#: Responses every authenticated endpoint may give besides its own.
ERRORS: dict[int, type[BaseModel]] = {
    400: ErrorOut,
    401: ErrorOut,
    404: ErrorOut,
    409: ErrorOut,
    422: ErrorOut,
}
