"""Strategies in the admin: the list with the site's status beside ours and the last decision; enable and
disable through the engine's service (a permission of their own: `trading.change_strategy`, not view
access); decisions read-only."""

from django.contrib import admin, messages
from django.db.models import OuterRef, Subquery

from tradingrobot.admin_base import ReadOnlyAdmin
from tradingrobot.errors import DomainError

from .engine import services
from .models import Strategy, StrategyDecision

TOGGLE_PERMISSION = "trading.change_strategy"


def _last(field: str) -> Subquery:
    decisions = StrategyDecision.objects.filter(strategy=OuterRef("pk")).order_by("-bar_end", "-id")
    return Subquery(decisions.values(field)[:1])


@admin.register(Strategy)
class StrategyAdmin(ReadOnlyAdmin):
    list_display = [
        "strategy_id",
        "symbol",
        "kind",
        "timeframe",
        "enabled",
        "mode",
        "site_status",
        "last_outcome",
        "last_reason",
        "last_bar_end",
    ]
    list_filter = ["enabled", "mode", "kind", "timeframe", "symbol"]
    search_fields = ["strategy_id", "symbol__ticker", "kind"]
    list_select_related = ["symbol"]
    actions = ["enable_strategies", "disable_strategies"]

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .annotate(last_outcome=_last("outcome"), last_reason=_last("reason"), last_bar_end=_last("bar_end"))
        )

    @admin.display(description="last decision", ordering="last_outcome")
    def last_outcome(self, obj) -> str:
        return obj.last_outcome or "-"

    @admin.display(description="reason")
    def last_reason(self, obj) -> str:
        return obj.last_reason or "-"

    @admin.display(description="on the bar ending", ordering="last_bar_end")
    def last_bar_end(self, obj):
        return obj.last_bar_end

    def has_toggle_permission(self, request) -> bool:
        return request.user.has_perm(TOGGLE_PERMISSION)

    @admin.action(description="Enable selected strategies", permissions=["toggle"])
    def enable_strategies(self, request, queryset):
        self._set_enabled(request, queryset, enabled=True)

    @admin.action(description="Disable selected strategies (cancels their open orders)", permissions=["toggle"])
    def disable_strategies(self, request, queryset):
        self._set_enabled(request, queryset, enabled=False)

    def _set_enabled(self, request, queryset, *, enabled: bool) -> None:
        done, refused = 0, []
        for strategy_id in queryset.values_list("strategy_id", flat=True):
            try:
                services.strategy_update(
                    strategy_id=strategy_id, changes={"enabled": enabled}, by=f"admin:{request.user.get_username()}"
                )
                done += 1
            except DomainError as error:
                refused.append(f"{strategy_id}: {error.message}")
        self.message_user(request, f"{done} strateg{'y' if done == 1 else 'ies'} {'en' if enabled else 'dis'}abled.")
        for message in refused[:10]:
            self.message_user(request, message, messages.WARNING)


@admin.register(StrategyDecision)
class StrategyDecisionAdmin(ReadOnlyAdmin):
    list_display = ["bar_end", "strategy", "outcome", "reason", "target", "position_qty", "order", "decided_at"]
    list_filter = ["outcome", "reason", "strategy"]
    search_fields = ["strategy__strategy_id", "reason", "message"]
    date_hierarchy = "bar_end"
    list_select_related = ["strategy", "order"]
