import datetime as dt
from typing import cast

from django.conf import settings
from django.http import HttpResponse
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.views import APIView

from tradingrobot.error_codes import ErrorCode
from tradingrobot.errors import InvalidInput
from tradingrobot.prepared_json import complete, hole, prepare
from tradingrobot.query_params import int_param, ticker_param, time_param
from tradingrobot.serializer_fields import ErrorOut, price_field
from tradingrobot.snapshot_cache import market_data_memo

from .clock import now
from .models import Timeframe
from .selectors import MarketData, market_data_get, price_is_stale


class BarOut(serializers.Serializer):
    timestamp = serializers.DateTimeField()
    open = price_field()
    high = price_field()
    low = price_field()
    close = price_field()
    volume = serializers.IntegerField(allow_null=True)
    sources = serializers.ListField(
        child=serializers.CharField(), help_text="Where the bar's samples came from: wordpress, alpaca, yahoo..."
    )


class MarketDataOut(serializers.Serializer):
    symbol = serializers.CharField()
    timeframe = serializers.CharField()
    data = BarOut(many=True)  # type: ignore[assignment]  # the contract's "data" key; the stub forbids shadowing .data
    count = serializers.IntegerField()
    as_of = serializers.DateTimeField(allow_null=True, help_text="Time of the newest stored sample.")
    stale = serializers.BooleanField(help_text="True when the newest sample is older than the schedule expects.")


class MarketDataApi(APIView):
    required_scope = "read"

    @extend_schema(
        parameters=[
            OpenApiParameter("timeframe", str, enum=Timeframe.values, default="1Min"),
            OpenApiParameter("limit", int, default=100),
            OpenApiParameter("start", str, description="ISO 8601; bars from this time on"),
            OpenApiParameter("end", str, description="ISO 8601; bars before this time"),
        ],
        responses={200: MarketDataOut, 400: ErrorOut, 404: ErrorOut},
    )
    def get(self, request, symbol: str):
        symbol = ticker_param(symbol)
        timeframe = request.query_params.get("timeframe") or Timeframe.MIN1
        if timeframe not in Timeframe.values:
            raise InvalidInput(
                f"Unsupported timeframe {timeframe[:20]!r}; use one of {', '.join(Timeframe.values)}.",
                code=ErrorCode.INVALID_TIMEFRAME,
            )
        params = request.query_params
        limit = int_param(
            params.get("limit"),
            "limit",
            code=ErrorCode.INVALID_LIMIT,
            default=100,
            minimum=1,
            maximum=settings.MARKET_DATA_MAX_LIMIT,
        )
        start = time_param(params.get("start"), "start", code=ErrorCode.INVALID_START)
        end = time_param(params.get("end"), "end", code=ErrorCode.INVALID_END)
        if start and end and start >= end:
            raise InvalidInput("start must be before end.", code=ErrorCode.INVALID_RANGE)
        pieces, as_of = market_data_memo.get(
            ("market_data", symbol.upper(), timeframe, limit, start, end),
            lambda: _prepared(
                market_data_get(ticker=symbol, timeframe=timeframe, limit=limit, start=start, end=end, at=now())
            ),
        )
        body = complete(pieces, [price_is_stale(timestamp=as_of, at=now())])
        return HttpResponse(body, content_type="application/json")


def _prepared(market_data: MarketData) -> tuple[tuple[bytes, ...], dt.datetime | None]:
    """The body rendered to JSON once per memo entry (100 nested serializers and their encoding cost more than
    the query); only `stale` depends on the instant, so each answer fills it in."""
    body = cast(dict, MarketDataOut(market_data).data)  # .data is the rendered body here
    return prepare({**body, "stale": hole(0)}, 1), market_data.as_of
