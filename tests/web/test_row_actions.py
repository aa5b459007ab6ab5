"""The one tag every list's row actions go through ({% row_actions %}, issue 14): two or
fewer stay in the row, more go to a <details> overflow menu named for the row."""

from __future__ import annotations

import pytest
from django.template import Context, Template, TemplateSyntaxError

ACTION = '<a class="btn" href="/{0}/" aria-label="{0} the check">{0}</a>'


def render(body: str, **context: object) -> str:
    return Template(body).render(Context(context))


def test_two_actions_stay_in_the_row():
    html = render(
        '{% row_actions "check" number %}'
        + ACTION.format("Print")
        + ACTION.format("Void")
        + "{% endrow_actions %}",
        number=1001,
    )
    assert html == (
        '<div class="row-actions">' + ACTION.format("Print") + ACTION.format("Void") + "</div>"
    )


def test_three_actions_go_to_a_menu_named_for_the_row():
    actions = ACTION.format("PDF") + ACTION.format("Reprint") + ACTION.format("Void")
    html = render(
        '{% row_actions "check" number "to" payee %}' + actions + "{% endrow_actions %}",
        number=1001,
        payee="Valley <Records>",
    )
    assert html == (
        '<details class="row-menu"><summary class="btn btn-sm" aria-label="Actions: check 1001'
        ' to Valley &lt;Records&gt;">Actions<span class="row-menu-caret" aria-hidden="true">'
        '</span></summary><div class="row-menu-list">' + actions + "</div></details>"
    )


def test_a_form_counts_as_its_button_and_hidden_inputs_do_not_count():
    form = '<form method="post"><input type="hidden" name="x"><button>Retry</button></form>'
    html = render("{% row_actions %}" + form + ACTION.format("Withdraw") + "{% endrow_actions %}")
    assert html == '<div class="row-actions">' + form + ACTION.format("Withdraw") + "</div>"


def test_no_action_renders_nothing():
    assert render('{% row_actions "check" %} {% if False %}x{% endif %} {% endrow_actions %}') == ""


def test_the_tag_must_be_closed():
    with pytest.raises(TemplateSyntaxError):
        Template('{% row_actions "check" %}<a href="/">x</a>')


def test_an_empty_part_of_the_name_leaves_no_double_space():
    actions = ACTION.format("PDF") + ACTION.format("Reprint") + ACTION.format("Void")
    html = render(
        '{% row_actions "check" number "to" payee %}' + actions + "{% endrow_actions %}",
        number="",  # a queued check has no number yet
        payee="Valley Records",
    )
    assert 'aria-label="Actions: check to Valley Records">' in html
