from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.response import Response
from rest_framework.views import APIView

from tradingrobot.serializer_fields import ErrorOut

from . import performance
from .selectors import portfolio_data, status_data
from .serializers import PerformanceOut, PortfolioOut, StatusOut


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
        return Response(PerformanceOut(performance.performance_report(strategy_id=strategy_id)).data)
