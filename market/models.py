from django.core.validators import RegexValidator
from django.db import models
from django.db.models import Q

TICKER_VALIDATOR = RegexValidator(r"^[A-Z]{1,10}$", "A ticker is 1 to 10 capital letters, like TSLA.")


class Symbol(models.Model):
    ticker = models.CharField(max_length=10, unique=True, validators=[TICKER_VALIDATOR])
    name = models.CharField(max_length=100, blank=True)
    is_active = models.BooleanField(default=True, help_text="Inactive symbols cannot be traded.")
    is_primary = models.BooleanField(default=False, help_text="Polled from WordPress.")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["ticker"]

    def __str__(self) -> str:
        return self.ticker


class PriceSample(models.Model):
    """One observed price of a symbol at an instant. `volume` is the cumulative volume of the day."""

    class Source(models.TextChoices):
        WORDPRESS = "wordpress", "WordPress"
        CSV = "csv", "CSV file"
        DEVFEED = "devfeed", "Development feed"
        MANUAL = "manual", "Manual"
        ALPACA = "alpaca", "Alpaca market data (fallback)"
        YAHOO = "yahoo", "Yahoo chart (fallback)"

    # No separate index on symbol: the (symbol, timestamp) unique index serves every lookup by symbol.
    symbol = models.ForeignKey(Symbol, on_delete=models.PROTECT, related_name="samples", db_index=False)
    timestamp = models.DateTimeField()
    price = models.DecimalField(max_digits=18, decimal_places=4)
    volume = models.BigIntegerField(null=True, blank=True, help_text="Cumulative volume of the trading day.")
    source = models.CharField(max_length=16, choices=Source.choices, default=Source.MANUAL)
    quarantined = models.BooleanField(
        default=False,
        db_default=False,  # the bulk insert of new samples is SQL of its own (market/services.py)
        help_text="Moved more than PRICE_BAND_PERCENT from the last accepted sample: kept out of fills, bars and"
        " bar_closed until the next sample confirms it (market/price_band.py).",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["symbol", "timestamp"]
        indexes = [
            models.Index(
                fields=["symbol", "timestamp"], condition=Q(quarantined=True), name="pricesample_quarantined_idx"
            )
        ]
        constraints = [
            models.UniqueConstraint(fields=["symbol", "timestamp"], name="pricesample_symbol_timestamp_uniq"),
            models.CheckConstraint(condition=Q(price__gt=0), name="pricesample_price_positive"),
            models.CheckConstraint(condition=Q(volume__isnull=True) | Q(volume__gte=0), name="pricesample_volume_gte0"),
        ]

    def __str__(self) -> str:
        return f"{self.symbol_id} {self.timestamp:%Y-%m-%d %H:%M:%S} {self.price}"


# Second market-data sources (integration/sources/): a WordPress sample of the same symbol and minute replaces theirs.
FALLBACK_SOURCES = frozenset({PriceSample.Source.ALPACA, PriceSample.Source.YAHOO})


class Timeframe(models.TextChoices):
    MIN1 = "1Min", "1 minute"
    MIN5 = "5Min", "5 minutes"
    MIN15 = "15Min", "15 minutes"
    HOUR1 = "1Hour", "1 hour"
    DAY1 = "1Day", "1 day"


class Bar(models.Model):
    """OHLC rollup of the samples of one bucket, kept up to date as samples arrive.

    `close_volume` is the cumulative day volume at the close sample; the volume of a bar is its rise
    since the previous bar of the same `day` (computed when bars are read).
    """

    # No database FK: a bar is written only from samples of its symbol in the same transaction, and samples'
    # FK (PROTECT) already proves the symbol exists; deleting a symbol still removes its bars (Django's CASCADE).
    # The check cost a trigger per bar row, ~2.4 per sample, at every backfill's commit.
    symbol = models.ForeignKey(
        Symbol, on_delete=models.CASCADE, related_name="bars", db_index=False, db_constraint=False
    )
    timeframe = models.CharField(max_length=8, choices=Timeframe.choices)
    start = models.DateTimeField()
    day = models.DateField(help_text="Exchange-local date of the bucket.")
    open = models.DecimalField(max_digits=18, decimal_places=4)
    high = models.DecimalField(max_digits=18, decimal_places=4)
    low = models.DecimalField(max_digits=18, decimal_places=4)
    close = models.DecimalField(max_digits=18, decimal_places=4)
    open_at = models.DateTimeField()
    close_at = models.DateTimeField()
    close_volume = models.BigIntegerField(null=True, blank=True)

    class Meta:
        ordering = ["symbol", "timeframe", "start"]
        constraints = [
            models.UniqueConstraint(fields=["symbol", "timeframe", "start"], name="bar_symbol_timeframe_start_uniq"),
        ]

    def __str__(self) -> str:
        return f"{self.symbol_id} {self.timeframe} {self.start:%Y-%m-%d %H:%M}"


class BarCloseMark(models.Model):
    """Per symbol and timeframe, the end of the newest bar announced as closed (`bar_closed`).

    Written only by `market.bar_close`, under a row lock in the transaction that stores the closing sample,
    so a bar is announced once however many writers store samples at the same time. A bar starting before
    `closed_until` is never announced (again).
    """

    symbol = models.ForeignKey(Symbol, on_delete=models.CASCADE, related_name="+", db_index=False)
    timeframe = models.CharField(max_length=8, choices=Timeframe.choices)
    closed_until = models.DateTimeField()
    # The last bar announced, for the volume of the next one (its rise since this bar's close sample).
    closed_day = models.DateField(null=True, blank=True)
    closed_volume = models.BigIntegerField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["symbol", "timeframe"], name="barclosemark_symbol_timeframe_uniq"),
        ]

    def __str__(self) -> str:
        return f"{self.symbol_id} {self.timeframe} closed until {self.closed_until:%Y-%m-%d %H:%M}"
