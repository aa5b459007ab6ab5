"""The pop-up kit both sides' screens are built on (casebridge.web.popups, issue 14): one
MoneyField, refusals next to the right field, and popup_form(), the GET/POST skeleton."""

from __future__ import annotations

from typing import Any

import pytest
from django import forms
from django.contrib.messages import get_messages
from django.contrib.messages.storage.cookie import CookieStorage
from django.http import HttpResponse
from django.test import RequestFactory
from django.urls import ResolverMatch

from casebridge.core.errors import ValidationFailed
from casebridge.web import popups
from casebridge.web.paging import PER_PAGE, PER_PAGE_SHORT, paginate, paginate_numbered
from casebridge.web.popups import MoneyField, apply_domain_error, page_base, popup_form

HX = {"HTTP_HX_REQUEST": "true"}
BODY = "web/_form_errors.html"  # a real body partial: it draws the form's non-field errors


def clean(value: str, **kwargs: Any) -> int | None:
    return MoneyField(label="Amount", required=False, **kwargs).clean(value)


def refusal(value: str, **kwargs: Any) -> list[str]:
    with pytest.raises(forms.ValidationError) as info:
        clean(value, **kwargs)
    return info.value.messages


# --- MoneyField -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "cents"),
    [
        ("1,234.56", 123456),
        ("$12", 1200),
        ("12.5", 1250),
        (".5", 50),
        ("+$3", 300),
        ("  7  ", 700),
        ("0", 0),
        ("99,999,999,999.99", 9_999_999_999_999),
    ],
)
def test_money_typed_as_both_sides_took_it_is_cents(typed, cents):
    assert clean(typed) == cents


def test_an_empty_amount_is_none_and_a_negative_one_only_where_allowed():
    assert clean("") is None
    assert clean("-5", allow_negative=True) == -500
    assert clean("$-5", allow_negative=True) == -500
    assert refusal("-5") == ["Enter a positive amount."]


@pytest.mark.parametrize(
    ("typed", "message"),
    [
        # non-ASCII digits: the books' \d took them and parse_amount refused them later
        ("١٢٣", "Enter an amount such as 1,234.56."),
        ("\uff11\uff12", "Enter an amount such as 1,234.56."),  # fullwidth 12
        ("12abc", "Enter an amount such as 1,234.56."),
        ("1e5", "Enter an amount such as 1,234.56."),
        ("1_000", "Enter an amount such as 1,234.56."),
        ("1" * 25, "Enter an amount such as 1,234.56."),
        ("1,00", "Amount has a misplaced comma: '1,00' (write it like 1,234.56)"),
        ("1.234", "Amount has more than two decimal places: 1.234"),
        (".", "Amount is not a number: '.' (write it like 1234.56)"),
        ("100,000,000,000", "Amount is too large"),
    ],
)
def test_what_is_not_money_is_refused_saying_why(typed, message):
    assert refusal(typed) == [message]


def test_a_refusal_names_the_field_as_its_label_is_written():
    field = MoneyField(label="COPP charges")
    with pytest.raises(forms.ValidationError) as info:
        field.clean("1.234")
    assert info.value.messages == ["COPP charges has more than two decimal places: 1.234"]


def test_an_initial_value_in_cents_shows_as_an_amount_and_the_input_says_decimal():
    field = MoneyField(label="Amount")
    assert field.prepare_value(123456) == "1234.56"
    assert field.prepare_value("12.3") == "12.3"
    assert field.clean(500) == 500
    attrs = field.widget_attrs(field.widget)
    assert attrs["inputmode"] == "decimal"
    assert attrs["maxlength"] == "24"


def test_the_sides_forms_use_the_one_money_field():
    from casebridge.books import forms as books_forms
    from casebridge.cases import forms as cases_forms

    assert books_forms.MoneyField is MoneyField
    assert cases_forms.MoneyField is MoneyField


# --- Refusals next to the right field ---------------------------------------------------


class AmountForm(forms.Form):
    amount = MoneyField(label="Amount")
    memo = forms.CharField(label="Memo", required=False)
    locked = forms.CharField(label="Locked", required=False, disabled=True)


def bound(**data: str) -> AmountForm:
    form = AmountForm({"amount": "1", **data})
    assert form.is_valid()
    return form


def test_a_refusal_naming_a_field_stands_next_to_it_as_a_sentence():
    form = bound()
    apply_domain_error(form, ValidationFailed("memo is too long", field="memo"))
    assert form.errors == {"memo": ["Memo is too long"]}


def test_a_refusal_is_mapped_to_the_form_s_name_for_the_field():
    form = bound()
    apply_domain_error(
        form,
        ValidationFailed("the amount is too big", field="amount_cents"),
        {"amount_cents": "amount"},
    )
    assert form.errors == {"amount": ["The amount is too big"]}


@pytest.mark.parametrize("field", [None, "no_such_field", "locked"])
def test_a_refusal_naming_no_field_of_the_form_or_a_disabled_one_stands_above_it(field):
    form = bound()
    apply_domain_error(form, ValidationFailed("not now", field=field))
    assert form.errors == {"__all__": ["Not now"]}


# --- popup_form -------------------------------------------------------------------------


def make_request(method: str = "get", data: dict[str, str] | None = None, *, htmx: bool = True):
    factory = RequestFactory()
    extra = HX if htmx else {}
    request = getattr(factory, method)("/books/things/new/", data or {}, **extra)
    request.resolver_match = ResolverMatch(
        lambda r: None, (), {}, url_name="thing_new", app_names=["books"], namespaces=["books"]
    )
    request._messages = CookieStorage(request)
    return request


class Saved:
    """A stand-in service: what it was asked to write, and a refusal on demand."""

    def __init__(self) -> None:
        self.rows: list[int] = []
        self.drawn: list[AmountForm] = []

    def save(self, form: AmountForm) -> str:
        memo = form.cleaned_data["memo"]
        if memo == "refuse the memo":
            raise ValidationFailed("the memo is refused", field="memo")
        if memo == "refuse":
            raise ValidationFailed("the books are closed")
        self.rows.append(form.cleaned_data["amount"])
        return f"Saved {form.cleaned_data['amount']}."

    def draw(self, form: AmountForm) -> dict[str, Any]:
        self.drawn.append(form)
        return {"extra": "yes"}


def run(request, saved: Saved, **kwargs: Any) -> HttpResponse:
    options: dict[str, Any] = {
        "on_valid": saved.save,
        "template": BODY,
        "title": "Add a thing",
        "success": "/books/things/",
        "context": saved.draw,
    }
    options.update(kwargs)
    return popup_form(request, AmountForm, **options)


def test_a_get_opens_the_pop_up_with_the_initial_values():
    saved = Saved()
    response = run(make_request(), saved, initial={"amount": 1250})
    assert response.status_code == 200
    body = response.content.decode()
    assert "<dialog" in body
    assert '<h2 id="modal-title">Add a thing</h2>' in body
    (form,) = saved.drawn
    assert not form.is_bound
    assert form["amount"].value() == "12.50"
    assert saved.rows == []


def test_a_valid_post_calls_the_service_then_redirects_with_its_message():
    saved = Saved()
    request = make_request("post", {"amount": "1,234.56", "memo": ""})
    response = run(request, saved)
    assert response.status_code == 200
    assert response["HX-Redirect"] == "/books/things/"
    assert response.content == b""
    assert saved.rows == [123456]
    assert saved.drawn == []  # nothing drawn after a write
    assert [m.message for m in get_messages(request)] == ["Saved 123456."]


def test_without_htmx_a_valid_post_redirects():
    saved = Saved()
    response = run(make_request("post", {"amount": "5"}, htmx=False), saved)
    assert response.status_code == 302
    assert response["Location"] == "/books/things/"
    assert saved.rows == [500]


def test_an_invalid_post_swaps_just_the_form_with_422_and_writes_nothing():
    saved = Saved()
    response = run(make_request("post", {"amount": "12abc"}), saved)
    assert response.status_code == 422
    assert "<dialog" not in response.content.decode()
    (form,) = saved.drawn
    assert form.errors == {"amount": ["Enter an amount such as 1,234.56."]}
    assert saved.rows == []


def test_a_refusal_naming_a_field_is_shown_next_to_it_with_422():
    saved = Saved()
    response = run(make_request("post", {"amount": "5", "memo": "refuse the memo"}), saved)
    assert response.status_code == 422
    (form,) = saved.drawn
    assert form.errors == {"memo": ["The memo is refused"]}
    assert saved.rows == []


def test_a_refusal_naming_no_field_is_shown_above_the_form():
    saved = Saved()
    response = run(make_request("post", {"amount": "5", "memo": "refuse"}), saved)
    assert response.status_code == 422
    assert '<div class="alert alert-error" role="alert">' in response.content.decode()
    assert "<p>The books are closed</p>" in response.content.decode()
    assert saved.drawn[0].errors == {"__all__": ["The books are closed"]}


def test_the_field_map_places_a_refusal_on_the_form_s_field():
    saved = Saved()
    response = run(
        make_request("post", {"amount": "5", "memo": "refuse the memo"}),
        saved,
        field_map={"memo": "amount"},
    )
    assert response.status_code == 422
    assert saved.drawn[0].errors == {"amount": ["The memo is refused"]}


def test_on_valid_may_answer_itself_or_add_its_own_error():
    saved = Saved()
    response = run(
        make_request("post", {"amount": "5"}),
        saved,
        on_valid=lambda form: HttpResponse("done", status=201),
    )
    assert (response.status_code, response.content) == (201, b"done")

    def own_error(form: AmountForm) -> None:
        form.add_error("amount", "Too much for this account.")

    response = run(make_request("post", {"amount": "5"}), saved, on_valid=own_error)
    assert response.status_code == 422
    assert saved.drawn[-1].errors == {"amount": ["Too much for this account."]}


def test_nothing_answered_and_no_error_added_is_a_mistake_not_a_silent_422():
    """An ``on_valid`` that returns None must have said why on the form: a 422 with no
    message would leave the user guessing (a programming mistake, refused loudly)."""
    with pytest.raises(ValueError, match="neither answered nor added an error"):
        run(make_request("post", {"amount": "5"}), Saved(), on_valid=lambda form: None)


def test_a_message_needs_somewhere_to_go():
    with pytest.raises(ValueError, match="no success"):
        run(make_request("post", {"amount": "5"}), Saved(), success="")


def test_a_plain_page_is_drawn_in_the_frame_of_the_side_it_belongs_to():
    request = make_request(htmx=False)
    assert page_base(request) == "books/base.html"
    for namespace, base in (("cases", "cases/base.html"), ("bridge", "cases/base.html")):
        request.resolver_match = ResolverMatch(
            lambda r: None, (), {}, app_names=[namespace], namespaces=[namespace]
        )
        assert page_base(request) == base
    request.resolver_match = None
    with pytest.raises(LookupError):
        page_base(request)


def test_the_answers_status_of_a_refusal_is_422():
    assert popups.INVALID == 422


# --- One page size ----------------------------------------------------------------------


def test_both_ways_of_paging_show_fifty_rows_unless_a_list_says_otherwise():
    request = RequestFactory().get("/", {"page": "2", "q": "x"})
    page = paginate(request, list(range(120)))
    assert PER_PAGE == 50
    assert list(page.object_list) == list(range(50, 100))
    assert page.prev_url == "?page=1&q=x"
    assert page.next_url == "?page=3&q=x"
    items, pager = paginate_numbered(request, list(range(120)))
    assert items == list(range(50, 100))
    assert (pager.number, pager.pages, pager.count) == (2, 3, 120)
    items, pager = paginate_numbered(request, list(range(120)), per_page=PER_PAGE_SHORT)
    assert items == list(range(25, 50))
    assert pager.pages == 5


@pytest.mark.parametrize(
    ("asked", "shown"),
    [("0", 1), ("-1", 1), ("abc", 1), ("", 1), ("1.5", 1), ("3", 3), ("4", 3), ("12345678", 3)],
)
def test_both_pagers_read_a_page_number_as_the_nearest_real_page(asked, shown):
    request = RequestFactory().get("/", {"page": asked})
    assert paginate(request, list(range(120))).number == shown
    assert paginate_numbered(request, list(range(120)))[1].number == shown
