"""Contacts, cases and links between cases."""

from __future__ import annotations

import datetime as dt
from typing import TypeVar

from django.db import models, transaction
from django.db.models import F

from casebridge.cases.audit import cases_audit
from casebridge.cases.errors import DomainError, ValidationFailed
from casebridge.cases.models import Case, CaseStatus, CaseType, Contact, Firm, Settlement, User
from casebridge.cases.selectors.contacts import ROLE_LABELS, in_role
from casebridge.cases.services import deadlines
from casebridge.core import clock
from casebridge.core.text import plain_line, plain_text


@transaction.atomic
def contact_create(
    *,
    firm: Firm,
    actor: User | None,
    name: str,
    address: str = "",
    date_of_birth: dt.date | None = None,
    phone: str = "",
    email: str = "",
    is_medical_provider: bool = False,
) -> Contact:
    name = plain_line(name.strip(), field="name")
    if not name:
        raise ValidationFailed("a name is required", field="name")
    plain_text(address, field="address")
    plain_line(phone, field="phone")
    plain_line(email, field="email")
    if date_of_birth is not None and date_of_birth > clock.today():
        raise ValidationFailed("the date of birth is in the future", field="date_of_birth")
    contact = Contact.objects.create(
        firm=firm,
        name=name[:200],
        address=address.strip(),
        date_of_birth=date_of_birth,
        phone=phone.strip()[:40],
        email=email.strip(),
        is_medical_provider=is_medical_provider,
    )
    cases_audit(
        firm_id=firm.pk,
        actor=actor,
        action="create",
        entity_type="contact",
        entity_id=contact.pk,
        summary=f"Contact {name} added",
    )
    return contact


def contact_for_role(*, firm: Firm, actor: User | None, name: str, role: str) -> int:
    """The id of the contact named ``name`` (case-insensitive; of namesakes, one who already
    has ``role``: "payee", "party" or "holder"), or of a new contact of that name. Call it
    inside the caller's transaction, so that a refused write leaves no stray contact. A
    name that would read differently on a check is refused naming the part."""
    plain_line(name, field=role, label=ROLE_LABELS[role])
    existing = (
        Contact.objects.filter(firm=firm, name__iexact=name.strip())
        .annotate(in_role=in_role(role))
        .order_by("-in_role", "pk")
        .only("pk")
        .first()
    )
    if existing is not None:
        return existing.pk
    return contact_create(firm=firm, actor=actor, name=name).pk


M = TypeVar("M", bound=models.Model)


def _in_firm(firm: Firm, model: type[M], pk: int | None, field: str) -> M | None:
    if pk is None:
        return None
    obj = model._default_manager.filter(firm=firm, pk=pk).first()
    if obj is None:
        raise ValidationFailed(f"{field.replace('_', ' ')} not found in this firm", field=field)
    return obj


@transaction.atomic
def case_create(
    *,
    firm: Firm,
    actor: User | None,
    name: str,
    client_id: int,
    responsible_attorney_id: int | None = None,
    case_type_id: int | None = None,
    incident_date: dt.date | None = None,
    status: str = CaseStatus.INTAKE,
    opened_on: dt.date | None = None,
    jurisdiction_state: str = "",
    claim_type: str = "",
) -> Case:
    """Open a case (Personal Injury unless another case type is chosen) with its
    settlement terms taken from the firm's defaults."""
    name = plain_line(name.strip(), field="name", label="case name")
    if not name:
        raise ValidationFailed("a case name is required", field="name")
    client = _in_firm(firm, Contact, client_id, "client")
    if client is None:
        raise ValidationFailed("a client is required", field="client")
    attorney = _in_firm(firm, User, responsible_attorney_id, "responsible_attorney")
    if attorney is not None and not attorney.is_attorney:
        raise ValidationFailed(
            f"{attorney.display_name} is not an attorney; choose an attorney",
            field="responsible_attorney",
        )
    case_type = (
        _in_firm(firm, CaseType, case_type_id, "case_type")
        if case_type_id is not None
        else CaseType.objects.filter(firm=firm, is_default=True).first()
    )
    if case_type is None:
        raise ValidationFailed("the firm has no default case type", field="case_type")
    if status not in CaseStatus.values:
        raise ValidationFailed(
            f"status must be one of {', '.join(CaseStatus.values)}", field="status"
        )
    if incident_date is not None and incident_date > clock.today():
        raise ValidationFailed("the incident date is in the future", field="incident_date")
    jurisdiction_state, claim_type = deadlines.case_jurisdiction_clean(
        state=jurisdiction_state, claim_type=claim_type
    )
    Firm.objects.filter(pk=firm.pk).update(next_case_number=F("next_case_number") + 1)
    # the firm's current defaults, not those of the (possibly older) ``firm`` passed in
    seq, fee_rate_bp, copp_cents, property_damage_fee_cents = Firm.objects.values_list(
        "next_case_number",
        "default_fee_rate_bp",
        "default_copp_cents",
        "default_property_damage_fee_cents",
    ).get(pk=firm.pk)
    seq -= 1
    case = Case.objects.create(
        firm=firm,
        number=f"PI-{seq:06d}",
        name=name[:200],
        client=client,
        case_type=case_type,
        responsible_attorney=attorney,
        incident_date=incident_date,
        jurisdiction_state=jurisdiction_state,
        claim_type=claim_type,
        status=status,
        opened_on=opened_on or clock.today(),
    )
    Settlement.objects.create(
        firm=firm,
        case=case,
        fee_rate_bp=fee_rate_bp,
        copp_cents=copp_cents,
        property_damage_fee_cents=property_damage_fee_cents,
    )
    cases_audit(
        firm_id=firm.pk,
        actor=actor,
        action="create",
        entity_type="case",
        entity_id=case.pk,
        summary=f"Case {case.number} {name} opened",
        after={"number": case.number, "client": case.client.name, "status": status},
    )
    deadlines.case_deadlines_recompute(case=case, actor=actor, why="case opened")
    return case


@transaction.atomic
def case_open(
    *,
    firm: Firm,
    actor: User | None,
    client_name: str,
    client_address: str = "",
    client_date_of_birth: dt.date | None = None,
    client_phone: str = "",
    client_email: str = "",
    name: str,
    responsible_attorney_id: int | None = None,
    case_type_id: int | None = None,
    incident_date: dt.date | None = None,
    status: str = CaseStatus.INTAKE,
    jurisdiction_state: str = "",
    claim_type: str = "",
) -> Case:
    """A new client and their case (the New case pop-up): both or neither, so a refused
    case leaves no stray client contact. A refusal of the client's details names the
    ``client_`` field (``client_name``, ``client_date_of_birth``, ...)."""
    try:
        client = contact_create(
            firm=firm,
            actor=actor,
            name=client_name,
            address=client_address,
            date_of_birth=client_date_of_birth,
            phone=client_phone,
            email=client_email,
        )
    except DomainError as exc:
        if exc.field:
            exc.field = f"client_{exc.field}"
        raise
    return case_create(
        firm=firm,
        actor=actor,
        name=name,
        client_id=client.pk,
        responsible_attorney_id=responsible_attorney_id,
        case_type_id=case_type_id,
        incident_date=incident_date,
        status=status,
        jurisdiction_state=jurisdiction_state,
        claim_type=claim_type,
    )


@transaction.atomic
def case_update(
    *,
    case: Case,
    actor: User,
    name: str | None = None,
    status: str | None = None,
    responsible_attorney_id: int | None = None,
    incident_date: dt.date | None = None,
    jurisdiction_state: str | None = None,
    claim_type: str | None = None,
    tolling_notes: str | None = None,
) -> Case:
    """Change a case (None: keep a field). A change of the incident date, the state or the
    claim type computes the case's statute deadlines again (services/deadlines.py)."""
    case = Case.objects.select_for_update().get(pk=case.pk)
    before = _case_values(case)
    if name is not None:
        if not plain_line(name.strip(), field="name", label="case name"):
            raise ValidationFailed("a case name is required", field="name")
        case.name = name.strip()[:200]
    if status is not None:
        if status not in CaseStatus.values:
            raise ValidationFailed(
                f"status must be one of {', '.join(CaseStatus.values)}", field="status"
            )
        case.status = status
    if responsible_attorney_id is not None:
        attorney = _in_firm(case.firm, User, responsible_attorney_id, "responsible_attorney")
        if attorney is None or not attorney.is_attorney:
            raise ValidationFailed(
                "the responsible attorney must be an attorney of this firm",
                field="responsible_attorney",
            )
        case.responsible_attorney = attorney
    if incident_date is not None:
        if incident_date > clock.today():
            raise ValidationFailed("the incident date is in the future", field="incident_date")
        case.incident_date = incident_date
    if jurisdiction_state is not None or claim_type is not None:
        case.jurisdiction_state, case.claim_type = deadlines.case_jurisdiction_clean(
            state=case.jurisdiction_state if jurisdiction_state is None else jurisdiction_state,
            claim_type=case.claim_type if claim_type is None else claim_type,
        )
    if tolling_notes is not None:
        case.tolling_notes = plain_text(tolling_notes.strip(), field="tolling_notes")
    case.save()
    after = _case_values(case)
    if before != after:
        cases_audit(
            firm_id=case.firm_id,
            actor=actor,
            action="change",
            entity_type="case",
            entity_id=case.pk,
            summary=f"Case {case.number} changed",
            before=before,
            after=after,
        )
    facts = ("incident_date", "jurisdiction_state", "claim_type")
    if any(before[k] != after[k] for k in facts):
        deadlines.case_deadlines_recompute(
            case=case, actor=actor, why="the case's incident date, state or claim type changed"
        )
    return case


def _case_values(case: Case) -> dict[str, object]:
    return {
        "name": case.name,
        "status": case.status,
        "responsible_attorney": case.responsible_attorney_id,
        "incident_date": case.incident_date,
        "jurisdiction_state": case.jurisdiction_state,
        "claim_type": case.claim_type,
        "tolling_notes": case.tolling_notes,
    }


@transaction.atomic
def cases_link(*, case: Case, other_case_id: int, actor: User) -> None:
    """Link two cases (e.g. passengers of the same accident): costs can then be split."""
    other = Case.objects.filter(firm_id=case.firm_id, pk=other_case_id).first()
    if other is None:
        raise ValidationFailed("the case to link was not found in this firm", field="case")
    if other.pk == case.pk:
        raise ValidationFailed("a case cannot be linked to itself", field="case")
    case.linked_cases.add(other)
    # one event for each case, under "Case <number>: ", so both cases' audit trails show it
    for this, that in ((case, other), (other, case)):
        cases_audit(
            firm_id=case.firm_id,
            actor=actor,
            action="link",
            entity_type="case",
            entity_id=this.pk,
            summary=f"Case {this.number}: linked to case {that.number}",
        )


@transaction.atomic
def cases_unlink(*, case: Case, other_case_id: int, actor: User) -> None:
    other = Case.objects.filter(firm_id=case.firm_id, pk=other_case_id).first()
    if other is None:
        raise ValidationFailed("the case to unlink was not found in this firm", field="case")
    case.linked_cases.remove(other)
    for this, that in ((case, other), (other, case)):
        cases_audit(
            firm_id=case.firm_id,
            actor=actor,
            action="unlink",
            entity_type="case",
            entity_id=this.pk,
            summary=f"Case {this.number}: unlinked from case {that.number}",
        )
