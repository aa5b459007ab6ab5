"""The settlement statement (closing statement) of a case: a printable HTML page and a PDF
download, both rendered from one :class:`SettlementStatement`, so they show the same
figures as each other and as the Settlement tab.

The PDF is drawn with fpdf2 in DejaVu Sans, vendored and embedded (core/pdf.py), so a
client's name prints as written ("Łukasz Żółć", "Дмитрий") and nothing is downloaded.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence
from dataclasses import dataclass

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import NoReverseMatch, reverse
from django.utils.cache import patch_cache_control
from fpdf import FPDF
from fpdf.enums import TableBordersLayout, XPos, YPos
from fpdf.fonts import FontFace
from fpdf.util import Padding

from casebridge.cases.auth import cases_login_required, current_user
from casebridge.cases.errors import NotFound
from casebridge.cases.selectors.statement import SettlementStatement, settlement_statement
from casebridge.core import pdf as pdf_fonts
from casebridge.core import words
from casebridge.core.money import format_cents
from casebridge.core.pdf import add_unicode_fonts, unicode_text

# --- who is asking ---------------------------------------------------------------------


def _statement_for(request: HttpRequest, case_id: int) -> SettlementStatement:
    """The statement of a case of the signed-in user's firm; any other case is a 404."""
    user = current_user(request)
    if user is None:  # pragma: no cover - cases_login_required redirects first
        raise Http404("case not found in this firm")
    try:
        return settlement_statement(firm=user.firm, case_id=case_id)
    except NotFound:
        raise Http404("case not found in this firm") from None


def _url(name: str, **kwargs: int) -> str | None:
    """A link to another screen, or None while that screen has no route."""
    try:
        return reverse(name, kwargs=kwargs)
    except NoReverseMatch:
        return None


# --- what both renderings show ---------------------------------------------------------


@dataclass(frozen=True)
class SummaryRow:
    label: str
    cents: int
    style: str  # "gross", "less", "plus" or "net"


def summary_rows(st: SettlementStatement) -> list[SummaryRow]:
    """The statement's arithmetic, line by line: gross, what is taken off, net to client."""
    rows = [SummaryRow("Gross recovery", st.gross_cents, "gross")]
    rows.append(SummaryRow(f"Less attorney's fee ({st.fee_basis})", st.fee_cents, "less"))
    n_costs = len(st.costs)
    rows.append(
        SummaryRow(
            f"Less case costs advanced ({n_costs} item{'s' if n_costs != 1 else ''})",
            st.costs_cents,
            "less",
        )
    )
    n_liens = len(st.liens)
    rows.append(
        SummaryRow(f"Less liens and third-party payments ({n_liens})", st.liens_cents, "less")
    )
    if st.copp_cents:
        rows.append(SummaryRow("Less COPP charges", st.copp_cents, "less"))
    if st.property_damage_fee_cents > 0:
        rows.append(SummaryRow("Less Property Damage Fee", st.property_damage_fee_cents, "less"))
    elif st.property_damage_fee_cents < 0:
        rows.append(
            SummaryRow("Plus Property Damage Fee waived", -st.property_damage_fee_cents, "plus")
        )
    rows.append(SummaryRow("Net to client", st.net_to_client_cents, "net"))
    return rows


def _date(value: dt.date | None) -> str:
    return words.format_day(value)


def _long_date(value: dt.date) -> str:
    return f"{value:%B} {value.day}, {value.year}"


# --- the views -------------------------------------------------------------------------


@cases_login_required
def statement_html(request: HttpRequest, case_id: int) -> HttpResponse:
    """The printable statement: a clean page with a print stylesheet and signature lines."""
    st = _statement_for(request, case_id)
    response = render(
        request,
        "cases/statement/statement.html",
        {
            "st": st,
            "summary": summary_rows(st),
            "statement_date_long": _long_date(st.statement_date),
            "pdf_url": _url("cases:statement_pdf", case_id=st.case_id),
            "case_url": _url("cases:case_settlement", pk=st.case_id)
            or _url("cases:case_detail", pk=st.case_id),
        },
    )
    patch_cache_control(response, private=True, no_store=True)
    return response


@cases_login_required
def statement_pdf(request: HttpRequest, case_id: int) -> HttpResponse:
    """The same statement as a PDF download."""
    st = _statement_for(request, case_id)
    response = HttpResponse(render_statement_pdf(st), content_type="application/pdf")
    safe_number = re.sub(r"[^A-Za-z0-9._-]+", "-", st.case_number).strip("-") or str(st.case_id)
    response["Content-Disposition"] = (
        f'attachment; filename="settlement-statement-{safe_number}.pdf"'
    )
    patch_cache_control(response, private=True, no_store=True)
    return response


# --- the PDF ---------------------------------------------------------------------------

FONT = pdf_fonts.FAMILY
INK = (27, 36, 51)
MUTED = (107, 118, 136)
BRAND = (31, 78, 140)
RULE = (190, 197, 208)
SHADE = (240, 243, 247)
NET_SHADE = (232, 239, 249)


class _StatementPdf(FPDF):
    def __init__(self, st: SettlementStatement) -> None:
        super().__init__(orientation="portrait", unit="mm", format="letter")
        self.st = st
        add_unicode_fonts(self)
        self.set_margins(left=19, top=16, right=19)
        self.set_auto_page_break(auto=True, margin=20)
        self.set_title(unicode_text(f"Settlement statement {st.case_number}"))
        self.set_author(unicode_text(st.firm_name))
        self.set_subject(unicode_text(st.caption))
        self.set_creator("Casebridge")
        self.alias_nb_pages()

    # page furniture
    def header(self) -> None:
        if self.page_no() == 1:
            return
        self.set_font(FONT, "", 8)
        self.set_text_color(*MUTED)
        self.cell(
            0,
            5,
            unicode_text(
                f"{self.st.firm_name}  |  Settlement statement  |  "
                f"{self.st.case_number} {self.st.caption}"
            ),
            new_x=XPos.LMARGIN,
            new_y=YPos.NEXT,
        )
        self.ln(3)
        self.set_text_color(*INK)

    def footer(self) -> None:
        self.set_y(-13)
        self.set_draw_color(*RULE)
        self.line(self.l_margin, self.get_y(), self.w - self.r_margin, self.get_y())
        self.set_font(FONT, "", 8)
        self.set_text_color(*MUTED)
        self.cell(
            self.epw / 2,
            6,
            unicode_text(f"Settlement statement {self.st.case_number}"),
        )
        self.cell(
            self.epw / 2,
            6,
            f"Client initials ______    Page {self.page_no()} of {{nb}}",
            align="R",
        )

    # building blocks
    def section(self, title: str, note: str = "") -> None:
        if self.will_page_break(36):
            self.add_page()
        self.ln(4)
        self.set_font(FONT, "B", 10.5)
        self.set_text_color(*BRAND)
        self.cell(0, 6, unicode_text(title.upper()), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        self.set_draw_color(*BRAND)
        self.set_line_width(0.4)
        self.line(self.l_margin, self.get_y(), self.w - self.r_margin, self.get_y())
        self.set_line_width(0.2)
        self.ln(1.5)
        self.set_text_color(*INK)
        if note:
            self.set_font(FONT, "", 8.5)
            self.set_text_color(*MUTED)
            self.multi_cell(0, 4.2, unicode_text(note), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
            self.set_text_color(*INK)
            self.ln(1)

    def grid(
        self,
        headings: Sequence[str],
        rows: Sequence[Sequence[str]],
        widths: Sequence[float],
        aligns: Sequence[str],
        total: Sequence[str] | None = None,
    ) -> None:
        """A table: headings repeated on a new page, amounts right-aligned, a total row."""
        self.set_font(FONT, "", 9)
        self.set_draw_color(*RULE)
        self.set_fill_color(255, 255, 255)
        heading_style = FontFace(emphasis="BOLD", color=MUTED, fill_color=SHADE, size_pt=8)
        with self.table(
            col_widths=tuple(widths),
            text_align=tuple(aligns),
            headings_style=heading_style,
            borders_layout=TableBordersLayout.HORIZONTAL_LINES,
            line_height=5,
            padding=(1.2, 1.5, 1.2, 1.5),
            width=self.epw,
            align="LEFT",
            cell_fill_mode="NONE",
        ) as table:
            table.row([unicode_text(h.upper()) for h in headings])
            for values in rows:
                table.row([unicode_text(v) for v in values])
            if total is not None:
                table.row(
                    [unicode_text(v) for v in total],
                    style=FontFace(emphasis="BOLD", fill_color=SHADE),
                )
        self.ln(1)

    def kv_block(self, pairs: Sequence[tuple[str, str]]) -> None:
        """Label/value pairs in two columns (the case details)."""
        col = self.epw / 2
        label_w = 38
        for i in range(0, len(pairs), 2):
            y = self.get_y()
            heights = []
            for j, (label, value) in enumerate(pairs[i : i + 2]):
                x = self.l_margin + j * col
                self.set_xy(x, y)
                self.set_font(FONT, "", 8)
                self.set_text_color(*MUTED)
                self.cell(label_w, 5.2, unicode_text(label.upper()))
                self.set_font(FONT, "", 9.5)
                self.set_text_color(*INK)
                self.multi_cell(
                    col - label_w - 3, 5.2, unicode_text(value or "-"), align="L", new_x=XPos.LEFT
                )
                heights.append(self.get_y() - y)
            self.set_xy(self.l_margin, y + max(heights))


def render_statement_pdf(st: SettlementStatement) -> bytes:
    pdf = _StatementPdf(st)
    pdf.add_page()
    money = format_cents

    # Title block
    pdf.set_font(FONT, "B", 15)
    pdf.set_text_color(*INK)
    top = pdf.get_y()
    pdf.cell(pdf.epw * 0.6, 8, unicode_text(st.firm_name))
    pdf.set_font(FONT, "B", 13)
    pdf.set_text_color(*BRAND)
    pdf.cell(pdf.epw * 0.4, 8, "SETTLEMENT STATEMENT", align="R", new_x=XPos.LMARGIN)
    pdf.set_xy(pdf.l_margin, top + 8)
    pdf.set_font(FONT, "", 9)
    pdf.set_text_color(*MUTED)
    pdf.cell(pdf.epw * 0.6, 5, "Closing statement and distribution of settlement proceeds")
    pdf.cell(pdf.epw * 0.4, 5, unicode_text(_long_date(st.statement_date)), align="R")
    pdf.ln(7)
    pdf.set_draw_color(*INK)
    pdf.set_line_width(0.6)
    pdf.line(pdf.l_margin, pdf.get_y(), pdf.w - pdf.r_margin, pdf.get_y())
    pdf.set_line_width(0.2)
    pdf.ln(3)

    pdf.kv_block(
        [
            ("Client", st.client_name),
            ("Case", st.caption),
            ("Client address", " ".join(st.client_address.split())),
            ("Case number", st.case_number),
            ("Responsible attorney", st.attorney_name),
            ("Date of incident", _date(st.incident_date)),
            ("Case type", st.case_type),
            ("Statement date", _date(st.statement_date)),
        ]
    )

    if not st.is_final:
        pdf.ln(2)
        pdf.set_fill_color(253, 241, 220)
        pdf.set_text_color(154, 98, 0)
        pdf.set_font(FONT, "B", 9)
        pdf.multi_cell(
            0,
            5,
            unicode_text("DRAFT - figures may change: " + "; ".join(st.open_points) + "."),
            fill=True,
            padding=Padding(top=1.5, right=2.5, bottom=1.5, left=2.5),
            new_x=XPos.LMARGIN,
            new_y=YPos.NEXT,
        )
        pdf.set_text_color(*INK)

    # Summary
    pdf.section("Summary")
    amount_w = 42
    for row in summary_rows(st):
        net = row.style == "net"
        gross = row.style == "gross"
        if net:
            pdf.ln(1)
            y = pdf.get_y()
            pdf.set_draw_color(*INK)
            pdf.set_line_width(0.5)
            pdf.line(pdf.l_margin, y, pdf.w - pdf.r_margin, y)
            pdf.set_line_width(0.2)
            pdf.set_fill_color(*NET_SHADE)
        pdf.set_font(FONT, "B" if (net or gross) else "", 12 if net else 10)
        h = 9 if net else 6.5
        label = row.label
        shown = money(row.cents)
        if row.style == "less":
            shown = f"- {shown}"
        elif row.style == "plus":
            shown = f"+ {shown}"
        pdf.cell(pdf.epw - amount_w, h, unicode_text(label.upper() if net else label), fill=net)
        pdf.cell(amount_w, h, shown, align="R", fill=net, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        if not net:
            pdf.set_draw_color(225, 229, 235)
            pdf.line(pdf.l_margin, pdf.get_y(), pdf.w - pdf.r_margin, pdf.get_y())
    pdf.set_draw_color(*INK)
    pdf.set_line_width(0.5)
    pdf.line(pdf.l_margin, pdf.get_y() + 0.6, pdf.w - pdf.r_margin, pdf.get_y() + 0.6)
    pdf.set_line_width(0.2)
    if st.client_check is not None:
        pdf.ln(2)
        pdf.set_font(FONT, "", 9)
        pdf.set_text_color(*MUTED)
        note = (
            f"Client's check: {money(st.client_check.amount_cents)} payable to "
            f"{st.client_check.payee}"
            + (f", check {st.client_check.check_number}" if st.client_check.check_number else "")
            + f" ({st.client_check.status_label.lower()})."
        )
        if st.net_differs_from_client_check:
            note += " It differs from the net to client: see the trust disbursements below."
        pdf.multi_cell(0, 4.5, unicode_text(note), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        pdf.set_text_color(*INK)

    # Gross recovery by source
    pdf.section("Gross recovery by source")
    pdf.grid(
        ["Paid by", "Accepted on", "Deposited", "Amount"],
        [
            [s.payer, _date(s.accepted_on), money(s.deposited_cents), money(s.amount_cents)]
            for s in st.sources
        ]
        or [["No offer accepted yet", "", "", money(0)]],
        (88, 30, 30, 32),
        ("LEFT", "LEFT", "RIGHT", "RIGHT"),
        ["Gross recovery", "", money(st.deposited_cents), money(st.gross_cents)],
    )
    if st.deposits:
        pdf.set_font(FONT, "", 8.5)
        pdf.set_text_color(*MUTED)
        text = "Settlement checks deposited to client trust: " + "; ".join(
            f"check {d.check_number} from {d.payer}, {_date(d.deposited_on)}, "
            f"{money(d.amount_cents)}"
            for d in st.deposits
        )
        pdf.multi_cell(0, 4.2, unicode_text(text + "."), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        pdf.set_text_color(*INK)

    # Fee
    pdf.section("Attorney's fee")
    if st.fee_is_percentage:
        base_label = (
            "Gross recovery less case costs" if st.figures.fee_on_net_of_costs else "Gross recovery"
        )
        pdf.grid(
            ["Basis", "Fee base", "Rate", "Fee"],
            [[base_label, money(st.fee_base_cents), st.fee_rate_label, money(st.fee_cents)]],
            (88, 30, 30, 32),
            ("LEFT", "RIGHT", "RIGHT", "RIGHT"),
        )
    else:
        pdf.grid(
            ["Basis", "Fee"],
            [["Fixed fee as agreed", money(st.fee_cents)]],
            (148, 32),
            ("LEFT", "RIGHT"),
        )

    # Costs
    pdf.section(
        "Case costs advanced",
        "Costs the firm advanced on the case, reimbursed from the settlement. "
        "Void costs are not charged.",
    )
    pdf.grid(
        ["Date", "Payee", "Code", "Memo", "Amount"],
        [
            [_date(c.cost_date), c.payee, c.code, c.memo or c.code_name, money(c.amount_cents)]
            for c in st.costs
        ]
        or [["", "No costs", "", "", money(0)]],
        (21, 45, 17, 65, 32),
        ("LEFT", "LEFT", "LEFT", "LEFT", "RIGHT"),
        ["", "Total case costs", "", "", money(st.costs_cents)],
    )

    # Liens
    pdf.section(
        "Liens and third-party payments",
        "Claimed is what the lienholder asked for; accepted is the final amount agreed "
        "and paid from the settlement.",
    )
    pdf.grid(
        ["Lienholder", "Type", "Claimed", "Accepted", "Paid", "Charged"],
        [
            [
                ln.holder,
                ln.kind,
                money(ln.claimed_cents),
                money(ln.final_cents) if ln.accepted and ln.final_cents is not None else "Pending",
                ln.paid_label,
                money(ln.counted_cents),
            ]
            for ln in st.liens
        ]
        or [["No liens", "", "", "", "", money(0)]],
        (40, 36, 25, 25, 29, 25),
        ("LEFT", "LEFT", "RIGHT", "RIGHT", "LEFT", "RIGHT"),
        [
            "Total liens",
            "",
            money(st.liens_claimed_cents),
            money(st.liens_accepted_cents),
            "",
            money(st.liens_cents),
        ],
    )

    # Medical bills that became liens (issue 16)
    if st.medical_bills:
        pdf.section(
            "Medical bills",
            "The providers' bills that became liens. The reduction is everything between the "
            "bill and what the settlement pays: write-offs, payments by health insurance, "
            "MedPay, PIP or the client, and the lien's negotiated reduction.",
        )
        pdf.grid(
            ["Provider", "Billed", "Reduction", "Paid"],
            [
                [
                    b.provider,
                    money(b.billed_cents),
                    money(b.reduction_cents),
                    money(b.paid_cents) + ("" if b.accepted else " (pending)"),
                ]
                for b in st.medical_bills
            ],
            (78, 34, 34, 34),
            ("LEFT", "RIGHT", "RIGHT", "RIGHT"),
            [
                "Total medical bills",
                money(st.medical_billed_cents),
                money(st.medical_reduction_cents),
                money(st.medical_paid_cents),
            ],
        )

    # Trust disbursements
    if st.trust_payments or st.client_check is not None:
        pdf.section(
            "Disbursement of settlement funds",
            "Payments made from the client trust account. Items paid directly by the payer "
            "are shown for the record and are not paid from trust.",
        )
        lines = st.disbursement_lines
        from_trust = st.paid_from_trust_cents
        pdf.grid(
            ["Payee", "For", "Status", "Amount"],
            [
                [
                    p.payee,
                    p.kind_label + (f" - {p.note}" if p.note else ""),
                    (f"Check {p.check_number}" if p.check_number else p.status_label)
                    if not p.paid_direct
                    else "Paid direct",
                    money(p.amount_cents) if not p.paid_direct else f"({money(p.amount_cents)})",
                ]
                for p in lines
            ],
            (52, 68, 28, 32),
            ("LEFT", "LEFT", "LEFT", "RIGHT"),
            ["Total from trust", "", "", money(from_trust)],
        )
        pdf.set_font(FONT, "", 8.5)
        pdf.set_text_color(*MUTED)
        pdf.cell(
            0,
            4.5,
            unicode_text(
                f"Deposited {money(st.deposited_cents)}; payments from trust {money(from_trust)}; "
                f"remaining in trust {money(st.trust_remaining_cents)}."
            ),
            new_x=XPos.LMARGIN,
            new_y=YPos.NEXT,
        )
        pdf.set_text_color(*INK)

    # Approval and signatures
    if pdf.will_page_break(72):
        pdf.add_page()
    pdf.section("Approval")
    pdf.set_font(FONT, "", 9.5)
    pdf.multi_cell(
        0,
        5,
        unicode_text(
            f"I have read this settlement statement. I approve the settlement of "
            f"{st.caption} for {money(st.gross_cents)} and the distribution of the proceeds "
            f"as shown above, and I agree that I will receive {money(st.net_to_client_cents)} "
            "as my net recovery."
        ),
        new_x=XPos.LMARGIN,
        new_y=YPos.NEXT,
    )
    pdf.ln(12)
    col = (pdf.epw - 10) / 2
    for who, name in (("Client", st.client_name), ("Attorney", st.attorney_name)):
        y = pdf.get_y()
        pdf.set_draw_color(*INK)
        pdf.line(pdf.l_margin, y, pdf.l_margin + col + 20, y)
        pdf.line(pdf.l_margin + col + 30, y, pdf.w - pdf.r_margin, y)
        pdf.set_font(FONT, "", 8)
        pdf.set_text_color(*MUTED)
        pdf.set_xy(pdf.l_margin, y + 1)
        pdf.cell(col + 20, 4, unicode_text(f"{who} signature"))
        pdf.set_x(pdf.l_margin + col + 30)
        pdf.cell(0, 4, "Date", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        pdf.set_font(FONT, "", 9.5)
        pdf.set_text_color(*INK)
        pdf.cell(0, 5, unicode_text(name or " "), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        pdf.ln(13)
    return bytes(pdf.output())
