"""Top-level URLs: the books' screens under /books/ and their API under /books/api/v1/."""

from django.urls import include, path
from django.views.generic import RedirectView

urlpatterns = [
    path("", RedirectView.as_view(url="/books/", permanent=False)),
    path("books/", include("casebridge.books.urls")),
]
