"""``Idempotency-Key`` on the cases side's POST endpoints: the shared decorator
(:mod:`casebridge.core.api.idempotency`, ADR 0004) bound to
:class:`~casebridge.cases.models.IdempotencyRecord` and the caller's firm.

Put :func:`idempotent` directly below ``@router.post(...)``."""

from __future__ import annotations

from casebridge.cases.api.security import context
from casebridge.cases.models import IdempotencyRecord
from casebridge.core.api.idempotency import make_idempotent

idempotent = make_idempotent(
    record_model=IdempotencyRecord, firm_of=lambda request: context(request).firm
)

#: The password endpoints (issue 13): passwords are left out of the request hash and
#: nothing derived from them is stored.
idempotent_secret = make_idempotent(
    record_model=IdempotencyRecord,
    firm_of=lambda request: context(request).firm,
    secret_fields=("current_password", "new_password", "temporary_password"),
)
