from django.core.management.base import BaseCommand

from integration.pushback import outbox_deliver


class Command(BaseCommand):
    help = "Deliver pending trade and performance records to WordPress now; prints the counts."

    def add_arguments(self, parser):
        parser.add_argument("--limit", type=int, default=1000)

    def handle(self, *args, limit: int, **options):
        report = outbox_deliver(limit=limit)
        if report.skipped:
            self.stdout.write(f"skipped: {report.skipped}")
            return
        self.stdout.write(f"delivered {report.delivered}, failed {report.failed}, waiting {report.deferred}")
        for error in report.errors[:20]:
            self.stdout.write(f"  {error}")
