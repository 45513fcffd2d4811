from django.apps import AppConfig


class PortfolioConfig(AppConfig):
    name = "portfolio"
    verbose_name = "Portfolio"

    def ready(self):
        from trading import events
        from tradingrobot.snapshot_cache import ledger_version_bump

        events.listen(ledger_version_bump)
