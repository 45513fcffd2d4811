"""Parsing and checking an order request before anything is stored. Errors say what to fix."""

import hashlib
import json
import re
from dataclasses import dataclass
from decimal import Context, Decimal, InvalidOperation

from django.conf import settings

from tradingrobot.error_codes import ErrorCode
from tradingrobot.errors import InvalidInput
from tradingrobot.query_params import ticker_param

from .models import Order

MAX_CLIENT_ORDER_ID = 128
# A number as text: ASCII digits, one optional point, an optional exponent. Decimal() alone also takes "1_0" (10)
# and Unicode digits (Arabic-Indic, full-width...); it is only called on text that matched this.
NUMBER = re.compile(r"[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][+-]?[0-9]+)?", re.ASCII)
MAX_NUMBER_TEXT = 40
NOT_FINITE = {"nan", "snan", "inf", "infinity"}
EXACT = Context(prec=200)  # wide enough for every number NUMBER lets through below the maxima: checks never round
# The WordPress receiver's rule for strategy_id (CONTRACTS.md): anything else fails there for good after the fill.
STRATEGY_ID = re.compile(r"[A-Za-z0-9_.:-]{1,64}", re.ASCII)


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
    text = str(value).strip()
    if text.lstrip("+-").lower() in NOT_FINITE:
        raise InvalidInput(f"{name} must be a finite number, got {text!r}.", code=invalid)
    if len(text) > MAX_NUMBER_TEXT or not NUMBER.fullmatch(text):
        shown = text[:40].encode("unicode_escape").decode("ascii")
        raise InvalidInput(f"{name} must be a number in ASCII digits, like 10 or 2.5; got {shown!r}.", code=invalid)
    try:
        number = Decimal(text)
    except InvalidOperation:
        raise InvalidInput(f"{name} must be a number, got {text!r}.", code=invalid) from None
    if number <= 0:
        raise InvalidInput(f"{name} must be greater than zero, got {text}.", code=invalid)
    if number > maximum:
        raise InvalidInput(f"{name} must be at most {maximum}{unit}, got {text}.", code=invalid)
    step = Decimal(1).scaleb(-places)
    if number.quantize(step, context=EXACT) != number:
        raise InvalidInput(f"{name} allows at most {places} decimal places, got {text}.", code=invalid)
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
    if strategy is not None and not STRATEGY_ID.fullmatch(strategy):
        shown = strategy[:64].encode("unicode_escape").decode("ascii")
        raise InvalidInput(
            f"strategy_id may hold only ASCII letters, digits and _ . : - (1-64 characters); got {shown!r}.",
            code=ErrorCode.INVALID_STRATEGY_ID,
        )
    return OrderRequest(ticker_param(ticker), side_text, quantity, order_type, price, tif, coid, strategy)


def _short_text(value, *, name: str, code: ErrorCode, limit: int) -> str | None:
    if value in (None, ""):
        return None
    if not isinstance(value, str):
        raise InvalidInput(f"{name} must be a string, got {type(value).__name__}.", code=code)
    text = value.strip()
    if len(text) > limit or not text.isprintable():
        raise InvalidInput(f"{name} must be printable and at most {limit} characters.", code=code)
    return text
