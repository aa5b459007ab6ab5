"""The site's URLs plus a view that fails, for the 500 page."""

from config.urls import urlpatterns as site
from django.http import HttpRequest, HttpResponse
from django.urls import path


def boom(request: HttpRequest) -> HttpResponse:
    raise RuntimeError("secret detail of the failure")


urlpatterns = [path("boom/", boom), *site]
