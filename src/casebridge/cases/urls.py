"""The cases side's URLs: the API under api/v1/ and the screens."""

from django.urls import path

from casebridge.cases.api.router import api
from casebridge.cases.views.urls import urlpatterns as screens

app_name = "cases"

urlpatterns = [
    path("api/v1/", api.urls),
    *screens,
]
