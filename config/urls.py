"""Top-level URLs: the books under /books/ (API /books/api/v1/), the cases side under
/cases/ (API /cases/api/v1/), the bridge's screens under /cases/integrations/books/ and
its API under /cases/api/v1/integrations/books/; the probes /healthz, /readyz and the
scrape /metrics at the top (docs/operations.md)."""

from django.urls import include, path
from django.views.generic import TemplateView

from casebridge.bridge.api.router import api as bridge_api
from casebridge.web import health, metrics

urlpatterns = [
    path("", TemplateView.as_view(template_name="web/home.html"), name="home"),
    # operations (docs/operations.md): probes without sign-in, metrics for the scraper
    path("healthz", health.healthz, name="healthz"),
    path("readyz", health.readyz, name="readyz"),
    path("metrics", metrics.metrics_view, name="metrics"),
    path("books/", include("casebridge.books.urls")),
    path("cases/integrations/books/", include("casebridge.bridge.urls")),
    path("cases/api/v1/integrations/books/", bridge_api.urls),
    path("cases/", include("casebridge.cases.urls")),
]
