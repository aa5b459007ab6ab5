"""A saved monthly reconciliation as an auditor reads it (issue 11): a PDF (the summary
with the three-way figures and the signature, the outstanding items, the reconciling
items, the client ledger balances) and a CSV of each list. Both are drawn from the saved
record alone (its figures and ``items`` snapshot), so a report printed years later shows
what was signed, whatever was posted since.

The PDF is drawn with fpdf2 in a core font (Helvetica): nothing to download or install.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from typing import Any

from fpdf import FPDF
from fpdf.enums import XPos, YPos

from casebridge.books.models import Reconciliation
from casebridge.core.money import format_cents
from casebridge.core.pdf import pdf_text
from casebridge.core.text import csv_cell

#: The lists a CSV can be had of, with their columns (key in the snapshot, heading).
CSV_LISTS: dict[str, tuple[tuple[str, str], ...]] = {
    "outstanding_checks": (
        ("date", "Date"),
        ("kind", "Kind"),
        ("number", "Number"),
        ("description", "Payee / memo"),
        ("amount_cents", "Amount"),
        ("age_days", "Age (days)"),
    ),
    "deposits_in_transit": (
        ("date", "Date"),
        ("kind", "Kind"),
        ("description", "Payer / memo"),
        ("amount_cents", "Amount"),
        ("age_days", "Age (days)"),
    ),
    "reconciling_items": (
        ("posted_on", "Bank date"),
        ("description", "Description"),
        ("amount_cents", "Amount"),
        ("note", "Note"),
    ),
    "client_ledgers": (
        ("file_number", "File"),
        ("file_name", "Matter"),
        ("balance_cents", "Balance"),
    ),
}


def _rows(saved: Reconciliation, which: str) -> list[dict[str, Any]]:
    items = saved.items or {}
    rows = items.get(which) or []
    return list(rows)


def _money(cents: int) -> str:
    """Cents as a plain decimal for a spreadsheet: -1234.56, no symbol or separators."""
    sign = "-" if cents < 0 else ""
    return f"{sign}{abs(cents) // 100}.{abs(cents) % 100:02d}"


def render_csv(saved: Reconciliation, which: str) -> str:
    """One list of the saved reconciliation as CSV (amounts as plain decimals; text
    cells that look like formulas neutralised). ``which`` is a key of :data:`CSV_LISTS`."""
    if which not in CSV_LISTS:
        raise ValueError(which)
    columns = CSV_LISTS[which]
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([heading for _, heading in columns])
    for row in _rows(saved, which):
        writer.writerow(
            [
                _money(int(row[key]))
                if key.endswith("_cents")
                else ("" if row.get(key) is None else csv_cell(row.get(key)))
                for key, _ in columns
            ]
        )
    return out.getvalue()


INK = (27, 36, 51)
MUTED = (107, 118, 136)
BRAND = (31, 78, 140)
RULE = (190, 197, 208)


class _Pdf(FPDF):
    def __init__(self, saved: Reconciliation, firm_name: str, bank_name: str) -> None:
        super().__init__(orientation="portrait", unit="mm", format="letter")
        self.saved = saved
        self.title_line = pdf_text(
            f"{firm_name} | {bank_name} | reconciliation for {saved.period_end:%B %Y}"
        )
        self.set_margins(left=18, top=16, right=18)
        self.set_auto_page_break(auto=True, margin=18)
        self.set_title(pdf_text(f"Bank reconciliation {bank_name} {saved.period_end:%Y-%m}"))
        self.set_author(pdf_text(firm_name))
        self.set_creator("Casebridge")
        self.alias_nb_pages()

    def header(self) -> None:
        self.set_font("Helvetica", "", 8)
        self.set_text_color(*MUTED)
        self.cell(0, 5, self.title_line, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        self.ln(2)
        self.set_text_color(*INK)

    def footer(self) -> None:
        self.set_y(-12)
        self.set_font("Helvetica", "", 8)
        self.set_text_color(*MUTED)
        self.cell(0, 6, f"Page {self.page_no()} of {{nb}}", align="R")

    def heading(self, text: str) -> None:
        if self.will_page_break(30):
            self.add_page()
        self.ln(3)
        self.set_font("Helvetica", "B", 11)
        self.set_text_color(*BRAND)
        self.cell(0, 7, pdf_text(text), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        self.set_draw_color(*BRAND)
        self.line(self.l_margin, self.get_y(), self.w - self.r_margin, self.get_y())
        self.ln(1.5)
        self.set_text_color(*INK)

    def figure(self, label: str, cents: int | None, *, bold: bool = False) -> None:
        self.set_font("Helvetica", "B" if bold else "", 10)
        self.cell(self.epw * 0.7, 6, pdf_text(label))
        self.cell(
            self.epw * 0.3,
            6,
            "-" if cents is None else format_cents(cents),
            align="R",
            new_x=XPos.LMARGIN,
            new_y=YPos.NEXT,
        )

    def listing(
        self,
        headings: Sequence[str],
        rows: Sequence[Sequence[str]],
        widths: Sequence[float],
        aligns: Sequence[str],
    ) -> None:
        def head() -> None:
            self.set_font("Helvetica", "B", 8.5)
            self.set_fill_color(240, 243, 247)
            for text, width, align in zip(headings, widths, aligns, strict=True):
                self.cell(self.epw * width, 6, pdf_text(text), align=align, fill=True)
            self.ln(6)
            self.set_font("Helvetica", "", 8.5)

        head()
        if not rows:
            self.set_text_color(*MUTED)
            self.cell(0, 6, "None.", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
            self.set_text_color(*INK)
            return
        for row in rows:
            if self.will_page_break(6):
                self.add_page()
                head()
            for text, width, align in zip(row, widths, aligns, strict=True):
                value = pdf_text(text)
                while value and self.get_string_width(value) > self.epw * width - 2:
                    value = value[:-1]
                self.cell(self.epw * width, 5.5, value, align=align)
            self.ln(5.5)


def render_pdf(saved: Reconciliation) -> bytes:
    """The saved reconciliation as the pages an auditor asks for."""
    bank = saved.bank_account
    firm_name = bank.firm.name
    items = saved.items or {}
    pdf = _Pdf(saved, firm_name, bank.name)
    pdf.add_page()
    pdf.set_font("Helvetica", "B", 15)
    pdf.cell(
        0,
        9,
        pdf_text(f"{bank.name}: reconciliation for {saved.period_end:%B %Y}"),
        new_x=XPos.LMARGIN,
        new_y=YPos.NEXT,
    )
    pdf.set_font("Helvetica", "", 9.5)
    pdf.set_text_color(*MUTED)
    status = saved.get_status_display()
    pdf.cell(
        0,
        5,
        pdf_text(
            f"{firm_name}. Period {saved.period_start.isoformat()} to "
            f"{saved.period_end.isoformat()}. Status: {status}."
        ),
        new_x=XPos.LMARGIN,
        new_y=YPos.NEXT,
    )
    pdf.set_text_color(*INK)

    pdf.heading("Summary")
    pdf.figure("Bank statement ending balance", saved.statement_balance_cents)
    pdf.figure("Add: deposits in transit", saved.deposits_in_transit_cents)
    pdf.figure("Less: outstanding checks and withdrawals", -saved.outstanding_checks_cents)
    if saved.reconciling_items_cents:
        pdf.figure(
            "Less: reconciling items (in the bank, not in the books)",
            -saved.reconciling_items_cents,
        )
    cleared_ahead = int(items.get("cleared_ahead_cents") or 0)
    if cleared_ahead:
        pdf.figure("Less: cleared by the bank, dated later in the books", -cleared_ahead)
    pdf.figure("Adjusted bank balance", saved.adjusted_bank_balance_cents, bold=True)
    pdf.figure("Journal balance of the bank account", saved.journal_balance_cents, bold=True)
    if saved.client_ledgers_total_cents is not None:
        pdf.figure("Total of client ledgers", saved.client_ledgers_total_cents, bold=True)
        pdf.figure("Client trust liability account", items.get("trust_liability_balance_cents"))
    pdf.figure("Difference", saved.difference_cents, bold=True)
    for title, lines in (("Differences", items.get("differences")), ("Notes", items.get("notes"))):
        if lines:
            pdf.heading(title)
            pdf.set_font("Helvetica", "", 9)
            for line in lines:
                pdf.multi_cell(0, 5, pdf_text(f"- {line}"), new_x=XPos.LMARGIN, new_y=YPos.NEXT)

    pdf.heading("Preparation and sign-off")
    pdf.set_font("Helvetica", "", 9.5)
    prepared = (
        f"Prepared by {saved.prepared_by.display_name} on {saved.prepared_at:%Y-%m-%d %H:%M} UTC"
    )
    pdf.cell(0, 6, pdf_text(prepared), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    if saved.signed_by is not None and saved.signed_at is not None:
        signed = (
            f"Signed by {saved.signed_by.display_name}, attorney, on "
            f"{saved.signed_at:%Y-%m-%d %H:%M} UTC"
        )
    else:
        signed = "Not signed."
    pdf.cell(0, 6, pdf_text(signed), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    if saved.superseded_at is not None:
        pdf.cell(
            0,
            6,
            pdf_text(f"Superseded on {saved.superseded_at:%Y-%m-%d}: {saved.superseded_reason}"),
            new_x=XPos.LMARGIN,
            new_y=YPos.NEXT,
        )

    def item_rows(key: str) -> list[list[str]]:
        return [
            [
                str(r["date"]),
                str(r["kind"]),
                "" if r.get("number") is None else str(r["number"]),
                str(r.get("description") or ""),
                format_cents(int(r["amount_cents"])),
                str(r["age_days"]),
            ]
            for r in items.get(key) or []
        ]

    widths = (0.14, 0.1, 0.1, 0.4, 0.16, 0.1)
    aligns = ("L", "L", "R", "L", "R", "R")
    pdf.heading("Outstanding checks and withdrawals")
    pdf.listing(
        ("Date", "Kind", "Number", "Payee / memo", "Amount", "Age"),
        item_rows("outstanding_checks"),
        widths,
        aligns,
    )
    pdf.heading("Deposits in transit")
    pdf.listing(
        ("Date", "Kind", "Number", "Payer / memo", "Amount", "Age"),
        item_rows("deposits_in_transit"),
        widths,
        aligns,
    )
    pdf.heading("Reconciling items")
    pdf.listing(
        ("Bank date", "Description", "Amount", "Note"),
        [
            [
                str(r["posted_on"]),
                str(r.get("description") or ""),
                format_cents(int(r["amount_cents"])),
                str(r.get("note") or ""),
            ]
            for r in items.get("reconciling_items") or []
        ],
        (0.14, 0.38, 0.16, 0.32),
        ("L", "L", "R", "L"),
    )
    ledgers = items.get("client_ledgers")
    if ledgers is not None:
        pdf.heading("Client ledger balances")
        pdf.listing(
            ("File", "Matter", "Balance"),
            [
                [str(r["file_number"]), str(r["file_name"]), format_cents(int(r["balance_cents"]))]
                for r in ledgers
            ],
            (0.2, 0.6, 0.2),
            ("L", "L", "R"),
        )
        pdf.set_font("Helvetica", "B", 9)
        pdf.cell(pdf.epw * 0.8, 6, "Total")
        pdf.cell(
            pdf.epw * 0.2,
            6,
            format_cents(saved.client_ledgers_total_cents or 0),
            align="R",
            new_x=XPos.LMARGIN,
            new_y=YPos.NEXT,
        )
    return bytes(pdf.output())
