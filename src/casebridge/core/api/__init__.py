"""What every HTTP API of Casebridge shares: the JSON error shape and its handlers
(:mod:`.errors`), ``Idempotency-Key`` (:mod:`.idempotency`), request/response building
blocks such as decimal-string amounts (:mod:`.schemas`), firm-scoped lookups
(:mod:`.lookups`) and bearer-token helpers (:mod:`.security`). Imports no product part:
each API binds these to its own firm, token and idempotency-record models."""
