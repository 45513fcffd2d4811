from django.core.management.base import BaseCommand, CommandError

from integration.strategies_sync import strategies_sync


class Command(BaseCommand):
    help = (
        "Read the site's GET /strategies now: each listed id gets a strategy (created disabled, kind sma_crossover "
        "on its symbol with default params) and the site's status is stored beside ours. Never enables anything."
    )

    def handle(self, *args, **options):
        report = strategies_sync()
        self.stdout.write(report.summary())
        for strategy_id in report.created:
            self.stdout.write(f"  created {strategy_id} (disabled)")
        for strategy_id in report.updated:
            self.stdout.write(f"  site status changed: {strategy_id}")
        for reason in report.skipped:
            self.stdout.write(f"  skipped {reason}")
        if not report.ok:
            raise CommandError(f"strategies sync failed: {report.error}")
