"""Load seeded synthetic prices (XNYS sessions, geometric random walk) into the price store."""

import datetime as dt
from decimal import Decimal

from django.core.management.base import BaseCommand, CommandError

from market.models import PriceSample, Symbol
from market.services import SampleIn, UpsertResult, sample_upsert_many
from market.synthetic import STEPS, synthetic_samples

BATCH = 10_000
MAX_DAYS = 3660


def _date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise CommandError(f"{text!r} is not a date; write it as YYYY-MM-DD.") from None


class Command(BaseCommand):
    help = (
        "Store synthetic samples for the given symbols and dates (source 'manual'), through the same ingestion "
        "service as every other writer; bars follow. Same seed, same data. Resting orders are not executed: "
        "this is history, not a live feed (the bars it closes are announced with live=False)."
    )

    def add_arguments(self, parser):
        parser.add_argument("--symbols", default="TSLA,QQQ,SPY,NVDA", help="comma-separated tickers (must exist)")
        parser.add_argument("--start", required=True, help="first session date, YYYY-MM-DD")
        parser.add_argument("--end", required=True, help="last session date, YYYY-MM-DD (included)")
        parser.add_argument("--seed", type=int, default=7)
        parser.add_argument("--interval", type=int, choices=STEPS, default=5, help="minutes between samples")

    def handle(self, *args, symbols: str, start: str, end: str, seed: int, interval: int, **options):
        first, last = _date(start), _date(end)
        if last < first:
            raise CommandError(f"--end {last} is before --start {first}.")
        if (last - first).days > MAX_DAYS:
            raise CommandError(f"At most {MAX_DAYS} days at once; split the range.")
        tickers = [t.strip().upper() for t in symbols.split(",") if t.strip()]
        if not tickers:
            raise CommandError("Give at least one symbol with --symbols.")
        known = dict(Symbol.objects.filter(ticker__in=tickers).values_list("ticker", "pk"))
        unknown = [t for t in tickers if t not in known]
        if unknown:
            raise CommandError(f"Unknown symbol(s) {', '.join(unknown)}; add them first (admin) or drop them.")

        generated = synthetic_samples(symbols=tickers, start=first, end=last, seed=seed, step_minutes=interval)
        total = UpsertResult()
        for ticker, series in generated.items():
            stamps = series.timestamps.astype("datetime64[s]").astype(int).tolist()
            prices = series.price.tolist()
            volumes = series.volume.tolist()
            for i in range(0, len(stamps), BATCH):
                batch = [
                    SampleIn(
                        known[ticker],
                        dt.datetime.fromtimestamp(stamps[j], tz=dt.UTC),
                        Decimal(f"{prices[j]:.4f}"),
                        int(volumes[j]),
                    )
                    for j in range(i, min(i + BATCH, len(stamps)))
                ]
                total += sample_upsert_many(samples=batch, source=PriceSample.Source.MANUAL, live=False)
        sessions = len(set(next(iter(generated.values())).day.tolist())) if generated else 0
        self.stdout.write(
            f"{', '.join(tickers)}: {sessions} sessions from {first} to {last}, seed {seed}, every {interval} min; "
            f"stored {total.stored}, updated {total.updated}, unchanged {total.unchanged}"
        )
