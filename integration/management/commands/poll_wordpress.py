from django.core.management.base import BaseCommand, CommandError

from integration.tasks import stock_data_poll_exclusive


class Command(BaseCommand):
    help = (
        "Poll WordPress /stock-data once now: prints stored/updated/skipped counts and the reasons. "
        "Takes the poll lock the worker takes: while another poll runs it says so and polls nothing."
    )

    def handle(self, *args, **options):
        report = stock_data_poll_exclusive(caller="poll_wordpress")
        if report is None:
            self.stdout.write("skipped: another poll is running")
            return
        self.stdout.write(report.summary())
        for example in report.skipped_examples:
            self.stdout.write(f"  skipped {example}")
        if not report.ok:
            assert report.error is not None  # a report that is not ok names its error
            raise CommandError(f"poll failed: {report.error.code}: {report.error.message}")
