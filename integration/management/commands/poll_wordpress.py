from django.core.management.base import BaseCommand, CommandError

from integration.services import stock_data_poll


class Command(BaseCommand):
    help = "Poll WordPress /stock-data once now: prints stored/updated/skipped counts and the reasons."

    def handle(self, *args, **options):
        report = stock_data_poll()
        self.stdout.write(report.summary())
        for example in report.skipped_examples:
            self.stdout.write(f"  skipped {example}")
        if not report.ok:
            raise CommandError(f"poll failed: {report.error.code}: {report.error.message}")
