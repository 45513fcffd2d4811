"""`manage.py load_prices FILE.csv`: load price samples (columns symbol,timestamp,price,volume), then the same
"prices arrived" follow-up as the WordPress poller (fill resting orders, announce `prices_stored`; the store
announces `bar_closed`). It lives in `trading`, not `market`, because that follow-up is trading's rule and
`market` imports no other app; the CSV parsing is market's (`market/csv_prices.py`)."""

import csv
from collections import Counter

from django.core.management.base import BaseCommand, CommandError

from market.csv_prices import REQUIRED_COLUMNS, parse_row
from market.models import PriceSample, Symbol
from market.services import SampleIn, UpsertResult, sample_upsert_many
from trading.prices import prices_arrived

BATCH = 2000


class Command(BaseCommand):
    help = "Load price samples from a CSV (columns symbol,timestamp,price,volume); timestamps without zone are UTC."

    def add_arguments(self, parser):
        parser.add_argument("path")
        parser.add_argument(
            "--history",
            action="store_true",
            help="The file is history (like a backfill): the bars it closes are announced as not live.",
        )

    def handle(self, *args, path: str, history: bool = False, **options):
        symbols = dict(Symbol.objects.values_list("ticker", "pk"))
        skipped: Counter[str] = Counter()
        total = UpsertResult()
        try:
            handle = open(path, newline="", encoding="utf-8")  # noqa: SIM115 - closed by the with below
        except OSError as exc:
            raise CommandError(f"Cannot read {path}: {exc.strerror}") from None
        with handle:
            reader = csv.DictReader(handle)
            missing = [c for c in REQUIRED_COLUMNS if c not in (reader.fieldnames or [])]
            if missing:
                raise CommandError(
                    f"{path} lacks the column(s) {', '.join(missing)}; expected symbol,timestamp,price,volume."
                )
            batch: list[SampleIn] = []
            for row in reader:
                try:
                    batch.append(parse_row(row, symbols))
                except ValueError as reason:
                    skipped[str(reason)] += 1
                if len(batch) >= BATCH:
                    total += sample_upsert_many(samples=batch, source=PriceSample.Source.CSV, live=not history)
                    batch = []
            if batch:
                total += sample_upsert_many(samples=batch, source=PriceSample.Source.CSV, live=not history)
        fills = prices_arrived(symbol_ids=total.symbol_ids, source=PriceSample.Source.CSV).fills
        self.stdout.write(
            f"stored {total.stored}, updated {total.updated}, unchanged {total.unchanged}, "
            f"skipped {sum(skipped.values())}; resting orders filled: {fills}"
        )
        for why, count in skipped.most_common():
            self.stdout.write(f"  skipped {count}: {why}")
