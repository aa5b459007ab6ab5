"""The yearly 1099 payee report (issue 15, ADR 0045) and its filing-service CSV.

What counts: a check reported on a 1099 (:class:`PaymentTaxReport`) to a contact still
marked 1099-eligible, **printed** (issued) in the year: ``Check.printed_on`` decides the
year, since a check is paid when it is issued, not when it was requested or cleared. A
queued check has not been paid; a voided check never counts (also one voided in a later
year: it is taken off the year it was printed in). Operating and trust checks count alike.
A payment by ACH (ADR 0046) is never printed: it counts in the year its NACHA file was
sent (``AchPayment.sent_on``), while sent; returned or cancelled, never (ADR 0050).

Per recipient and form/box the year's total is reportable when it is at or above that
year's threshold (:class:`TaxThreshold`; a year without rows uses the latest earlier
year's, and the report says so). A recipient is a TIN: contacts that share one (a provider
entered twice) are one line and one CSV row, their payments summed before the threshold
applies (ADR 0055); a contact without a TIN is a recipient alone. The TIN is only ever
shown masked, except in the CSV (``services.tax1099.tax1099_csv``), an administrator's
download, audited.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field

from django.db.models import Count, Q, Sum

from casebridge.books import crypto
from casebridge.books.models import (
    AchStatus,
    CheckStatus,
    Firm,
    PaymentTaxReport,
    TaxBox,
    TaxPayee,
    TaxThreshold,
    TinType,
)
from casebridge.core.errors import ValidationFailed
from casebridge.core.money import cents_to_decimal
from casebridge.core.text import csv_cell

#: The forms, each with its boxes in the order of the form.
FORMS: dict[str, tuple[TaxBox, ...]] = {
    "1099-NEC": (TaxBox.NEC_1,),
    "1099-MISC": (TaxBox.MISC_1, TaxBox.MISC_3, TaxBox.MISC_6, TaxBox.MISC_10),
}
#: The CSV's box columns, named as the form names the box.
BOX_COLUMNS: dict[TaxBox, str] = {
    TaxBox.NEC_1: "Box 1 Nonemployee Compensation",
    TaxBox.MISC_1: "Box 1 Rents",
    TaxBox.MISC_3: "Box 3 Other Income",
    TaxBox.MISC_6: "Box 6 Medical and Health Care Payments",
    TaxBox.MISC_10: "Box 10 Gross Proceeds Paid to an Attorney",
}
#: The CSV's columns before the boxes (ADR 0045: the recipient fields every filing
#: service's bulk import asks for, one row per recipient and form).
RECIPIENT_COLUMNS = (
    "Tax Year",
    "Form",
    "Account Number",
    "Recipient Name",
    "Recipient TIN Type",
    "Recipient TIN",
    "Address Line 1",
    "Address Line 2",
    "City",
    "State",
    "ZIP",
)
FIRST_YEAR, LAST_YEAR = 2000, 2099


def tin_display(payee: TaxPayee | None) -> str:
    """The TIN as every screen and API shows it: masked to its last four, "" without one."""
    if payee is None or not payee.tin_last4:
        return ""
    return crypto.masked("0" * 5 + payee.tin_last4)


def form_of(box: str) -> str:
    return "1099-NEC" if box.startswith("NEC") else "1099-MISC"


@dataclass(frozen=True)
class BoxTotal:
    box: str
    label: str
    total_cents: int
    payments: int
    threshold_cents: int

    @property
    def form(self) -> str:
        return form_of(self.box)

    @property
    def reportable(self) -> bool:
        return self.total_cents >= self.threshold_cents


@dataclass(frozen=True)
class PayeeContact:
    contact_id: int
    name: str


@dataclass(frozen=True)
class PayeeLine:
    """One recipient: the contacts paid under one TIN (one contact without a TIN). The
    name and address filed are ``contact_id``'s: the first of them (by id) whose mailing
    address is complete, else the first."""

    contact_id: int
    name: str
    tin_type: str
    tin_masked: str
    address_complete: bool
    boxes: list[BoxTotal]
    #: the contact is no longer marked 1099-eligible; the payments reported still count
    unmarked: bool = False
    #: every contact paid under this TIN, by id (more than one: a payee entered twice)
    contacts: tuple[PayeeContact, ...] = ()

    @property
    def reportable(self) -> bool:
        return any(b.reportable for b in self.boxes)

    @property
    def total_cents(self) -> int:
        return sum(b.total_cents for b in self.boxes)

    @property
    def warnings(self) -> list[str]:
        out = []
        if self.reportable and not self.tin_masked:
            out.append("No TIN: ask for a W-9 before filing")
        if self.reportable and not self.address_complete:
            out.append("No complete mailing address")
        if self.unmarked:
            out.append(
                "No longer marked 1099-eligible: the payments reported on a 1099 still count "
                "(change a check's 1099 to leave it out)"
            )
        if len(self.contacts) > 1:
            out.append(
                f"{len(self.contacts)} contacts share this TIN and are one recipient: "
                + ", ".join(c.name for c in self.contacts)
            )
        return out


@dataclass(frozen=True)
class Report1099:
    year: int
    #: The year whose thresholds apply (``year`` unless none were set for it).
    threshold_year: int
    thresholds: dict[str, int]
    lines: list[PayeeLine] = field(default_factory=list)

    @property
    def reportable(self) -> list[PayeeLine]:
        return [line for line in self.lines if line.reportable]

    @property
    def missing_tins(self) -> int:
        return sum(1 for line in self.reportable if not line.tin_masked)


def check_year(year: int) -> int:
    if not FIRST_YEAR <= year <= LAST_YEAR:
        raise ValidationFailed(f"a tax year from {FIRST_YEAR} to {LAST_YEAR}", field="year")
    return year


#: The thresholds migration 0021 seeds (ADR 0045: sources there; verify with your tax
#: adviser), used when the table holds no row for a year or a box (a table emptied by
#: hand, a test database flushed), so a missing row never makes everything reportable.
BUILT_IN: dict[int, dict[str, int]] = {
    2025: {"NEC-1": 60000, "MISC-1": 60000, "MISC-3": 60000, "MISC-6": 60000, "MISC-10": 60000},
    2026: {
        "NEC-1": 200000,
        "MISC-1": 200000,
        "MISC-3": 200000,
        "MISC-6": 200000,
        "MISC-10": 60000,
    },
}


def _latest(years: list[int], year: int) -> int:
    earlier = [y for y in years if y <= year]
    return earlier[-1] if earlier else years[0]


def thresholds_for(year: int) -> tuple[int, dict[str, int]]:
    """(the year the thresholds were set for, box -> cents): ``year``'s rows, else the
    latest earlier year's, else the earliest set; a box without a row takes the built-in
    figure of that year (:data:`BUILT_IN`)."""
    years = sorted(set(TaxThreshold.objects.values_list("year", flat=True))) or sorted(BUILT_IN)
    chosen = _latest(years, year)
    built_in = BUILT_IN[_latest(sorted(BUILT_IN), chosen)]
    stored = dict(TaxThreshold.objects.filter(year=chosen).values_list("box", "threshold_cents"))
    return chosen, {box: stored.get(box, built_in[box]) for box in TaxBox.values}


def payee_report(*, firm: Firm, year: int) -> Report1099:
    """Every 1099 payee paid in ``year``: per form/box the total, the number of checks and
    whether it reaches the threshold."""
    check_year(year)
    threshold_year, thresholds = thresholds_for(year)
    sums = (
        # each payment reported decides: a payee un-marked later keeps its reported
        # payments (a year already paid is filed whole), flagged on its line
        PaymentTaxReport.objects.filter(firm=firm)
        .filter(
            Q(
                payment__status=CheckStatus.PRINTED,
                payment__printed_on__gte=dt.date(year, 1, 1),
                payment__printed_on__lte=dt.date(year, 12, 31),
            )
            # an ACH payment is never printed: it is paid when its file is sent (ADR 0050)
            | Q(
                payment__ach_payment__status=AchStatus.SENT,
                payment__ach_payment__sent_on__gte=dt.date(year, 1, 1),
                payment__ach_payment__sent_on__lte=dt.date(year, 12, 31),
            )
        )
        .values("contact_id", "box")
        .annotate(total=Sum("payment__amount_cents"), payments=Count("pk"))
        .order_by()
    )
    by_contact: dict[int, list[BoxTotal]] = {}
    for row in sums:
        by_contact.setdefault(row["contact_id"], []).append(
            BoxTotal(
                box=row["box"],
                label=TaxBox(row["box"]).label,
                total_cents=int(row["total"]),
                payments=int(row["payments"]),
                threshold_cents=thresholds.get(row["box"], 0),
            )
        )
    payees = list(
        TaxPayee.objects.filter(firm=firm, contact_id__in=list(by_contact))
        .select_related("contact")
        .order_by("contact_id")
    )
    lines = [
        _recipient_line(group, by_contact, thresholds) for group in recipients(payees).values()
    ]
    lines.sort(key=lambda line: (line.name.casefold(), line.contact_id))
    return Report1099(year=year, threshold_year=threshold_year, thresholds=thresholds, lines=lines)


def _address_complete(payee: TaxPayee) -> bool:
    return bool(payee.address_line1 and payee.city and payee.state and payee.zip_code)


def recipients(payees: Iterable[TaxPayee]) -> dict[tuple[str, str], list[TaxPayee]]:
    """The payees grouped by recipient: by TIN (its type and nine digits: an SSN and an
    EIN with the same digits are two recipients), each without a TIN alone. Only TINs
    whose type and last four digits are shared are decrypted, to compare them whole."""
    candidates: dict[tuple[str, str], list[TaxPayee]] = {}
    for payee in payees:
        key = (payee.tin_type, payee.tin_last4) if payee.tin_ciphertext else ("", "")
        candidates.setdefault(key, []).append(payee)
    groups: dict[tuple[str, str], list[TaxPayee]] = {}
    for (tin_type, _last4), members in candidates.items():
        for payee in members:
            if not tin_type:
                key = ("contact", str(payee.contact_id))
            elif len(members) == 1:
                key = (tin_type, f"last4-{payee.tin_last4}")
            else:
                key = (tin_type, crypto.decrypt(payee.tin_ciphertext))
            groups.setdefault(key, []).append(payee)
    return groups


def _recipient_line(
    group: list[TaxPayee], by_contact: dict[int, list[BoxTotal]], thresholds: dict[str, int]
) -> PayeeLine:
    """One recipient's line: per box the sum over its contacts, the threshold applied to
    the sum (ADR 0055)."""
    filed = next((p for p in group if _address_complete(p)), group[0])
    sums: dict[str, tuple[int, int]] = {}
    for payee in group:
        for b in by_contact[payee.contact_id]:
            total, count = sums.get(b.box, (0, 0))
            sums[b.box] = (total + b.total_cents, count + b.payments)
    return PayeeLine(
        contact_id=filed.contact_id,
        name=filed.contact.name,
        tin_type=filed.tin_type,
        tin_masked=tin_display(filed),
        address_complete=_address_complete(filed),
        boxes=[
            BoxTotal(
                box=box,
                label=TaxBox(box).label,
                total_cents=total,
                payments=count,
                threshold_cents=thresholds.get(box, 0),
            )
            for box in TaxBox.values
            if box in sums
            for total, count in [sums[box]]
        ],
        unmarked=any(not p.is_1099 for p in group),
        contacts=tuple(PayeeContact(p.contact_id, p.contact.name) for p in group),
    )


def _tin_formatted(tin_type: str, digits: str) -> str:
    """With the dashes that tell an SSN (123-45-6789) from an EIN (12-3456789)."""
    if tin_type == TinType.SSN:
        return f"{digits[:3]}-{digits[3:5]}-{digits[5:]}"
    return f"{digits[:2]}-{digits[2:]}"


def tax1099_rows(*, firm: Firm, year: int, form: str) -> Iterable[list[str]]:
    """The CSV's rows, header first: one per payee with a reportable box of ``form``;
    only the reportable boxes filled (dollars, two decimals, no "$" or commas)."""
    boxes = FORMS[form]
    report = payee_report(firm=firm, year=year)
    payees = {
        p.contact_id: p
        for p in TaxPayee.objects.filter(
            firm=firm, contact_id__in=[line.contact_id for line in report.lines]
        )
    }
    yield [*RECIPIENT_COLUMNS, *(BOX_COLUMNS[b] for b in boxes)]
    for line in report.lines:
        amounts = {b.box: b.total_cents for b in line.boxes if b.reportable and b.box in boxes}
        if not amounts:
            continue
        payee = payees[line.contact_id]
        tin = (
            _tin_formatted(payee.tin_type, crypto.decrypt(payee.tin_ciphertext))
            if payee.tin_ciphertext
            else ""
        )
        yield [
            str(year),
            form,
            f"cb-{payee.contact_id}",
            csv_cell(line.name),
            payee.tin_type,
            tin,
            csv_cell(payee.address_line1),
            csv_cell(payee.address_line2),
            csv_cell(payee.city),
            payee.state,
            payee.zip_code,
            *(f"{cents_to_decimal(amounts[b]):.2f}" if b.value in amounts else "" for b in boxes),
        ]


def download_name(firm: Firm, year: int, form: str) -> str:
    return f"{firm.code}-{form}-{year}.csv".lower()
