"""The books' writes. Each service is a keyword-only, typed, atomic function named
``<entity>_<verb>`` that raises a :class:`~casebridge.core.errors.DomainError` subclass
on refusal (and then has written nothing)."""
