"""The trading API: thin views that parse, call one service or selector, and render."""

from django.http import HttpResponse
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status as http
from rest_framework.response import Response
from rest_framework.views import APIView

from tradingrobot.actors import actor_of
from tradingrobot.error_codes import ErrorCode, error_code_of
from tradingrobot.errors import InvalidInput, error_body
from tradingrobot.query_params import int_param, ticker_param, time_param
from tradingrobot.security.audit import audit_in_transaction
from tradingrobot.security.principals import principal_is_admin, principal_of
from tradingrobot.serializer_fields import ErrorOut

from . import documents, selectors, services
from .authority import Authority
from .models import Order
from .order_request import order_request_parse
from .performance_json import performance_json
from .serializers import (
    OrderDetailOut,
    OrderListOut,
    OrderOut,
    PerformanceOut,
    PortfolioOut,
    ResumeOut,
    StatusOut,
    StopIn,
    StopOut,
    TradeIn,
    TradeOut,
    TradeRejectedOut,
    order_out_data,
)

TRADE_FIELDS = {  # each field, and the code of its being given twice with different values
    "quantity": ErrorCode.CONFLICTING_QUANTITY,
    "type": ErrorCode.CONFLICTING_TYPE,
    "limit_price": ErrorCode.CONFLICTING_LIMIT_PRICE,
    "time_in_force": ErrorCode.CONFLICTING_TIME_IN_FORCE,
    "client_order_id": ErrorCode.CONFLICTING_CLIENT_ORDER_ID,
    "strategy_id": ErrorCode.CONFLICTING_STRATEGY_ID,
}


def _body(request) -> dict:
    data = request.data
    if not hasattr(data, "get"):
        raise InvalidInput(
            'The request body must be a JSON object, like {"quantity": 10}.', code=ErrorCode.INVALID_BODY
        )
    return data


def _as_text(value) -> str:
    """JSON true and query "true" are the same value."""
    return str(value).lower() if isinstance(value, bool) or value in ("True", "False") else str(value)


def _one_value(request, body: dict, name: str, conflict: ErrorCode):
    """A field from the body or the query string; both given and different is an error."""
    in_body, in_query = body.get(name), request.query_params.get(name)
    if in_body is not None and in_query is not None and _as_text(in_body) != _as_text(in_query):
        raise InvalidInput(
            f"{name} is given twice (body {in_body!r}, query {in_query!r}); send it once.", code=conflict
        )
    return in_body if in_body is not None else in_query


class ActsForPrincipal:
    """Views whose answer depends on who asks (orders belong to a principal); the live page maps its staff
    users onto principals its own way (dashboard/permissions.py)."""

    def authority(self, request) -> Authority:
        return Authority(principal=principal_of(request), admin=principal_is_admin(request))


def _quantity(quantity, qty):
    """`quantity` (the contract) or its alias `qty`; both given and different is an error."""
    if quantity is not None and qty is not None and _as_text(quantity) != _as_text(qty):
        raise InvalidInput(
            f"quantity ({quantity!r}) and qty ({qty!r}) differ; send one of them.", code=ErrorCode.CONFLICTING_QUANTITY
        )
    return quantity if quantity is not None else qty


class TradeApi(ActsForPrincipal, APIView):
    required_scope = "trade"
    audit_action = "order_place"

    @extend_schema(
        request=TradeIn,
        parameters=[OpenApiParameter(name, str, required=False) for name in TRADE_FIELDS]
        + [OpenApiParameter("Idempotency-Key", str, OpenApiParameter.HEADER, required=False)],
        responses={
            201: TradeOut,
            200: TradeOut,
            400: ErrorOut,
            404: ErrorOut,
            409: ErrorOut,
            422: TradeRejectedOut,
            423: ErrorOut,
        },
    )
    def post(self, request, symbol: str, side: str):
        body = _body(request)
        values = {name: _one_value(request, body, name, conflict) for name, conflict in TRADE_FIELDS.items()}
        quantity = _quantity(values["quantity"], _one_value(request, body, "qty", ErrorCode.CONFLICTING_QUANTITY))
        header_key = request.headers.get("Idempotency-Key")
        if header_key and values["client_order_id"] and header_key != str(values["client_order_id"]):
            raise InvalidInput(
                "client_order_id and the Idempotency-Key header differ; send one key.",
                code=ErrorCode.CONFLICTING_CLIENT_ORDER_ID,
            )
        order_request = order_request_parse(
            ticker=symbol,
            side=side,
            qty=quantity,
            type=values["type"],
            limit_price=values["limit_price"],
            time_in_force=values["time_in_force"],
            client_order_id=values["client_order_id"] or header_key,
            strategy_id=values["strategy_id"],
        )
        viewer = self.authority(request)
        with audit_in_transaction(request) as audit:

            def audited(order: Order, created: bool) -> None:
                # In the order's transaction, under its account lock: the audit row reads the answer's status, its
                # error code and message and the order's id, so the order's whole data is built after COMMIT.
                audit(_trade_response(order, created, {"id": order.pk}))

            order, created = services.order_place(
                request=order_request, placed_by=actor_of(request), principal=viewer.principal, within=audited
            )
        return _trade_response(order, created, order_out_data(order, viewer))


def _trade_response(order: Order, created: bool, order_data: dict) -> Response:
    if order.status == Order.Status.REJECTED:
        return Response(
            error_body(order.reject_reason, error_code_of(order.reject_code), order=order_data),
            status=http.HTTP_422_UNPROCESSABLE_ENTITY,
        )
    return Response(
        {"status": "success", "order": order_data}, status=http.HTTP_201_CREATED if created else http.HTTP_200_OK
    )


class OrderListApi(ActsForPrincipal, APIView):
    required_scope = "read"

    @extend_schema(
        parameters=[
            OpenApiParameter("status", str, description="open, closed, all, or one order status"),
            OpenApiParameter("symbol", str),
            OpenApiParameter("after", str, description="ISO 8601; orders created after"),
            OpenApiParameter("until", str, description="ISO 8601; orders created up to"),
            OpenApiParameter("limit", int, default=50),
            OpenApiParameter("offset", int, default=0),
        ],
        responses={200: OrderListOut, 400: ErrorOut},
    )
    def get(self, request):
        params = request.query_params
        orders = selectors.order_list(
            status=params.get("status"),
            ticker=ticker_param(params["symbol"]) if params.get("symbol") else None,
            after=time_param(params.get("after"), "after", code=ErrorCode.INVALID_AFTER),
            until=time_param(params.get("until"), "until", code=ErrorCode.INVALID_UNTIL),
        )
        limit = max(
            1, int_param(params.get("limit"), "limit", code=ErrorCode.INVALID_LIMIT, default=50, minimum=0, maximum=500)
        )
        offset = int_param(
            params.get("offset"), "offset", code=ErrorCode.INVALID_OFFSET, default=0, minimum=0, maximum=10**9
        )
        page = list(orders[offset : offset + limit])
        body = {"orders": page, "total": orders.count(), "limit": limit, "offset": offset}
        return Response(OrderListOut(body, context={"viewer": self.authority(request)}).data)


class OrderDetailApi(ActsForPrincipal, APIView):
    required_scope = {"GET": "read", "DELETE": "trade"}
    audit_action = {"DELETE": "order_cancel"}

    @extend_schema(operation_id="order_detail", responses={200: OrderDetailOut, 404: ErrorOut})
    def get(self, request, order_id: int):
        order = selectors.order_get(order_id=order_id)
        return Response(OrderDetailOut(order, context={"viewer": self.authority(request)}).data)

    @extend_schema(responses={200: TradeOut, 403: ErrorOut, 404: ErrorOut, 409: ErrorOut})
    def delete(self, request, order_id: int):
        authority = self.authority(request)
        order = services.order_cancel(order_id=order_id, canceled_by=actor_of(request), authority=authority)
        return Response({"status": "success", "order": OrderOut(order, context={"viewer": authority}).data})


class StopTradingApi(ActsForPrincipal, APIView):
    required_scope = "admin"
    audit_action = "trading_halt"

    @extend_schema(
        request=StopIn,
        parameters=[OpenApiParameter("liquidate", bool, default=False), OpenApiParameter("reason", str)],
        responses={200: StopOut, 400: ErrorOut},
    )
    def post(self, request):
        body = _body(request)
        stop = StopIn(
            data={
                "reason": _one_value(request, body, "reason", ErrorCode.CONFLICTING_REASON) or "",
                "liquidate": _one_value(request, body, "liquidate", ErrorCode.CONFLICTING_LIQUIDATE) or False,
            }
        )
        stop.is_valid(raise_exception=True)
        state, canceled, liquidations = services.trading_halt(
            reason=stop.validated_data["reason"],
            halted_by=actor_of(request),
            liquidate=stop.validated_data["liquidate"],
        )
        outcome, detail = _liquidation_outcome(liquidations)
        complete = outcome != "incomplete"
        body = {
            "status": "success" if complete else "partial",
            "message": "Trading stopped" if complete else f"Trading stopped, but {detail}",
            "trading_halted": state.halted,
            "canceled_orders": canceled,
            "liquidation": outcome,
            "liquidation_detail": detail,
            "liquidation_orders": liquidations,
        }
        return Response(StopOut(body, context={"viewer": self.authority(request)}).data)


def _liquidation_outcome(orders: list[Order]) -> tuple[str, str]:
    """none / filled / resting (will fill at the next fresh price) / incomplete (a position stays open)."""
    if not orders:
        return "none", "no liquidation asked for, or nothing held"
    left_open = [o for o in orders if o.status not in services.LIQUIDATION_OK]
    if left_open:
        reasons = "; ".join(f"{o.symbol.ticker}: {o.reject_reason or o.status}" for o in left_open)
        return "incomplete", f"{len(left_open)} position(s) could not be liquidated: {reasons}"
    if all(o.status == Order.Status.FILLED for o in orders):
        return "filled", "every position sold"
    return "resting", "liquidation orders rest and fill at the next fresh price"


class ResumeTradingApi(APIView):
    required_scope = "admin"
    audit_action = "trading_resume"

    @extend_schema(request=None, responses={200: ResumeOut})
    def post(self, request):
        state = services.trading_resume(resumed_by=actor_of(request))
        return Response({"status": "success", "message": "Trading resumed", "trading_halted": state.halted})


class StatusApi(APIView):
    required_scope = "read"

    @extend_schema(responses={200: StatusOut})
    def get(self, request):
        # Prepared bytes from the ledger memo: the same JSON as Response(documents.status_document()).
        return HttpResponse(documents.status_document_bytes(), content_type="application/json")


class PortfolioApi(APIView):
    required_scope = "read"

    @extend_schema(responses={200: PortfolioOut})
    def get(self, request):
        return Response(PortfolioOut(documents.portfolio_summary_get()).data)


class PerformanceApi(APIView):
    required_scope = "read"

    @extend_schema(
        parameters=[OpenApiParameter("strategy_id", str, description="one strategy; the whole account when absent")],
        responses={200: PerformanceOut, 404: ErrorOut},
    )
    def get(self, request):
        strategy_id = (request.query_params.get("strategy_id") or "").strip()
        # Prepared bytes: the same JSON as Response(PerformanceOut(performance_report(...)).data).
        return HttpResponse(performance_json(strategy_id=strategy_id), content_type="application/json")
