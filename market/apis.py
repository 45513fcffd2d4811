import datetime as dt

from django.conf import settings
from django.utils.dateparse import parse_datetime
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from tradingrobot.errors import InvalidInput
from tradingrobot.serializer_fields import ErrorOut, price_field
from tradingrobot.snapshot_cache import memoized

from .clock import now
from .models import Timeframe
from .selectors import market_data_document, price_is_stale


class BarOut(serializers.Serializer):
    timestamp = serializers.DateTimeField()
    open = price_field()
    high = price_field()
    low = price_field()
    close = price_field()
    volume = serializers.IntegerField(allow_null=True)


class MarketDataOut(serializers.Serializer):
    symbol = serializers.CharField()
    timeframe = serializers.CharField()
    data = BarOut(many=True)
    count = serializers.IntegerField()
    as_of = serializers.DateTimeField(allow_null=True, help_text="Time of the newest stored sample.")
    stale = serializers.BooleanField(help_text="True when the newest sample is older than the schedule expects.")


def _parse_time(value: str | None, name: str) -> dt.datetime | None:
    if value in (None, ""):
        return None
    try:  # a "+" of an offset arrives as a space when the client did not encode it
        parsed = parse_datetime(value) or parse_datetime(value[:19] + value[19:].replace(" ", "+"))
    except ValueError:
        parsed = None
    if parsed is None:
        raise InvalidInput(
            f"{name} must be an ISO 8601 time like 2025-12-26T15:30:00Z; got {value[:40]!r}.", code=f"invalid_{name}"
        )
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=dt.UTC)
    return parsed


def _parse_limit(value: str | None) -> int:
    maximum = settings.MARKET_DATA_MAX_LIMIT
    if value in (None, ""):
        return 100
    try:
        limit = int(value)
    except ValueError:
        limit = 0
    if not 1 <= limit <= maximum:
        raise InvalidInput(
            f"limit must be a whole number from 1 to {maximum}; got {value[:20]!r}.", code="invalid_limit"
        )
    return limit


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
        timeframe = request.query_params.get("timeframe") or Timeframe.MIN1
        if timeframe not in Timeframe.values:
            raise InvalidInput(
                f"Unsupported timeframe {timeframe[:20]!r}; use one of {', '.join(Timeframe.values)}.",
                code="invalid_timeframe",
            )
        limit = _parse_limit(request.query_params.get("limit"))
        start = _parse_time(request.query_params.get("start"), "start")
        end = _parse_time(request.query_params.get("end"), "end")
        if start and end and start >= end:
            raise InvalidInput("start must be before end.", code="invalid_range")
        body, as_of = memoized(
            ("market_data", symbol.upper(), timeframe, limit, start, end),
            lambda: market_data_document(ticker=symbol, timeframe=timeframe, limit=limit, start=start, end=end),
        )
        return Response({**body, "stale": price_is_stale(timestamp=as_of, at=now())})
