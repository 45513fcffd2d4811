"""Load price samples from a CSV file with columns symbol,timestamp,price,volume."""

import csv
import datetime as dt
from collections import Counter
from decimal import Decimal, InvalidOperation

from django.core.management.base import BaseCommand, CommandError
from django.utils.dateparse import parse_datetime

from market.models import PriceSample, Symbol
from market.services import SampleIn, UpsertResult, sample_upsert_many
from trading.services import orders_execute_resting

REQUIRED = ("symbol", "timestamp", "price")
BATCH = 2000


def parse_row(row: dict, symbols: dict[str, int]) -> SampleIn:
    """One CSV row as a sample; ValueError says why it is skipped."""
    ticker = (row.get("symbol") or "").strip().upper()
    if ticker not in symbols:
        raise ValueError(f"unknown symbol {ticker!r}" if ticker else "missing symbol")
    raw_ts = (row.get("timestamp") or "").strip()
    timestamp = parse_datetime(raw_ts) if raw_ts else None
    if timestamp is None:
        raise ValueError(f"unparseable timestamp {raw_ts!r}")
    if timestamp.tzinfo is None:
        timestamp = timestamp.replace(tzinfo=dt.UTC)
    try:
        price = Decimal((row.get("price") or "").strip())
    except InvalidOperation:
        raise ValueError(f"price {row.get('price')!r} is not a number") from None
    if not price.is_finite() or price <= 0:
        raise ValueError(f"price {row.get('price')!r} is not a positive number")
    if -price.as_tuple().exponent > 4 or price >= Decimal("1e14"):
        price = price.quantize(Decimal("0.0001"))
    raw_volume = (row.get("volume") or "").strip()
    volume = None
    if raw_volume:
        try:
            volume = int(Decimal(raw_volume))
        except (InvalidOperation, ValueError):
            raise ValueError(f"volume {raw_volume!r} is not a whole number") from None
        if volume < 0:
            raise ValueError(f"volume {raw_volume!r} is negative")
    return SampleIn(symbols[ticker], timestamp.astimezone(dt.UTC), price, volume)


class Command(BaseCommand):
    help = "Load price samples from a CSV (columns symbol,timestamp,price,volume); timestamps without zone are UTC."

    def add_arguments(self, parser):
        parser.add_argument("path")

    def handle(self, *args, path: str, **options):
        symbols = dict(Symbol.objects.values_list("ticker", "pk"))
        skipped: Counter[str] = Counter()
        total = UpsertResult()
        try:
            handle = open(path, newline="", encoding="utf-8")  # noqa: SIM115 - closed by the with below
        except OSError as exc:
            raise CommandError(f"Cannot read {path}: {exc.strerror}") from None
        with handle:
            reader = csv.DictReader(handle)
            missing = [c for c in REQUIRED if c not in (reader.fieldnames or [])]
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
                    total += sample_upsert_many(samples=batch, source=PriceSample.Source.CSV)
                    batch = []
            if batch:
                total += sample_upsert_many(samples=batch, source=PriceSample.Source.CSV)
        fills = orders_execute_resting(symbol_ids=sorted(total.symbol_ids)) if total.symbol_ids else 0
        self.stdout.write(
            f"stored {total.stored}, updated {total.updated}, unchanged {total.unchanged}, "
            f"skipped {sum(skipped.values())}; resting orders filled: {fills}"
        )
        for reason, count in skipped.most_common():
            self.stdout.write(f"  skipped {count}: {reason}")
