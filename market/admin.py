from django.contrib import admin

from .models import Bar, PriceSample, Symbol


@admin.register(Symbol)
class SymbolAdmin(admin.ModelAdmin):
    list_display = ["ticker", "name", "is_active", "is_primary", "created_at"]
    list_filter = ["is_active", "is_primary"]
    search_fields = ["ticker", "name"]


@admin.register(PriceSample)
class PriceSampleAdmin(admin.ModelAdmin):
    list_display = ["symbol", "timestamp", "price", "volume", "source", "updated_at"]
    list_filter = ["symbol", "source"]
    search_fields = ["symbol__ticker"]
    date_hierarchy = "timestamp"
    list_select_related = ["symbol"]
    show_full_result_count = False

    def has_change_permission(self, request, obj=None):
        return False  # samples change through ingestion, which keeps the bars consistent

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Bar)
class BarAdmin(admin.ModelAdmin):
    list_display = ["symbol", "timeframe", "start", "open", "high", "low", "close", "close_volume"]
    list_filter = ["timeframe", "symbol"]
    list_select_related = ["symbol"]
    show_full_result_count = False

    def has_change_permission(self, request, obj=None):
        return False

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
