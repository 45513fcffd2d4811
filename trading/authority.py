"""Object-level authorization: which principal may act on, or see the idempotency key of, which order.

A principal (an API key, an OAuth client, a staff user, a strategy) owns the orders it placed. It cancels its
own orders with `trade`; another principal's orders, and liquidation and admin orders (halted or not), need
`admin`. Every read credential lists every order of the account, but sees a `client_order_id` only on its own
orders (an admin sees all).
"""

from dataclasses import dataclass

from tradingrobot.error_codes import ErrorCode
from tradingrobot.errors import Forbidden

from .models import Order

OPERATOR_SOURCES = (Order.Source.LIQUIDATION, Order.Source.ADMIN)


@dataclass(frozen=True)
class Authority:
    """Who acts: a principal, and whether it holds `admin` (the admin site's cancel_any_order permission)."""

    principal: str
    admin: bool

    def owns(self, order: Order) -> bool:
        return self.admin or order.principal == self.principal


OPERATOR = Authority(principal="operator", admin=True)  # the robot itself, and commands run on its host


def cancel_authorize(order: Order, authority: Authority) -> None:
    if authority.admin:
        return
    if order.source in OPERATOR_SOURCES:
        raise Forbidden(
            f"Order {order.pk} has source {order.source!r}: only a credential with the admin scope may cancel "
            "liquidation and admin orders.",
            code=ErrorCode.ORDER_NOT_YOURS,
        )
    if order.principal != authority.principal:
        raise Forbidden(
            f"Order {order.pk} was placed by another credential; canceling it needs the admin scope.",
            code=ErrorCode.ORDER_NOT_YOURS,
        )
