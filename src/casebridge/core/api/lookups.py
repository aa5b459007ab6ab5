"""Firm-scoped lookups: an id from another firm is indistinguishable from one that does
not exist, and both are 404 ``not_found`` naming the field (never a leak, never a 500).

Referenced ids in a request body are checked here before a service runs, one query per
model however many ids a batch names, so a bad reference is reported by its place in the
request (``items[3].file_id``). Every model passed in has a ``firm`` foreign key.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from typing import TypeVar

from django.db.models import Model, QuerySet

from casebridge.core.errors import NotFound

M = TypeVar("M", bound=Model)

#: (model, id or None, field path in the request)
Reference = tuple[type[Model], int | None, str]


def label(model: type[Model]) -> str:
    return str(model._meta.verbose_name)


def get_or_404(queryset: QuerySet[M], pk: int, *, field: str | None = None) -> M:
    """``queryset`` (already filtered by firm) row ``pk``, or 404 naming ``field``."""
    obj = queryset.filter(pk=pk).first()
    if obj is None:
        where = f"{field}: " if field else ""
        raise NotFound(f"{where}{label(queryset.model)} {pk} not found", field=field)
    return obj


def optional(queryset: QuerySet[M], pk: int | None, *, field: str) -> M | None:
    """Like :func:`get_or_404` for an optional reference: None stays None."""
    return None if pk is None else get_or_404(queryset, pk, field=field)


def require_in_firm(firm: Model, references: Iterable[Reference]) -> None:
    """Refuse the first reference whose id is not a row of ``firm`` (None is skipped)."""
    refs = [r for r in references if r[1] is not None]
    wanted: dict[type[Model], set[int]] = defaultdict(set)
    for model, pk, _ in refs:
        assert pk is not None
        wanted[model].add(pk)
    found = {
        model: set(
            model._default_manager.filter(firm=firm, pk__in=ids).values_list("pk", flat=True)
        )
        for model, ids in wanted.items()
    }
    for model, pk, field in refs:
        if pk not in found[model]:
            raise NotFound(f"{field}: {label(model)} {pk} not found", field=field, id=pk)
