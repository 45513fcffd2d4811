from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.response import Response
from rest_framework.views import APIView

from market.clock import now
from tradingrobot.errors import NotFound
from tradingrobot.serializer_fields import ErrorOut

from . import performance
from .selectors import portfolio_data, status_data
from .serializers import PerformanceOut, PortfolioOut, StatusOut
from .services import account_get_or_create


class StatusApi(APIView):
    required_scope = "read"

    @extend_schema(responses={200: StatusOut})
    def get(self, request):
        return Response(status_data())


class PortfolioApi(APIView):
    required_scope = "read"

    @extend_schema(responses={200: PortfolioOut})
    def get(self, request):
        return Response(portfolio_data())


class PerformanceApi(APIView):
    required_scope = "read"

    @extend_schema(
        parameters=[OpenApiParameter("strategy_id", str, description="one strategy; the whole account when absent")],
        responses={200: PerformanceOut, 404: ErrorOut},
    )
    def get(self, request):
        strategy_id = (request.query_params.get("strategy_id") or "").strip()
        known = performance.strategy_ids()
        if strategy_id and strategy_id != performance.ALL and strategy_id not in known:
            listed = ", ".join(known) or "none yet"
            raise NotFound(
                f"No trades for strategy {strategy_id[:64]!r}; strategies with trades: {listed}.",
                code="unknown_strategy",
            )
        account = account_get_or_create()
        at = now()
        body = {
            "strategy_id": strategy_id or performance.ALL,
            "period": {"start_date": account.created_at, "end_date": at},
            "metrics": performance.performance_compute(
                strategy_id=None if strategy_id in ("", performance.ALL) else strategy_id, account=account
            ).as_json(),
            "timestamp": at,
        }
        if not strategy_id:
            body["strategies"] = [
                {"strategy_id": s, "metrics": performance.performance_compute(strategy_id=s, account=account).as_json()}
                for s in known
            ]
        return Response(PerformanceOut(body).data)
