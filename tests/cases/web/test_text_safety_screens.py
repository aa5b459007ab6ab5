"""Issue 10, item 13, on the screens: a payee, lien holder or client typed with a character
that would make it read differently is refused next to its field, naming the character, and
nothing is written (not even the contact); a CSV export never hands a spreadsheet a
formula."""

from __future__ import annotations

import csv
import html
import io

from django.urls import reverse

from casebridge.cases.models import CaseType, Contact, Cost
from casebridge.cases.services import costs
from tests.cases.conftest import cost_code

from .conftest import HX, D, nothing_written, text

RLO = "\u202e"


def test_a_payee_that_reads_backwards_is_refused_next_to_the_field(admin_client, case):
    with nothing_written():
        response = admin_client.post(
            reverse("cases:cost_new", args=[case.pk]),
            {
                "payee": f"Valley {RLO}sdroceR",  # shows as "Valley Records"
                "amount": "100.00",
                "priority": "normal",
                "cost_code": cost_code(case.firm, "E112").pk,
                "cost_date": D.isoformat(),
            },
            **HX,
        )
    assert response.status_code == 422
    page = html.unescape(text(response))
    assert (
        '<div class="field-error" id="id_payee_error"><p>Payee contains an invisible or '
        "direction-changing character (U+202E)</p></div>"
    ) in page
    assert not Contact.objects.filter(name__contains=RLO).exists()


def test_a_lien_holder_with_a_zero_width_space_is_refused(admin_client, case):
    with nothing_written():
        response = admin_client.post(
            reverse("cases:lien_new", args=[case.pk]),
            {"kind": "medical", "holder": "Valley\u200bMedical", "claimed": "100.00"},
            **HX,
        )
    assert response.status_code == 422
    assert (
        "Lien holder contains an invisible or direction-changing character (U+200B)"
        in html.unescape(text(response))
    )


def test_a_client_name_with_an_isolate_is_refused_next_to_the_client(admin_client):
    with nothing_written():
        response = admin_client.post(
            reverse("cases:case_new"),
            {
                "client_name": "Maria \u2067Lopez\u2069",
                "name": "Lopez v. Acme",
                "case_type": CaseType.objects.get().pk,
                "status": "open",
            },
            **HX,
        )
    assert response.status_code == 422
    page = html.unescape(text(response))
    assert (
        '<div class="field-error" id="id_client_name_error"><p>Name contains an invisible or '
        "direction-changing character (U+2067)</p></div>"
    ) in page


def test_the_csv_export_neutralises_every_formula_start(admin_client, cfirm, cadmin, case, payee):
    made = [
        costs.cost_create(
            firm=cfirm,
            actor=cadmin,
            case_id=case.pk,
            payee_id=payee.pk,
            amount_cents=100,
            cost_code_id=cost_code(cfirm, "E112").pk,
            cost_date=D,
            memo=memo,
            invoice_reference=reference,
        )
        for memo, reference in (
            ('=HYPERLINK("http://evil.test")', "@SUM(A1)"),
            ("\uff1dcmd()", "\uff0b1"),  # full-width = and +
            ("ordinary memo", "INV-1"),
        )
    ]
    response = admin_client.post(
        reverse("cases:costs_bulk"), {"action": "export", "cost": [c.pk for c in made]}
    )
    assert response.status_code == 200
    rows = {row[0]: row for row in csv.reader(io.StringIO(response.content.decode()))}
    cells = [(rows[str(c.pk)][9], rows[str(c.pk)][7]) for c in made]
    assert cells == [
        ('\'=HYPERLINK("http://evil.test")', "'@SUM(A1)"),
        ("'\uff1dcmd()", "'\uff0b1"),
        ("ordinary memo", "INV-1"),
    ]
    assert Cost.objects.count() == 3
