"""What happens to a To Be Disbursed payment after it leaves the cases side: an integration
(the bridge) reports that its trust check was printed (or, paid by ACH, sent to the bank),
that the fee invoice carrying it is final, or that the check or invoice was voided and the
payment is owed again.

These are the only ways a payment becomes Disbursed, and the only way back. Each change is
audited; each call takes many payments at once (a status sync brings back thousands).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from django.db import transaction

from casebridge.cases.models import Firm, TrustItem, TrustItemKind, TrustItemStatus, User
from casebridge.core.audit import audit_record_many
from casebridge.core.db import update_rows
from casebridge.core.money import format_cents

#: The payments a fee invoice takes out of trust; the others are paid by trust checks.
INVOICED_KINDS = (
    TrustItemKind.FEE,
    TrustItemKind.COPP,
    TrustItemKind.PROPERTY_DAMAGE_FEE,
    TrustItemKind.COST_REIMBURSEMENT,
)


def _event(
    firm: Firm,
    actor: User | None,
    item: TrustItem,
    action: str,
    summary: str,
    after: dict[str, Any],
) -> dict[str, Any]:
    return {
        "system": "cases",
        "firm_id": firm.pk,
        "actor_id": actor.pk if actor else None,
        "actor_label": actor.email if actor else "system",
        "action": action,
        "entity_type": "trust_item",
        "entity_id": item.pk,
        # under "Case <number>: ", so the case's audit trail shows it
        "summary": f"Case {item.case.number}: {item.get_kind_display()} of "
        f"{format_cents(item.amount_cents)} to {item.payee_name}: {summary}",
        "before": {
            "status": item.status,
            "check_number": item.check_number,
            "invoice_reference": item.invoice_reference,
        },
        "after": after,
    }


def _to_disburse(firm: Firm, ids: Sequence[int]) -> list[TrustItem]:
    return list(
        TrustItem.objects.select_for_update(of=("self",))
        .select_related("case")
        .filter(firm=firm, pk__in=list(ids), status=TrustItemStatus.TO_BE_DISBURSED)
        .order_by("pk")
    )


@transaction.atomic
def trust_items_record_checks_printed(
    *,
    firm: Firm,
    actor: User | None,
    printed: Sequence[tuple[int, str, dt.date]],
    method: str = "check",
) -> int:
    """To Be Disbursed -> Disbursed, each with its check number and print date. ``method``
    "ach": paid by ACH instead, each with its payment's reference ("ACH <trace number>",
    kept as the payment's reference, as a fee invoice's is: it has no check number) and
    the day the books sent it to the bank. Payments no longer To Be Disbursed are left
    alone. Returns how many changed."""
    by_ach = method == "ach"
    wanted = {item_id: (number, on) for item_id, number, on in printed}
    items = _to_disburse(firm, list(wanted))
    events = []
    for item in items:
        number, on = wanted[item.pk]
        events.append(
            _event(
                firm,
                actor,
                item,
                "disburse",
                f"paid by {number} (sent by the books)"
                if by_ach
                else f"paid by trust check {number} (printed in the books)",
                {
                    "status": TrustItemStatus.DISBURSED,
                    ("invoice_reference" if by_ach else "check_number"): number,
                    "on": on.isoformat(),
                },
            )
        )
    # one UPDATE ... FROM VALUES a 500 rows: bulk_update's CASE per field per row grew as
    # the square of the payments (45 s for 6,000 on the 2-core machine)
    update_rows(
        TrustItem,
        [
            ("status", "varchar"),
            ("invoice_reference" if by_ach else "check_number", "varchar"),
            ("disbursed_on", "date"),
        ],
        [
            (item.pk, TrustItemStatus.DISBURSED.value, wanted[item.pk][0][:40], wanted[item.pk][1])
            for item in items
        ],
    )
    audit_record_many(events)
    return len(items)


@transaction.atomic
def trust_items_record_invoiced(
    *, firm: Firm, actor: User | None, item_ids: Sequence[int], reference: str, on: dt.date
) -> int:
    """The fee invoice carrying these payments is final: they are Disbursed, with the
    invoice as their reference. Only fee, charge and cost-reimbursement payments."""
    return trust_items_record_invoiced_many(
        firm=firm, actor=actor, invoiced=[(item_ids, reference, on)]
    )


@transaction.atomic
def trust_items_record_invoiced_many(
    *,
    firm: Firm,
    actor: User | None,
    invoiced: Sequence[tuple[Sequence[int], str, dt.date]],
) -> int:
    """:func:`trust_items_record_invoiced` for many final invoices at once (each its
    payments, its reference and the day it became final), in a few statements whatever
    their number. Returns how many payments changed."""
    wanted = {
        item_id: (reference, on) for item_ids, reference, on in invoiced for item_id in item_ids
    }
    items = [i for i in _to_disburse(firm, list(wanted)) if i.kind in INVOICED_KINDS]
    events = [
        _event(
            firm,
            actor,
            item,
            "disburse",
            f"taken from trust by {wanted[item.pk][0]} (final in the books)",
            {"status": TrustItemStatus.DISBURSED, "invoice_reference": wanted[item.pk][0]},
        )
        for item in items
    ]
    update_rows(
        TrustItem,
        [("status", "varchar"), ("invoice_reference", "varchar"), ("disbursed_on", "date")],
        [
            (item.pk, TrustItemStatus.DISBURSED.value, wanted[item.pk][0][:40], wanted[item.pk][1])
            for item in items
        ],
    )
    audit_record_many(events)
    return len(items)


@transaction.atomic
def trust_items_reopen(
    *, firm: Firm, actor: User | None, item_ids: Sequence[int], reason: str
) -> int:
    """The check or invoice that paid these payments was voided (the money is back in
    trust): they are To Be Disbursed again, their check number or invoice cleared."""
    items = list(
        TrustItem.objects.select_for_update(of=("self",))
        .select_related("case")
        .filter(firm=firm, pk__in=list(item_ids), status=TrustItemStatus.DISBURSED)
        .order_by("pk")
    )
    events = [
        _event(
            firm,
            actor,
            item,
            "reopen",
            f"owed again: {reason}",
            {"status": TrustItemStatus.TO_BE_DISBURSED, "reason": reason},
        )
        for item in items
    ]
    update_rows(
        TrustItem,
        [
            ("status", "varchar"),
            ("check_number", "varchar"),
            ("invoice_reference", "varchar"),
            ("disbursed_on", "date"),
        ],
        [(item.pk, TrustItemStatus.TO_BE_DISBURSED.value, "", "", None) for item in items],
    )
    audit_record_many(events)
    return len(items)
