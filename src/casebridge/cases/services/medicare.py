"""Medicare (Medicare Secondary Payer) on a case: the client's beneficiary flag, the dated
steps of the conditional payment case, and a firm administrator's override of the hold on
the client's check (:func:`casebridge.cases.selectors.medicare.medicare_hold_reason`).

Every write is atomic, audited under "Case <number>: ..." (so the case's audit trail finds
it) and refused with nothing written on bad input.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db import IntegrityError, transaction

from casebridge.cases.audit import cases_audit
from casebridge.cases.errors import Conflict, ValidationFailed
from casebridge.cases.models import (
    MEDICARE_AMOUNT_STEPS,
    Case,
    ClientMedicareStatus,
    Firm,
    Lien,
    LienKind,
    MedicareClaim,
    MedicareHoldOverride,
    MedicareStep,
    MedicareStepKind,
    Permission,
    Settlement,
    TrustItem,
    TrustItemKind,
    TrustItemStatus,
    User,
)
from casebridge.cases.permissions import require, require_admin
from casebridge.cases.services.dates import date_in_window
from casebridge.core import clock
from casebridge.core.money import format_cents
from casebridge.core.text import plain_line

REASON_LENGTH = 500


def _case(firm: Firm, case_id: int) -> Case:
    case = Case.objects.filter(firm=firm, pk=case_id).select_related("client").first()
    if case is None:
        raise ValidationFailed("case not found in this firm", field="case")
    return case


def _lock(case: Case) -> None:
    """Lock the case's settlement row, the lock Push to Disbursement checks the hold under
    (services/settlement.py): a Medicare write waits for a push in progress, and a push
    waits for it, so the hold a push saw is the hold that is in force."""
    Settlement.objects.select_for_update().filter(case=case).first()


def _audit(
    case: Case,
    actor: User | None,
    action: str,
    entity: str,
    entity_id: object,
    summary: str,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
) -> None:
    cases_audit(
        firm_id=case.firm_id,
        actor=actor,
        action=action,
        entity_type=entity,
        entity_id=entity_id,
        summary=f"Case {case.number}: {summary}",
        before=before,
        after=after,
    )


def _reason(reason: str, field: str = "reason") -> str:
    text = plain_line(reason, field=field).strip()
    if not text:
        raise ValidationFailed("give a reason", field=field)
    if len(text) > REASON_LENGTH:
        raise ValidationFailed(f"the reason is longer than {REASON_LENGTH} characters", field=field)
    return text


@transaction.atomic
def client_medicare_set(
    *, firm: Firm, actor: User, case_id: int, is_beneficiary: bool
) -> ClientMedicareStatus:
    """Mark the case's client as a Medicare beneficiary, or not. The flag belongs to the
    person, so it holds on all of their cases."""
    case = _case(firm, case_id)
    _lock(case)
    status = (
        ClientMedicareStatus.objects.select_for_update().filter(contact_id=case.client_id).first()
    )
    was = status.is_beneficiary if status is not None else False
    if was and not is_beneficiary:
        # unticking the flag lifts the hold on every case of the person
        require_admin(actor, "record that a client is no longer a Medicare beneficiary")
    if status is None:
        try:
            with transaction.atomic():
                status = ClientMedicareStatus.objects.create(
                    firm=firm,
                    contact_id=case.client_id,
                    is_beneficiary=is_beneficiary,
                    changed_by=actor,
                    changed_at=clock.now(),
                )
        except IntegrityError:  # set at the same moment by someone else (another case)
            status = ClientMedicareStatus.objects.select_for_update().get(contact_id=case.client_id)
            was = status.is_beneficiary
            if was and not is_beneficiary:
                require_admin(actor, "record that a client is no longer a Medicare beneficiary")
    if status.is_beneficiary != is_beneficiary or status.changed_by_id is None:
        status.is_beneficiary = is_beneficiary
        status.changed_by = actor
        status.changed_at = clock.now()
        status.save(update_fields=["is_beneficiary", "changed_by", "changed_at"])
    if was != is_beneficiary:
        _audit(
            case,
            actor,
            "change",
            "client_medicare",
            status.pk,
            f"{case.client.name} "
            + (
                "marked a Medicare beneficiary"
                if is_beneficiary
                else "no longer a Medicare beneficiary"
            ),
            before={"medicare_beneficiary": was},
            after={"medicare_beneficiary": is_beneficiary},
        )
    return status


def _claim_for(case: Case, actor: User) -> MedicareClaim:
    claim = MedicareClaim.objects.select_for_update().filter(case=case).first()
    if claim is not None:
        if claim.lien_id is None:
            lien = Lien.objects.filter(case=case, kind=LienKind.MEDICARE).order_by("pk").first()
            if lien is not None:
                claim.lien = lien
                claim.save(update_fields=["lien"])
        return claim
    lien = Lien.objects.filter(case=case, kind=LienKind.MEDICARE).order_by("pk").first()
    try:
        with transaction.atomic():
            return MedicareClaim.objects.create(
                firm_id=case.firm_id, case=case, lien=lien, created_by=actor, created_at=clock.now()
            )
    except IntegrityError:  # created at the same moment by someone else
        return MedicareClaim.objects.select_for_update().get(case=case)


@transaction.atomic
def medicare_step_record(
    *,
    firm: Firm,
    actor: User,
    case_id: int,
    kind: str,
    on: dt.date,
    amount_cents: int | None = None,
    note: str = "",
) -> MedicareStep:
    """Record a dated step of the case's Medicare conditional payment case (its claim is
    opened with the first step). A letter, final demand, portal amount, fixed-percentage
    election or payment carries its amount; a corrected one is recorded again and the
    newest counts. Needs the Deposit Settlement permission (a fixed-percentage election: a
    firm administrator), as a releasing step lets the client's check go out."""
    require(actor, Permission.DEPOSIT_SETTLEMENT)
    if kind == MedicareStepKind.FIXED_PERCENTAGE:
        require_admin(actor, "elect Medicare's fixed-percentage option")
    case = _case(firm, case_id)
    if kind not in MedicareStepKind.values:
        raise ValidationFailed(
            f"kind must be one of {', '.join(MedicareStepKind.values)}", field="kind"
        )
    step_kind = MedicareStepKind(kind)
    if step_kind in MEDICARE_AMOUNT_STEPS and amount_cents is None:
        raise ValidationFailed(f"the {step_kind.label.lower()} needs its amount", field="amount")
    if amount_cents is not None and amount_cents < 0:
        raise ValidationFailed("the amount cannot be negative", field="amount")
    date_in_window(firm, on, field="on")
    note = plain_line(note, field="note").strip()
    if len(note) > 255:
        raise ValidationFailed("the note is longer than 255 characters", field="note")
    _lock(case)
    claim = _claim_for(case, actor)
    step = MedicareStep.objects.create(
        firm=firm,
        claim=claim,
        kind=step_kind,
        on=on,
        amount_cents=amount_cents,
        note=note,
        recorded_by=actor,
        recorded_at=clock.now(),
    )
    amount = f" {format_cents(amount_cents)}" if amount_cents is not None else ""
    _audit(
        case,
        actor,
        "record",
        "medicare_step",
        step.pk,
        f"Medicare: {step_kind.label.lower()}{amount} on {on.isoformat()}",
        after={"step": step_kind.label, "on": on, "amount_cents": amount_cents, "note": note},
    )
    return step


@transaction.atomic
def medicare_step_void(
    *, firm: Firm, actor: User, case_id: int, step_id: int, reason: str
) -> MedicareStep:
    """Void a step recorded in error, with a reason: the row stays (who voided it, when,
    why) and no longer counts, so voiding a final demand can bring the hold back. Needs
    the Deposit Settlement permission (a fixed-percentage election: a firm administrator)."""
    require(actor, Permission.DEPOSIT_SETTLEMENT)
    case = _case(firm, case_id)
    text = _reason(reason)
    _lock(case)
    step = (
        MedicareStep.objects.select_for_update()
        .filter(firm=firm, claim__case=case, pk=step_id)
        .first()
    )
    if step is None:
        raise ValidationFailed("no such Medicare step on this case", field="step")
    if step.kind == MedicareStepKind.FIXED_PERCENTAGE:
        require_admin(actor, "void a fixed-percentage election")
    if step.voided_at is not None:
        raise Conflict("this Medicare step is voided already")
    step.voided_by = actor
    step.voided_at = clock.now()
    step.void_reason = text
    step.save(update_fields=["voided_by", "voided_at", "void_reason"])
    amount = f" {format_cents(step.amount_cents)}" if step.amount_cents is not None else ""
    _audit(
        case,
        actor,
        "void",
        "medicare_step",
        step.pk,
        f"Medicare: {step.get_kind_display().lower()}{amount} on {step.on.isoformat()} "
        f"voided: {text}",
        before={"voided": False},
        after={"voided": True, "reason": text},
    )
    return step


@transaction.atomic
def medicare_hold_override(
    *, firm: Firm, actor: User, case_id: int, reason: str
) -> MedicareHoldOverride:
    """A firm administrator lets the client's check go out despite the Medicare hold, with
    a reason (shown on the Settlement tab while it is in effect). One in effect at a time."""
    require_admin(actor, "override the Medicare hold")
    case = _case(firm, case_id)
    text = _reason(reason)
    _lock(case)
    if MedicareHoldOverride.objects.filter(case=case, revoked_at__isnull=True).exists():
        raise Conflict("an override of the Medicare hold is already in effect on this case")
    try:
        with transaction.atomic():
            override = MedicareHoldOverride.objects.create(
                firm=firm, case=case, reason=text, granted_by=actor, granted_at=clock.now()
            )
    except IntegrityError:
        raise Conflict(
            "an override of the Medicare hold is already in effect on this case"
        ) from None
    _audit(
        case,
        actor,
        "override",
        "medicare_hold",
        override.pk,
        f"Medicare hold overridden: {text}",
        after={"override": True, "reason": text},
    )
    return override


@transaction.atomic
def medicare_hold_override_revoke(
    *, firm: Firm, actor: User, case_id: int, reason: str = ""
) -> MedicareHoldOverride:
    """End the override in effect: the hold applies again (if nothing settles Medicare's
    claim yet). A firm administrator's; the row stays with who revoked it and why."""
    require_admin(actor, "revoke an override of the Medicare hold")
    case = _case(firm, case_id)
    note = plain_line(reason, field="reason").strip()[:REASON_LENGTH]
    _lock(case)
    override = (
        MedicareHoldOverride.objects.select_for_update()
        .filter(case=case, revoked_at__isnull=True)
        .first()
    )
    if override is None:
        raise ValidationFailed("no override of the Medicare hold is in effect on this case")
    if (
        TrustItem.objects.filter(case=case, kind=TrustItemKind.CLIENT)
        .exclude(status=TrustItemStatus.STAGED)
        .exists()
    ):
        raise Conflict(
            "the client's check has already been pushed to disbursement under this override, "
            "so revoking it would not hold the check; the override stays on record"
        )
    override.revoked_by = actor
    override.revoked_at = clock.now()
    override.revoke_reason = note
    override.save(update_fields=["revoked_by", "revoked_at", "revoke_reason"])
    _audit(
        case,
        actor,
        "revoke",
        "medicare_hold",
        override.pk,
        "Medicare hold override revoked" + (f": {note}" if note else ""),
        before={"override": True, "reason": override.reason},
        after={"override": False, "reason": note},
    )
    return override
