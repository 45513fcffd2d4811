import datetime as dt

from django.db.models import QuerySet

from tradingrobot.error_codes import ErrorCode
from tradingrobot.errors import InvalidInput, NotFound

from .models import Order

STATUS_GROUPS = {
    "open": Order.OPEN_STATUSES,
    "closed": (Order.Status.FILLED, Order.Status.CANCELED, Order.Status.EXPIRED, Order.Status.REJECTED),
}


def order_list(
    *,
    status: str | None = None,
    ticker: str | None = None,
    after: dt.datetime | None = None,
    until: dt.datetime | None = None,
) -> QuerySet[Order]:
    orders = Order.objects.select_related("symbol").order_by("-created_at", "-id")
    if status and status != "all":
        if status in STATUS_GROUPS:
            orders = orders.filter(status__in=STATUS_GROUPS[status])
        elif status in Order.Status.values:
            orders = orders.filter(status=status)
        else:
            valid = ", ".join(["all", *STATUS_GROUPS, *Order.Status.values])
            raise InvalidInput(f"Unknown status {status[:30]!r}; use one of {valid}.", code=ErrorCode.INVALID_STATUS)
    if ticker:
        orders = orders.filter(symbol__ticker=ticker.strip().upper())
    if after:
        orders = orders.filter(created_at__gt=after)
    if until:
        orders = orders.filter(created_at__lte=until)
    return orders


def order_get(*, order_id: int) -> Order:
    order = Order.objects.select_related("symbol").prefetch_related("fills").filter(pk=order_id).first()
    if order is None:
        raise NotFound(f"No order with id {order_id}.", code=ErrorCode.ORDER_NOT_FOUND)
    return order
