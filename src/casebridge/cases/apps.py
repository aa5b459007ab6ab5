"""App config for the cases side."""

from django.apps import AppConfig


class CasesConfig(AppConfig):
    name = "casebridge.cases"
    label = "cases"
    verbose_name = "Cases (case management)"
