"""The bank reconciliation screens (issue 11): the reconcile page (lines by status,
Auto-match, Match / Match by hand / Unmatch / Set aside / Record), the outstanding items,
the monthly reconciliation (figures, Prepare, Sign, history, downloads, Reopen), Settings ->
Closed periods, the Attorney checkbox and the dashboard's panel. Each refusal is shown
next to its field and writes nothing; another firm's ids are not found."""

from __future__ import annotations

import datetime as dt
import io
from html import unescape

import pytest
from django.core.management import call_command
from django.test import Client
from django.urls import reverse

from casebridge.books.models import (
    BankAccount,
    ClearedItem,
    Firm,
    GLAccount,
    JournalEntry,
    Reconciliation,
    StatementLine,
    TrustReceipt,
    User,
)
from casebridge.books.services import auth, checks, matching, reconciliations
from casebridge.core import clock
from casebridge.core.models import AuditEvent
from tests.books.bank.statement_files import Row, import_statement
from tests.books.ledger_helpers import deposit, snapshot, trust_check
from tests.books.web.conftest import HX, sign_in, text
from tests.books.web.test_auth_screens import field_error

pytestmark = pytest.mark.django_db

MAR = dt.date(2026, 3, 1)
END = dt.date(2026, 3, 31)


def d(day: int, month: int = 3) -> dt.date:
    return dt.date(2026, month, day)


def printed(firm, actor, bank, file, cents, on, payee="Fresno Medical Group"):
    check = trust_check(firm, actor, bank, file, cents, on=on, payee=payee)
    return checks.check_print(firm=firm, actor=actor, check_id=check.pk, printed_on=on)


def written() -> dict:
    """Everything the reconciliation screens may write, beside the books' own snapshot."""
    return {
        "books": snapshot(),
        "cleared": sorted(ClearedItem.objects.values_list("posting_id", "line_id")),
        "lines": sorted(StatementLine.objects.values_list("pk", "status", "note")),
        "recs": sorted(Reconciliation.objects.values_list("pk", "status")),
        "closed": sorted(BankAccount.objects.values_list("pk", "closed_through")),
        "firm_closed": sorted(Firm.objects.values_list("pk", "closed_through")),
    }


@pytest.fixture
def signer_client(signer) -> Client:
    """The attorney of the bank tests (``signer``), enrolled and signed in."""
    auth.security_question_enroll(user=signer, question="Court?", answer="Fresno")
    return sign_in(Client(), signer)


@pytest.fixture
def march(firm, admin, opened, trust, client_file):
    """A trust account's March in the books and on the bank's statement: a $100,000
    settlement deposited (on the statement), check 1001 of $2,500 (on the statement),
    check 1002 of $1,000 (outstanding), a $400 receipt of March 31 (in transit), and a
    $12.50 bank fee the books do not carry (on a trust account it is recorded to a client
    ledger before the month can be signed). Nothing matched yet."""
    deposit(firm, admin, trust, client_file, 10_000_000, on=d(2))
    printed(firm, admin, trust, client_file, 250_000, d(5))
    printed(firm, admin, trust, client_file, 100_000, d(20), payee="Maria Lopez")
    deposit(firm, admin, trust, client_file, 40_000, on=d(31), payer="Maria Lopez")
    _, lines = import_statement(
        firm,
        admin,
        trust,
        [
            Row(d(3), 10_000_000),
            Row(d(10), -250_000, check="1001"),
            Row(d(31), -1_250, text="MONTHLY SERVICE FEE"),
        ],
        start=MAR,
        end=END,
    )
    return lines


def reconcile(bank) -> str:
    return reverse("books:bank_reconcile", args=[bank.pk])


def monthly(bank, month: str = "2026-03") -> str:
    return reverse("books:bank_reconciliation", args=[bank.pk]) + f"?month={month}"


def auto_match(client, bank):
    return client.post(reverse("books:bank_auto_match", args=[bank.pk]), follow=True)


def record_fee(firm, admin, lines):
    """March's $12.50 fee recorded to the client's ledger (the file of the deposit)."""
    fee = lines[2]
    file_id = TrustReceipt.objects.filter(firm=firm).values_list("file_id", flat=True)[0]
    matching.line_record(firm=firm, actor=admin, line_id=fee.pk, file_id=file_id)


# --- The reconcile page ------------------------------------------------------------------


def test_the_statements_page_and_the_bank_accounts_link_to_the_reconcile_page(admin_client, trust):
    for url in (
        reverse("books:bank_statements", args=[trust.pk]),
        reverse("books:bank_accounts"),
        reverse("books:dashboard"),
    ):
        assert reconcile(trust) in text(admin_client.get(url)), url


def test_auto_match_shows_its_counts_and_the_lines_their_items(admin_client, trust, march):
    html = text(admin_client.get(reconcile(trust)))
    assert 'aria-current="page">All <span class="count">3</span>' in html
    assert 'Unmatched <span class="count">3</span>' in html

    response = auto_match(admin_client, trust)

    html = unescape(text(response))
    assert response.redirect_chain[-1][0] == reconcile(trust)
    assert "Auto-match: 2 lines matched (2 items cleared), 0 proposed, 1 left unmatched." in html
    assert 'Matched <span class="count">2</span>' in html
    assert 'Unmatched <span class="count">1</span>' in html
    assert "Check 1001</span> · Fresno Medical Group · " in html
    assert "Receipt</span> · Acme Insurance · " in html
    assert ClearedItem.objects.count() == 2
    unmatched = unescape(text(admin_client.get(reconcile(trust), {"status": "unmatched"})))
    assert "MONTHLY SERVICE FEE" in unmatched
    assert "Fresno Medical Group" not in unmatched
    assert "Set aside the line of 2026-03-31 for -$12.50" in unmatched
    # a junk status shows every line
    assert "MONTHLY SERVICE FEE" in text(admin_client.get(reconcile(trust), {"status": "x"}))


def test_a_proposed_line_shows_its_candidates_and_match_applies_one(
    admin_client, firm, admin, opened, trust, client_file
):
    first = deposit(firm, admin, trust, client_file, 50_000, on=d(9), payer="Blue Cross")
    deposit(firm, admin, trust, client_file, 50_000, on=d(10), payer="Red Cross")
    _, [line] = import_statement(firm, admin, trust, [Row(d(11), 50_000)], start=MAR, end=END)
    auto_match(admin_client, trust)
    line.refresh_from_db()
    assert line.status == "proposed"

    html = unescape(text(admin_client.get(reconcile(trust), {"status": "proposed"})))
    assert html.count(">Match</button>") == 2
    assert "Receipt</span> · Blue Cross · " in html
    assert "Receipt</span> · Red Cross · " in html

    posting = first.entry.postings.get(account_id=trust.gl_account_id)
    response = admin_client.post(
        reverse("books:line_match", args=[line.pk]),
        {"postings": [posting.pk], "next": reconcile(trust) + "?status=proposed"},
    )

    assert response.status_code == 302
    assert response["Location"] == reconcile(trust) + "?status=proposed"
    line.refresh_from_db()
    assert line.status == "matched"
    assert list(ClearedItem.objects.values_list("posting_id", "line_id", "how")) == [
        (posting.pk, line.pk, "manual")
    ]


@pytest.fixture
def slip(firm, admin, opened, trust, client_file):
    """A $900 bank deposit of two receipts recorded on different days ($400 and $500)."""
    a = deposit(firm, admin, trust, client_file, 40_000, on=d(9), payer="Maria Lopez")
    b = deposit(firm, admin, trust, client_file, 50_000, on=d(10), payer="Acme Insurance")
    _, [line] = import_statement(firm, admin, trust, [Row(d(12), 90_000)], start=MAR, end=END)
    postings = [r.entry.postings.get(account_id=trust.gl_account_id).pk for r in (a, b)]
    return line, postings


def test_match_by_hand_lists_the_open_items_and_the_running_total(admin_client, trust, slip):
    line, (a, b) = slip
    url = reverse("books:line_match", args=[line.pk])

    html = unescape(text(admin_client.get(url, **HX)))
    assert "<dialog" in html
    assert "Match by hand · line of 2026-03-12 for $900.00" in html
    assert f'name="postings" value="{a}"' in html
    assert f'name="postings" value="{b}"' in html
    assert "Receipt Maria Lopez of 2026-03-09 for $400.00" in html
    assert "Chosen: 0 items, $0.00 of the line's $900.00 · $900.00 to go" in html

    total = reverse("books:line_match_total", args=[line.pk])
    one = unescape(text(admin_client.get(total, {"postings": [a]}, **HX)))
    assert "Chosen: 1 item, $400.00 of the line's $900.00 · $500.00 to go" in one
    assert "is-off" in one
    both = unescape(text(admin_client.get(total, {"postings": [a, b, "junk"]}, **HX)))
    assert "Chosen: 2 items, $900.00 of the line's $900.00 · adds up" in both
    assert "is-ok" in both


def test_match_by_hand_lists_money_the_other_way_on_asking_keeping_the_ticks(
    admin_client, firm, admin, trust, client_file, slip
):
    line, (a, b) = slip
    check = printed(firm, admin, trust, client_file, 10_000, d(11))
    out = check.entry.postings.get(account_id=trust.gl_account_id).pk
    url = reverse("books:line_match", args=[line.pk])

    one_way = text(admin_client.get(url, **HX))
    both_ways = text(admin_client.get(url, {"show": "all", "postings": [b]}, **HX))

    assert f'value="{out}"' not in one_way
    assert f'value="{out}"' in both_ways
    assert f'value="{b}" id="item-{b}" checked' in both_ways
    assert f'value="{a}" id="item-{a}" aria-label=' in both_ways  # not ticked
    assert "Only items in the line's direction" in both_ways
    assert "Chosen: 1 item, $500.00 of the line" in unescape(both_ways)


def test_a_split_that_does_not_add_up_is_refused_next_to_the_items_and_writes_nothing(
    admin_client, trust, slip
):
    line, (a, _) = slip
    url = reverse("books:line_match", args=[line.pk])
    before = written()

    response = admin_client.post(url, {"postings": [a]}, **HX)

    assert response.status_code == 422
    html = text(response)
    assert field_error(html, "postings") == (
        'id="id_postings_error"><p>The items add up to $400.00; the line of 2026-03-12 for '
        "$900.00 is $900.00 (a difference of $500.00)</p>"
    )
    assert f'value="{a}" id="item-{a}" checked' in html  # the ticks are kept
    assert written() == before
    nothing = admin_client.post(url, {}, **HX)
    assert "Choose at least one books item to match" in field_error(text(nothing), "postings")
    assert written() == before


def test_a_split_match_clears_both_items_then_unmatch_opens_them_again(admin_client, trust, slip):
    line, (a, b) = slip
    response = admin_client.post(
        reverse("books:line_match", args=[line.pk]), {"postings": [a, b]}, **HX
    )
    assert response["HX-Redirect"] == reconcile(trust)
    assert sorted(ClearedItem.objects.values_list("posting_id", flat=True)) == sorted([a, b])
    html = unescape(text(admin_client.get(reconcile(trust))))
    assert "The line of 2026-03-12 for $900.00 matched to 2 items." in html
    assert "Unmatch the line of 2026-03-12 for $900.00" in html

    response = admin_client.post(
        reverse("books:line_unmatch", args=[line.pk]),
        {"reason": "Wrong receipts", "next": reconcile(trust) + "?status=matched"},
        **HX,
    )

    assert response["HX-Redirect"] == reconcile(trust) + "?status=matched"
    line.refresh_from_db()
    assert (line.status, line.note) == ("unmatched", "Wrong receipts")
    assert ClearedItem.objects.count() == 0
    assert AuditEvent.objects.filter(action="statement_line_unmatched").count() == 1


def test_unmatching_an_unmatched_line_is_refused_and_writes_nothing(admin_client, trust, slip):
    line, _ = slip
    before = written()
    response = admin_client.post(reverse("books:line_unmatch", args=[line.pk]), {}, **HX)
    assert response.status_code == 422
    assert "The line of 2026-03-12 for $900.00 is not matched" in text(response)
    assert written() == before


def test_a_return_address_elsewhere_is_ignored(admin_client, trust, slip):
    line, (a, b) = slip
    response = admin_client.post(
        reverse("books:line_match", args=[line.pk]),
        {"postings": [a, b], "next": "https://evil.test/"},
    )
    assert response["Location"] == reconcile(trust)


def test_set_aside_needs_a_note_then_keeps_it(admin_client, trust, march):
    fee = march[2]
    url = reverse("books:line_set_aside", args=[fee.pk])
    assert "Set aside · line of 2026-03-31 for -$12.50" in unescape(
        text(admin_client.get(url, **HX))
    )
    before = written()

    refused = admin_client.post(url, {"note": "   "}, **HX)

    assert refused.status_code == 422
    assert "Say why the line is left as a reconciling item" in field_error(text(refused), "note")
    assert written() == before

    done = admin_client.post(url, {"note": "Fee charged in error; refund asked"}, **HX)

    assert done["HX-Redirect"] == reconcile(trust)
    fee.refresh_from_db()
    assert (fee.status, fee.note) == ("reconciling", "Fee charged in error; refund asked")
    html = text(admin_client.get(reconcile(trust), {"status": "reconciling"}))
    assert "Fee charged in error; refund asked" in html


def test_record_on_trust_shows_the_iolta_rule_and_goes_to_a_client_ledger(
    admin_client, firm, admin, opened, trust, client_file
):
    _, [interest] = import_statement(
        firm, admin, trust, [Row(d(31), 321, text="INTEREST")], start=MAR, end=END
    )
    url = reverse("books:line_record", args=[interest.pk])
    html = text(admin_client.get(url, **HX))
    assert "Interest on a client trust (IOLTA) account belongs to the bar foundation" in html
    assert 'name="file"' in html
    assert 'name="account"' not in html
    before = written()

    missing = admin_client.post(url, {"file": ""}, **HX)
    unknown = admin_client.post(url, {"file": "NO-SUCH"}, **HX)

    assert "Choose the file whose client ledger the line belongs to" in field_error(
        text(missing), "file"
    )
    assert "No file numbered NO-SUCH in this firm" in field_error(text(unknown), "file")
    assert (missing.status_code, unknown.status_code) == (422, 422)
    assert written() == before

    done = admin_client.post(url, {"file": client_file.number, "memo": "March interest"}, **HX)

    assert done["HX-Redirect"] == reconcile(trust)
    interest.refresh_from_db()
    assert interest.status == "matched"
    entry = JournalEntry.objects.get(source="bank_statement")
    assert (entry.date, entry.memo) == (d(31), "March interest")
    assert sorted(
        entry.postings.values_list(
            "account_id", "debit_cents", "credit_cents", "trust_ledger__file"
        )
    ) == sorted(
        [
            (trust.gl_account_id, 321, 0, None),
            (trust.trust_liability_account_id, 0, 321, client_file.pk),
        ]
    )


def test_record_on_operating_chooses_an_account_never_a_bank(
    admin_client, firm, admin, opened, operating
):
    _, [fee] = import_statement(
        firm, admin, operating, [Row(d(31), -1_250, text="SERVICE FEE")], start=MAR, end=END
    )
    url = reverse("books:line_record", args=[fee.pk])
    html = text(admin_client.get(url, **HX))
    charges = GLAccount.objects.get(firm=firm, number="5000")
    assert f'<option value="{charges.pk}">' in html
    assert f'<option value="{operating.gl_account_id}">' not in html
    assert "IOLTA" not in html
    before = written()

    refused = admin_client.post(url, {"account": ""}, **HX)

    assert "Choose the account to record the line to" in field_error(text(refused), "account")
    assert written() == before

    admin_client.post(url, {"account": charges.pk}, **HX)

    fee.refresh_from_db()
    assert fee.status == "matched"
    assert GLAccount.objects.get(pk=charges.pk).balance_cents == 1_250


def test_a_line_of_a_closed_month_offers_no_action_and_a_post_is_refused(
    admin_client, firm, admin, signer, trust, march
):
    auto_match(admin_client, trust)
    record_fee(firm, admin, march)
    saved = reconciliations.reconciliation_prepare(
        firm=firm, actor=admin, bank_account_id=trust.pk, month=END
    )
    reconciliations.reconciliation_sign(firm=firm, actor=signer, reconciliation_id=saved.pk)

    html = unescape(text(admin_client.get(reconcile(trust))))
    assert html.count(">Closed</span>") == 3
    assert "Unmatch the line" not in html
    before = written()
    response = admin_client.post(reverse("books:line_unmatch", args=[march[2].pk]), {}, **HX)
    assert response.status_code == 422
    assert "is closed through 2026-03-31 by a signed reconciliation" in text(response)
    assert written() == before


def test_the_outstanding_items_panel_ages_checks_and_lists_deposits_in_transit(
    admin_client, trust, march
):
    auto_match(admin_client, trust)
    html = unescape(text(admin_client.get(reconcile(trust), {"as_of": "2026-05-01"})))

    assert "Outstanding items as of 2026-05-01" in html
    aging = html[html.index('id="aging"') : html.index('id="transit-summary"')]
    assert '<th scope="row">0-30 days</th><td class="num">0</td>' in aging
    assert '<th scope="row">31-60 days</th><td class="num">1</td><td class="num">$1,000.00' in aging
    assert '<th scope="row">Outstanding checks</th><td class="num">1</td>' in aging
    checks_list = html[html.index('id="outstanding-checks"') : html.index('id="deposits-in')]
    assert "Maria Lopez" in checks_list
    assert "-$1,000.00" in checks_list
    transit = html[html.index('id="deposits-in-transit"') :]
    assert "$400.00" in transit
    # before the checks were written nothing was outstanding
    early = text(admin_client.get(reconcile(trust), {"as_of": "2026-03-01"}))
    assert "No outstanding checks." in early
    assert "No deposits in transit." in early


# --- The monthly reconciliation ---------------------------------------------------------


@pytest.fixture
def resolved(admin_client, firm, admin, trust, march):
    """March matched and its fee recorded to the client's ledger (on a trust account a
    line set aside would stop the month): the month reconciles."""
    auto_match(admin_client, trust)
    record_fee(firm, admin, march)
    return march


def figure(html: str, name: str) -> str:
    start = html.index(f'id="fig-{name}">') + len(f'id="fig-{name}">')
    return html[start : html.index("</td>", start)]


def test_the_month_shows_every_figure_and_list(admin_client, trust, client_file, resolved):
    html = unescape(text(admin_client.get(monthly(trust))))

    assert "<h1>Client Trust (IOLTA): reconciliation of March 2026</h1>" in html
    assert [
        figure(html, name)
        for name in (
            "statement",
            "transit",
            "outstanding",
            "reconciling",
            "ahead",
            "adjusted",
            "journal",
            "difference",
            "ledgers",
            "liability",
        )
    ] == [
        "$97,487.50",
        "$400.00",
        "$1,000.00",
        "$0.00",
        "$0.00",
        "$96,887.50",
        "$96,887.50",
        "$0.00",
        "$96,887.50",
        "$96,887.50",
    ]
    assert "The month reconciles:" in html
    ledgers = html[html.index('id="client-ledgers"') :]
    assert f">{client_file.number}</a>" in ledgers
    assert "$96,887.50" in ledgers
    start = html.index('id="rec-reconciling"')
    reconciling = html[start : html.index("</table>", start)]
    assert '<td colspan="4" class="empty">None.</td>' in reconciling
    assert "Maria Lopez" in html[html.index('id="rec-outstanding"') :]
    assert 'name="statement_balance"' not in html  # the statement states its balance


def test_differences_are_shown_never_hidden(admin_client, trust, march):
    auto_match(admin_client, trust)

    html = unescape(text(admin_client.get(monthly(trust))))

    assert "The month does not reconcile:" in html
    assert (
        "<li>Adjusted bank balance $96,887.50 differs from the journal balance $96,900.00 by "
        "-$12.50</li>"
    ) in html
    assert (
        "<li>1 statement line totalling -$12.50 neither matched nor set aside as "
        "reconciling items</li>"
    ) in html
    assert "MONTHLY SERVICE FEE" in html[html.index('id="rec-unresolved"') :]


def test_a_month_without_a_statement_balance_asks_for_it(
    admin_client, firm, admin, opened, trust, client_file
):
    deposit(firm, admin, trust, client_file, 10_000, on=d(2, 2))
    html = unescape(text(admin_client.get(monthly(trust, "2026-02"))))
    assert 'name="statement_balance"' in html
    assert "No statement balance for the month ending 2026-02-28" in html

    given = unescape(text(admin_client.get(monthly(trust, "2026-02") + "&statement_balance=0.00")))
    assert figure(given, "statement") == "$0.00"
    assert figure(given, "transit") == "$100.00"
    assert figure(given, "difference") == "$0.00"

    response = admin_client.post(
        reverse("books:reconciliation_prepare", args=[trust.pk]),
        {"month": "2026-02", "statement_balance": "0.00"},
        follow=True,
    )

    saved = Reconciliation.objects.get()
    assert (saved.period_end, saved.statement_balance_cents, saved.difference_cents) == (
        dt.date(2026, 2, 28),
        0,
        0,
    )
    html = unescape(text(response))
    assert (
        "Reconciliation of Client Trust (IOLTA) for February 2026 prepared: it reconciles; "
        "an attorney may sign it."
    ) in html
    assert figure(html, "statement") == "$0.00"  # the balance it was prepared with


def test_prepare_then_a_non_attorney_cannot_sign_and_an_attorney_signs(
    admin_client, signer_client, admin, signer, trust, resolved
):
    response = admin_client.post(
        reverse("books:reconciliation_prepare", args=[trust.pk]),
        {"month": "2026-03"},
        follow=True,
    )
    html = unescape(text(response))
    assert "prepared: it reconciles; an attorney may sign it." in html
    saved = Reconciliation.objects.get()
    assert (saved.status, saved.prepared_by_id, saved.journal_balance_cents) == (
        "prepared",
        admin.pk,
        9_688_750,
    )
    # the administrator is no attorney: Sign is shown disabled, with the reason
    assert '<button type="button" class="btn" disabled aria-describedby="sign-reason">Sign' in html
    assert "Only an attorney may sign a reconciliation" in html
    assert reverse("books:reconciliation_sign", args=[saved.pk]) not in html
    before = written()

    refused = admin_client.post(reverse("books:reconciliation_sign", args=[saved.pk]))

    assert refused.status_code == 403
    assert "Only an attorney may sign a reconciliation (Users: Attorney)" in text(refused)
    assert written() == before

    page = text(signer_client.get(monthly(trust)))
    assert reverse("books:reconciliation_sign", args=[saved.pk]) in page
    signed = signer_client.post(reverse("books:reconciliation_sign", args=[saved.pk]), follow=True)

    html = unescape(text(signed))
    assert (
        "Reconciliation of Client Trust (IOLTA) for March 2026 signed; Client Trust (IOLTA) "
        "is closed through 2026-03-31."
    ) in html
    saved.refresh_from_db()
    assert (saved.status, saved.signed_by_id) == ("signed", signer.pk)
    assert BankAccount.objects.get(pk=trust.pk).closed_through == END
    history = html[html.index('id="history-table"') :]
    assert '<span class="badge badge-ok">Signed</span>' in history
    assert "Pat Partner" in history
    assert reverse("books:reconciliation_pdf", args=[saved.pk]) in history
    for which in (
        "outstanding_checks",
        "deposits_in_transit",
        "reconciling_items",
        "client_ledgers",
    ):
        assert reverse("books:reconciliation_csv", args=[saved.pk, which]) in history


def test_a_signed_month_cannot_be_prepared_again(
    admin_client, firm, admin, signer, trust, resolved
):
    saved = reconciliations.reconciliation_prepare(
        firm=firm, actor=admin, bank_account_id=trust.pk, month=END
    )
    reconciliations.reconciliation_sign(firm=firm, actor=signer, reconciliation_id=saved.pk)
    before = written()

    response = admin_client.post(
        reverse("books:reconciliation_prepare", args=[trust.pk]), {"month": "2026-03"}
    )

    assert response.status_code == 422
    assert "is already reconciled and signed for March 2026" in unescape(text(response))
    assert written() == before


def test_a_month_that_does_not_reconcile_is_prepared_but_not_signable(
    admin_client, signer_client, trust, march
):
    auto_match(admin_client, trust)
    admin_client.post(
        reverse("books:reconciliation_prepare", args=[trust.pk]), {"month": "2026-03"}
    )
    saved = Reconciliation.objects.get()
    assert saved.difference_cents == -1_250
    html = text(signer_client.get(monthly(trust)))
    assert "The prepared month does not reconcile" in html
    before = written()
    response = signer_client.post(reverse("books:reconciliation_sign", args=[saved.pk]))
    assert response.status_code == 422
    assert "The month does not reconcile:" in unescape(text(response))
    assert written() == before


def test_a_junk_month_is_a_form_error(admin_client, trust):
    response = admin_client.get(
        reverse("books:bank_reconciliation", args=[trust.pk]), {"month": "x"}
    )
    assert response.status_code == 422
    assert "Enter a month as YYYY-MM." in field_error(text(response), "month")
    before = written()
    refused = admin_client.post(
        reverse("books:reconciliation_prepare", args=[trust.pk]), {"month": "2026-13"}
    )
    assert refused.status_code == 422
    assert written() == before


def test_downloads_give_the_pdf_and_each_csv(
    admin_client, firm, admin, trust, client_file, resolved
):
    saved = reconciliations.reconciliation_prepare(
        firm=firm, actor=admin, bank_account_id=trust.pk, month=END
    )

    pdf = admin_client.get(reverse("books:reconciliation_pdf", args=[saved.pk]))
    csv = admin_client.get(reverse("books:reconciliation_csv", args=[saved.pk, "client_ledgers"]))
    junk = admin_client.get(reverse("books:reconciliation_csv", args=[saved.pk, "passwords"]))

    assert (pdf.status_code, pdf["Content-Type"]) == (200, "application/pdf")
    assert pdf.content.startswith(b"%PDF-")
    assert pdf["Content-Disposition"] == (
        'attachment; filename="reconciliation-client-trust-iolta-2026-03.pdf"'
    )
    assert (csv.status_code, csv["Content-Type"]) == (200, "text/csv; charset=utf-8")
    assert csv.content.decode() == (
        f"File,Matter,Balance\r\n{client_file.number},Lopez v. Acme Trucking,96887.50\r\n"
    )
    assert csv["Content-Disposition"] == (
        'attachment; filename="reconciliation-client-trust-iolta-2026-03-client-ledgers.csv"'
    )
    assert junk.status_code == 404


# --- Reopen and the closed periods ------------------------------------------------------


@pytest.fixture
def signed(firm, admin, signer, trust, resolved):
    saved = reconciliations.reconciliation_prepare(
        firm=firm, actor=admin, bank_account_id=trust.pk, month=END
    )
    return reconciliations.reconciliation_sign(firm=firm, actor=signer, reconciliation_id=saved.pk)


def test_only_an_administrator_reopens_a_month(admin_client, signer_client, trust, signed):
    url = reverse("books:bank_reopen", args=[trust.pk])
    assert url not in text(signer_client.get(monthly(trust)))
    assert url in text(admin_client.get(monthly(trust)))
    before = written()

    assert signer_client.get(url, **HX).status_code == 403
    assert signer_client.post(url, {"month": "2026-03", "reason": "x"}).status_code == 403
    assert written() == before

    html = text(admin_client.get(url + "?month=2026-03", **HX))
    assert 'value="2026-03"' in html
    no_reason = admin_client.post(url, {"month": "2026-03", "reason": ""}, **HX)
    assert "Give the reason for reopening" in field_error(text(no_reason), "reason")
    assert written() == before

    done = admin_client.post(url, {"month": "2026-03", "reason": "Deposit left out"}, **HX)

    assert done["HX-Redirect"] == monthly(trust)
    signed.refresh_from_db()
    assert (signed.status, signed.superseded_reason) == ("superseded", "Deposit left out")
    assert BankAccount.objects.get(pk=trust.pk).closed_through is None
    html = unescape(text(admin_client.get(monthly(trust))))
    assert (
        "Client Trust (IOLTA) reopened from March 2026: 1 signed reconciliation superseded." in html
    )
    history = html[html.index('id="history-table"') :]
    assert "Superseded" in history
    assert "Deposit left out" in history


def test_settings_close_the_books_firm_wide_and_reopen_with_a_reason(
    admin_client, clerk_client, firm
):
    url = reverse("books:settings_closed_periods")
    assert url in text(admin_client.get(reverse("books:settings_features")))
    assert clerk_client.get(url).status_code == 403
    assert (
        clerk_client.post(url, {"action": "close", "close-through": "2026-02-28"}).status_code
        == 403
    )
    assert Firm.objects.get(pk=firm.pk).closed_through is None

    response = admin_client.post(
        url, {"action": "close", "close-through": "2026-02-28"}, follow=True
    )

    assert Firm.objects.get(pk=firm.pk).closed_through == dt.date(2026, 2, 28)
    assert "The books are closed firm-wide through 2026-02-28." in text(response)
    assert "Closed through 2026-02-28" in text(response)
    before = written()

    no_reason = admin_client.post(url, {"action": "reopen", "reopen-reason": ""})
    again = admin_client.post(url, {"action": "close", "close-through": "2026-01-31"})

    assert no_reason.status_code == 422
    assert "Give the reason for reopening" in field_error(text(no_reason), "reopen-reason")
    assert "already closed through 2026-02-28" in field_error(text(again), "close-through")
    assert written() == before

    admin_client.post(url, {"action": "reopen", "reopen-reason": "Late invoice"})

    assert Firm.objects.get(pk=firm.pk).closed_through is None
    assert AuditEvent.objects.filter(action="period_reopened").count() == 1


# --- Users, the dashboard, the demo -----------------------------------------------------


def test_the_user_form_has_the_attorney_checkbox(admin_client, firm, attorney):
    html = text(admin_client.get(reverse("books:user_new"), **HX))
    assert "Attorney (may sign reconciliations)" in html
    admin_client.post(
        reverse("books:user_new"),
        {
            "email": "lee@smith.test",
            "password": "a long enough password",
            "is_attorney": "on",
        },
        **HX,
    )
    assert User.objects.get(email="lee@smith.test").is_attorney is True

    edit = reverse("books:user_edit", args=[attorney.pk])
    assert 'name="is_attorney"' in text(admin_client.get(edit, **HX))
    admin_client.post(
        edit,
        {
            "email": attorney.email,
            "role": attorney.role,
            "is_active": "on",
            "is_attorney": "on",
            "records_time": "on",
        },
        **HX,
    )
    attorney.refresh_from_db()
    assert attorney.is_attorney is True
    assert 'title="May sign reconciliations">Attorney</span>' in text(
        admin_client.get(reverse("books:users"))
    )


def test_the_dashboard_says_which_accounts_are_due(
    admin_client, firm, trust, operating, today, signed
):
    last_complete = today.replace(day=1) - dt.timedelta(days=1)
    html = text(admin_client.get(reverse("books:dashboard")))
    panel = html[html.index('id="reconciliations"') :]

    trust_row = panel[panel.index(f'id="reconciliation-due-{trust.pk}"') :]
    trust_row = trust_row[: trust_row.index("</tr>")]
    assert "<td>March 2026</td>" in trust_row
    assert "Due: April 2026" in trust_row
    assert monthly(trust, "2026-04") in trust_row
    operating_row = panel[panel.index(f'id="reconciliation-due-{operating.pk}"') :]
    operating_row = operating_row[: operating_row.index("</tr>")]
    assert "<td>Never</td>" in operating_row
    assert f"Due: {last_complete:%B %Y}" in operating_row


def test_the_dashboard_says_up_to_date_when_the_last_complete_month_is_signed(
    admin_client, firm, trust, today
):
    last_complete = today.replace(day=1) - dt.timedelta(days=1)
    rec = Reconciliation.objects.create(
        firm=firm,
        bank_account=trust,
        period_start=last_complete.replace(day=1),
        period_end=last_complete,
        statement_balance_cents=0,
        deposits_in_transit_cents=0,
        outstanding_checks_cents=0,
        reconciling_items_cents=0,
        adjusted_bank_balance_cents=0,
        journal_balance_cents=0,
        difference_cents=0,
        items={},
        status="signed",
        prepared_by=User.objects.get(email="admin@smith.test"),
        prepared_at=clock.now(),
        signed_by=User.objects.get(email="admin@smith.test"),
        signed_at=clock.now(),
    )
    html = text(admin_client.get(reverse("books:dashboard")))
    row = html[html.index(f'id="reconciliation-due-{trust.pk}"') :]
    assert "Up to date" in row[: row.index("</tr>")]
    assert rec.pk


def test_the_demo_attorney_may_sign(db):
    call_command("demo_load", stdout=io.StringIO())
    assert list(
        User.objects.filter(firm__code="demo", is_attorney=True).values_list("email", flat=True)
    ) == ["sam@demo.test"]


# --- Another firm's ids ------------------------------------------------------------------


def test_another_firms_ids_are_not_found_and_nothing_is_written(
    other_client, firm, admin, trust, slip
):
    line, (a, b) = slip
    saved = reconciliations.reconciliation_prepare(
        firm=firm, actor=admin, bank_account_id=trust.pk, month=END
    )
    before = written()
    gets = [
        reconcile(trust),
        reverse("books:line_match", args=[line.pk]),
        reverse("books:line_match_total", args=[line.pk]),
        reverse("books:line_unmatch", args=[line.pk]),
        reverse("books:line_set_aside", args=[line.pk]),
        reverse("books:line_record", args=[line.pk]),
        reverse("books:bank_reconciliation", args=[trust.pk]),
        reverse("books:reconciliation_pdf", args=[saved.pk]),
        reverse("books:reconciliation_csv", args=[saved.pk, "outstanding_checks"]),
        reverse("books:bank_reopen", args=[trust.pk]),
    ]
    for url in gets:
        assert other_client.get(url).status_code == 404, url
    posts = [
        (reverse("books:bank_auto_match", args=[trust.pk]), {}),
        (reverse("books:line_match", args=[line.pk]), {"postings": [a, b]}),
        (reverse("books:line_unmatch", args=[line.pk]), {"reason": "x"}),
        (reverse("books:line_set_aside", args=[line.pk]), {"note": "x"}),
        (reverse("books:line_record", args=[line.pk]), {"file": "1"}),
        (reverse("books:reconciliation_prepare", args=[trust.pk]), {"month": "2026-03"}),
        (reverse("books:reconciliation_sign", args=[saved.pk]), {}),
        (reverse("books:bank_reopen", args=[trust.pk]), {"month": "2026-03", "reason": "x"}),
    ]
    for url, data in posts:
        assert other_client.post(url, data).status_code == 404, url
    assert written() == before


def test_anonymous_visitors_are_sent_to_sign_in(client, trust):
    for url in (reconcile(trust), monthly(trust)):
        response = client.get(url)
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("books:login"))


# --- Junk never breaks a screen ----------------------------------------------------------


def test_junk_in_the_query_strings_and_forms_never_breaks_a_screen(
    admin_client, firm, admin, trust, slip
):
    line, _ = slip
    saved = reconciliations.reconciliation_prepare(
        firm=firm, actor=admin, bank_account_id=trust.pk, month=END
    )
    pages = [
        (reconcile(trust), ["status", "page", "as_of", "opage", "tpage"]),
        (
            reverse("books:bank_reconciliation", args=[trust.pk]),
            ["month", "statement_balance", "ocpage", "clpage", "hpage"],
        ),
        (reverse("books:line_match", args=[line.pk]), ["postings", "all", "show", "next"]),
        (reverse("books:line_match_total", args=[line.pk]), ["postings"]),
        (reverse("books:bank_reopen", args=[trust.pk]), ["month"]),
    ]
    forms = [
        (reverse("books:line_match", args=[line.pk]), ["postings", "next", "all"]),
        (reverse("books:line_unmatch", args=[line.pk]), ["reason", "next"]),
        (reverse("books:line_set_aside", args=[line.pk]), ["note", "next"]),
        (reverse("books:line_record", args=[line.pk]), ["account", "file", "memo", "next"]),
        (reverse("books:reconciliation_prepare", args=[trust.pk]), ["month", "statement_balance"]),
        (reverse("books:bank_reopen", args=[trust.pk]), ["month", "reason"]),
        (
            reverse("books:settings_closed_periods"),
            ["action", "close-through", "reopen-reopen_through", "reopen-reason"],
        ),
    ]
    junk_values = [
        "\x00",
        "x" * 5000,
        "99999999999999999999999",
        "-1",
        "1e400",
        "NaN",
        "<script>alert(1)</script>",
        "١٢٣",
        "0001-01",
        "9999-12",
        "\u202e",
    ]
    for junk in junk_values:
        for url, params in pages:
            response = admin_client.get(url, dict.fromkeys(params, junk), **HX)
            assert response.status_code in (200, 422), (url, junk)
        for url, fields in forms:
            before = written()
            response = admin_client.post(url, dict.fromkeys(fields, junk), **HX)
            assert response.status_code in (200, 422), (url, junk)
            if response.status_code == 422:
                assert written() == before, (url, junk)
    before = written()
    sign = admin_client.post(reverse("books:reconciliation_sign", args=[saved.pk]), {"x": "\x00"})
    assert sign.status_code == 403
    assert written() == before
