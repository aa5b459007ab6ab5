"""1099 payees (issue 15, ADR 0045): a contact marked 1099-eligible with its TIN and
mailing address, and a check reported in a 1099 form/box.

- The TIN is validated (SSN ``123-45-6789`` or EIN ``12-3456789``, dashes and spaces
  optional) and stored encrypted with the books' data key (:mod:`casebridge.books.crypto`);
  only its last four digits are kept plain. It is never logged, audited or answered whole:
  the audit events carry the masked TIN (``•••••6789``).
- Marking payees and checks is the accountant's (or the administrator's): staff are
  refused (403 ``role_required``) and nothing is written.
- The full TIN leaves the books in one place only: the filing-service CSV of
  :mod:`casebridge.books.selectors.tax1099`, an administrator's, audited.
"""

from __future__ import annotations

import csv
import io
import re
from typing import Any

from django.db import transaction

from casebridge.books import crypto
from casebridge.books.audit import books_audit
from casebridge.books.errors import AdminRequired, ValidationFailed
from casebridge.books.models import (
    Check,
    CheckStatus,
    Contact,
    Firm,
    PaymentTaxReport,
    Role,
    TaxBox,
    TaxPayee,
    TinType,
    User,
)
from casebridge.books.roles import require_role
from casebridge.books.selectors.tax1099 import FORMS, check_year, tax1099_rows, tin_display
from casebridge.books.services.files import contact_find_or_create
from casebridge.core import clock
from casebridge.core.errors import NotFound
from casebridge.core.text import plain_line

#: Who marks payees and payments.
TAX_ROLE = Role.ACCOUNTANT

_SSN = re.compile(r"^([0-9]{3})-?([0-9]{2})-?([0-9]{4})\Z")
_EIN = re.compile(r"^([0-9]{2})-?([0-9]{7})\Z")
#: EIN prefixes the IRS has never assigned (IRS "How EINs are assigned and valid EIN
#: prefixes"): a typing error, refused.
_EIN_UNUSED_PREFIXES = frozenset(
    {
        "00",
        "07",
        "08",
        "09",
        "17",
        "18",
        "19",
        "28",
        "29",
        "49",
        "69",
        "70",
        "78",
        "79",
        "89",
        "96",
        "97",
    }
)
_STATE = re.compile(r"^[A-Z]{2}\Z")
_ZIP = re.compile(r"^[0-9]{5}(-[0-9]{4})?\Z")


def require_admin(firm: Firm, actor: User | None, doing: str) -> None:
    """The whole TIN is an administrator's to see (403 ``admin_required``)."""
    if actor is not None and (
        not actor.is_admin or not actor.is_active or actor.firm_id != firm.pk
    ):
        raise AdminRequired(f"only a books administrator can {doing}")


def _is_itin_group(group: int) -> bool:
    """The middle digits the IRS gives ITINs (9XX-50..65, 70..88, 90..92, 94..99)."""
    return 50 <= group <= 65 or 70 <= group <= 88 or 90 <= group <= 92 or 94 <= group <= 99


def tin_normalise(tin_type: str, tin: str) -> str:
    """The TIN's nine digits, or a refusal naming ``tin``. An SSN's area may not be 000 or
    666, its group 00 or its serial 0000 (SSA); an area 900-999 is an ITIN, which the W-9
    takes in the SSN box, valid only with an ITIN group (IRS); an EIN's prefix must be one
    the IRS assigns. The refusal never repeats what was typed."""
    text = tin.strip().replace(" ", "")
    if tin_type == TinType.SSN:
        match = _SSN.match(text)
        if match is None:
            raise ValidationFailed("an SSN is nine digits, 3-2-4 as on the W-9", field="tin")
        area, group, serial = match.groups()
        # 9XX is an ITIN, which the W-9 puts in the SSN box: valid with an ITIN group
        itin = area.startswith("9") and _is_itin_group(int(group))
        bad_area = area in ("000", "666") or (area.startswith("9") and not itin)
        if bad_area or group == "00" or serial == "0000":
            raise ValidationFailed(
                "that is not a valid SSN or ITIN (area, group or serial)", field="tin"
            )
        return area + group + serial
    if tin_type == TinType.EIN:
        match = _EIN.match(text)
        if match is None:
            raise ValidationFailed("an EIN is nine digits, 2-7 as on the W-9", field="tin")
        prefix, rest = match.groups()
        if prefix in _EIN_UNUSED_PREFIXES:
            raise ValidationFailed(
                f"an EIN never starts with {prefix}: check the number", field="tin"
            )
        return prefix + rest
    raise ValidationFailed("choose SSN or EIN", field="tin_type")


def _line(value: str, field: str, limit: int) -> str:
    value = plain_line(value.strip(), field=field)
    if len(value) > limit:
        raise ValidationFailed(f"at most {limit} characters", field=field)
    return value


def _snapshot(payee: TaxPayee) -> dict[str, Any]:
    """What the audit trail keeps of a payee: never the TIN, only its masked form."""
    return {
        "is_1099": payee.is_1099,
        "tin_type": payee.tin_type,
        "tin": tin_display(payee),
        "default_box": payee.default_box,
        "address_line1": payee.address_line1,
        "address_line2": payee.address_line2,
        "city": payee.city,
        "state": payee.state,
        "zip_code": payee.zip_code,
    }


@transaction.atomic
def tax_payee_save(
    *,
    firm: Firm,
    actor: User | None,
    contact_id: int,
    is_1099: bool = True,
    tin_type: str = "",
    tin: str | None = None,
    default_box: str = TaxBox.NEC_1,
    address_line1: str = "",
    address_line2: str = "",
    city: str = "",
    state: str = "",
    zip_code: str = "",
) -> TaxPayee:
    """Mark (or change) a contact's 1099 data. ``tin`` None keeps the stored TIN (its type
    may not change then); "" removes it; otherwise it is validated against ``tin_type``
    and stored encrypted."""
    require_role(actor, TAX_ROLE, doing="Changing a 1099 payee")
    contact = Contact.objects.filter(firm=firm, pk=contact_id).first()
    if contact is None:
        raise NotFound("no such contact", field="contact_id")
    if default_box not in TaxBox.values:
        raise ValidationFailed("choose a 1099 form and box", field="default_box")
    fields = {
        "address_line1": _line(address_line1, "address_line1", 120),
        "address_line2": _line(address_line2, "address_line2", 120),
        "city": _line(city, "city", 60),
        "state": _line(state, "state", 2).upper(),
        "zip_code": _line(zip_code, "zip_code", 10),
    }
    if fields["state"] and not _STATE.match(fields["state"]):
        raise ValidationFailed("a state is its two-letter code, as NY", field="state")
    if fields["zip_code"] and not _ZIP.match(fields["zip_code"]):
        raise ValidationFailed("a ZIP code is 12345 or 12345-6789", field="zip_code")
    payee = TaxPayee.objects.select_for_update().filter(contact=contact).first()
    before = _snapshot(payee) if payee is not None else None
    if payee is None:
        payee = TaxPayee(firm=firm, contact=contact)
    if tin is None:
        if tin_type != payee.tin_type and (tin_type or payee.tin_type):
            raise ValidationFailed("type the TIN again to change its type", field="tin")
    elif tin.strip() == "":
        payee.tin_type, payee.tin_ciphertext, payee.tin_last4 = "", "", ""
    else:
        digits = tin_normalise(tin_type, tin)
        payee.tin_type = tin_type
        payee.tin_ciphertext = crypto.encrypt(digits)
        payee.tin_last4 = digits[-4:]
    payee.is_1099 = is_1099
    payee.default_box = default_box
    for name, value in fields.items():
        setattr(payee, name, value)
    payee.updated_by = actor
    payee.updated_at = clock.now()
    payee.save()
    after = _snapshot(payee)
    books_audit(
        firm_id=firm.pk,
        actor=actor,
        action="create" if before is None else "change",
        entity_type="tax_payee",
        entity_id=contact.pk,
        summary=f"1099 payee {contact.name}: {TaxBox(default_box).label}"
        + (f", TIN {after['tin']}" if after["tin"] else ", no TIN")
        + ("" if is_1099 else " (not 1099-eligible)"),
        before=before,
        after=after,
    )
    return payee


@transaction.atomic
def tax_payee_create(*, firm: Firm, actor: User | None, name: str, **details: Any) -> TaxPayee:
    """A new contact (an expert, an investigator, a referring attorney: someone the books
    pay but who is not a client) marked as a 1099 payee in one step."""
    require_role(actor, TAX_ROLE, doing="Changing a 1099 payee")
    contact, _created = contact_find_or_create(firm=firm, actor=actor, name=name)
    return tax_payee_save(firm=firm, actor=actor, contact_id=contact.pk, **details)


def tin_reveal(*, firm: Firm, actor: User, contact_id: int) -> str:
    """The whole TIN, for an administrator who must read it (to check a W-9): audited."""
    require_admin(firm, actor, "reveal a TIN")
    payee = (
        TaxPayee.objects.filter(firm=firm, contact_id=contact_id).select_related("contact").first()
    )
    if payee is None or not payee.tin_ciphertext:
        raise NotFound("no TIN is kept for that contact", field="contact_id")
    plain = crypto.decrypt(payee.tin_ciphertext)
    books_audit(
        firm_id=firm.pk,
        actor=actor,
        action="reveal",
        entity_type="tax_payee",
        entity_id=contact_id,
        summary=f"TIN {tin_display(payee)} of {payee.contact.name} revealed",
    )
    return plain


@transaction.atomic
def payment_tax_report_set(
    *,
    firm: Firm,
    actor: User | None,
    check_id: int,
    contact_id: int | None,
    box: str | None = None,
) -> PaymentTaxReport | None:
    """Report a check on a 1099, paid to ``contact_id`` (a 1099 payee of the firm) in
    ``box`` (default: the payee's default box); ``contact_id`` None takes it off. A voided
    check is refused: it is never reported."""
    require_role(actor, TAX_ROLE, doing="Reporting a check on a 1099")
    check = Check.objects.select_for_update(no_key=True).filter(firm=firm, pk=check_id).first()
    if check is None:
        raise NotFound("no such check", field="check_id")
    current = PaymentTaxReport.objects.filter(payment=check).first()
    before = {"contact_id": current.contact_id, "box": current.box} if current else None
    if contact_id is None:
        if current is None:
            return None
        current.delete()
        books_audit(
            firm_id=firm.pk,
            actor=actor,
            action="delete",
            entity_type="payment_tax_report",
            entity_id=check.pk,
            summary=f"Check to {check.payee} no longer reported on a 1099",
            before=before,
        )
        return None
    if check.status == CheckStatus.VOIDED:
        raise ValidationFailed("a voided check is not reported on a 1099", field="check_id")
    payee = (
        TaxPayee.objects.filter(firm=firm, contact_id=contact_id, is_1099=True)
        .select_related("contact")
        .first()
    )
    if payee is None:
        raise ValidationFailed("that contact is not marked as a 1099 payee", field="contact_id")
    box = box or payee.default_box
    if box not in TaxBox.values:
        raise ValidationFailed("choose a 1099 form and box", field="box")
    report = current or PaymentTaxReport(firm=firm, payment=check)
    report.contact = payee.contact
    report.box = box
    report.updated_by = actor
    report.updated_at = clock.now()
    report.save()
    books_audit(
        firm_id=firm.pk,
        actor=actor,
        action="create" if current is None else "change",
        entity_type="payment_tax_report",
        entity_id=check.pk,
        summary=f"Check to {check.payee} reported on {TaxBox(box).label} for {payee.contact.name}",
        before=before,
        after={"contact_id": payee.contact_id, "box": box},
    )
    return report


def tax1099_csv(*, firm: Firm, actor: User | None, year: int, form: str) -> str:
    """The filing-service CSV of ``form`` for ``year`` (rows:
    :func:`casebridge.books.selectors.tax1099.tax1099_rows`): the one place the whole TIN
    leaves the books. An administrator's (403 ``admin_required``), audited (the event
    names the form, the year and how many recipients; never a TIN)."""
    require_admin(firm, actor, "export 1099 recipients with their TINs")
    check_year(year)
    if form not in FORMS:
        raise ValidationFailed("form is 1099-NEC or 1099-MISC", field="form")
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    rows = list(tax1099_rows(firm=firm, year=year, form=form))
    writer.writerows(rows)
    books_audit(
        firm_id=firm.pk,
        actor=actor,
        action="export",
        entity_type="tax1099_csv",
        entity_id=f"{form}-{year}",
        summary=f"{form} CSV for {year} exported with full TINs: {len(rows) - 1} recipient(s)",
    )
    return buffer.getvalue()
