from django.contrib import admin

from .models import Account, Position


class ReadOnlyAdmin(admin.ModelAdmin):
    """Balances change only through the trading services."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Account)
class AccountAdmin(ReadOnlyAdmin):
    list_display = ["name", "cash", "starting_cash", "updated_at"]
    search_fields = ["name"]


@admin.register(Position)
class PositionAdmin(ReadOnlyAdmin):
    list_display = ["symbol", "account", "qty", "avg_entry_price", "cost_basis", "realized_pl", "updated_at"]
    list_filter = ["account", "symbol"]
    search_fields = ["symbol__ticker"]
    list_select_related = ["symbol", "account"]
