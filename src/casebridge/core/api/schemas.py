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
- Lists are paged by keyset with :class:`PageIn` (``?limit=&cursor=``) and
  :func:`keyset_page`, and returned as :class:`Page` ``{"items", "next"}`` (``next``: the
  opaque cursor of the following page, null on the last; :class:`CountedPage` adds
  ``count`` to the short lists). A bad cursor is a 422 naming ``cursor``.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import hashlib
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Annotated, Any, Generic, TypeVar

from django.db.models import F, Model, Q, QuerySet
from django.db.models.expressions import OrderBy
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
#: Longest cursor accepted (the ones given are far shorter).
MAX_CURSOR_LENGTH = 1000
_CURSOR_CHARS = re.compile(r"[A-Za-z0-9_-]+")
_DECIMAL = re.compile(r"-?[0-9]{1,30}(\.[0-9]{1,10})?")
CURSOR_HELP = (
    "The `next` of the previous page, unchanged (an opaque string); leave out for the first page."
)
NEXT_HELP = "Pass as `cursor` for the next page; null on the last page."

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
    """``?limit=`` (default 100, at most 1000) and ``?cursor=`` (a page's ``next``; leave it
    out for the first page)."""

    limit: int = Field(DEFAULT_LIMIT, ge=1, le=MAX_LIMIT, description="Rows on the page.")
    cursor: str | None = Field(None, max_length=MAX_CURSOR_LENGTH, description=CURSOR_HELP)


T = TypeVar("T", bound=BaseModel)
R = TypeVar("R")


class Page(Out, Generic[T]):
    """One page of a list: ``{"items", "next"}``."""

    items: list[T]
    next: str | None = Field(description=NEXT_HELP)


class CountedPage(Page[T], Generic[T]):
    """A page of a short list (reference data, one account's or one case's rows), which also
    tells how many rows every page holds together."""

    count: int = Field(description="The rows of every page together.")


# --- keyset paging --------------------------------------------------------------------------

#: The Python type a cursor value is read back as, by the model field's internal type.
_CURSOR_TYPES: dict[str, type] = {
    **dict.fromkeys(
        (
            "AutoField",
            "BigAutoField",
            "SmallAutoField",
            "IntegerField",
            "BigIntegerField",
            "SmallIntegerField",
            "PositiveIntegerField",
            "PositiveBigIntegerField",
            "PositiveSmallIntegerField",
            "ForeignKey",
            "OneToOneField",
        ),
        int,
    ),
    **dict.fromkeys(("CharField", "TextField", "EmailField", "SlugField"), str),
    "BooleanField": bool,
    "DateField": dt.date,
    "DateTimeField": dt.datetime,
    "DecimalField": Decimal,
}


def _bad_cursor(reason: str = "not a cursor of this list") -> ValidationFailed:
    return ValidationFailed(
        f"cursor: {reason}; pass a page's `next` unchanged, or leave cursor out for the first page",
        field="cursor",
    )


def _cursor_value(value: object) -> object:
    if isinstance(value, dt.date):  # a datetime too
        return value.isoformat()
    if isinstance(value, Decimal):
        return format(value, "f")  # never "0E-7" or "1E+2", which the reader refuses
    if value is None or isinstance(value, bool | int | str):
        return value
    raise TypeError(f"a cursor cannot hold {type(value).__name__}")


def _read_value(raw: object, kind: type) -> object:
    """``raw`` (from the token's JSON) as ``kind``; :func:`_bad_cursor` if it is not one."""
    try:
        if kind is int and type(raw) is int and -(2**63) <= raw < 2**63:
            return raw
        if kind is bool and type(raw) is bool:
            return raw
        if kind is str and type(raw) is str:
            if "\x00" in raw:
                raise ValueError
            raw.encode("utf-8")  # a lone surrogate no database column stores
            return raw
        if kind is dt.date and type(raw) is str and len(raw) == 10:
            return dt.date.fromisoformat(raw)
        if kind is dt.datetime and type(raw) is str and len(raw) <= 40:
            moment = dt.datetime.fromisoformat(raw)
            if moment.tzinfo is not None:
                # in UTC here, where an overflow is a refusal (Django's make_naive would
                # raise it while building the query: a 500)
                return moment.astimezone(dt.UTC)
        if kind is Decimal and type(raw) is str and _DECIMAL.fullmatch(raw):
            return Decimal(raw)
    except (ValueError, ArithmeticError, UnicodeEncodeError):
        pass
    raise _bad_cursor()


def encode_cursor(tag: str, values: Sequence[object]) -> str:
    """An opaque cursor: ``values`` (the last row's sort key) under ``tag`` (which list and
    order it belongs to), as unpadded base64url JSON."""
    raw = json.dumps([tag, *map(_cursor_value, values)], separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_cursor(
    token: str, tag: str, kinds: Sequence[type], may_be_null: Sequence[bool] | None = None
) -> list[Any]:
    """The values :func:`encode_cursor` put in ``token``, each checked to be of its ``kind``
    (or null, where ``may_be_null`` says so).
    A token that is not base64url JSON, belongs to another list (``tag``) or holds values of
    other types is a 422 naming ``cursor`` (:class:`ValidationFailed`), never a 500."""
    if len(token) > MAX_CURSOR_LENGTH or not _CURSOR_CHARS.fullmatch(token):
        raise _bad_cursor()
    try:
        data = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
    except (ValueError, binascii.Error):
        raise _bad_cursor() from None
    if not isinstance(data, list) or len(data) != len(kinds) + 1 or data[0] != tag:
        raise _bad_cursor()
    return [
        None if raw is None and nullable else _read_value(raw, kind)
        for raw, kind, nullable in zip(
            data[1:], kinds, may_be_null or [False] * len(kinds), strict=True
        )
    ]


@dataclass(frozen=True)
class _Key:
    path: str  # "name", "case__number", "pk"
    descending: bool
    kind: type
    nullable: bool

    def ordering(self) -> str | OrderBy:
        """The key in ``order_by``: a key that may be null sorts its nulls last, whichever
        the direction and the database (PostgreSQL and SQLite differ by default)."""
        if self.nullable:
            column = F(self.path)
            return column.desc(nulls_last=True) if self.descending else column.asc(nulls_last=True)
        return f"-{self.path}" if self.descending else self.path


def _field_kind(model: type[Model], path: str) -> tuple[type, bool]:
    """The cursor type of the field at ``path``, following relations, and whether it may be
    null (itself or a relation on the way)."""
    names = path.split("__")
    nullable = False
    for i, name in enumerate(names):
        field = model._meta.pk if name == "pk" else model._meta.get_field(name)
        nullable = nullable or bool(getattr(field, "null", False))
        if i < len(names) - 1:
            related = field.related_model
            if related is None or isinstance(related, str):
                raise TypeError(f"keyset paging cannot follow {path}")
            model = related
    if field.is_relation and name != getattr(field, "attname", None):
        # order_by("case") sorts by the case's own ordering, not by the column
        raise TypeError(f"keyset paging orders by a relation's column ({path}_id), not {path}")
    kind = _CURSOR_TYPES.get(field.get_internal_type())  # type: ignore[union-attr]
    if kind is None:
        raise TypeError(f"keyset paging cannot order by {path} ({field.get_internal_type()})")  # type: ignore[union-attr]
    return kind, nullable


def _keys(queryset: QuerySet[Any]) -> list[_Key]:
    """The queryset's ordering as keys, ending with the primary key (added, ascending, when
    the ordering does not end with it)."""
    query = queryset.query
    ordering = list(query.order_by) or (
        list(queryset.model._meta.ordering) if query.default_ordering else []
    )
    if not ordering:
        raise TypeError("keyset paging needs an ordered queryset")
    pk_name = queryset.model._meta.pk.name
    keys: list[_Key] = []
    for item in ordering:
        if not isinstance(item, str) or item == "?":
            raise TypeError(f"keyset paging orders by field names only, not {item!r}")
        path = item.removeprefix("-")
        if path == pk_name:
            path = "pk"
        keys.append(_Key(path, item.startswith("-"), *_field_kind(queryset.model, path)))
    if keys[-1].path != "pk":
        keys.append(_Key("pk", False, *_field_kind(queryset.model, "pk")))
    return keys


def _past(keys: Sequence[_Key], values: Sequence[Any]) -> Q:
    """The rows after ``values`` in the keys' order: ``k1 >= v1 AND (k1 > v1 OR (k2 >= v2
    AND (k2 > v2 OR ...)))`` (each comparison turned for a descending key), so that an
    index on the keys reads from the cursor on. Nulls sort last: every null is past a
    value, and past a null only the rows with the same null and later keys."""
    key, value = keys[0], values[0]
    rest = keys[1:]
    if value is None:  # the key's nulls, at the end: only a later key goes on
        if not key.nullable or not rest:
            raise _bad_cursor()
        return Q(**{f"{key.path}__isnull": True}) & _past(rest, values[1:])
    strict = Q(**{f"{key.path}__{'lt' if key.descending else 'gt'}": value})
    at_least = Q(**{f"{key.path}__{'lte' if key.descending else 'gte'}": value})
    if key.nullable:
        null = Q(**{f"{key.path}__isnull": True})
        strict, at_least = strict | null, at_least | null
    if not rest:
        return strict
    return at_least & (strict | _past(rest, values[1:]))


def _value_at(row: object, path: str) -> object:
    if isinstance(row, Mapping):  # a .values() row: its keys are the lookups
        return row[path]
    value: object = row
    for name in path.split("__"):
        if value is None:  # a nullable relation the row does not have
            return None
        value = getattr(value, name)
    return value


def _tag(queryset: QuerySet[Any], keys: Sequence[_Key]) -> str:
    """Which list and order a cursor belongs to: a short digest of the model and its keys."""
    order = ",".join(f"{'-' if k.descending else ''}{k.path}" for k in keys)
    text = f"{queryset.model._meta.label_lower}:{order}"
    return hashlib.sha256(text.encode()).hexdigest()[:10]


def keyset_page(queryset: QuerySet[Any, R], page: PageIn) -> tuple[list[R], str | None]:
    """One page of ``queryset`` (ordered by field names; the primary key breaks ties; a key
    that may be null sorts its nulls last on both databases; its rows models, or the dicts
    of ``.values()`` naming every sort key, ``"pk"`` included) from
    ``page.cursor`` on, and the cursor of the next page (None on the last). The rows after
    the cursor's sort values are read with a ``LIMIT`` of one more than the page (no
    ``OFFSET``, no count), so a page costs the same at any depth and a row added or removed
    elsewhere neither repeats nor skips a row. The cursor encodes the page's last row's sort
    values (:func:`encode_cursor`); one of another list or order, or tampered with, is a
    422 naming ``cursor``."""
    keys = _keys(queryset)
    tag = _tag(queryset, keys)
    queryset = queryset.order_by(*(k.ordering() for k in keys))  # with the id, nulls last
    if page.cursor:
        kinds, nullable = [k.kind for k in keys], [k.nullable for k in keys]
        queryset = queryset.filter(_past(keys, decode_cursor(page.cursor, tag, kinds, nullable)))
    rows = list(queryset[: page.limit + 1])
    if len(rows) <= page.limit:
        return rows, None
    rows = rows[: page.limit]
    return rows, encode_cursor(tag, [_value_at(rows[-1], k.path) for k in keys])


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
