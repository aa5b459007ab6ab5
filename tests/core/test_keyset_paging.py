"""The one paging of every API list (issue 14): ``keyset_page`` reads an ordered queryset
page by page from an opaque cursor, ties broken by id, with no OFFSET; a cursor that is not
one it gave is a 422 naming ``cursor``."""

from __future__ import annotations

import base64
import datetime as dt
import json
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from casebridge.books.models import Contact, File
from casebridge.core.api.schemas import (
    PageIn,
    decode_cursor,
    encode_cursor,
    keyset_page,
)
from casebridge.core.errors import ValidationFailed

pytestmark = pytest.mark.django_db


@pytest.fixture
def client(firm) -> Contact:
    return Contact.objects.create(firm=firm, name="Maria Lopez")


def _file(firm, client, number: str, name: str, opened: int) -> File:
    return File.objects.create(
        firm=firm,
        number=number,
        name=name,
        client=client,
        opened_on=dt.date(2026, 3, opened),
    )


def _walk(queryset, limit: int) -> list[list[str]]:
    """Every page's file numbers, following ``next`` to the end."""
    pages: list[list[str]] = []
    cursor: str | None = None
    while True:
        rows, cursor = keyset_page(queryset, PageIn(limit=limit, cursor=cursor))
        pages.append([f.number for f in rows])
        if cursor is None:
            return pages


@pytest.fixture
def files(firm, client) -> list[File]:
    # opened_on ties on the 2nd (three files) and the 5th (two): the id decides
    return [
        _file(firm, client, "F-1", "Beta", 2),
        _file(firm, client, "F-2", "Alpha", 5),
        _file(firm, client, "F-3", "Alpha", 2),
        _file(firm, client, "F-4", "Gamma", 9),
        _file(firm, client, "F-5", "Beta", 5),
        _file(firm, client, "F-6", "Alpha", 2),
    ]


def test_ascending_pages_break_ties_by_id(firm, files):
    pages = _walk(File.objects.filter(firm=firm).order_by("opened_on"), limit=2)
    assert pages == [["F-1", "F-3"], ["F-6", "F-2"], ["F-5", "F-4"]]


def test_descending_pages_keep_the_order_the_queryset_names(firm, files):
    pages = _walk(File.objects.filter(firm=firm).order_by("-opened_on", "-pk"), limit=4)
    assert pages == [["F-4", "F-5", "F-2", "F-6"], ["F-3", "F-1"]]


def test_values_rows_page_alike_with_the_same_cursors(firm, files):
    """A screen reading plain rows (``.values()``, the sort keys and "pk" among them) walks
    the same pages, and a cursor of the models' walk goes on in the rows' (issue 16's
    lows: the deadlines screen)."""
    qs = File.objects.filter(firm=firm).order_by("name", "-opened_on")
    rows_qs = qs.values("pk", "number", "name", "opened_on")
    pages: list[list[str]] = []
    cursor: str | None = None
    while True:
        rows, cursor = keyset_page(rows_qs, PageIn(limit=4, cursor=cursor))
        pages.append([row["number"] for row in rows])
        if cursor is None:
            break
    assert pages == [["F-2", "F-3", "F-6", "F-5"], ["F-1", "F-4"]]
    _, from_models = keyset_page(qs, PageIn(limit=2))
    rows, _ = keyset_page(rows_qs, PageIn(limit=2, cursor=from_models))
    assert [row["number"] for row in rows] == ["F-6", "F-5"]


def test_several_keys_in_mixed_directions(firm, files):
    qs = File.objects.filter(firm=firm).order_by("name", "-opened_on")
    assert _walk(qs, limit=1) == [["F-2"], ["F-3"], ["F-6"], ["F-5"], ["F-1"], ["F-4"]]


def test_a_key_through_a_relation(firm, files, client):
    other = Contact.objects.create(firm=firm, name="Aaron Abel")
    _file(firm, other, "F-7", "Delta", 1)
    qs = File.objects.filter(firm=firm).order_by("client__name", "number")
    assert _walk(qs, limit=3) == [["F-7", "F-1", "F-2"], ["F-3", "F-4", "F-5"], ["F-6"]]


def test_the_last_full_page_ends_with_next_null(firm, files):
    rows, cursor = keyset_page(File.objects.filter(firm=firm).order_by("pk"), PageIn(limit=6))
    assert ([f.number for f in rows], cursor) == (["F-1", "F-2", "F-3", "F-4", "F-5", "F-6"], None)
    assert keyset_page(File.objects.none().order_by("pk"), PageIn()) == ([], None)


def test_a_row_added_between_pages_is_neither_skipped_nor_repeated(firm, client, files):
    qs = File.objects.filter(firm=firm).order_by("name")
    first, cursor = keyset_page(qs, PageIn(limit=3))
    assert [f.number for f in first] == ["F-2", "F-3", "F-6"]  # the Alphas
    _file(firm, client, "F-8", "Aardvark", 1)  # before the cursor: not on a later page
    _file(firm, client, "F-9", "Alpha", 1)  # a tie at the cursor, larger id: after it
    _file(firm, client, "F-10", "Beta", 1)  # after the cursor
    rest = _walk_from(qs, cursor, limit=3)
    assert rest == [["F-9", "F-1", "F-5"], ["F-10", "F-4"]]


def test_a_row_removed_between_pages_moves_nothing(firm, files):
    qs = File.objects.filter(firm=firm).order_by("name")
    first, cursor = keyset_page(qs, PageIn(limit=3))
    File.objects.filter(pk=first[-1].pk).delete()  # the cursor's own row
    File.objects.filter(number="F-1").delete()
    assert _walk_from(qs, cursor, limit=10) == [["F-5", "F-4"]]


def _walk_from(queryset, cursor: str | None, limit: int) -> list[list[str]]:
    pages: list[list[str]] = []
    while cursor is not None:
        rows, cursor = keyset_page(queryset, PageIn(limit=limit, cursor=cursor))
        pages.append([f.number for f in rows])
    return pages


def test_a_page_is_one_query_with_a_limit_and_no_offset(firm, files):
    qs = File.objects.filter(firm=firm).order_by("-opened_on")
    _, cursor = keyset_page(qs, PageIn(limit=2))
    with CaptureQueriesContext(connection) as queries:
        keyset_page(qs, PageIn(limit=2, cursor=cursor))
    assert len(queries) == 1
    sql = queries[0]["sql"].upper()
    assert ("LIMIT 3" in sql, "OFFSET" in sql) == (True, False)


def _token(data) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")


def test_bad_cursors_are_a_422_naming_cursor(firm, files):
    qs = File.objects.filter(firm=firm).order_by("opened_on")
    _, good = keyset_page(qs, PageIn(limit=1))
    assert good is not None
    tag = json.loads(base64.urlsafe_b64decode(good + "=" * (-len(good) % 4)))[0]
    other_list = keyset_page(File.objects.filter(firm=firm).order_by("name"), PageIn(limit=1))[1]
    Contact.objects.create(firm=firm, name="Second")
    other_model = keyset_page(Contact.objects.order_by("pk"), PageIn(limit=1))[1]
    bad = [
        "junk!",
        "bm90IGpzb24",  # "not json"
        _token({"a": 1}),
        _token([tag]),
        _token([tag, "2026-03-02"]),  # the id missing
        _token([tag, "2026-03-02", 1, 2]),
        _token([tag, "2026-13-02", 1]),
        _token([tag, "2026-03-02T00:00:00", 1]),
        _token([tag, 20260302, 1]),
        _token([tag, "2026-03-02", "1"]),
        _token([tag, "2026-03-02", True]),
        _token([tag, "2026-03-02", 1.5]),
        _token([tag, "2026-03-02", 2**64]),
        _token([tag, None, 1]),
        _token(["another", "2026-03-02", 1]),
        other_list,
        other_model,
        good[:-2],
        "A" * 5000,
    ]
    for token in bad:
        with pytest.raises(ValidationFailed) as refused:
            keyset_page(qs, PageIn.model_construct(limit=1, cursor=token))
        assert (refused.value.field, refused.value.http_status) == ("cursor", 422), token
        assert refused.value.message.startswith("cursor: not a cursor of this list"), token


def test_text_cursor_values_that_no_database_stores_are_refused(firm, files):
    qs = File.objects.filter(firm=firm).order_by("name")
    _, good = keyset_page(qs, PageIn(limit=1))
    assert good is not None
    tag = json.loads(base64.urlsafe_b64decode(good + "=" * (-len(good) % 4)))[0]
    for text in ("a\x00b", "\ud800"):
        token = base64.urlsafe_b64encode(json.dumps([tag, text, 1]).encode()).decode()
        with pytest.raises(ValidationFailed):
            keyset_page(qs, PageIn(limit=1, cursor=token.rstrip("=")))


def test_the_codec_keeps_each_type():
    moment = dt.datetime(2026, 3, 2, 9, 30, 15, 123456, tzinfo=dt.UTC)
    token = encode_cursor("t", [dt.date(2026, 3, 2), moment, "Ünïcode ✓", 7, True])
    kinds = [dt.date, dt.datetime, str, int, bool]
    assert decode_cursor(token, "t", kinds) == [dt.date(2026, 3, 2), moment, "Ünïcode ✓", 7, True]
    with pytest.raises(ValidationFailed):
        decode_cursor(encode_cursor("t", ["2026-03-02T09:30:00"]), "t", [dt.datetime])  # naive


def test_a_key_that_may_be_null_sorts_its_nulls_last_either_way(firm):
    made = {
        name: Contact.objects.create(firm=firm, name=name, external_ref=ref).pk
        for name, ref in (
            ("B", "ref-b"),
            ("N1", None),
            ("A", "ref-a"),
            ("N2", None),
            ("C", "ref-c"),
        )
    }

    def walk(*ordering: str) -> list[list[str]]:
        names = {pk: name for name, pk in made.items()}
        qs = Contact.objects.filter(firm=firm).order_by(*ordering)
        pages, cursor = [], None
        while True:
            rows, cursor = keyset_page(qs, PageIn(limit=2, cursor=cursor))
            pages.append([names[c.pk] for c in rows])
            if cursor is None:
                return pages

    assert walk("external_ref") == [["A", "B"], ["C", "N1"], ["N2"]]
    assert walk("-external_ref") == [["C", "B"], ["A", "N1"], ["N2"]]
    assert walk("-external_ref", "-pk") == [["C", "B"], ["A", "N2"], ["N1"]]


def test_only_orderings_by_field_names_page():
    with pytest.raises(TypeError, match="ordered"):
        keyset_page(Contact.objects.order_by(), PageIn())
    with pytest.raises(TypeError, match="field names"):
        keyset_page(Contact.objects.order_by("?"), PageIn())
    with pytest.raises(TypeError, match=r"client_id"):
        keyset_page(File.objects.order_by("client"), PageIn())


def test_a_relations_column_pages_by_its_id(firm, client, files):
    other = Contact.objects.create(firm=firm, name="Aaron Abel")
    _file(firm, other, "F-7", "Delta", 1)
    qs = File.objects.filter(firm=firm).order_by("-client_id")
    assert _walk(qs, limit=4) == [["F-7", "F-1", "F-2", "F-3"], ["F-4", "F-5", "F-6"]]


def test_a_path_through_a_relation_a_row_lacks_pages(firm, files):
    """Sorting through a nullable relation: a last row without it gave a 500 building
    its cursor (``getattr(None, "name")``)."""
    qs = File.objects.filter(firm=firm).order_by("area_of_practice__name")
    pages = _walk(qs, 4)
    assert sorted(n for page in pages for n in page) == [f"F-{n}" for n in range(1, 7)]
    assert [len(page) for page in pages] == [4, 2]


def test_a_decimal_and_an_extreme_moment_in_a_cursor():
    """A decimal's own cursor reads back (``str`` wrote "0E-7", which the reader refused);
    a moment past what the database takes is a refusal, not a 500 (it overflowed in UTC)."""
    for value in (Decimal("0E-7"), Decimal("1E+2"), Decimal("-12.50")):
        assert decode_cursor(encode_cursor("t", [value]), "t", [Decimal]) == [value]
    far = base64.urlsafe_b64encode(json.dumps(["t", "9999-12-31T23:59:59-14:00"]).encode())
    with pytest.raises(ValidationFailed) as refused:
        decode_cursor(far.decode().rstrip("="), "t", [dt.datetime])
    assert refused.value.field == "cursor"
