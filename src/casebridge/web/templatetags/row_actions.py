"""A table row's actions, in every list:
``{% row_actions "check" check.number "to" check.payee %} ... {% endrow_actions %}``.

The arguments, joined by spaces (an empty one left out), name the row for a screen reader by
what the row shows, never an internal id ("Actions: check 1001 to Valley Records for
$125.00").

Two actions or fewer stay in the row as buttons; more go to an overflow menu (a native
``<details>``/``<summary>``: reachable and opened with the keyboard, no script needed;
casebridge.js closes it on Escape or a click elsewhere), so a row's actions never crush its
payee and memo on a desktop nor push its amount off a phone's screen. An action is a link
or a button; a form's hidden inputs do not count. Every list uses this one tag (issue 14).
"""

from __future__ import annotations

import re
from typing import Any

from django import template
from django.template.base import FilterExpression, NodeList, Parser, Token
from django.template.loader import render_to_string

register = template.Library()

#: The most actions a row shows inline; beyond it they go to the menu.
INLINE_MOST = 2
_ACTION = re.compile(r"<(a|button)\b", re.IGNORECASE)


def action_count(html: str) -> int:
    return len(_ACTION.findall(html))


class RowActionsNode(template.Node):
    def __init__(self, label: list[FilterExpression], nodelist: NodeList) -> None:
        self.label = label
        self.nodelist = nodelist

    def render(self, context: Any) -> str:
        inner = self.nodelist.render(context).strip()
        # an empty part (a queued check has no number yet) leaves no double space
        label = " ".join(p for p in (str(part.resolve(context)) for part in self.label) if p)
        return render_to_string(
            "web/_row_actions.html",
            {"actions": inner, "label": label, "menu": action_count(inner) > INLINE_MOST},
        ).strip()


@register.tag("row_actions")
def row_actions(parser: Parser, token: Token) -> RowActionsNode:
    label = [parser.compile_filter(bit) for bit in token.split_contents()[1:]]
    nodelist = parser.parse(("endrow_actions",))
    parser.delete_first_token()
    return RowActionsNode(label, nodelist)
