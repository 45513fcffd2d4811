from django.contrib import admin, messages

from tradingrobot.admin_base import ReadOnlyAdmin
from tradingrobot.errors import DomainError

from . import outbox, services, strategy_admin  # noqa: F401  (strategy_admin registers Strategy and StrategyDecision)
from .authority import Authority
from .models import Fill, Order, OutboxMessage, TradingState


def _actor(request) -> str:
    return f"admin:{request.user.get_username()}"


def _may(request, codename: str) -> bool:
    return request.user.has_perm(f"trading.{codename}")


@admin.register(TradingState)
class TradingStateAdmin(ReadOnlyAdmin):
    list_display = ["__str__", "halted", "reason", "changed_by", "changed_at"]
    actions = ["halt_trading", "resume_trading"]

    def has_halt_permission(self, request) -> bool:
        return _may(request, "halt_trading")

    def has_resume_permission(self, request) -> bool:
        return _may(request, "resume_trading")

    @admin.action(description="Halt trading (cancel open orders)", permissions=["halt"])
    def halt_trading(self, request, queryset):
        _, canceled, _ = services.trading_halt(reason="Halted from the admin", halted_by=_actor(request))
        self.message_user(request, f"Trading halted; {canceled} open order(s) canceled.", messages.WARNING)

    @admin.action(description="Resume trading", permissions=["resume"])
    def resume_trading(self, request, queryset):
        services.trading_resume(resumed_by=_actor(request))
        self.message_user(request, "Trading resumed.")


FILL_FIELDS = ("qty", "price", "commission", "realized_pl", "executed_at")


class FillInline(admin.TabularInline):
    model = Fill
    extra = 0
    can_delete = False
    fields = FILL_FIELDS
    readonly_fields = FILL_FIELDS

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Order)
class OrderAdmin(ReadOnlyAdmin):
    list_display = [
        "id",
        "created_at",
        "symbol",
        "side",
        "qty",
        "type",
        "limit_price",
        "status",
        "filled_qty",
        "filled_avg_price",
        "source",
        "placed_by",
    ]
    list_filter = ["status", "side", "type", "source", "symbol"]
    search_fields = ["client_order_id", "symbol__ticker", "placed_by", "reject_reason"]
    date_hierarchy = "created_at"
    list_select_related = ["symbol"]
    inlines = [FillInline]
    actions = ["cancel_orders"]

    def has_cancel_permission(self, request) -> bool:
        return _may(request, "cancel_order")

    @admin.action(description="Cancel selected open orders", permissions=["cancel"])
    def cancel_orders(self, request, queryset):
        canceled, refused = 0, []
        authority = Authority(principal=f"user:{request.user.pk}", admin=_may(request, "cancel_any_order"))
        for order_id in queryset.values_list("pk", flat=True):
            try:
                services.order_cancel(order_id=order_id, canceled_by=_actor(request), authority=authority)
                canceled += 1
            except DomainError as error:
                refused.append(error.message)
        self.message_user(request, f"{canceled} order(s) canceled.")
        for message in refused[:10]:
            self.message_user(request, message, messages.WARNING)


@admin.register(Fill)
class FillAdmin(ReadOnlyAdmin):
    list_display = ["id", "executed_at", "symbol", "side", "qty", "price", "commission", "realized_pl", "order"]
    list_filter = ["side", "symbol"]
    search_fields = ["symbol__ticker", "order__client_order_id"]
    date_hierarchy = "executed_at"
    list_select_related = ["symbol", "order"]


@admin.register(OutboxMessage)
class OutboxMessageAdmin(ReadOnlyAdmin):
    """Records for WordPress: pending, delivered and failing ones, with the last error."""

    list_display = ["id", "kind", "key", "status", "attempts", "last_error", "next_attempt_at", "delivered_at"]
    list_filter = ["status", "kind"]
    search_fields = ["key", "last_error"]
    date_hierarchy = "created_at"
    actions = ["retry_now"]

    def has_retry_permission(self, request) -> bool:
        return _may(request, "retry_outboxmessage")

    @admin.action(description="Send selected records again now", permissions=["retry"])
    def retry_now(self, request, queryset):
        count = outbox.outbox_retry(ids=list(queryset.values_list("pk", flat=True)))
        self.message_user(request, f"{count} record(s) queued for delivery.")
