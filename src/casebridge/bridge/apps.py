"""App config for the bridge: plugs the bridge into the cases side's sockets at start-up."""

from django.apps import AppConfig


class BridgeConfig(AppConfig):
    name = "casebridge.bridge"
    label = "bridge"
    verbose_name = "Bridge (case management -> books)"

    def ready(self) -> None:
        from casebridge.bridge import tasks  # noqa: F401  (binds delivery to the task engine)
        from casebridge.bridge.integration import install

        install()
