"""The cases side's writes: keyword-only, typed, atomic ``<entity>_<verb>`` functions that
raise a :class:`~casebridge.core.errors.DomainError` subclass on refusal and then have
written nothing."""
