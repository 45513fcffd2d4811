from django.contrib import admin

from tradingrobot.admin_base import ReadOnlyAdmin

from .models import Bar, PriceSample, Symbol


@admin.register(Symbol)
class SymbolAdmin(admin.ModelAdmin):
    list_display = ["ticker", "name", "is_active", "is_primary", "created_at"]
    list_filter = ["is_active", "is_primary"]
    search_fields = ["ticker", "name"]


@admin.register(PriceSample)
class PriceSampleAdmin(ReadOnlyAdmin):
    """Samples change through ingestion, which keeps the bars consistent. `quarantined`: outside the price band,
    waiting for the next sample to confirm it (market/price_band.py)."""

    list_display = ["symbol", "timestamp", "price", "volume", "source", "quarantined", "updated_at"]
    list_filter = ["quarantined", "symbol", "source"]
    search_fields = ["symbol__ticker"]
    date_hierarchy = "timestamp"
    list_select_related = ["symbol"]
    show_full_result_count = False


@admin.register(Bar)
class BarAdmin(ReadOnlyAdmin):
    list_display = ["symbol", "timeframe", "start", "open", "high", "low", "close", "close_volume"]
    list_filter = ["timeframe", "symbol"]
    list_select_related = ["symbol"]
    show_full_result_count = False
