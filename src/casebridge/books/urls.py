"""The books' URLs: screens and the versioned API."""

from django.urls import path

from casebridge.books.api.router import api

app_name = "books"

urlpatterns = [
    path("api/v1/", api.urls),
]
