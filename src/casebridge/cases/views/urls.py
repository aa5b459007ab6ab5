"""The cases side's screen URLs (included by casebridge.cases.urls)."""

from django.urls import URLPattern

urlpatterns: list[URLPattern] = []
