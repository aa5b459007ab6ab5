"""Template context for every cases page: the banners integrations raise (for example the
books connection's monthly re-authentication) and the links they add to the main
navigation. Empty on pages without a cases user."""

from __future__ import annotations

from django.http import HttpRequest
from django.utils.functional import SimpleLazyObject

from casebridge.cases import extensions
from casebridge.cases.models import User


def integration_banners(request: HttpRequest) -> dict[str, object]:
    user: User | None = getattr(request, "cases_user", None)
    if user is None:
        return {}
    return {
        "integration_banners": SimpleLazyObject(lambda: extensions.banners(request, user)),
        "integration_nav": SimpleLazyObject(lambda: extensions.nav_links(user)),
    }
