"""The robot's Alpaca-compatible surface under /v2/: tools built on Alpaca's clients (alpaca-py's TradingClient with
its URL override) trade against the robot unchanged. Same services as /api/ (order_place, order_cancel); the
credential is a robot API key sent in Alpaca's headers. Errors keep the house body, whose `code` and `message`
are what Alpaca's clients read."""

from drf_spectacular.utils import extend_schema
from rest_framework import status as http
from rest_framework.response import Response
from rest_framework.views import APIView

from market.clock import market_clock, now
from market.models import Symbol
from portfolio.selectors import portfolio_get
from tradingrobot.actors import actor_of
from tradingrobot.error_codes import ErrorCode, error_code_of
from tradingrobot.errors import InvalidInput, NotFound, Unprocessable
from tradingrobot.query_params import int_param, time_param
from tradingrobot.security.authentication import AlpacaHeaderAuthentication, ApiKeyAuthentication

from . import selectors, services
from .alpaca_shapes import account_shape, asset_shape, clock_shape, order_id_of, order_shape, position_shape
from .models import Order
from .order_request import order_request_parse

ORDER_FIELDS = ("symbol", "qty", "side", "type", "time_in_force", "limit_price", "client_order_id")
UNSUPPORTED = ("notional", "stop_price", "trail_price", "trail_percent", "order_class", "legs")


class V2Api(APIView):
    authentication_classes = [AlpacaHeaderAuthentication, ApiKeyAuthentication]
    schema = None  # Alpaca's own OpenAPI description documents these routes, not ours


@extend_schema(exclude=True)
class V2AccountApi(V2Api):
    required_scope = "read"

    def get(self, request):
        portfolio = portfolio_get()
        buying_power = services.cash_available(account=portfolio.account)
        halted = services.trading_state_get().halted
        return Response(account_shape(portfolio, buying_power=buying_power, halted=halted))


@extend_schema(exclude=True)
class V2PositionListApi(V2Api):
    required_scope = "read"

    def get(self, request):
        return Response([position_shape(p) for p in portfolio_get().positions])


@extend_schema(exclude=True)
class V2PositionDetailApi(V2Api):
    required_scope = "read"

    def get(self, request, symbol: str):
        for position in portfolio_get().positions:
            if position.symbol == symbol.upper():
                return Response(position_shape(position))
        raise NotFound(f"No open position in {symbol[:10]!r}.", code=ErrorCode.NOT_FOUND)


def _order_of(value: str) -> Order:
    order_id = order_id_of(value)
    if order_id is None:
        raise NotFound(f"No order with id {value[:40]!r}.", code=ErrorCode.ORDER_NOT_FOUND)
    return selectors.order_get(order_id=order_id)


@extend_schema(exclude=True)
class V2OrderListApi(V2Api):
    required_scope = {"GET": "read", "POST": "trade"}
    audit_action = {"POST": "order_place"}

    def get(self, request):
        query = request.query_params
        orders = selectors.order_list(
            status=query.get("status") or "open",
            after=time_param(query.get("after"), "after", code=ErrorCode.INVALID_AFTER),
            until=time_param(query.get("until"), "until", code=ErrorCode.INVALID_UNTIL),
        )
        symbols = [s.strip().upper() for s in (query.get("symbols") or "").split(",") if s.strip()]
        if symbols:
            orders = orders.filter(symbol__ticker__in=symbols)
        if query.get("direction") == "asc":
            orders = orders.order_by("created_at", "id")
        limit = int_param(query.get("limit"), "limit", code=ErrorCode.INVALID_LIMIT, default=50, minimum=1, maximum=500)
        return Response([order_shape(o) for o in orders[:limit]])

    def post(self, request):
        body = request.data if hasattr(request.data, "get") else None
        if body is None:
            raise InvalidInput(
                'The body must be a JSON object, like {"symbol": "TSLA", "qty": "1", ...}.', code=ErrorCode.INVALID_BODY
            )
        unsupported = [name for name in UNSUPPORTED if body.get(name) not in (None, "", "simple")]
        if unsupported:
            raise InvalidInput(
                f"Not supported here: {', '.join(unsupported)}; send qty with a market or limit order.",
                code=ErrorCode.INVALID_INPUT,
            )
        fields = {name: body.get(name) for name in ORDER_FIELDS}
        order_request = order_request_parse(ticker=str(fields.pop("symbol") or ""), **fields)
        order, _ = services.order_place(request=order_request, placed_by=actor_of(request))
        order.refresh_from_db()
        if order.status == Order.Status.REJECTED:
            raise Unprocessable(order.reject_reason, code=error_code_of(order.reject_code))
        return Response(order_shape(order))


@extend_schema(exclude=True)
class V2OrderDetailApi(V2Api):
    required_scope = {"GET": "read", "DELETE": "trade"}
    audit_action = {"DELETE": "order_cancel"}

    def get(self, request, order_ref: str):
        return Response(order_shape(_order_of(order_ref)))

    def delete(self, request, order_ref: str):
        services.order_cancel(order_id=_order_of(order_ref).pk, canceled_by=actor_of(request))
        return Response(status=http.HTTP_204_NO_CONTENT)


@extend_schema(exclude=True)
class V2OrderByClientIdApi(V2Api):
    required_scope = "read"

    def get(self, request):
        client_order_id = request.query_params.get("client_order_id") or ""
        order = Order.objects.select_related("symbol").filter(client_order_id=client_order_id).first()
        if order is None:
            raise NotFound(f"No order with client_order_id {client_order_id[:60]!r}.", code=ErrorCode.ORDER_NOT_FOUND)
        return Response(order_shape(order))


@extend_schema(exclude=True)
class V2ClockApi(V2Api):
    required_scope = "read"

    def get(self, request):
        return Response(clock_shape(market_clock(), now()))


@extend_schema(exclude=True)
class V2AssetListApi(V2Api):
    required_scope = "read"

    def get(self, request):
        return Response([asset_shape(s) for s in Symbol.objects.order_by("ticker")])


@extend_schema(exclude=True)
class V2AssetDetailApi(V2Api):
    required_scope = "read"

    def get(self, request, symbol: str):
        found = Symbol.objects.filter(ticker=symbol.upper()).first()
        if found is None:
            raise NotFound(f"No asset {symbol[:10]!r}.", code=ErrorCode.NOT_FOUND)
        return Response(asset_shape(found))
