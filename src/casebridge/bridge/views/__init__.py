"""The bridge's screens under /cases/integrations/books/, in the cases side's look and with
its pop-ups (the kit in ``casebridge.web.popups``), one module per area: activation, defaults,
deactivation and re-authentication (:mod:`.connection`), the allowed books addresses
(:mod:`.addresses`), the readiness check (:mod:`.readiness`), the sync queue (:mod:`.queue`),
cost code mapping (:mod:`.mappings`), a cost's row: Send, Split and send, Sync check status
(:mod:`.costs`), the settlement money (:mod:`.settlement`) and reconciliation with the books
(:mod:`.reconciliation`). The URLs are in :mod:`casebridge.bridge.urls`.

Every view is thin: parse, call a service, render. A service's refusal (a
:class:`~casebridge.core.errors.DomainError`) is shown in the form with status 422.
"""
