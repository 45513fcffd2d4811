from drf_spectacular.utils import extend_schema
from rest_framework.response import Response
from rest_framework.views import APIView

from .selectors import portfolio_data, status_data
from .serializers import PortfolioOut, StatusOut


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
