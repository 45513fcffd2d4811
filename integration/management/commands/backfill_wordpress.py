from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from integration.services import backfill_run
from integration.sources.fallback import SOURCES


class Command(BaseCommand):
    help = (
        "Backfill history through WordPress /stock-data/{symbol} in windows with explicit site-local dates. "
        "Resumable: completed windows are skipped on the next run (--force fetches them again)."
    )

    def add_arguments(self, parser):
        parser.add_argument("--days", type=float, required=True, help="How far back, in days.")
        parser.add_argument("--symbol", action="append", help="A ticker (repeatable); default: the primary ones.")
        parser.add_argument(
            "--window-days", type=float, default=None, help="Days per request (default WP_BACKFILL_WINDOW_DAYS)."
        )
        parser.add_argument(
            "--workers", type=int, default=1, help="Windows fetched and written at once (one DB connection each)."
        )
        parser.add_argument("--force", action="store_true", help="Fetch windows a previous run completed, too.")
        parser.add_argument("--no-progress", action="store_true", help="No progress bar.")
        parser.add_argument(
            "--source",
            choices=list(SOURCES),
            default="wordpress",
            help="Where history comes from: WordPress (default) or a fallback, for a window WordPress lacks.",
        )

    def handle(self, *args, **options):
        if options["days"] <= 0:
            raise CommandError("--days must be positive")
        tickers = [t.upper() for t in options["symbol"]] if options["symbol"] else None
        bar = None

        def on_plan(todo: int, done: int) -> None:
            nonlocal bar
            if done:
                self.stdout.write(f"{done} window(s) already done by an earlier run: skipped")
            bar = tqdm(total=todo, unit="window", disable=options["no_progress"], file=self.stderr._out)

        def on_window(window, report) -> None:
            assert bar is not None  # on_plan runs before the first window
            bar.set_postfix_str(f"{window.symbol.ticker} {window.start:%Y-%m-%d} rows={report.rows}")
            bar.update(1)

        common = {
            "days": options["days"],
            "tickers": tickers,
            "window_days": options["window_days"],
            "force": options["force"],
            "workers": options["workers"],
            "source": options["source"],
            "on_plan": on_plan,
            "on_window": on_window,
        }
        report = backfill_run(**common)
        if bar is not None:
            bar.close()
        rate = report.rows / report.seconds if report.seconds else 0
        totals = f"windows={report.windows} skipped_windows={report.windows_skipped} ({rate:,.0f} rows/s)"
        self.stdout.write(f"{report.summary()}; {totals}")
        for example in report.skipped_examples:
            self.stdout.write(f"  skipped {example}")
        if not report.ok:
            assert report.error is not None  # a report that is not ok names its error
            raise CommandError(f"backfill stopped: {report.error.code}: {report.error.message} (rerun to resume)")
