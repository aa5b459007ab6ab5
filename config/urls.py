"""Top-level URLs: the books under /books/ (API /books/api/v1/), the cases side under
/cases/ (API /cases/api/v1/)."""

from django.urls import include, path
from django.views.generic import RedirectView

urlpatterns = [
    path("", RedirectView.as_view(url="/books/", permanent=False)),
    path("books/", include("casebridge.books.urls")),
    path("cases/", include("casebridge.cases.urls")),
]
