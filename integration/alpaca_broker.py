"""The Alpaca broker on alpaca-py's TradingClient: orders go to Alpaca, fills come back on its trade_updates stream
(integration/alpaca_stream.py) and are booked by trading/executions.py.

Paper by default (the SDK's paper URL); live only with ALPACA_LIVE and ALPACA_LIVE_CONFIRM set to the phrase.
Every submit carries a deterministic client_order_id, so the SDK's own retries (429/504) and ours are harmless:
after a timeout, a 5xx or a "client_order_id must be unique" answer, the order is looked up by that id.
"""

import logging
from decimal import Decimal

import requests
from alpaca.common.exceptions import APIError
from alpaca.trading.client import TradingClient
from alpaca.trading.enums import OrderSide, TimeInForce
from alpaca.trading.models import Order as AlpacaOrder
from alpaca.trading.requests import LimitOrderRequest, MarketOrderRequest
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from integration.alpaca_budget import Budget
from trading.executions import order_broker_accepted, order_broker_rejected, order_broker_sending
from trading.models import Order
from tradingrobot.error_codes import ErrorCode
from tradingrobot.errors import Conflict, DomainError

log = logging.getLogger(__name__)

SUBMIT_ATTEMPTS = 3  # ours, each after the SDK's own retries
NOT_FOUND = 404


def alpaca_live() -> bool:
    """Whether the settings ask for the live account; refuses a live setting without its confirmation."""
    if not settings.ALPACA_LIVE:
        return False
    if settings.ALPACA_LIVE_CONFIRM != settings.ALPACA_LIVE_PHRASE:
        raise ImproperlyConfigured(
            f"ALPACA_LIVE=true needs ALPACA_LIVE_CONFIRM={settings.ALPACA_LIVE_PHRASE!r}: refusing to trade live."
        )
    return True


class _BudgetSession(requests.Session):
    """Every call within the account's request budget (integration/alpaca_budget.py: shared through Redis when it
    is the cache) and with a timeout (the SDK sets none)."""

    def __init__(self, per_minute: int, window: float = 60.0, *, key_id: str = "", shared: bool = True):
        super().__init__()
        self.budget = Budget(per_minute, window, key_id=key_id, shared=shared)

    def request(self, *args, **kwargs):
        slot = self.budget.take()
        kwargs.setdefault("timeout", settings.ALPACA_TIMEOUT_SECONDS)
        try:
            return super().request(*args, **kwargs)
        finally:
            self.budget.answered_now(slot)


def trading_client_build() -> TradingClient:
    if not (settings.ALPACA_API_KEY_ID and settings.ALPACA_API_SECRET_KEY):
        raise ImproperlyConfigured("TRADING_BROKER=alpaca needs ALPACA_API_KEY_ID and ALPACA_API_SECRET_KEY")
    live = alpaca_live()
    if live:
        log.warning("Alpaca broker: LIVE trading, orders use real money")
    client = TradingClient(
        api_key=settings.ALPACA_API_KEY_ID,
        secret_key=settings.ALPACA_API_SECRET_KEY,
        paper=not live,
        url_override=settings.ALPACA_TRADING_URL or None,
    )
    client._retry_wait = settings.ALPACA_RETRY_WAIT_SECONDS  # the SDK sleeps this long before a retry
    client._session = _BudgetSession(settings.ALPACA_REQUESTS_PER_MINUTE, key_id=settings.ALPACA_API_KEY_ID)
    return client


def _request_of(order: Order, client_order_id: str) -> MarketOrderRequest | LimitOrderRequest:
    common = {
        "symbol": order.symbol.ticker,
        "qty": float(order.qty),
        "side": OrderSide(order.side),
        "time_in_force": TimeInForce(order.time_in_force),
        "client_order_id": client_order_id,
    }
    if order.type == Order.Type.LIMIT:
        assert order.limit_price is not None  # a limit order carries its limit (a database constraint)
        return LimitOrderRequest(limit_price=float(order.limit_price), **common)
    return MarketOrderRequest(**common)


def _duplicate(error: APIError) -> bool:
    return error.status_code == 422 and "client_order_id" in str(error)


def _refused(error: APIError) -> bool:
    """A 4xx that is Alpaca's answer about the order itself (not a rate limit, not our duplicate)."""
    status = error.status_code
    return status is not None and 400 <= status < 500 and status != 429 and not _duplicate(error)


class AlpacaBroker:
    name = "alpaca"
    fills_locally = False

    def __init__(self, client: TradingClient | None = None):
        self._client = client

    @property
    def client(self) -> TradingClient:
        if self._client is None:
            self._client = trading_client_build()
        return self._client

    def submit(self, *, order_id: int) -> None:
        order = order_broker_sending(order_id=order_id)
        client_order_id = order.broker_client_order_id
        assert client_order_id  # order_broker_sending saved it
        request = _request_of(order, client_order_id)
        refusal = "Alpaca could not be reached."
        for _ in range(SUBMIT_ATTEMPTS):
            try:
                placed = self.client.submit_order(request)
            except APIError as error:
                found = self.find(client_order_id)
                if found is not None:  # a retry of an order Alpaca already had
                    return order_broker_accepted(order_id=order_id, broker_order_id=str(found.id))
                if _refused(error):
                    return order_broker_rejected(order_id=order_id, reason=f"Alpaca: {_message(error)}")
                refusal = f"Alpaca answered {error.status_code}: {_message(error)}"
                continue
            except requests.RequestException as error:
                found = self.find(client_order_id)
                if found is not None:
                    return order_broker_accepted(order_id=order_id, broker_order_id=str(found.id))
                refusal = f"Alpaca could not be reached ({error.__class__.__name__})."
                continue
            assert isinstance(placed, AlpacaOrder)
            return order_broker_accepted(order_id=order_id, broker_order_id=str(placed.id))
        log.error("order %s not placed at Alpaca: %s", order_id, refusal)
        order_broker_rejected(order_id=order_id, reason=refusal)

    def find(self, client_order_id: str) -> AlpacaOrder | None:
        """Alpaca's order with this client_order_id, or None when it has none (or cannot say now)."""
        try:
            found = self.client.get_order_by_client_id(client_order_id)
        except APIError as error:
            if error.status_code != NOT_FOUND:
                log.warning("Alpaca lookup of %s failed: %s", client_order_id, error.status_code)
            return None
        except requests.RequestException:
            return None
        assert isinstance(found, AlpacaOrder)
        return found

    def cancel(self, *, order: Order) -> None:
        broker_id = order.broker_order_id or self._broker_id_of(order)
        if not broker_id:
            return  # never reached Alpaca: canceling it here is enough
        try:
            self.client.cancel_order_by_id(broker_id)
        except APIError as error:
            if error.status_code == 422:
                raise Conflict(
                    f"Alpaca refused to cancel order {order.pk}: {_message(error)}",
                    code=ErrorCode.ORDER_NOT_CANCELABLE,
                ) from error
            if error.status_code != NOT_FOUND:
                raise DomainError(f"Alpaca answered {error.status_code}", code=ErrorCode.BROKER_UNAVAILABLE) from error
        except requests.RequestException as error:
            raise DomainError(
                "Alpaca could not be reached to cancel the order; try again.", code=ErrorCode.BROKER_UNAVAILABLE
            ) from error

    def _broker_id_of(self, order: Order) -> str:
        if not order.broker_client_order_id:
            return ""
        found = self.find(order.broker_client_order_id)
        return str(found.id) if found is not None else ""


def _message(error: APIError) -> str:
    try:
        return str(error.message)[:300]
    except (ValueError, KeyError, TypeError):
        return str(error)[:300]


def decimal_or_none(value: str | float | None) -> Decimal | None:
    return None if value in (None, "") else Decimal(str(value))
