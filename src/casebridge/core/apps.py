"""App config for the shared kernel."""

from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "casebridge.core"
    label = "core"

    def ready(self) -> None:
        from casebridge.core.logs import install_record_factory

        install_record_factory()
