"""Parsing and checking an order request before anything is stored. Errors say what to fix."""

import hashlib
import json
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from django.conf import settings

from tradingrobot.error_codes import ErrorCode
from tradingrobot.errors import InvalidInput

from .models import Order

MAX_CLIENT_ORDER_ID = 128


@dataclass(frozen=True)
class OrderRequest:
    ticker: str
    side: str
    qty: Decimal
    type: str = Order.Type.MARKET
    limit_price: Decimal | None = None
    time_in_force: str = Order.TimeInForce.DAY
    client_order_id: str | None = None
    strategy_id: str | None = None

    def fingerprint(self) -> str:
        """What makes two requests "the same" for idempotency."""
        key = [
            self.ticker,
            self.side,
            str(self.qty.normalize()),
            self.type,
            None if self.limit_price is None else str(self.limit_price.normalize()),
            self.time_in_force,
            self.strategy_id,
        ]
        return hashlib.sha256(json.dumps(key).encode()).hexdigest()


def parse_decimal(
    value, *, name: str, missing: ErrorCode, invalid: ErrorCode, places: int, maximum: Decimal, unit: str = ""
) -> Decimal:
    """A positive, finite decimal with at most `places` decimal places and at most `maximum`."""
    if value is None or value == "":
        raise InvalidInput(f'{name} is required: send a positive number, e.g. {{"{name}": 10}}.', code=missing)
    if isinstance(value, bool) or not isinstance(value, (int, float, str, Decimal)):
        raise InvalidInput(f"{name} must be a number, got {type(value).__name__}.", code=invalid)
    try:
        number = Decimal(str(value).strip())
    except InvalidOperation:
        raise InvalidInput(f"{name} must be a number, got {str(value)[:40]!r}.", code=invalid) from None
    if not number.is_finite():
        raise InvalidInput(f"{name} must be a finite number, got {str(value)[:40]!r}.", code=invalid)
    if number <= 0:
        raise InvalidInput(f"{name} must be greater than zero, got {number}.", code=invalid)
    if number > maximum:
        raise InvalidInput(f"{name} must be at most {maximum}{unit}, got {number}.", code=invalid)
    if -number.normalize().as_tuple().exponent > places:
        raise InvalidInput(f"{name} allows at most {places} decimal places, got {number}.", code=invalid)
    return number


def _choice(value, *, name: str, code: ErrorCode, choices, default: str) -> str:
    if value is None or value == "":
        return default
    text = str(value).strip().lower()
    if text not in choices:
        raise InvalidInput(f"{name} must be one of {', '.join(choices)}; got {str(value)[:40]!r}.", code=code)
    return text


def order_request_parse(
    *, ticker: str, side, qty, type=None, limit_price=None, time_in_force=None, client_order_id=None, strategy_id=None
) -> OrderRequest:
    side_text = str(side or "").strip().lower()
    if side_text not in Order.Side.values:
        raise InvalidInput(f"side must be buy or sell; got {str(side)[:40]!r}.", code=ErrorCode.INVALID_SIDE)
    quantity = parse_decimal(
        qty,
        name="quantity",
        missing=ErrorCode.MISSING_QUANTITY,
        invalid=ErrorCode.INVALID_QUANTITY,
        places=settings.QTY_DECIMAL_PLACES,
        maximum=settings.MAX_ORDER_QTY,
        unit=" shares",
    )
    order_type = _choice(
        type, name="type", code=ErrorCode.INVALID_TYPE, choices=Order.Type.values, default=Order.Type.MARKET
    )
    tif = _choice(
        time_in_force,
        name="time_in_force",
        code=ErrorCode.INVALID_TIME_IN_FORCE,
        choices=Order.TimeInForce.values,
        default=Order.TimeInForce.DAY,
    )
    price = None
    if order_type == Order.Type.LIMIT:
        price = parse_decimal(
            limit_price,
            name="limit_price",
            missing=ErrorCode.MISSING_LIMIT_PRICE,
            invalid=ErrorCode.INVALID_LIMIT_PRICE,
            places=4,
            maximum=Decimal("1000000000"),
        )
    elif limit_price not in (None, ""):
        raise InvalidInput("limit_price is only allowed with type=limit.", code=ErrorCode.INVALID_LIMIT_PRICE)
    coid = _short_text(
        client_order_id, name="client_order_id", code=ErrorCode.INVALID_CLIENT_ORDER_ID, limit=MAX_CLIENT_ORDER_ID
    )
    strategy = _short_text(strategy_id, name="strategy_id", code=ErrorCode.INVALID_STRATEGY_ID, limit=64)
    return OrderRequest(str(ticker).strip().upper(), side_text, quantity, order_type, price, tif, coid, strategy)


def _short_text(value, *, name: str, code: ErrorCode, limit: int) -> str | None:
    if value in (None, ""):
        return None
    text = str(value).strip()
    if len(text) > limit or not text.isprintable():
        raise InvalidInput(f"{name} must be printable and at most {limit} characters.", code=code)
    return text
