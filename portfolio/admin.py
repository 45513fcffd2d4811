from django.contrib import admin

from tradingrobot.admin_base import ReadOnlyAdmin

from .models import Account, Position


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
