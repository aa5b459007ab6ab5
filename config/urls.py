"""Top-level URLs: the books under /books/ (API /books/api/v1/), the cases side under
/cases/ (API /cases/api/v1/)."""

from django.urls import include, path
from django.views.generic import TemplateView

urlpatterns = [
    path("", TemplateView.as_view(template_name="web/home.html"), name="home"),
    path("books/", include("casebridge.books.urls")),
    path("cases/", include("casebridge.cases.urls")),
]
