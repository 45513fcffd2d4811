from django.apps import AppConfig


class TradingRobotConfig(AppConfig):
    """The project itself: wires the apps' events to their listeners once every app is loaded."""

    name = "tradingrobot"
    verbose_name = "Trading Robot"

    def ready(self) -> None:
        from .broker_wiring import broker_install_configured
        from .listeners import listeners_install  # imports the apps' catalogues: only once they are loaded

        listeners_install()
        broker_install_configured()
