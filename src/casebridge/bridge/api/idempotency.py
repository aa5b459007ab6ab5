"""``Idempotency-Key`` on the bridge's POST endpoints: the shared decorator
(:mod:`casebridge.core.api.idempotency`, ADR 0004) bound to the cases side's
:class:`~casebridge.cases.models.IdempotencyRecord` and the caller's firm, scoped
``bridge POST <route>``; the sign-in pop-ups' password and security answer are left out of
the hash.

Put :func:`idempotent` directly below ``@router.post(...)``."""

from __future__ import annotations

from casebridge.cases.api.security import context
from casebridge.cases.models import IdempotencyRecord
from casebridge.core.api.idempotency import make_idempotent

#: ``Idempotency-Key`` on every POST (ADR 0004), stored with the cases side's records.
idempotent = make_idempotent(
    record_model=IdempotencyRecord,
    firm_of=lambda request: context(request).firm,
    scope_prefix="bridge",
    secret_fields=("password", "security_answer"),
)
