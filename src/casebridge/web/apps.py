"""App config for the shared web layer."""

from django.apps import AppConfig


class WebConfig(AppConfig):
    name = "casebridge.web"
    label = "web"
