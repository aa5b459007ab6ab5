"""Contacts in a part: who is a payee, a party (insurer or defendant), a lien holder."""

from __future__ import annotations

from django.db.models import Exists, OuterRef, Q

from casebridge.cases.models import Case, Contact, Cost, Firm, Lien, Negotiation

#: A contact's part in a pop-up: the rows that make someone a payee, a party, a holder.
ROLES = {"payee": (Cost, "payee"), "party": (Negotiation, "party"), "holder": (Lien, "holder")}
#: How a refusal names the contact in each part.
ROLE_LABELS = {"payee": "payee", "party": "insurer or defendant", "holder": "lien holder"}
#: Suggestions beyond this many are left out of a datalist (typing still finds anyone).
MAX_SUGGESTIONS = 5000


def in_role(role: str) -> Exists:
    """True for a contact who already has ``role`` on some row."""
    model, field = ROLES[role]
    return Exists(model._default_manager.filter(**{field: OuterRef("pk")}))


def contact_names(firm: Firm, role: str) -> list[str]:
    """Names to suggest for a payee, party or lien holder: the firm's contacts who have
    that part already or are not a case's client (insurers, providers, lienholders)."""
    is_client = Exists(Case.objects.filter(client=OuterRef("pk")))
    names = (
        Contact.objects.filter(firm=firm)
        .filter(Q(in_role(role)) | ~Q(is_client))
        .order_by("name")
        .values_list("name", flat=True)
        .distinct()[:MAX_SUGGESTIONS]
    )
    return list(names)
